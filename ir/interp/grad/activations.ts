// Backward of the elementwise activations and inference-mode BatchNormalization: each a
// per-element factor read from the forward pass (Relu's and Clip's masks, the sigmoid's
// slope, the normalization's per-channel scale); Softmax's is the one non-diagonal Jacobian.
import type { Tensor } from '../../tensor.js';
import { normAxis } from '../activations.js';
import { defineGradKernels, type GradContext, type GradKernel, zeros } from './kernels.js';

/** A kernel whose Jacobian is diagonal: dx = dy · slope(i), the same slope for every probe. */
function diagonal(slope: (ctx: GradContext) => (i: number) => number): GradKernel {
  return ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const n = ctx.inputs[0]!.size, s = slope(ctx);
    const factor = new Float64Array(n);
    for (let i = 0; i < n; i++) factor[i] = s(i);
    const dx = zeros(ctx, ctx.probes * n);
    for (let p = 0; p < ctx.probes; p++) for (let i = 0, o = p * n; i < n; i++, o++) dx[o] = dy[o] * factor[i];
    return [dx];
  };
}

const xOf = (ctx: GradContext): Tensor['data'] => ctx.inputs[0]!.data;

defineGradKernels({
  Relu: diagonal((ctx) => { const x = xOf(ctx); return (i) => (x[i] > 0 ? 1 : 0); }),
  Clip: diagonal((ctx) => {
    const lo = ctx.attr<number>('min') ?? -Infinity, hi = ctx.attr<number>('max') ?? Infinity, x = xOf(ctx);
    return (i) => (x[i] > lo && x[i] < hi ? 1 : 0);
  }),
  Sigmoid: diagonal((ctx) => { const y = ctx.outputs[0].data; return (i) => y[i] * (1 - y[i]); }),
  HardSigmoid: diagonal((ctx) => {
    const alpha = ctx.attr<number>('alpha') ?? 0.2, beta = ctx.attr<number>('beta') ?? 0.5, x = xOf(ctx);
    return (i) => { const v = alpha * x[i] + beta; return v > 0 && v < 1 ? alpha : 0; };
  }),
  BatchNormalization: diagonal((ctx) => {
    const [x, scale, , , variance] = ctx.inputs;
    const eps = ctx.attr<number>('epsilon') ?? 1e-5;
    const c = x!.shape[1], plane = x!.size / (x!.shape[0] * c || 1);
    return (i) => { const ch = Math.floor(i / plane) % c; return scale!.data[ch] / Math.sqrt(variance!.data[ch] + eps); };
  }),
  Softmax: ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const y = ctx.outputs[0].data, shape = ctx.outputs[0].shape;
    const axis = normAxis(ctx.attr<number>('axis') ?? -1, shape.length);
    const len = shape[axis], n = y.length;
    let inner = 1;
    for (let a = axis + 1; a < shape.length; a++) inner *= shape[a];
    const outer = n / (len * inner || 1);
    const dx = zeros(ctx, ctx.probes * n);
    // dx = y ⊙ (dy − Σ_k dy_k·y_k) along the axis.
    for (let p = 0; p < ctx.probes; p++)
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          const base = o * len * inner + i, pb = p * n + base;
          let dot = 0;
          for (let k = 0; k < len; k++) dot += dy[pb + k * inner] * y[base + k * inner];
          for (let k = 0; k < len; k++) dx[pb + k * inner] = y[base + k * inner] * (dy[pb + k * inner] - dot);
        }
    return [dx];
  },
});
