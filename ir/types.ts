// Element types and static shapes of IR values.

/** Element type of a value. int64 data is held in Float64Array (exact to 2^53, which covers
 * every shape and index; INT64_MAX sentinels round to 9.22e18, still "past the end"). */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

/** All element types, in the order the textual IR lists them. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int64', 'int32', 'bool'];

/** A static shape: every dimension a non-negative integer. */
export type Shape = readonly number[];

/** The type of an IR value: element type and static shape. */
export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides of a shape, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** True when both shapes have the same rank and dimensions. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Multidirectional (numpy) broadcast of two shapes, or undefined when incompatible. */
export function broadcastShapes(a: Shape, b: Shape): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** `float32[1,3,224,224]`: the textual form of a type. */
export function formatType(t: TensorType): string {
  return `${t.dtype}[${t.shape.join(',')}]`;
}
