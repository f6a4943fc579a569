// The bytes of a TCP connection before it is authenticated (runtime/transport/tcp.ts and
// serve-listen.ts): the 8-byte connect preamble, the Noise prologue, the u16-length framing of a
// handshake message and its limits, the session tag its payload carries, and what an answer that
// is none of these looks like.
import { runtimeError } from '../diagnostics.js';
import type { PartyId } from '../session/session.js';
import { WIRE_VERSION } from './frame.js';

/** Bytes of the connect preamble. */
export const PREAMBLE_BYTES = 8;
/** Longest session tag a handshake message may carry. */
export const MAX_TAG_BYTES = 4096;
/** Largest handshake message (u16 length, ephemeral key, sealed tag): all a party accepts
 * from a connection before it is authenticated. */
export const MAX_HANDSHAKE_BYTES = 2 + 32 + MAX_TAG_BYTES + 16;

/** The connect preamble a dialer `from` writes to reach `to`. */
export function preamble(from: PartyId, to: PartyId): Uint8Array {
  const p = new Uint8Array(PREAMBLE_BYTES);
  p.set([0x6d, 0x70, 0x63, 0x63]); // "mpcc"
  new DataView(p.buffer).setUint16(4, WIRE_VERSION, true);
  p[6] = from;
  p[7] = to;
  return p;
}

/** The Noise prologue of the link `from` → `to`: a label and the connect preamble (wire
 * version and both ids), so a handshake made for another pair or version fails. */
export function prologue(from: PartyId, to: PartyId): Uint8Array {
  return Buffer.concat([Buffer.from('mpcc/noise-kk/1'), preamble(from, to)]);
}

/** A handshake message with its u16 length. */
export function lengthPrefixed(m: Uint8Array): Buffer {
  const out = Buffer.alloc(2 + m.length);
  out.writeUInt16LE(m.length, 0);
  out.set(m, 2);
  return out;
}

/** Splits a u16-length-prefixed handshake message off the front of `buf`: 'more' when it is
 * incomplete, 'too big' when it exceeds MAX_HANDSHAKE_BYTES. */
export function takeHandshake(buf: Uint8Array): { message: Uint8Array; rest: Uint8Array } | 'more' | 'too big' {
  if (buf.length < 2) return 'more';
  const n = buf[0] | (buf[1] << 8);
  if (2 + n > MAX_HANDSHAKE_BYTES) return 'too big';
  if (buf.length < 2 + n) return buf.length > MAX_HANDSHAKE_BYTES ? 'too big' : 'more';
  return { message: buf.subarray(2, 2 + n), rest: buf.subarray(2 + n) };
}

/** a and b concatenated (b itself when a is empty). */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const all = new Uint8Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return all;
}

/** The tag carried by a handshake payload, checked against this party's. */
export function checkTag(payload: Uint8Array, tag: string, peer: PartyId): void {
  const theirs = new TextDecoder().decode(payload);
  if (theirs !== tag) throw runtimeError('MPCC5008', [theirs, tag], peer);
}

/** The first bytes of an answer, printable (what another program at a peer's address said). */
export function answerPreview(buf: Uint8Array): string {
  const text = Array.from(buf.subarray(0, 24), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `'${text}${buf.length > 24 ? '…' : ''}'`;
}
