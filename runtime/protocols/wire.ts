// What every protocol does around Session.round: byte views of ring vectors, splitting a
// peer's frame into the messages it merged, and per-protocol PRG purposes.

import { runtimeError } from '../diagnostics.js';
import type { PartyId } from '../session/session.js';

/** The bytes of a ring vector (a view, no copy). */
export function ringBytes(a: BigUint64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A ring vector read from received bytes (copied when the bytes are not 8-byte aligned). */
export function bytesRing(b: Uint8Array): BigUint64Array {
  if (b.byteLength % 8 !== 0) throw new Error(`ring message of ${b.byteLength} bytes is not a multiple of 8`);
  if (b.byteOffset % 8 === 0) return new BigUint64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  return new BigUint64Array(b.slice().buffer);
}

/** The rings a program may compute in: Z_2^ℓ for ℓ in RING_BITS (bits), Z_2^64 the default. With
 * ℓ < 64 every ring element still lives in a 64-bit word and every local operation still runs
 * mod 2^64 (a ring homomorphism onto Z_2^ℓ), so only the low ℓ bits of a word mean anything:
 * messages carry those bits (ℓ/8 bytes per element, packRing), and the protocols that read a
 * value's top bits (the exact truncation, the reveal) read bit ℓ − 1 (truncate-client-offline.ts,
 * sharing.ts). Only the client-offline mode, whose every truncation is exact, takes ℓ < 64. */
export const RING_BITS = [32, 40, 48, 56, 64] as const;

/** One of RING_BITS. */
export type RingBits = (typeof RING_BITS)[number];

/** Bytes per ring element of the ring of `bits` (undefined: Z_2^64); an internal error for a
 * width outside RING_BITS (program validation refuses those first). */
export function ringWidthBytes(bits: unknown): number {
  if (bits === undefined || bits === null) return 8;
  if (typeof bits !== 'number' || !(RING_BITS as readonly number[]).includes(bits)) throw new Error(`internal: a ring of ${String(bits)} bits (one of ${RING_BITS.join(', ')})`);
  return bits / 8;
}

/** The low `bytes` bytes of every element of `a` (little-endian): a view of `a` itself when
 * bytes = 8, else a packed copy. */
export function packRing(a: BigUint64Array, bytes: number): Uint8Array {
  if (bytes === 8) return ringBytes(a);
  const n = a.length;
  const out = new Uint8Array(n * bytes);
  const w = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  const rest = bytes - 4;
  // Low word whole, then the high word's low bytes (little-endian: they are its first bytes).
  const dv = new DataView(out.buffer);
  for (let i = 0, o = 0; i < n; i++, o += bytes) {
    dv.setUint32(o, w[2 * i], true);
    const h = w[2 * i + 1];
    for (let j = 0; j < rest; j++) out[o + 4 + j] = h >>> (8 * j);
  }
  return out;
}

/** n ring elements read from `bytes` bytes each (packRing's layout; the high bytes zero): a view
 * of the bytes when bytes = 8 (bytesRing). */
export function unpackRing(b: Uint8Array, bytes: number): BigUint64Array {
  if (bytes === 8) return bytesRing(b);
  if (b.byteLength % bytes !== 0) throw new Error(`ring message of ${b.byteLength} bytes is not a multiple of ${bytes}`);
  const n = b.byteLength / bytes;
  const out = new BigUint64Array(n);
  const w = new Uint32Array(out.buffer);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const rest = bytes - 4;
  for (let i = 0, o = 0; i < n; i++, o += bytes) {
    w[2 * i] = dv.getUint32(o, true);
    let h = 0;
    for (let j = 0; j < rest; j++) h |= b[o + 4 + j] << (8 * j);
    w[2 * i + 1] = h;
  }
  return out;
}

/** Splits the frame received from `peer` into messages of the given sizes; a frame of any
 * other total length is rejected (a protocol never guesses at what a peer meant). */
export function splitFrame(frame: Uint8Array | undefined, sizes: readonly number[], peer: PartyId, step: string): Uint8Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (!frame || frame.byteLength !== total)
    throw runtimeError('MPCC5003', [`step '${step}' got ${frame?.byteLength ?? 'no'} bytes, expected ${total}`], peer);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    parts.push(frame.subarray(at, at + n));
    at += n;
  }
  return parts;
}
