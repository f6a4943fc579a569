// Key agreement of a session: fresh keys for every session, nothing long-lived.
//
// Step 0 (hello): every party makes an ephemeral X25519 key pair and sends each peer its
//   wire version, party id, session tag and raw public key.
//   Pairwise key k_ij (i < j) = HKDF-SHA256(ikm = X25519(sk_i, pk_j),
//     salt = SHA-256("mpcc-v1" | tag | pk_i | pk_j), info = "mpcc pairwise i-j"), 16 bytes.
//   Only i and j can compute it; a new session has new key pairs, hence new keys. Over an
//   authenticated link (TCP with party keys: runtime/transport/noise.ts) the link's channel
//   secret from the Noise_KK handshake is appended to the ikm, so the key derives from the
//   authenticated handshake: a man in the middle who swapped the hellos' ephemeral keys still
//   lacks it (and the hellos themselves travel sealed, inside the authenticated channel).
// Step 1 (contribution): every party draws 16 random bytes c_i and sends them to each peer
//   j one-time-padded with the first 16 bytes of the pairwise stream "\0handshake/common/i"
//   (the NUL keeps it apart from every protocol purpose).
//   Common key = HKDF-SHA256(ikm = c_0 | c_1 | c_2, salt = SHA-256("mpcc-v1" | tag | pk_0 |
//   pk_1 | pk_2), info = "mpcc common"), 16 bytes. Nobody outside the three parties sees any
//   c_i in clear (the pads come from pairwise keys), and each party's own fresh c_i alone
//   makes the key uniform to everyone else; hashing public values would not be secret.
// A party's private streams use a key from crypto.randomBytes, never derived from these.
//
// Pre-dealt bundles (serving, runtime/transport/serving.ts): a serving helper P2 deals the next
// inference's offline phase while no client is connected, so the streams it deals from must
// exist before that inference's session does:
//   K12 (P1–P2): pairwiseKey over a fresh ephemeral X25519 exchange between the two servers,
//     sent as control messages over their persistent authenticated link, the link's channel
//     secret mixed in, the session tag "predeal:<bundle id>" in the salt: X25519-derived and
//     fresh per inference, as a session's own pairwise key is.
//   K02 (P0–P2): 16 bytes P2 draws from crypto.randomBytes (no client to agree with yet). It
//     reaches P0 only inside that inference's session, in P2's handshake step 1 frame to P0,
//     one-time-padded with the session's own P0–P2 pairwise stream "\0handshake/predeal"
//     (predealPad): that pad is keyed by the session's fresh X25519 (and the Noise channel
//     secret), so only P0 can read K02; P1 never receives it (it never crosses the P1–P2 link).
//     P2 is semi-honest, so its choosing the key alone is how Falcon's and ABY3's dealers hand
//     out seeds: P2 knows every P0–P2 stream anyway.
//   The common key stays the session's own: no offline dealing reads a common stream (the
//     pre-dealing's stream view refuses one, runtime/program/offline.ts).
//   The bundle id: 16 random bytes, public (in hex), tagging P2's material; P1 learns it with
//     K12, P0 from P1's accept and again, sealed, beside K02: all three check it (MPCC5050).

import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { PartyId } from './session.js';
import { runtimeError } from '../diagnostics.js';
import { AesCtrPrg, purposeKey } from './prg.js';
import { WIRE_VERSION } from '../transport/frame.js';

/** DER prefix of an X25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** An ephemeral X25519 key pair with its raw 32-byte public key. */
export interface KeyShare {
  privateKey: KeyObject;
  publicRaw: Uint8Array;
}

/** A fresh X25519 key pair for one session. */
export function createKeyShare(): KeyShare {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicRaw: new Uint8Array(der.subarray(der.length - 32)) };
}

/** The hello a party sends each peer in handshake step 0. */
export interface Hello {
  version: number;
  party: PartyId;
  tag: string;
  publicRaw: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Hello payload: u16 version | u8 party | u8 0 | 32 bytes public key | u16 tag length | tag (UTF-8). */
export function encodeHello(h: Hello): Uint8Array {
  const tag = utf8.encode(h.tag);
  const out = new Uint8Array(38 + tag.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, h.version, true);
  out[2] = h.party;
  out.set(h.publicRaw, 4);
  v.setUint16(36, tag.length, true);
  out.set(tag, 38);
  return out;
}

/** Parses a hello from `peer`; throws MPCC5005/5007/5008 when it does not fit this session. */
export function checkHello(payload: Uint8Array, peer: PartyId, ownTag: string): Hello {
  if (payload.length < 38) throw runtimeError('MPCC5005', [`hello of ${payload.length} bytes is too short`], peer);
  const v = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const version = v.getUint16(0, true);
  if (version !== WIRE_VERSION) throw runtimeError('MPCC5007', [version, WIRE_VERSION], peer);
  const party = payload[2];
  if (party !== peer) throw runtimeError('MPCC5005', [`it says it is party ${party} (check the order of the peer addresses)`], peer);
  const tagLength = v.getUint16(36, true);
  if (payload.length !== 38 + tagLength) throw runtimeError('MPCC5005', [`hello length ${payload.length} does not match its tag length ${tagLength}`], peer);
  const tag = utf8d.decode(payload.subarray(38));
  if (tag !== ownTag) throw runtimeError('MPCC5008', [tag, ownTag], peer);
  return { version, party: party as PartyId, tag, publicRaw: payload.slice(4, 36) };
}

function sha256(...parts: (Uint8Array | string)[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The 16-byte key shared by parties i < j (see the header comment). */
export function pairwiseKey(own: KeyShare, ownId: PartyId, peerRaw: Uint8Array, peer: PartyId, tag: string, channelSecret?: Uint8Array): Uint8Array {
  let secret: Buffer;
  try {
    const peerKey = createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, peerRaw]), format: 'der', type: 'spki' });
    secret = diffieHellman({ privateKey: own.privateKey, publicKey: peerKey });
  } catch (e) {
    throw runtimeError('MPCC5005', [`X25519 failed: ${(e as Error).message}`], peer);
  }
  const [lo, hi] = ownId < peer ? [ownId, peer] : [peer, ownId];
  const [pkLo, pkHi] = ownId < peer ? [own.publicRaw, peerRaw] : [peerRaw, own.publicRaw];
  const salt = sha256('mpcc-v1', tag, pkLo, pkHi);
  const ikm = channelSecret ? Buffer.concat([secret, channelSecret]) : secret;
  return new Uint8Array(hkdfSync('sha256', ikm, salt, `mpcc pairwise ${lo}-${hi}`, 16));
}

/** This party's fresh 16-byte contribution to the common key. */
export function commonContribution(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

/** The one-time pad hiding the contribution of party `from` on the pair's channel. */
export function contributionPad(pairKey: Uint8Array, from: PartyId): Uint8Array {
  return new AesCtrPrg(purposeKey(pairKey, `\u0000handshake/common/${from}`)).bytes(16);
}

/** a XOR b (same length). */
export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** The 16-byte key common to all three parties, from their contributions and public keys. */
export function commonKey(contributions: readonly Uint8Array[], publicKeys: readonly Uint8Array[], tag: string): Uint8Array {
  const salt = sha256('mpcc-v1', tag, ...publicKeys);
  return new Uint8Array(hkdfSync('sha256', Buffer.concat(contributions), salt, 'mpcc common', 16));
}

/** A fresh public id of a pre-dealt bundle (16 random bytes, hex). */
export function newBundleId(): string {
  return randomBytes(16).toString('hex');
}

/** The session tag K12 of bundle `id` is derived under (pairwiseKey's `tag`). */
export function predealTag(id: string): string {
  return `predeal:${id}`;
}

/** P2's key with P0 for a pre-dealt bundle (see the header comment). */
export function predealClientKey(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

/** The one-time pad hiding K02 in P2's handshake frame to P0, from the session's P0–P2 key. */
export function predealPad(pairKey: Uint8Array): Uint8Array {
  return new AesCtrPrg(purposeKey(pairKey, '\u0000handshake/predeal')).bytes(16);
}

/** Raw X25519 public key from hex (a control message's field); null when malformed. */
export function publicFromHex(hex: unknown): Uint8Array | null {
  return typeof hex === 'string' && /^[0-9a-f]{64}$/.test(hex) ? new Uint8Array(Buffer.from(hex, 'hex')) : null;
}

/** A public identifier of the session (hash of the three public keys), for logs. */
export function sessionFingerprint(publicKeys: readonly Uint8Array[]): string {
  return sha256('mpcc-session', ...publicKeys).subarray(0, 8).toString('hex');
}
