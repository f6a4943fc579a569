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
