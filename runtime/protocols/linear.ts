// Linear operations on shares: purely local, no message. P2 may call them on its placeholder
// vectors (zeros); the results are meaningless there but keep every party's code uniform.

import { add, scale, sub, truncShare } from '../ring.js';
import type { Session } from '../session.js';

export { add as addShares, sub as subShares };

/** Multiplies a shared vector by a public integer constant (any bigint, mod 2^64). */
export function scaleShare(x: BigUint64Array, c: bigint): BigUint64Array {
  return scale(x, c);
}

/** Adds a public constant (scalar or one per element) to a shared vector: only P0 adds it. */
export function addPublic(s: Session, x: BigUint64Array, c: bigint | BigUint64Array): BigUint64Array {
  const out = x.slice();
  if (s.id !== 0) return out;
  if (typeof c === 'bigint') for (let i = 0; i < out.length; i++) out[i] += c;
  else for (let i = 0; i < out.length; i++) out[i] += c[i];
  return out;
}

/** Local share truncation by `f` bits (after a fixed-point product): the result is x >> f up
 * to ±1 in the last place, wrong with probability ≈ |x|/2^63 (negligible for activations). */
export function truncate(s: Session, x: BigUint64Array, f: number): BigUint64Array {
  if (s.id === 2) return new BigUint64Array(x.length);
  return truncShare(x, f, s.id);
}

/** Window of a 2-D pooling over NCHW data. */
export interface PoolParams {
  inShape: readonly [number, number, number, number];
  kernel: readonly [number, number];
  strides: readonly [number, number];
  /** [top, left, bottom, right]; padding counts as zero. */
  pads: readonly [number, number, number, number];
}

/** Output shape [N, C, OH, OW] of a pooling. */
export function poolOutShape(p: PoolParams): [number, number, number, number] {
  const [n, c, h, w] = p.inShape;
  const oh = Math.floor((h + p.pads[0] + p.pads[2] - p.kernel[0]) / p.strides[0]) + 1;
  const ow = Math.floor((w + p.pads[1] + p.pads[3] - p.kernel[1]) / p.strides[1]) + 1;
  return [n, c, oh, ow];
}

/** For every output position of a pooling, the flat input indices inside its window
 * (padding positions omitted); `starts` has one more entry than there are outputs. */
export function poolWindows(p: PoolParams): { starts: Int32Array; index: Int32Array } {
  const [n, c, h, w] = p.inShape;
  const [, , oh, ow] = poolOutShape(p);
  const starts = new Int32Array(n * c * oh * ow + 1);
  const index: number[] = [];
  let o = 0;
  for (let b = 0; b < n * c; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        starts[o++] = index.length;
        for (let ky = 0; ky < p.kernel[0]; ky++) {
          const iy = oy * p.strides[0] - p.pads[0] + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < p.kernel[1]; kx++) {
            const ix = ox * p.strides[1] - p.pads[1] + kx;
            if (ix >= 0 && ix < w) index.push((b * h + iy) * w + ix);
          }
        }
      }
  starts[o] = index.length;
  return { starts, index: Int32Array.from(index) };
}

/** Sum pooling on shares (local). */
export function sumPool(x: BigUint64Array, p: PoolParams): BigUint64Array {
  const { starts, index } = poolWindows(p);
  const out = new BigUint64Array(starts.length - 1);
  for (let o = 0; o < out.length; o++) {
    let acc = 0n;
    for (let j = starts[o]; j < starts[o + 1]; j++) acc += x[index[j]];
    out[o] = acc; // stored mod 2^64
  }
  return out;
}

/** Fractional bits of the reciprocal used by average pooling with a divisor that is not a
 * power of two: avg = trunc(sum · round(2^AVG_SHIFT / D), AVG_SHIFT). */
export const AVG_SHIFT = 16;

/** Average pooling on shares: the window sum divided by the window size (padding included
 * when `countIncludePad`, as ONNX count_include_pad=1), by local truncation: a power-of-two
 * divisor 2^s truncates by s; another divisor D multiplies by round(2^16/D) and truncates by
 * 16 (relative error ≤ D/2^17, plus ±1 ulp). */
export function avgPool(s: Session, x: BigUint64Array, p: PoolParams, countIncludePad = false): BigUint64Array {
  const sums = sumPool(x, p);
  const { starts } = poolWindows(p);
  const full = p.kernel[0] * p.kernel[1];
  const out = new BigUint64Array(sums.length);
  if (s.id === 2) return out;
  // Group outputs by divisor so each group is one truncation.
  const byDivisor = new Map<number, number[]>();
  for (let o = 0; o < sums.length; o++) {
    const d = countIncludePad ? full : starts[o + 1] - starts[o];
    let g = byDivisor.get(d);
    if (!g) byDivisor.set(d, (g = []));
    g.push(o);
  }
  for (const [d, outs] of byDivisor) {
    const v = BigUint64Array.from(outs, (o) => sums[o]);
    const shift = Math.log2(d);
    const r = Number.isInteger(shift)
      ? truncShare(v, shift, s.id)
      : truncShare(scale(v, BigInt(Math.round(2 ** AVG_SHIFT / d))), AVG_SHIFT, s.id);
    outs.forEach((o, j) => (out[o] = r[j]));
  }
  return out;
}

/** Reference (plaintext) version of avgPool's arithmetic on a signed value, for tests and the
 * interpreter: exact floor division as the shares approximate it (±1 ulp). */
export function avgPoolDivisorFactor(d: number): { mul: bigint; shift: number } {
  const shift = Math.log2(d);
  return Number.isInteger(shift) ? { mul: 1n, shift } : { mul: BigInt(Math.round(2 ** AVG_SHIFT / d)), shift: AVG_SHIFT };
}

/** A public sparse linear map y[o] = Σ coef·x[in] (resize, bilinear interpolation, any fixed
 * mixing): term t adds coef[t]·x[input[t]] to y[output[t]]. */
export interface PublicLinearMap {
  outSize: number;
  output: Int32Array;
  input: Int32Array;
  /** Integer coefficients (fixed point with `shift` fractional bits, or plain integers). */
  coef: BigInt64Array;
  /** Fractional bits of the coefficients: the result is truncated by this many bits. */
  shift: number;
}

/** Applies a public linear map to shares (local): multiply-accumulate, then share truncation
 * by map.shift (±1 ulp); a gather such as nearest-neighbour resize has shift 0 and is exact. */
export function applyPublicLinear(s: Session, x: BigUint64Array, map: PublicLinearMap): BigUint64Array {
  const y = new BigUint64Array(map.outSize);
  if (s.id === 2) return y;
  const { output, input, coef } = map;
  for (let t = 0; t < output.length; t++) y[output[t]] += BigInt.asUintN(64, coef[t]) * x[input[t]];
  return map.shift === 0 ? y : truncShare(y, map.shift, s.id);
}
