// Data movement on ring vectors (shares or plaintext fixed point): transpose, concat, zero
// pad, slice, broadcast, and the no-op reshapes. Each is a pure index permutation, so it is
// exact on shares and each party applies it to its own share with no message. Shapes are
// row-major; params are plain JSON so generated programs can embed them.

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    s[a] = acc;
    acc *= shape[a];
  }
  return s;
}

/** Number of elements of `shape`. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * y[o] = x[Σ_a index_a · srcStride_a] over every output index (o row-major in `outShape`):
 * the one gather loop behind transpose, slice and broadcast (a stride of 0 repeats).
 */
function stridedGather(x: BigUint64Array, outShape: readonly number[], srcStrides: readonly number[], offset: number): BigUint64Array {
  const n = sizeOf(outShape), rank = outShape.length;
  const y = new BigUint64Array(n);
  if (n === 0) return y;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  const last = rank - 1;
  for (let o = 0; o < n; o++) {
    y[o] = x[src];
    // Advance the odometer; carries undo the finished axis's contribution.
    for (let a = last; a >= 0; a--) {
      src += srcStrides[a];
      if (++idx[a] < outShape[a]) break;
      src -= srcStrides[a] * outShape[a];
      idx[a] = 0;
    }
  }
  return y;
}

/** Transpose of x (shape `shape`): output axis i is input axis perm[i] (ONNX Transpose). */
export interface TransposeParams {
  shape: readonly number[];
  perm: readonly number[];
}

/** Permutes the axes of x. */
export function transpose(x: BigUint64Array, p: TransposeParams): BigUint64Array {
  const strides = stridesOf(p.shape);
  return stridedGather(x, p.perm.map((a) => p.shape[a]), p.perm.map((a) => strides[a]), 0);
}

/** Slice of x: on each listed axis the indices start, start+step, … before end (normalized as the IR keeps them: start in range, end may be -1 with a negative step). */
export interface SliceParams {
  shape: readonly number[];
  starts: readonly number[];
  ends: readonly number[];
  axes: readonly number[];
  steps: readonly number[];
}

/** Output shape of a slice. */
export function sliceShape(p: SliceParams): number[] {
  const out = [...p.shape];
  p.axes.forEach((a, i) => {
    const step = p.steps[i];
    out[a] = Math.max(0, step > 0 ? Math.ceil((p.ends[i] - p.starts[i]) / step) : Math.ceil((p.starts[i] - p.ends[i]) / -step));
  });
  return out;
}

/** x[start:end:step] on the listed axes. */
export function slice(x: BigUint64Array, p: SliceParams): BigUint64Array {
  const strides = stridesOf(p.shape);
  const src = [...strides];
  let offset = 0;
  p.axes.forEach((a, i) => {
    src[a] = strides[a] * p.steps[i];
    offset += strides[a] * p.starts[i];
  });
  return stridedGather(x, sliceShape(p), src, offset);
}

/** Broadcast of x (shape `shape`, right-aligned numpy rules) to `outShape`. */
export interface BroadcastParams {
  shape: readonly number[];
  outShape: readonly number[];
}

/** Repeats x along its size-1 (and missing leading) axes to fill outShape. */
export function broadcast(x: BigUint64Array, p: BroadcastParams): BigUint64Array {
  const lead = p.outShape.length - p.shape.length;
  const strides = stridesOf(p.shape);
  const src = p.outShape.map((d, a) => (a < lead || p.shape[a - lead] === 1 ? 0 : strides[a - lead]));
  return stridedGather(x, p.outShape, src, 0);
}

/** Concatenation of tensors of shapes `shapes` along `axis` (all other axes equal). */
export interface ConcatParams {
  shapes: readonly (readonly number[])[];
  axis: number;
}

/** Joins the inputs along the axis, in order. */
export function concat(xs: readonly BigUint64Array[], p: ConcatParams): BigUint64Array {
  const outer = sizeOf(p.shapes[0].slice(0, p.axis));
  const chunks = p.shapes.map((s) => sizeOf(s.slice(p.axis)));
  const row = chunks.reduce((a, b) => a + b, 0);
  const y = new BigUint64Array(outer * row);
  for (let o = 0; o < outer; o++) {
    let at = o * row;
    xs.forEach((x, i) => {
      y.set(x.subarray(o * chunks[i], (o + 1) * chunks[i]), at);
      at += chunks[i];
    });
  }
  return y;
}

/** Zero padding: pads = [begin of every axis…, end of every axis…] (ONNX order). */
export interface PadParams {
  shape: readonly number[];
  pads: readonly number[];
}

/** Surrounds x with zeros (a zero is a valid share of zero for every party). */
export function pad(x: BigUint64Array, p: PadParams): BigUint64Array {
  const rank = p.shape.length;
  const outShape = p.shape.map((d, a) => d + p.pads[a] + p.pads[a + rank]);
  const y = new BigUint64Array(sizeOf(outShape));
  if (x.length === 0) return y;
  const outStrides = stridesOf(outShape);
  // Copy contiguous rows of the last axis; the odometer walks the other axes.
  const rowLen = p.shape[rank - 1];
  const rows = x.length / rowLen;
  const idx = new Array<number>(rank).fill(0);
  for (let r = 0; r < rows; r++) {
    let dst = 0;
    for (let a = 0; a < rank; a++) dst += (idx[a] + p.pads[a]) * outStrides[a];
    y.set(x.subarray(r * rowLen, (r + 1) * rowLen), dst);
    for (let a = rank - 2; a >= 0; a--) {
      if (++idx[a] < p.shape[a]) break;
      idx[a] = 0;
    }
  }
  return y;
}

/** Reshape, Flatten, Squeeze, Unsqueeze: row-major data does not move, so the value is reused. */
export function reshape(x: BigUint64Array): BigUint64Array {
  return x;
}
