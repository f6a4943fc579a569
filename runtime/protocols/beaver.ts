// Secret × secret products with helper-dealt Beaver triples, in one round.
//
// mulBroadcast: z = x ⊙ y with ONNX (numpy) broadcasting of x's and y's shapes to z's, as the
// product of two activations needs (HardSwish's x · HardSigmoid(x), squeeze-and-excitation's
// per-channel scale [N,C,1,1] times the map [N,C,H,W], any Mul of two activations).
//   Dealing (preprocessing, P2): a of x's shape and b of y's shape, c = bcast(a) ⊙ bcast(b) of
//   z's shape, all additively shared: P0's a0, b0, c0 and P1's a1, b1 come from the PRG streams
//   each shares with the helper (fresh per call, from the session keys: no message); only P1's
//   c1 = c − c0 travels, as a correction P2 → P1 (8·|z| bytes).
//   Online (one round): P0 and P1 open d = x − a and e = y − b to each other (8·(|x| + |y|)
//   bytes each way) and take z_j = c_j + bcast(d) ⊙ bcast(b_j) + bcast(a_j) ⊙ bcast(e)
//   (+ bcast(d) ⊙ bcast(e) for P0): the sum is (d + a)(e + b) = x ⊙ y.
// Who learns what: P0 receives x1 − a1 and y1 − b1, each masked by a1, b1 from the P1–P2
// stream it never sees: uniform. P1 receives x0 − a0, y0 − b0 (masked by the P0–P2 stream) and
// c1 = c − c0, masked by c0 from the P0–P2 stream: uniform. P2 receives nothing. The opened d
// and e are uniform to both since a and b are the helper's. The product has 2·frac fractional
// bits: quantize puts a Truncate after it (local share truncation, ±1 ulp).

import type { Session } from '../session/session.js';
import { broadcast } from '../local/layout.js';
import { bytesRing, ringBytes, splitFrame } from './wire.js';

/** Shapes of a broadcasting product: operands x, y and the result z (numpy rules). */
export interface ProductShapes {
  readonly xShape: readonly number[];
  readonly yShape: readonly number[];
  readonly outShape: readonly number[];
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** v (of `shape`) broadcast to `outShape`, or v itself when the shapes are equal. */
function spread(v: BigUint64Array, shape: readonly number[], outShape: readonly number[]): BigUint64Array {
  if (shape.length === outShape.length && shape.every((d, i) => d === outShape[i])) return v;
  return broadcast(v, { shape, outShape });
}

/** Shares of x·y mod 2^64, elementwise with broadcasting (no truncation: follow with
 * `truncate` for fixed point). P2 passes placeholder vectors of the operands' sizes. */
export async function mulBroadcast(s: Session, x: BigUint64Array, y: BigUint64Array, p: ProductShapes): Promise<BigUint64Array> {
  const nx = sizeOf(p.xShape), ny = sizeOf(p.yShape), nz = sizeOf(p.outShape);
  if (x.length !== nx || y.length !== ny) throw new Error(`mulBroadcast: operands of ${x.length} and ${y.length} elements for shapes [${p.xShape.join(',')}] and [${p.yShape.join(',')}]`);
  const at = (v: BigUint64Array, shape: readonly number[]) => spread(v, shape, p.outShape);
  if (s.id === 2) {
    const g0 = s.shared(0, 'beaver');
    const a0 = g0.ring(nx), b0 = g0.ring(ny), c0 = g0.ring(nz);
    const g1 = s.shared(1, 'beaver');
    const a1 = g1.ring(nx), b1 = g1.ring(ny);
    for (let i = 0; i < nx; i++) a0[i] += a1[i];
    for (let i = 0; i < ny; i++) b0[i] += b1[i];
    const a = at(a0, p.xShape), b = at(b0, p.yShape);
    const c1 = new BigUint64Array(nz);
    for (let i = 0; i < nz; i++) c1[i] = a[i] * b[i] - c0[i];
    await s.round([{ to: 1, data: ringBytes(c1), label: 'mul.triple', phase: 'preprocessing' }], []);
    return new BigUint64Array(nz);
  }
  const me = s.id;
  const g = s.shared(2, 'beaver');
  const a = g.ring(nx), b = g.ring(ny);
  const c = me === 0 ? g.ring(nz) : null;
  const open = new BigUint64Array(nx + ny);
  for (let i = 0; i < nx; i++) open[i] = x[i] - a[i];
  for (let i = 0; i < ny; i++) open[nx + i] = y[i] - b[i];
  const peer = me === 0 ? 1 : 0;
  const openBytes = 8 * (nx + ny);
  const got = await s.round([{ to: peer, data: ringBytes(open), label: 'mul.open' }], me === 0 ? [1] : [0, 2], me === 0 ? { 1: openBytes } : { 0: openBytes, 2: 8 * nz });
  const other = bytesRing(splitFrame(got.get(peer), [openBytes], peer, 'mul.open')[0]);
  const cShare = c ?? bytesRing(splitFrame(got.get(2), [8 * nz], 2, 'mul.triple')[0]);
  const d = new BigUint64Array(nx), e = new BigUint64Array(ny);
  for (let i = 0; i < nx; i++) d[i] = open[i] + other[i];
  for (let i = 0; i < ny; i++) e[i] = open[nx + i] + other[nx + i];
  const [dz, ez, az, bz] = [at(d, p.xShape), at(e, p.yShape), at(a, p.xShape), at(b, p.yShape)];
  const z = new BigUint64Array(nz);
  for (let i = 0; i < nz; i++) {
    let v = cShare[i] + dz[i] * bz[i] + ez[i] * az[i];
    if (me === 0) v += dz[i] * ez[i];
    z[i] = v;
  }
  return z;
}

/** Shares of x·y mod 2^64 for operands of one shape (no truncation). */
export function mulShares(s: Session, x: BigUint64Array, y: BigUint64Array): Promise<BigUint64Array> {
  const shape = [x.length];
  return mulBroadcast(s, x, y, { xShape: shape, yShape: shape, outShape: shape });
}
