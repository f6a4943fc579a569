// Resize (nearest and N-linear, ONNX semantics) on ring vectors as a public linear map: every
// output is a fixed combination of at most 2^d inputs (d = number of linearly resized axes).
// Nearest is a gather (coefficients 1, exact); linear uses fixed-point coefficients with
// `coefBits` fractional bits and one share truncation (±1 ulp). Source coordinates are computed
// in float32 steps as onnxruntime does (so nearest ties round the same way); the formulas
// mirror the plaintext interpreter's (ir/interp/resize.ts), which the runtime may not import.
import { type PublicLinearMap, applyPublicLinear } from '../protocols/linear.js';
import type { Session } from '../session/session.js';
import { sizeOf, stridesOf } from './layout.js';

/** A Resize with static sizes and scales (as the IR's Resize attributes hold them). */
export interface ResizeParams {
  inShape: readonly number[];
  /** Output shape (the IR's `sizes`). */
  outShape: readonly number[];
  /** Scale per axis used in the coordinate transform (the IR's `scales`). */
  scales: readonly number[];
  mode: 'nearest' | 'linear';
  /** ONNX coordinate_transformation_mode (default half_pixel). */
  coordinateMode?: string;
  /** ONNX nearest_mode (default round_prefer_floor). */
  nearestMode?: string;
  /** Fractional bits of linear coefficients (default 16). */
  coefBits?: number;
}

/** Default fractional bits of interpolation coefficients: 2^-16 relative error per weight. */
export const RESIZE_COEF_BITS = 16;

const f32 = Math.fround;

/** The ONNX coordinate_transformation_mode values sourceCoordinate knows. */
export const COORDINATE_MODES: ReadonlySet<string> = new Set(['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nearest']);

/** The ONNX nearest_mode values nearestIndex knows. */
export const NEAREST_MODES: ReadonlySet<string> = new Set(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']);

/** Source coordinate of output index `x` on an axis (ONNX coordinate_transformation_mode),
 * in float32 steps as onnxruntime computes it (so nearest-neighbour ties round the same way);
 * the plaintext interpreter uses it too. */
export function sourceCoordinate(mode: string, x: number, scale: number, inLen: number, outLen: number): number {
  switch (mode) {
    case 'half_pixel': return f32(f32(f32(x + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel': return outLen > 1 ? f32(f32(f32(x + 0.5) / scale) - 0.5) : 0;
    case 'align_corners': return outLen === 1 ? 0 : f32(f32(x * (inLen - 1)) / (outLen - 1));
    case 'asymmetric': return f32(x / scale);
    case 'tf_half_pixel_for_nearest': return f32(f32(x + 0.5) / scale);
    default: throw new Error(`resize: unknown coordinate transformation mode '${mode}'`);
  }
}

/** Input index of a source coordinate (ONNX nearest_mode), before clamping. */
export function nearestIndex(mode: string, x: number): number {
  const halfAway = (v: number) => (v < 0 ? -Math.round(-v) : Math.round(v));
  switch (mode) {
    case 'round_prefer_floor': return x === Math.trunc(x) + 0.5 ? Math.floor(x) : halfAway(x);
    case 'round_prefer_ceil': return halfAway(x);
    case 'floor': return Math.floor(x);
    case 'ceil': return Math.ceil(x);
    default: throw new Error(`resize: unknown nearest mode '${mode}'`);
  }
}

/** Per output index of one axis: the source indices and their weights (1 or 2 terms). */
type AxisTerms = { index: number[]; weight: number[] }[];

function axisTerms(p: ResizeParams, axis: number): AxisTerms {
  const inLen = p.inShape[axis], outLen = p.outShape[axis];
  const coord = p.coordinateMode ?? 'half_pixel', nearest = p.nearestMode ?? 'round_prefer_floor';
  const terms: AxisTerms = [];
  for (let x = 0; x < outLen; x++) {
    const src = sourceCoordinate(coord, x, p.scales[axis], inLen, outLen);
    if (p.mode === 'nearest') {
      terms.push({ index: [Math.max(0, Math.min(nearestIndex(nearest, src), inLen - 1))], weight: [1] });
      continue;
    }
    const c = Math.max(0, Math.min(src, inLen - 1));
    const lo = Math.min(Math.floor(c), inLen - 1), hi = Math.min(lo + 1, inLen - 1), w1 = c - lo;
    if (hi === lo || w1 === 0) terms.push({ index: [lo], weight: [1] });
    else terms.push({ index: [lo, hi], weight: [1 - w1, w1] });
  }
  return terms;
}

/** The public linear map of a resize: y = Σ coef·x over each output's source elements. */
export function resizeMap(p: ResizeParams): PublicLinearMap {
  const rank = p.inShape.length;
  const perAxis = p.outShape.map((_, a) => axisTerms(p, a));
  const exact = perAxis.every((t) => t.every((e) => e.weight.length === 1));
  const bits = exact ? 0 : (p.coefBits ?? RESIZE_COEF_BITS);
  const inStrides = stridesOf(p.inShape);
  const outSize = sizeOf(p.outShape);
  const output: number[] = [], input: number[] = [], coef: bigint[] = [];
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < outSize; o++) {
    // Cartesian product of the axes' terms: (flat input index, product of weights).
    let combos: [number, number][] = [[0, 1]];
    for (let a = 0; a < rank; a++) {
      const t = perAxis[a][idx[a]];
      const next: [number, number][] = [];
      for (const [at, w] of combos) t.index.forEach((i, j) => next.push([at + i * inStrides[a], w * t.weight[j]]));
      combos = next;
    }
    for (const [at, w] of combos) {
      const c = Math.round(w * 2 ** bits);
      if (c === 0) continue;
      output.push(o);
      input.push(at);
      coef.push(BigInt(c));
    }
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a] < p.outShape[a]) break;
      idx[a] = 0;
    }
  }
  return { outSize, output: Int32Array.from(output), input: Int32Array.from(input), coef: BigInt64Array.from(coef), shift: bits };
}

/** Resizes a shared (or plaintext fixed-point) vector: local, truncates only in linear mode. */
export function resize(s: Session, x: BigUint64Array, p: ResizeParams): BigUint64Array {
  return applyPublicLinear(s, x, resizeMap(p));
}
