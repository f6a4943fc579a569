// `mpcc keygen --id N -o DIR`: writes party N's long-term key pair, DIR/partyN.key (X25519
// private key, PEM PKCS#8, mode 0600: it never leaves that party's machine) and
// DIR/partyN.pub (its public key, PEM SPKI: given to the other two parties, who pin it with
// `mpcc party --peer-keys`). Prints the key's fingerprint, for the operators to compare over
// another channel. Refuses to overwrite an existing key. `mpcc keygen --show FILE…` prints the
// fingerprint of key files received (.pub) or held (.key), to compare with what keygen printed
// on the machine that made them.
import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { action, statOf } from '../cli-support.js';
import { diag } from '../../runtime/diagnostics.js';
import { fileFingerprint, keyFileNames, keyFingerprint, writeKeyPair } from '../../runtime/session/identity.js';
import type { PartyId } from '../../runtime/session/session.js';
import { outputOption, requireOutput } from './flags.js';

/** Options of the keygen command. */
export interface KeygenOptions {
  readonly id?: string;
  readonly output?: string;
  /** Key files whose fingerprints to print (no key is made). */
  readonly show?: readonly string[];
}

/** Writes the key pair; returns the two paths and the public key's fingerprint. */
export function runKeygen(options: KeygenOptions): { key: string; pub: string; fingerprint: string } {
  if (options.id === undefined) throw diag('MPCC0004', ['--id', '', 'give the party whose key pair to make: 0 (client), 1 (server), 2 (helper)']);
  const id = Number(options.id);
  if (!/^[012]$/.test(options.id)) throw diag('MPCC0004', ['--id', options.id, 'expected 0, 1 or 2']);
  const dir = requireOutput(options.output, 'the folder of the key pair', true);
  const kp = writeKeyPair(dir, id as PartyId);
  const names = keyFileNames(id as PartyId);
  return { key: join(dir, names.key), pub: join(dir, names.pub), fingerprint: keyFingerprint(kp.publicRaw) };
}

/** The lines `mpcc keygen --show` prints: each file's kind and fingerprint (MPCC5019 for a file
 * that is no key of mpcc keygen's). */
export function showFingerprints(options: KeygenOptions): string[] {
  if (options.id !== undefined || options.output !== undefined) throw diag('MPCC0004', [options.id !== undefined ? '--id' : '--output', options.id ?? options.output, 'not with --show (it makes no key)']);
  // a folder (keys/) stands for its key files, in name order
  const files = (options.show ?? []).flatMap((f) => (statOf(f)?.isDirectory() ? readdirSync(f).filter((n) => /\.(pub|key)$/.test(n)).sort().map((n) => join(f, n)) : [f]));
  return files.map((f) => {
    const { kind, fingerprint } = fileFingerprint(f);
    return `${f}: ${kind} key, fingerprint ${fingerprint}`;
  });
}

/** Adds `mpcc keygen` to the program. */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description("write a party's long-term key pair (partyN.key, private, mode 0600; partyN.pub, for the other two parties)")
    .option('--id <n>', 'the party: 0 (client), 1 (server), 2 (helper)')
    .addOption(outputOption('folder to write partyN.key and partyN.pub into (created if needed)'))
    .option('--show <files...>', "print the fingerprint of key files (a peer's partyM.pub you received, or your own key), to compare with what keygen printed where the key was made; makes no key")
    .action(
      action((options: KeygenOptions) => {
        if (options.show) {
          process.stdout.write(showFingerprints(options).join('\n') + '\n');
          return;
        }
        const r = runKeygen(options);
        process.stdout.write(`wrote ${r.key} (private: keep it on this party's machine) and ${r.pub} (give it to the other two parties)\nfingerprint ${r.fingerprint}\n`);
      }),
    );
}
