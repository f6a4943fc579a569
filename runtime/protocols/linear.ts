// Linear operations on shares: purely local, no message. P2 may call them on its placeholder
// vectors (zeros); the results are meaningless there but keep every party's code uniform.

import { add, scale, sub, truncShare } from '../ring/ring.js';
import type { Session } from '../session/session.js';
import { poolOutShape, type PoolParams } from '../ring/windows.js';

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

/** In-range window of every output coordinate along one axis: input coordinates
 * [first[o], first[o] + count[o]) (padding cut off; count 0 when a window is all padding). */
function axisWindows(size: number, kernel: number, stride: number, padBefore: number, outSize: number): { first: Int32Array; count: Int32Array } {
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const lo = o * stride - padBefore;
    const a = Math.max(lo, 0);
    first[o] = a;
    count[o] = Math.max(Math.min(lo + kernel, size) - a, 0);
  }
  return { first, count };
}

/** Window sizes of a pooling (padding excluded), one per output, without listing indices. */
export function poolWindowSizes(p: PoolParams): Int32Array {
  const [n, c, h, w] = p.inShape;
  const [, , oh, ow] = poolOutShape(p);
  const rows = axisWindows(h, p.kernel[0], p.strides[0], p.pads[0], oh).count;
  const cols = axisWindows(w, p.kernel[1], p.strides[1], p.pads[1], ow).count;
  const sizes = new Int32Array(n * c * oh * ow);
  // Every plane has the same sizes: fill one, copy it.
  for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) sizes[oy * ow + ox] = rows[oy] * cols[ox];
  for (let b = 1; b < n * c; b++) sizes.copyWithin(b * oh * ow, 0, oh * ow);
  return sizes;
}

/** For every output position of a pooling, the flat input indices inside its window
 * (padding positions omitted, row-major within the window); `starts` has one more entry
 * than there are outputs. Typed arrays sized up front: ResNet50's stem pool lists ~1.2 M
 * indices, which a growing JS array made a visible share of the inference's CPU time. */
export function poolWindows(p: PoolParams): { starts: Int32Array; index: Int32Array } {
  const [n, c, h, w] = p.inShape;
  const [, , oh, ow] = poolOutShape(p);
  const rows = axisWindows(h, p.kernel[0], p.strides[0], p.pads[0], oh);
  const cols = axisWindows(w, p.kernel[1], p.strides[1], p.pads[1], ow);
  let rowSum = 0;
  let colSum = 0;
  for (let oy = 0; oy < oh; oy++) rowSum += rows.count[oy];
  for (let ox = 0; ox < ow; ox++) colSum += cols.count[ox];
  const starts = new Int32Array(n * c * oh * ow + 1);
  const index = new Int32Array(n * c * rowSum * colSum);
  let o = 0;
  let at = 0;
  for (let b = 0; b < n * c; b++)
    for (let oy = 0; oy < oh; oy++) {
      const y0 = rows.first[oy];
      const y1 = y0 + rows.count[oy];
      for (let ox = 0; ox < ow; ox++) {
        starts[o++] = at;
        const x0 = cols.first[ox];
        const x1 = x0 + cols.count[ox];
        for (let iy = y0; iy < y1; iy++) {
          const row = (b * h + iy) * w;
          for (let ix = x0; ix < x1; ix++) index[at++] = row + ix;
        }
      }
    }
  starts[o] = at;
  return { starts, index };
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
 * power of two, by default: avg = trunc(sum · round(2^AVG_SHIFT / D), AVG_SHIFT). A pool's own
 * `divideBits` (1..AVG_SHIFT; the IR's divide_bits, which `--ring auto` lowers where the ring
 * cannot hold the product: compiler/ring-choice.ts) replaces it, at a relative error of at
 * most D/2^(divideBits + 1). */
export const AVG_SHIFT = 16;

/** How a pool divides by d: multiply by `mul`, truncate by `shift` (the plaintext floor the
 * shares approximate, ±1 ulp). A power of two 2^s shifts by s; another d multiplies by
 * round(2^divideBits / d) and shifts by divideBits. */
export function avgPoolDivisorFactor(d: number, divideBits: number = AVG_SHIFT): { mul: bigint; shift: number } {
  const shift = Math.log2(d);
  return Number.isInteger(shift) ? { mul: 1n, shift } : { mul: BigInt(Math.round(2 ** divideBits / d)), shift: divideBits };
}

/** The one truncation an untruncated pool leaves to the step after, for a pool whose windows
 * divide by `divisors`: s when every divisor is the same power of two 2^s ≥ 2 (the window sums
 * themselves: no multiplier, no range spent), else `divideBits` (each sum times
 * round(2^divideBits / d), exact for the powers of two among them). */
export function untruncatedPoolBits(divisors: Iterable<number>, divideBits: number = AVG_SHIFT): number {
  const set = new Set(divisors);
  if (set.size === 1) {
    const [d] = set;
    const s = Math.log2(d);
    if (Number.isInteger(s) && s >= 1) return s;
  }
  return divideBits;
}

/** Average pooling on shares: the window sum divided by the window size (padding included
 * when `countIncludePad`, as ONNX count_include_pad=1), by local truncation: a power-of-two
 * divisor 2^s truncates by s; another divisor D multiplies by round(2^b/D) and truncates by
 * b = `divideBits` (relative error ≤ D/2^(b+1), plus ±1 ulp). With `untruncated`, every window
 * sum is only multiplied by round(2^t / D), t = untruncatedPoolBits (1 when every divisor is
 * 2^t; the same floor), and the caller truncates by t exactly (lower's SecureTruncate after
 * the pool). */
export function avgPool(s: Session, x: BigUint64Array, p: PoolParams, countIncludePad = false, untruncated = false, divideBits: number = AVG_SHIFT): BigUint64Array {
  const sums = sumPool(x, p);
  const sizes = poolWindowSizes(p);
  const full = p.kernel[0] * p.kernel[1];
  const out = new BigUint64Array(sums.length);
  if (s.id === 2) return out;
  // Group outputs by divisor so each group is one truncation.
  const byDivisor = new Map<number, number[]>();
  for (let o = 0; o < sums.length; o++) {
    const d = countIncludePad ? full : sizes[o];
    let g = byDivisor.get(d);
    if (!g) byDivisor.set(d, (g = []));
    g.push(o);
  }
  const bits = untruncatedPoolBits(byDivisor.keys(), divideBits);
  for (const [d, outs] of byDivisor) {
    const v = BigUint64Array.from(outs, (o) => sums[o]);
    const { mul, shift } = avgPoolDivisorFactor(d, divideBits);
    const r = untruncated ? scale(v, BigInt(Math.round(2 ** bits / d))) : truncShare(mul === 1n ? v : scale(v, mul), shift, s.id);
    outs.forEach((o, j) => (out[o] = r[j]));
  }
  return out;
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
