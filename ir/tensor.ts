// Constant tensors: initializers (weights) and folded constants.
import { type DType, type Shape, numel } from './types.js';
import { InternalError } from '../runtime/diagnostics.js';

/** Typed storage of tensor elements; int64 is held in Float64Array (see ir/types.ts). */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array;

/** An immutable-by-convention dense tensor in row-major order. */
export class Tensor {
  constructor(readonly dtype: DType, readonly shape: Shape, readonly data: TensorData) {
    if (data.length !== numel(shape)) {
      throw new InternalError(`tensor data has ${data.length} elements, shape [${shape.join(',')}] needs ${numel(shape)}`);
    }
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Elements as plain numbers (for small tensors: shapes, axes, scalars). */
  toArray(): number[] {
    return Array.from(this.data as ArrayLike<number>);
  }

  /** The same data under another shape with the same element count. */
  reshape(shape: Shape): Tensor {
    return new Tensor(this.dtype, shape, this.data);
  }
}

/** Allocates zeroed storage for `n` elements of `dtype`. */
export function allocData(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': case 'int64': return new Float64Array(n);
    case 'int32': return new Int32Array(n);
    case 'bool': return new Uint8Array(n);
  }
}

/** A zero tensor of the given type. */
export function zeros(dtype: DType, shape: Shape): Tensor {
  return new Tensor(dtype, shape, allocData(dtype, numel(shape)));
}

/** A tensor from plain numbers. */
export function tensorOf(dtype: DType, shape: Shape, values: ArrayLike<number>): Tensor {
  const data = allocData(dtype, values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i];
  return new Tensor(dtype, shape, data);
}

/** A 1-D int64 tensor (shapes, axes, indices). */
export function int64Vector(values: readonly number[]): Tensor {
  return tensorOf('int64', [values.length], values);
}

/** Converts a tensor's elements to another dtype (float→int truncates toward zero, as ONNX Cast). */
export function castTensor(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  const out = allocData(dtype, t.size);
  const src = t.data;
  const isInt = dtype === 'int64' || dtype === 'int32';
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[i] = dtype === 'bool' ? (v !== 0 ? 1 : 0) : isInt ? Math.trunc(v) : v;
  }
  return new Tensor(dtype, t.shape, out);
}
