// Kernels of the data-movement and shape ops (Shape, Gather, Slice, Cast, Concat, Reshape,
// Flatten, Squeeze, Unsqueeze, Transpose). The importer folds constant subgraphs with them,
// so they handle every dtype, not just floats.
import { Tensor, allocData, castTensor, type TensorData } from '../tensor.js';
import { type DType, type Shape, numel, stridesOf } from '../types.js';
import { defineKernels, type Kernel, type KernelContext } from './kernels.js';

/** The operand under the node's static result type (same elements, new shape). */
const reshaped: Kernel = ([x], ctx) => [retyped(x!, ctx)];

function retyped(x: Tensor, ctx: KernelContext): Tensor {
  const t = ctx.outputTypes[0];
  return new Tensor(t.dtype, t.shape, x.dtype === t.dtype ? x.data : castTensor(x, t.dtype).data);
}

function product(shape: Shape, from: number, to: number): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= shape[i];
  return p;
}

function alloc(dtype: DType, shape: Shape): TensorData {
  return allocData(dtype, numel(shape));
}

const shapeKernel: Kernel = ([x], ctx) => {
  const rank = x!.shape.length;
  const start = Math.min(ctx.attr<number>('start'), rank), end = Math.min(ctx.attr<number>('end'), rank);
  const dims = x!.shape.slice(start, Math.max(start, end));
  return [new Tensor('int64', [dims.length], Float64Array.from(dims))];
};

const gather: Kernel = ([data, indices], ctx) => {
  const t = ctx.outputTypes[0], axis = ctx.attr<number>('axis');
  const x = data!.dtype === t.dtype ? data! : castTensor(data!, t.dtype);
  const d = x.shape[axis], inner = product(x.shape, axis + 1, x.shape.length), outer = product(x.shape, 0, axis);
  const idx = indices!.data;
  const out = alloc(t.dtype, t.shape);
  const src = x.data;
  let o = 0;
  for (let b = 0; b < outer; b++) {
    for (let j = 0; j < idx.length; j++) {
      let k = idx[j];
      if (k < 0) k += d;
      if (k < 0 || k >= d) throw new RangeError(`Gather index ${idx[j]} is out of range for size ${d}`);
      const from = (b * d + k) * inner;
      out.set(src.subarray(from, from + inner) as never, o);
      o += inner;
    }
  }
  return [new Tensor(t.dtype, t.shape, out)];
};

const slice: Kernel = ([data], ctx) => {
  const t = ctx.outputTypes[0];
  const x = data!.dtype === t.dtype ? data! : castTensor(data!, t.dtype);
  const rank = x.shape.length;
  const start = new Array<number>(rank).fill(0), step = new Array<number>(rank).fill(1);
  const axes = ctx.attr<number[]>('axes'), starts = ctx.attr<number[]>('starts'), steps = ctx.attr<number[]>('steps');
  axes.forEach((a, i) => { start[a] = starts[i]; step[a] = steps[i]; });
  const inStrides = stridesOf(x.shape);
  const out = alloc(t.dtype, t.shape);
  const n = out.length;
  if (n === 0) return [new Tensor(t.dtype, t.shape, out)];
  const counter = new Array<number>(rank).fill(0);
  let base = 0;
  for (let a = 0; a < rank; a++) base += start[a] * inStrides[a];
  const src = x.data;
  let offset = base;
  for (let i = 0; i < n; i++) {
    out[i] = src[offset];
    for (let a = rank - 1; a >= 0; a--) {
      offset += step[a] * inStrides[a];
      if (++counter[a] < t.shape[a]) break;
      offset -= counter[a] * step[a] * inStrides[a];
      counter[a] = 0;
    }
  }
  return [new Tensor(t.dtype, t.shape, out)];
};

const concat: Kernel = (inputs, ctx) => {
  const t = ctx.outputTypes[0], axis = ctx.attr<number>('axis');
  const outer = product(t.shape, 0, axis), inner = product(t.shape, axis + 1, t.shape.length);
  const out = alloc(t.dtype, t.shape);
  const parts = inputs.map((x) => (x!.dtype === t.dtype ? x! : castTensor(x!, t.dtype)));
  const rowOut = t.shape[axis] * inner;
  let col = 0;
  for (const p of parts) {
    const block = p.shape[axis] * inner;
    for (let b = 0; b < outer; b++) out.set(p.data.subarray(b * block, (b + 1) * block) as never, b * rowOut + col);
    col += block;
  }
  return [new Tensor(t.dtype, t.shape, out)];
};

const transpose: Kernel = ([data], ctx) => {
  const t = ctx.outputTypes[0], perm = ctx.attr<number[]>('perm');
  const x = data!.dtype === t.dtype ? data! : castTensor(data!, t.dtype);
  const rank = perm.length, inStrides = stridesOf(x.shape);
  const step = perm.map((p) => inStrides[p]);
  const out = alloc(t.dtype, t.shape);
  const src = x.data, n = out.length;
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    out[i] = src[offset];
    for (let a = rank - 1; a >= 0; a--) {
      offset += step[a];
      if (++counter[a] < t.shape[a]) break;
      offset -= counter[a] * step[a];
      counter[a] = 0;
    }
  }
  return [new Tensor(t.dtype, t.shape, out)];
};

defineKernels({
  Shape: shapeKernel,
  Gather: gather,
  Slice: slice,
  Cast: ([x], ctx) => [castTensor(x!, ctx.outputTypes[0].dtype)],
  Concat: concat,
  Reshape: reshaped,
  Flatten: reshaped,
  Squeeze: reshaped,
  Unsqueeze: reshaped,
  Transpose: transpose,
});
