// Backward of Resize: the forward kernel (ir/interp/resize.ts) resizes one axis at a time, each
// output element a weighted sum of at most two source elements along that axis, so the gradient
// walks the same steps back, last step first, each scattering an element's gradient onto its
// sources with the same weights (the transpose of the step's linear map).
import { resizeAttrs, resizeSteps } from '../resize.js';
import type { FloatArray } from '../gemm.js';
import { numel } from '../../types.js';
import { defineGradKernels, zeros } from './kernels.js';

defineGradKernels({
  Resize: ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const x = ctx.inputs[0]!, outShape = ctx.outputs[0].shape;
    const steps = resizeSteps(x.shape, outShape, resizeAttrs(ctx.node.name, (k) => ctx.attr(k)));
    let g: FloatArray = dy;
    for (let s = steps.length - 1; s >= 0; s--) {
      const { axis, map, shape } = steps[s];
      const inLen = shape[axis], outLen = map.i0.length;
      let outer = 1, inner = 1;
      for (let a = 0; a < axis; a++) outer *= shape[a];
      for (let a = axis + 1; a < shape.length; a++) inner *= shape[a];
      const nIn = numel(shape), nOut = outer * outLen * inner;
      const dx = zeros(ctx, ctx.probes * nIn);
      for (let p = 0; p < ctx.probes; p++)
        for (let o = 0; o < outer; o++)
          for (let i = 0; i < outLen; i++) {
            const d = p * nOut + (o * outLen + i) * inner;
            const s0 = p * nIn + (o * inLen + map.i0[i]) * inner, s1 = p * nIn + (o * inLen + map.i1[i]) * inner;
            const b = map.w1[i], a = 1 - b;
            if (b === 0) for (let k = 0; k < inner; k++) dx[s0 + k] += g[d + k];
            else
              for (let k = 0; k < inner; k++) {
                dx[s0 + k] += a * g[d + k];
                dx[s1 + k] += b * g[d + k];
              }
          }
      g = dx;
    }
    // no step (every axis the identity): the gradient passes through
    return [steps.length === 0 ? dy : g];
  },
});
