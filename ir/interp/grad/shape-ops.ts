// Backward of the data-movement ops: the reshaping ones pass the gradient through (the same
// elements in the same order), Transpose applies the inverse permutation, Concat splits the
// gradient into its operands' parts, Pad crops the border away, Slice scatters it back.
import { numel, stridesOf } from '../../types.js';
import type { FloatArray } from '../gemm.js';
import { defineGradKernels, type GradKernel, zeros } from './kernels.js';

const reshaped: GradKernel = ([dy], ctx) => [ctx.needs[0] ? dy : undefined];

const transpose: GradKernel = ([dy], ctx) => {
  if (!dy || !ctx.needs[0]) return [];
  // Forward: out[i] = x[offset(i)] walking the output in order; backward scatters along the same walk.
  const x = ctx.inputs[0]!, outShape = ctx.outputs[0].shape, perm = ctx.attr<number[]>('perm');
  const rank = perm.length, inStrides = stridesOf(x.shape), step = perm.map((p) => inStrides[p]);
  const n = x.size;
  const dx = zeros(ctx, ctx.probes * n);
  for (let p = 0; p < ctx.probes; p++) {
    const counter = new Array<number>(rank).fill(0);
    let offset = 0;
    for (let i = 0; i < n; i++) {
      dx[p * n + offset] = dy[p * n + i];
      for (let a = rank - 1; a >= 0; a--) {
        offset += step[a];
        if (++counter[a] < outShape[a]) break;
        offset -= counter[a] * step[a];
        counter[a] = 0;
      }
    }
  }
  return [dx];
};

const concat: GradKernel = ([dy], ctx) => {
  if (!dy) return [];
  const t = ctx.outputs[0], axis = ctx.attr<number>('axis');
  let outer = 1, inner = 1;
  for (let a = 0; a < axis; a++) outer *= t.shape[a];
  for (let a = axis + 1; a < t.shape.length; a++) inner *= t.shape[a];
  const rowOut = t.shape[axis] * inner, ny = t.size;
  let col = 0;
  return ctx.inputs.map((x, k) => {
    const block = x!.shape[axis] * inner, start = col;
    col += block;
    if (!ctx.needs[k]) return undefined;
    const nx = x!.size, dx = zeros(ctx, ctx.probes * nx);
    for (let p = 0; p < ctx.probes; p++)
      for (let b = 0; b < outer; b++) dx.set(dy.subarray(p * ny + b * rowOut + start, p * ny + b * rowOut + start + block), p * nx + b * block);
    return dx;
  });
};

const pad: GradKernel = ([dy], ctx) => {
  if (!dy || !ctx.needs[0]) return [];
  const x = ctx.inputs[0]!, inShape = x.shape, outShape = ctx.outputs[0].shape, rank = inShape.length;
  const pads = ctx.attr<number[]>('pads');
  const nx = x.size, ny = numel(outShape), outStrides = stridesOf(outShape), inStrides = stridesOf(inShape);
  const dx: FloatArray = zeros(ctx, ctx.probes * nx);
  // Every input element that lands inside the output takes the gradient there (pads may crop).
  for (let i = 0; i < nx; i++) {
    let o = 0, inside = true, r = i;
    for (let d = 0; d < rank; d++) {
      const ci = Math.floor(r / inStrides[d]);
      r -= ci * inStrides[d];
      const oc = ci + pads[d];
      if (oc < 0 || oc >= outShape[d]) { inside = false; break; }
      o += oc * outStrides[d];
    }
    if (inside) for (let p = 0; p < ctx.probes; p++) dx[p * nx + i] = dy[p * ny + o];
  }
  return [dx];
};

const slice: GradKernel = ([dy], ctx) => {
  if (!dy || !ctx.needs[0]) return [];
  // Every output element came from one input element: the gradient goes back there.
  const x = ctx.inputs[0]!, outShape = ctx.outputs[0].shape, rank = outShape.length;
  const starts = ctx.attr<number[]>('starts'), axes = ctx.attr<number[]>('axes'), steps = ctx.attr<number[]>('steps');
  const inStrides = stridesOf(x.shape), first = new Array<number>(rank).fill(0), step = new Array<number>(rank).fill(1);
  axes.forEach((a, i) => ((first[a] = starts[i]), (step[a] = steps[i])));
  const nx = x.size, ny = numel(outShape), dx: FloatArray = zeros(ctx, ctx.probes * nx);
  const outStrides = stridesOf(outShape);
  for (let i = 0; i < ny; i++) {
    let o = 0, r = i;
    for (let d = 0; d < rank; d++) {
      const c = Math.floor(r / outStrides[d]);
      r -= c * outStrides[d];
      o += (first[d] + c * step[d]) * inStrides[d];
    }
    for (let p = 0; p < ctx.probes; p++) dx[p * nx + o] += dy[p * ny + i];
  }
  return [dx];
};

defineGradKernels({
  Slice: slice,
  Reshape: reshaped,
  Flatten: reshaped,
  Squeeze: reshaped,
  Unsqueeze: reshaped,
  Transpose: transpose,
  Concat: concat,
  Pad: pad,
});
