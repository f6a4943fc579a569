// HardSigmoid(x) = max(0, min(1, α·x + β)) for the public α, β of the ONNX node: each party
// multiplies its share by round(α·2^f), the product is truncated by f bits exactly
// (truncate-exact.ts truncateExactOnline: a helper-dealt bit triple, one round, no wrap failure),
// P0 adds round(β·2^f), then the existing Clip to [0, 1] (clip.ts: two ReLUs of one vector, three
// rounds). Messages, and what each party learns, are the exact truncation's and the Clip's. The
// truncation costs 1 ulp (2^-f) at most before the clip against the ring value the fixed-point
// interpreter computes with P0's exact floor (ir/interp/fixed/kernels.ts calls hardSigmoidAffine).

import { encode, scale, truncShare } from '../ring/ring.js';
import type { Session } from '../session/session.js';
import { truncateExactOnline } from './truncate-exact.js';
import type { BitWindow } from './compare.js';
import { clip } from './clip.js';

/** The full 64-bit window: the clip compares α·x + β, whose range no pass narrows yet. */
const FULL: BitWindow = { lo: 0, k: 64 };

/** One party's share of α·x + β at `frac` fractional bits (P2, holding no share: zeros). */
export function hardSigmoidAffine(x: BigUint64Array, alpha: number, beta: number, frac: number, party: 0 | 1 | 2): BigUint64Array {
  if (party === 2) return new BigUint64Array(x.length);
  const [a, b] = encode([alpha, beta], frac);
  const y = truncShare(scale(x, BigInt.asIntN(64, a)), frac, party);
  if (party === 0) for (let i = 0; i < y.length; i++) y[i] += b;
  return y;
}

/** The clip bounds [0, 1] at `frac` bits. */
export function unitInterval(frac: number): [bigint, bigint] {
  return [0n, 1n << BigInt(frac)];
}

/** HardSigmoid on shares at `frac` fractional bits: the affine map (its product truncated
 * exactly, one round), then Clip to [0, 1]. */
export async function hardSigmoid(s: Session, x: BigUint64Array, alpha: number, beta: number, frac: number): Promise<BigUint64Array> {
  const [lo, hi] = unitInterval(frac);
  const [a, b] = encode([alpha, beta], frac);
  const y = await truncateExactOnline(s, s.id === 2 ? new BigUint64Array(x.length) : scale(x, BigInt.asIntN(64, a)), frac);
  if (s.id === 0) for (let i = 0; i < y.length; i++) y[i] += b;
  return clip(s, y, lo, hi, FULL);
}
