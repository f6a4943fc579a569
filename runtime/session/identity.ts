// Party identities: a long-term X25519 key pair per party (`mpcc keygen`), and the pinned
// public keys of the peers. Files are PEM: `partyN.key` a PKCS#8 private key (mode 0600),
// `partyN.pub` a SubjectPublicKeyInfo public key. The TCP transport authenticates every link
// with them (runtime/transport/noise.ts, Noise_KK).

import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeError } from '../diagnostics.js';
import { generateKeyPair, keyPairOf, type KeyPair } from '../transport/noise.js';
import type { PartyId } from './session.js';

/** What a party needs to authenticate its links: its key pair and its peers' public keys. */
export interface PartyIdentity {
  own: KeyPair;
  /** Raw 32-byte public keys of the parties by id (this party's own entry unused). */
  peers: (Uint8Array | null)[];
}

/** The file names of party `id`'s keys. */
export function keyFileNames(id: PartyId): { key: string; pub: string } {
  return { key: `party${id}.key`, pub: `party${id}.pub` };
}

/** A short public fingerprint of a raw public key (what operators compare by phone). */
export function keyFingerprint(publicRaw: Uint8Array): string {
  return createHash('sha256').update('mpcc-party-key').update(publicRaw).digest('hex').slice(0, 32).replace(/(.{4})(?!$)/g, '$1:');
}

/** The PEM texts of a key pair. */
export function encodeKeyPair(kp: KeyPair): { key: string; pub: string } {
  return {
    key: kp.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    pub: createPublicKey(kp.privateKey).export({ format: 'pem', type: 'spki' }) as string,
  };
}

/** Writes a fresh key pair of party `id` into `dir` (created if needed); refuses to overwrite
 * a key. The private key is written with mode 0600. Returns the key pair. */
export function writeKeyPair(dir: string, id: PartyId, kp: KeyPair = generateKeyPair()): KeyPair {
  const names = keyFileNames(id);
  const keyPath = join(dir, names.key);
  const pubPath = join(dir, names.pub);
  for (const p of [keyPath, pubPath]) if (existsSync(p)) throw runtimeError('MPCC5019', [p, 'already exists; remove it first (a new key must be distributed to the peers again)']);
  mkdirSync(dir, { recursive: true });
  const pem = encodeKeyPair(kp);
  try {
    writeFileSync(keyPath, pem.key, { mode: 0o600, flag: 'wx' });
    chmodSync(keyPath, 0o600); // the umask may have narrowed it further, never widened
    writeFileSync(pubPath, pem.pub, { mode: 0o644, flag: 'wx' });
  } catch (e) {
    rmSync(keyPath, { force: true });
    rmSync(pubPath, { force: true });
    throw runtimeError('MPCC5019', [dir, `cannot write the key pair: ${(e as Error).message}`]);
  }
  return kp;
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw runtimeError('MPCC5019', [path, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
}

function x25519(key: KeyObject, path: string): KeyObject {
  if (key.asymmetricKeyType !== 'x25519') throw runtimeError('MPCC5019', [path, `holds a ${key.asymmetricKeyType ?? 'symmetric'} key, not an X25519 key from mpcc keygen`]);
  return key;
}

/** The X25519 key of a PEM file, private or public as `kind` says. */
function readKey(path: string, kind: 'private' | 'public'): KeyObject {
  const pem = readPem(path);
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch {
    throw runtimeError('MPCC5019', [path, `is not a PEM ${kind} key`]);
  }
  return x25519(key, path);
}

/** Reads a private key file written by writeKeyPair. */
export function readPrivateKey(path: string): KeyPair {
  return keyPairOf(readKey(path, 'private'));
}

/** Reads a public key file written by writeKeyPair; returns the raw 32 bytes. */
export function readPublicKey(path: string): Uint8Array {
  const der = readKey(path, 'public').export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** The fingerprint of a key file, public (`.pub`) or private (its public half's): what
 * `mpcc keygen` printed when it made the pair. */
export function fileFingerprint(path: string): { kind: 'public' | 'private'; fingerprint: string } {
  const kind = /-----BEGIN PRIVATE KEY-----/.test(readPem(path)) ? 'private' : 'public';
  const raw = kind === 'private' ? readPrivateKey(path).publicRaw : readPublicKey(path);
  return { kind, fingerprint: keyFingerprint(raw) };
}

/** A warning when a private key file can be read by others than its owner (ssh refuses such a
 * key; mpcc goes on, saying so); null when its mode is 0600 or stricter, or without modes. */
export function privateKeyModeWarning(path: string): string | null {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st || process.platform === 'win32' || (st.mode & 0o077) === 0) return null;
  return `mpcc: warning: private key ${path} can be read by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${path}`;
}

/** Party `id`'s identity: its private key file and the folder of its peers' public keys
 * (`partyM.pub` for both other parties). */
export function loadIdentity(id: PartyId, keyPath: string, peerKeysDir: string): PartyIdentity {
  const own = readPrivateKey(keyPath);
  const peers: (Uint8Array | null)[] = [null, null, null];
  for (const p of [0, 1, 2] as PartyId[]) {
    if (p === id) continue;
    const pub = join(peerKeysDir, keyFileNames(p).pub);
    peers[p] = readPublicKey(pub);
    if (Buffer.from(peers[p]!).equals(Buffer.from(own.publicRaw))) {
      throw runtimeError('MPCC5019', [keyPath, `(--key) is the private key of ${pub}, party ${p}'s public key: give party ${id}'s own ${keyFileNames(id).key} as --key (or, if ${pub} is a copy of this party's own public key, put party ${p}'s there)`]);
    }
  }
  return { own, peers };
}

/** Fresh key pairs of three parties, each pinning the other two (`mpcc run`, tests). */
export function ephemeralIdentities(): [PartyIdentity, PartyIdentity, PartyIdentity] {
  const kps = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
  const pubs = kps.map((k) => k.publicRaw);
  return ([0, 1, 2] as const).map((id) => ({ own: kps[id], peers: pubs.map((p, i) => (i === id ? null : p)) })) as [PartyIdentity, PartyIdentity, PartyIdentity];
}
