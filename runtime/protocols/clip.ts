// Clip (ReLU6 among others) as two ReLUs of one vector, in a ReLU's three rounds.

import type { Session } from '../session/session.js';
import type { BitWindow } from './compare.js';
import { relu } from './relu.js';

/** Clip(x, lo, hi) = lo + ReLU(x − lo) − ReLU(x − hi) for public lo < hi (ReLU6: lo = 0,
 * hi = 6·2^f): both comparisons in the same three rounds. */
export async function clip(s: Session, x: BigUint64Array, lo: bigint, hi: bigint, w: BitWindow): Promise<BigUint64Array> {
  const n = x.length;
  const v = new BigUint64Array(2 * n);
  const p0 = s.id === 0;
  for (let i = 0; i < n; i++) {
    v[i] = p0 ? x[i] - lo : x[i];
    v[n + i] = p0 ? x[i] - hi : x[i];
  }
  const r = await relu(s, v, w);
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) out[i] = (p0 ? lo : 0n) + r[i] - r[n + i];
  return out;
}
