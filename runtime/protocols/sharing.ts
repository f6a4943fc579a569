// Input sharing (no message) and reveal of a result to the client (one message P1 → P0).

import { add, sub } from '../ring/ring.js';
import type { Session } from '../session/session.js';
import { packRing, splitFrame, unpackRing } from './wire.js';
import { wordView } from './bits.js';

/** Shares P0's input x of `n` ring elements: P0 gets x − r, P1 gets r, with r from the
 * P0–P1 stream, so no message is sent. P1 and P2 pass `null` for x; P2 gets zeros. */
export function shareInput(s: Session, x: BigUint64Array | null, n: number): BigUint64Array {
  if (s.id === 2) return new BigUint64Array(n);
  const r = s.shared(s.id === 0 ? 1 : 0, 'input').ring(n);
  if (s.id === 1) return r;
  if (!x || x.length !== n) throw new Error(`shareInput: P0 must pass ${n} input elements`);
  return sub(x, r);
}

/** Reveals a shared vector to P0 only: P1 sends its share (8n bytes, one round; `ring` bytes per
 * element in a program on Z_2^ℓ, ring = ℓ/8, the value then sign-extended from bit ℓ − 1 to a
 * 64-bit word). P0 gets the value; P1 and P2 get null. Every party calls it (P2 takes part in
 * the round emptily). */
export async function revealToClient(s: Session, share: BigUint64Array, ring = 8): Promise<BigUint64Array | null> {
  const n = share.length;
  if (s.id === 1) {
    await s.round([{ to: 0, data: packRing(share.slice(), ring), label: 'reveal' }], []);
    return null;
  }
  if (s.id === 2) {
    await s.round([], []);
    return null;
  }
  const got = await s.round([], [1], { 1: ring * n });
  const [x1] = splitFrame(got.get(1), [ring * n], 1, 'reveal');
  const x = add(share, unpackRing(x1, ring));
  return ring === 8 ? x : signExtend(x, 8 * ring);
}

/** Every element of `x` read as a value of Z_2^bits (32 ≤ bits < 64) and sign-extended from bit
 * bits − 1 to 64 bits, in place. */
export function signExtend(x: BigUint64Array, bits: number): BigUint64Array {
  const w = wordView(x);
  const shift = 64 - bits;
  if (bits === 32) for (let i = 0; i < x.length; i++) w[2 * i + 1] = (w[2 * i] >> 31) >>> 0;
  else for (let i = 0; i < x.length; i++) w[2 * i + 1] = ((w[2 * i + 1] << shift) >> shift) >>> 0;
  return x;
}
