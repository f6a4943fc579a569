// The range of values secure inference computes on without wrapping, declared once: quantize
// checks the server's constants against it, and the client's input is checked against it by
// `mpcc run`, `mpcc party` and `mpcc infer` before anything runs.
//
// Why 2^(63 − 2·frac): values live in Z_2^64 read as signed (two's complement), so an encoded
// value must stay below 2^63 in magnitude. An activation x is encoded with frac fractional bits,
// a weight w too, and their product x·w carries 2·frac bits until the Truncate after it; a bias
// is encoded at 2·frac bits to be added to that product. So the product's ring value is
// x·w·2^(2·frac), and it wraps once |x·w| ≥ 2^(63 − 2·frac). mpcc refuses any single value that
// would wrap on its own (times a weight of magnitude 1, or as a bias): |v| ≥ 2^(63 − 2·frac), or
// NaN, or ±Inf. This is necessary, not sufficient: a sum of many in-range products can still
// wrap, which the simulated error model (not this check) is about. With the default 12 bits the
// bound is 2^39 ≈ 5.5e11.
import { diag } from '../../runtime/diagnostics.js';

/** The exponent e of the bound: secure inference takes values of magnitude below 2^e. */
export function valueRangeExponent(frac: number): number {
  return 63 - 2 * frac;
}

/** A value outside the range: where it is (flat index) and what it is. */
export interface OutOfRange {
  readonly index: number;
  readonly value: number;
}

/** The first NaN, ±Inf or (when `frac` is given) value of magnitude ≥ 2^(63 − 2·frac) in `data`. */
export function firstOutOfRange(data: ArrayLike<number>, frac?: number): OutOfRange | undefined {
  const limit = frac === undefined ? Infinity : 2 ** valueRangeExponent(frac);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // !(|v| < limit) is true for NaN as well
    if (!(Math.abs(v) < limit) || !Number.isFinite(v)) return { index: i, value: v };
  }
  return undefined;
}

/** A flat index as coordinates of `shape`, "[0,2,5,7]". */
export function indexIn(shape: readonly number[], flat: number): string {
  const coords: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = Math.max(1, shape[d]);
    coords.unshift(flat % n);
    flat = Math.floor(flat / n);
  }
  return `[${coords.join(',')}]`;
}

/** Refuses an input file holding NaN, ±Inf or (when `frac` is given: a fixed-point run) a value
 * beyond the range, naming the file and the first bad index (MPCC3010). */
export function checkInputValues(file: string, shape: readonly number[], data: ArrayLike<number>, frac?: number): void {
  const bad = firstOutOfRange(data, frac);
  if (!bad) return;
  const range = frac === undefined ? '' : ` of magnitude below 2^${valueRangeExponent(frac)} (fixed point with ${frac} fractional bits)`;
  throw diag('MPCC3010', [file, bad.value, indexIn(shape, bad.index), range]);
}
