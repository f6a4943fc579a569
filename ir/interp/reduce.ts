// Reductions: ReduceMean over a set of axes and ArgMax along one axis (int64 result).
import { Tensor, allocData } from '../tensor.js';
import { numel, stridesOf } from '../types.js';
import { defineKernels } from './kernels.js';

defineKernels({
  ReduceMean: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const shape = x!.shape, rank = shape.length;
    const given = ctx.attr<number[]>('axes') ?? [];
    const axes = new Set(given.length === 0 ? shape.map((_, i) => i) : given.map((a) => (a < 0 ? a + rank : a)));
    // Output stride of every input axis (0 on reduced axes) in the kept-dims layout.
    const keptShape = shape.map((d, i) => (axes.has(i) ? 1 : d));
    const keptStrides = stridesOf(keptShape);
    const step = shape.map((_, i) => (axes.has(i) ? 0 : keptStrides[i]));
    const sums = new Float64Array(numel(keptShape));
    const src = x!.data, coord = new Array<number>(rank).fill(0);
    let o = 0;
    for (let i = 0; i < src.length; i++) {
      sums[o] += src[i];
      for (let d = rank - 1; d >= 0; d--) {
        o += step[d];
        if (++coord[d] < shape[d]) break;
        o -= step[d] * shape[d];
        coord[d] = 0;
      }
    }
    const count = src.length / (sums.length || 1);
    const out = allocData(t.dtype, sums.length);
    for (let i = 0; i < sums.length; i++) out[i] = sums[i] / count;
    return [new Tensor(t.dtype, t.shape, out)];
  },

  ArgMax: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const shape = x!.shape;
    const axis = (ctx.attr<number>('axis') ?? 0) < 0 ? (ctx.attr<number>('axis') ?? 0) + shape.length : ctx.attr<number>('axis') ?? 0;
    const last = (ctx.attr<number>('select_last_index') ?? 0) !== 0;
    const len = shape[axis];
    let inner = 1;
    for (let a = axis + 1; a < shape.length; a++) inner *= shape[a];
    const outer = x!.size / (len * inner || 1);
    const src = x!.data, out = allocData(t.dtype, outer * inner);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const base = o * len * inner + i;
        let best = 0, max = src[base];
        for (let k = 1; k < len; k++) {
          const v = src[base + k * inner];
          if (v > max || (last && v === max)) { max = v; best = k; }
        }
        out[o * inner + i] = best;
      }
    return [new Tensor(t.dtype, t.shape, out)];
  },
});
