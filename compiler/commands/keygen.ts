// `mpcc keygen --id N -o DIR`: writes party N's long-term key pair, DIR/partyN.key (X25519
// private key, PEM PKCS#8, mode 0600: it never leaves that party's machine) and
// DIR/partyN.pub (its public key, PEM SPKI: given to the other two parties, who pin it with
// `mpcc party --peer-keys`). Prints the key's fingerprint, for the operators to compare over
// another channel. Refuses to overwrite an existing key.
import type { Command } from 'commander';
import { join } from 'node:path';
import { action } from '../cli-support.js';
import { diag } from '../../runtime/diagnostics.js';
import { keyFileNames, keyFingerprint, writeKeyPair } from '../../runtime/session/identity.js';
import type { PartyId } from '../../runtime/session/session.js';
import { outputOption, requireOutput } from './flags.js';

/** Options of the keygen command. */
export interface KeygenOptions {
  readonly id: string;
  readonly output?: string;
}

/** Writes the key pair; returns the two paths and the public key's fingerprint. */
export function runKeygen(options: KeygenOptions): { key: string; pub: string; fingerprint: string } {
  const id = Number(options.id);
  if (!/^[012]$/.test(options.id)) throw diag('MPCC0004', ['--id', options.id, 'expected 0, 1 or 2']);
  const dir = requireOutput(options.output, 'the folder of the key pair');
  const kp = writeKeyPair(dir, id as PartyId);
  const names = keyFileNames(id as PartyId);
  return { key: join(dir, names.key), pub: join(dir, names.pub), fingerprint: keyFingerprint(kp.publicRaw) };
}

/** Adds `mpcc keygen` to the program. */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description("write a party's long-term key pair (partyN.key, private, mode 0600; partyN.pub, for the other two parties)")
    .requiredOption('--id <n>', 'the party: 0 (client), 1 (server), 2 (helper)')
    .addOption(outputOption('folder to write partyN.key and partyN.pub into (created if needed)'))
    .action(
      action((options: KeygenOptions) => {
        const r = runKeygen(options);
        process.stdout.write(`wrote ${r.key} (private: keep it on this party's machine) and ${r.pub} (give it to the other two parties)\nfingerprint ${r.fingerprint}\n`);
      }),
    );
}
