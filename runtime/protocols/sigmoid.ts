// Sigmoid on shares as a piecewise-linear approximation: a continuous function that is linear
// between public knots t_0 < … < t_{m−1} and constant outside them is
//     f(x) = v_0 + Σ_i s_i · ReLU(x − t_i),
// s_i the change of slope at knot i (the slopes sum to zero, so f saturates at v_{m−1} beyond
// the last knot). All m ReLUs run on one vector of m·n elements in a ReLU's three rounds
// (relu.ts, full 64-bit window); the weighted sum with the public slopes is local (products at
// 2·frac bits, one share truncation, P0 adds v_0). Messages, and what each party learns, are
// those of the ReLUs: every received message is uniform (test/runtime/protocols/security.test.ts).
//
// Knots ±1.131, ±2.194, ±3.35, ±4.8, ±6 with values chosen for the smallest maximum error
// (minimax over the knot positions and values, odd symmetry about (0, ½)): in real arithmetic
// |f(x) − σ(x)| ≤ 0.0066 for every x (0.00652 measured; 0.00247 beyond ±6, where f saturates
// at σ(±6)). In fixed point the knots, values and slopes are rounded to 2^-frac and the sum is
// truncated once: at most SIGMOID_MAX_ERROR(frac) = 0.0066 + 12·2^-frac in all (0.0095 at 12
// bits), checked on a dense grid by test/runtime/protocols/activations.test.ts. The fixed-point
// interpreter computes the same ring values (sigmoidShifted, sigmoidCombine) with P0's exact
// floor, so `mpcc infer --fixed` and the secure run agree within the share truncation's ulp;
// the float interpreter (`mpcc infer` without --fixed) keeps the exact 1 / (1 + e^-x).

import { encode, scale, truncShare } from '../ring/ring.js';
import type { Session } from '../session/session.js';
import { relu } from './relu.js';

/** The positive knots; the negative ones mirror them. */
const POSITIVE_KNOTS = [1.131, 2.194, 3.35, 4.8, 6] as const;
/** f at the positive knots; f(−t) = 1 − f(t). */
const POSITIVE_VALUES = [0.76255, 0.90568, 0.9661, 0.99184, 0.99753] as const;

/** The knots t_i and values f(t_i), ascending. */
export const SIGMOID_KNOTS: readonly number[] = [...POSITIVE_KNOTS.map((t) => -t).reverse(), ...POSITIVE_KNOTS];
export const SIGMOID_VALUES: readonly number[] = [...POSITIVE_VALUES.map((v) => 1 - v).reverse(), ...POSITIVE_VALUES];

/** Comparisons per element: one ReLU per knot. */
export const SIGMOID_PIECES = SIGMOID_KNOTS.length;

/** The documented bound on |f(x) − σ(x)| at `frac` fractional bits (see the file comment). */
export function SIGMOID_MAX_ERROR(frac: number): number {
  return 0.0066 + 12 * 2 ** -frac;
}

/** The approximation in real arithmetic (the reference the fixed-point form rounds). */
export function sigmoidPiecewise(x: number): number {
  const t = SIGMOID_KNOTS, v = SIGMOID_VALUES;
  if (x <= t[0]) return v[0];
  if (x >= t[t.length - 1]) return v[v.length - 1];
  let i = 0;
  while (t[i + 1] < x) i++;
  return v[i] + ((x - t[i]) / (t[i + 1] - t[i])) * (v[i + 1] - v[i]);
}

/** The knots at `frac` bits, v_0 at `frac` bits and the slope changes s_i at `frac` bits (integer
 * slopes per segment, so the changes sum to exactly zero and f saturates exactly). */
export function sigmoidRingPieces(frac: number): { knots: BigUint64Array; base: bigint; slopeChanges: bigint[] } {
  const t = SIGMOID_KNOTS, v = SIGMOID_VALUES, one = 2 ** frac;
  const slopes = t.slice(1).map((ti, i) => BigInt(Math.round(((v[i + 1] - v[i]) / (ti - t[i])) * one)));
  const slopeChanges = t.map((_, i) => (i < slopes.length ? slopes[i] : 0n) - (i > 0 ? slopes[i - 1] : 0n));
  return { knots: encode(t, frac), base: encode([v[0]], frac)[0], slopeChanges };
}

/** One party's shares of x − t_i for every knot, knot-major (m·n elements; P0 subtracts). */
export function sigmoidShifted(x: BigUint64Array, frac: number, party: 0 | 1 | 2): BigUint64Array {
  const n = x.length, { knots } = sigmoidRingPieces(frac);
  const v = new BigUint64Array(knots.length * n);
  if (party === 2) return v;
  for (let i = 0; i < knots.length; i++) for (let j = 0; j < n; j++) v[i * n + j] = party === 0 ? x[j] - knots[i] : x[j];
  return v;
}

/** One party's share of f(x) from its shares of ReLU(x − t_i) (knot-major): Σ s_i·r_i, truncated
 * by frac bits, P0 adding v_0 (P2: zeros). */
export function sigmoidCombine(r: BigUint64Array, n: number, frac: number, party: 0 | 1 | 2): BigUint64Array {
  if (party === 2) return new BigUint64Array(n);
  const { base, slopeChanges } = sigmoidRingPieces(frac);
  const acc = new BigUint64Array(n);
  slopeChanges.forEach((c, i) => {
    const term = scale(r.subarray(i * n, (i + 1) * n), c);
    for (let j = 0; j < n; j++) acc[j] += term[j];
  });
  const y = truncShare(acc, frac, party);
  if (party === 0) for (let j = 0; j < n; j++) y[j] += base;
  return y;
}

/** Sigmoid on shares at `frac` fractional bits: SIGMOID_PIECES ReLUs in three rounds, then the
 * local weighted sum. */
export async function sigmoid(s: Session, x: BigUint64Array, frac: number): Promise<BigUint64Array> {
  const r = await relu(s, sigmoidShifted(x, frac, s.id), { lo: 0, k: 64 });
  return sigmoidCombine(r, x.length, frac, s.id);
}
