// Secret × secret elementwise product with a helper-dealt Beaver triple (a, b, c = a·b):
// P0's triple shares and P1's a, b shares come from PRG streams shared with the helper; only
// P1's c-share travels, as a correction P2 → P1 (preprocessing). Online, P0 and P1 open
// x − a and y − b to each other in one round.

import type { Session } from '../session/session.js';
import { bytesRing, ringBytes, splitFrame } from './wire.js';

/** Shares of x·y mod 2^64 (no truncation: follow with `truncate` for fixed point). */
export async function mulShares(s: Session, x: BigUint64Array, y: BigUint64Array): Promise<BigUint64Array> {
  const n = x.length;
  if (s.id === 2) {
    const g0 = s.shared(0, 'beaver');
    const a0 = g0.ring(n), b0 = g0.ring(n), c0 = g0.ring(n);
    const g1 = s.shared(1, 'beaver');
    const a1 = g1.ring(n), b1 = g1.ring(n);
    const c1 = new BigUint64Array(n);
    for (let i = 0; i < n; i++) c1[i] = (a0[i] + a1[i]) * (b0[i] + b1[i]) - c0[i];
    await s.round([{ to: 1, data: ringBytes(c1), label: 'mul.triple', phase: 'preprocessing' }], []);
    return new BigUint64Array(n);
  }
  const me = s.id;
  const g = s.shared(2, 'beaver');
  const a = g.ring(n), b = g.ring(n);
  const c = me === 0 ? g.ring(n) : null;
  const open = new BigUint64Array(2 * n);
  for (let i = 0; i < n; i++) {
    open[i] = x[i] - a[i];
    open[n + i] = y[i] - b[i];
  }
  const peer = me === 0 ? 1 : 0;
  const got = await s.round([{ to: peer, data: ringBytes(open), label: 'mul.open' }], me === 0 ? [1] : [0, 2], me === 0 ? { 1: 16 * n } : { 0: 16 * n, 2: 8 * n });
  const [theirs] = splitFrame(got.get(peer), [16 * n], peer, 'mul.open');
  const other = bytesRing(theirs);
  const cShare = c ?? bytesRing(splitFrame(got.get(2), [8 * n], 2, 'mul.triple')[0]);
  const z = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    const d = open[i] + other[i];
    const e = open[n + i] + other[n + i];
    let v = cShare[i] + d * b[i] + e * a[i];
    if (me === 0) v += d * e;
    z[i] = v;
  }
  return z;
}
