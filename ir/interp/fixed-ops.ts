// Float-mode kernels of the fixed-point marker ops (ir/ops/fixed.ts): they round values to the
// grid the ring computation uses, so the float interpreter of a quantized graph shows the
// effect of input encoding and truncation (weights stay unrounded in float mode).
import { Tensor, allocData } from '../tensor.js';
import { defineKernels } from './kernels.js';

defineKernels({
  FixedInput: ([x], ctx) => {
    const scale = 2 ** ctx.attr<number>('frac');
    const out = allocData(ctx.outputTypes[0].dtype, x!.size), src = x!.data;
    // Math.round as runtime/ring/ring.ts encode does (halves go up).
    for (let i = 0; i < src.length; i++) out[i] = Math.round(src[i] * scale) / scale;
    return [new Tensor(ctx.outputTypes[0].dtype, x!.shape, out)];
  },
  Truncate: ([x], ctx) => {
    const scale = 2 ** ctx.attr<number>('bits');
    const out = allocData(ctx.outputTypes[0].dtype, x!.size), src = x!.data;
    for (let i = 0; i < src.length; i++) out[i] = Math.floor(src[i] * scale) / scale;
    return [new Tensor(ctx.outputTypes[0].dtype, x!.shape, out)];
  },
});
