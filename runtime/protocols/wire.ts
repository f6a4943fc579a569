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

/** The rings a selection with no truncation folded in may run in inside a wider program (its
 * `window_ring`, passes/secure/lower-client-offline.ts): RING_BITS below 64 and Z_2^24, which no
 * program takes (its exact truncations need the room) but a MaxPool's tree can. */
export const SELECTION_RING_BITS = [24, 32, 40, 48, 56] as const;

/** Bytes per ring element of the ring of `bits` (undefined: Z_2^64); an internal error for a
 * width outside RING_BITS (program validation refuses those first). */
export function ringWidthBytes(bits: unknown): number {
  if (bits === undefined || bits === null) return 8;
  if (typeof bits !== 'number' || !(bits === 64 || (SELECTION_RING_BITS as readonly number[]).includes(bits))) throw new Error(`internal: a ring of ${String(bits)} bits (one of ${SELECTION_RING_BITS.join(', ')}, 64)`);
  return bits / 8;
}

/** The low `bytes` bytes of every element of `a`: a view of `a` itself when bytes = 8, else a
 * packed copy in planes (aligned typed-array copies, no per-byte work): at 3 bytes the n low
 * 16-bit halves then their bits 16–23; else the n low 32-bit words
 * (little-endian), then the high word's low 16 bits of every element when bytes ≥ 6, then its
 * next 8 bits (bits 48–55) or, at 5 bytes, its low 8 bits. */
export function packRing(a: BigUint64Array, bytes: number): Uint8Array {
  if (bytes === 8) return ringBytes(a);
  const n = a.length;
  const out = new Uint8Array(n * bytes);
  const w = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  if (bytes === 3) {
    // the low 16 bits, then bits 16–23
    const l16 = new Uint16Array(out.buffer, 0, n);
    const h8 = new Uint8Array(out.buffer, 2 * n, n);
    for (let i = 0; i < n; i++) (l16[i] = w[2 * i]), (h8[i] = w[2 * i] >>> 16);
    return out;
  }
  const lo = new Uint32Array(out.buffer, 0, n);
  // One pass per width (the typed stores keep the low bits).
  if (bytes === 4) for (let i = 0; i < n; i++) lo[i] = w[2 * i];
  else if (bytes === 5) {
    const h8 = new Uint8Array(out.buffer, 4 * n, n);
    for (let i = 0; i < n; i++) (lo[i] = w[2 * i]), (h8[i] = w[2 * i + 1]);
  } else if (bytes === 6) {
    const h16 = new Uint16Array(out.buffer, 4 * n, n);
    for (let i = 0; i < n; i++) (lo[i] = w[2 * i]), (h16[i] = w[2 * i + 1]);
  } else {
    const h16 = new Uint16Array(out.buffer, 4 * n, n);
    const h8 = new Uint8Array(out.buffer, 6 * n, n);
    for (let i = 0; i < n; i++) (lo[i] = w[2 * i]), (h16[i] = w[2 * i + 1]), (h8[i] = w[2 * i + 1] >>> 16);
  }
  return out;
}

/** n ring elements read from packRing's planes of `bytes` bytes per element (the high bits
 * zero): a view of the bytes when bytes = 8 (bytesRing); below 8, with `shared`, in shared
 * memory (weights a kernel worker reads in place: conv-blocks.ts). */
export function unpackRing(b: Uint8Array, bytes: number, shared = false): BigUint64Array {
  if (bytes === 8) return bytesRing(b);
  if (b.byteLength % bytes !== 0) throw new Error(`ring message of ${b.byteLength} bytes is not a multiple of ${bytes}`);
  const n = b.byteLength / bytes;
  // The planes are read as aligned typed arrays: a message inside a frame may not start aligned.
  const src = b.byteOffset % 4 === 0 ? b : b.slice();
  const out = new BigUint64Array(shared ? new SharedArrayBuffer(8 * n) : new ArrayBuffer(8 * n));
  const w = new Uint32Array(out.buffer);
  if (bytes === 3) {
    const l16 = new Uint16Array(src.buffer, src.byteOffset, n);
    const h8 = new Uint8Array(src.buffer, src.byteOffset + 2 * n, n);
    for (let i = 0; i < n; i++) w[2 * i] = l16[i] | (h8[i] << 16);
    return out;
  }
  const lo = new Uint32Array(src.buffer, src.byteOffset, n);
  if (bytes === 4) for (let i = 0; i < n; i++) w[2 * i] = lo[i];
  else if (bytes === 5) {
    const h8 = new Uint8Array(src.buffer, src.byteOffset + 4 * n, n);
    for (let i = 0; i < n; i++) (w[2 * i] = lo[i]), (w[2 * i + 1] = h8[i]);
  } else if (bytes === 6) {
    const h16 = new Uint16Array(src.buffer, src.byteOffset + 4 * n, n);
    for (let i = 0; i < n; i++) (w[2 * i] = lo[i]), (w[2 * i + 1] = h16[i]);
  } else {
    const h16 = new Uint16Array(src.buffer, src.byteOffset + 4 * n, n);
    const h8 = new Uint8Array(src.buffer, src.byteOffset + 6 * n, n);
    for (let i = 0; i < n; i++) (w[2 * i] = lo[i]), (w[2 * i + 1] = h16[i] | (h8[i] << 16));
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
