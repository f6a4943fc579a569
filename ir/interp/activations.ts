// Kernels of activations and normalizations: Clip (ReLU6), HardSigmoid, Softmax, Round and
// inference-mode BatchNormalization. Each is a plain loop over typed arrays, since the
// generic unary helper's indirect call costs more than the arithmetic on large feature maps.
import { Tensor, allocData } from '../tensor.js';
import { defineKernels, type KernelContext } from './kernels.js';
import { roundHalfEven } from '../../runtime/program/post.js';

function unaryOut(x: Tensor, ctx: KernelContext): { src: ArrayLike<number>; out: ReturnType<typeof allocData> } {
  return { src: x.data, out: allocData(ctx.outputTypes[0].dtype, x.size) };
}

defineKernels({
  Clip: ([x], ctx) => {
    const lo = ctx.attr<number>('min') ?? -Infinity, hi = ctx.attr<number>('max') ?? Infinity;
    const { src, out } = unaryOut(x!, ctx);
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
    return [new Tensor(ctx.outputTypes[0].dtype, x!.shape, out)];
  },

  HardSigmoid: ([x], ctx) => {
    const alpha = ctx.attr<number>('alpha') ?? 0.2, beta = ctx.attr<number>('beta') ?? 0.5;
    const { src, out } = unaryOut(x!, ctx);
    for (let i = 0; i < src.length; i++) {
      const v = alpha * src[i] + beta;
      out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    return [new Tensor(ctx.outputTypes[0].dtype, x!.shape, out)];
  },

  Sigmoid: ([x], ctx) => {
    const { src, out } = unaryOut(x!, ctx);
    for (let i = 0; i < src.length; i++) out[i] = 1 / (1 + Math.exp(-src[i]));
    return [new Tensor(ctx.outputTypes[0].dtype, x!.shape, out)];
  },

  Relu: ([x], ctx) => {
    const { src, out } = unaryOut(x!, ctx);
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      out[i] = v > 0 ? v : 0;
    }
    return [new Tensor(ctx.outputTypes[0].dtype, x!.shape, out)];
  },

  Round: ([x], ctx) => {
    const { src, out } = unaryOut(x!, ctx);
    for (let i = 0; i < src.length; i++) out[i] = roundHalfEven(src[i]);
    return [new Tensor(ctx.outputTypes[0].dtype, x!.shape, out)];
  },

  Softmax: ([x], ctx) => {
    const shape = x!.shape;
    const axis = normAxis(ctx.attr<number>('axis') ?? -1, shape.length);
    const len = shape[axis];
    let inner = 1;
    for (let a = axis + 1; a < shape.length; a++) inner *= shape[a];
    const outer = x!.size / (len * inner || 1);
    const { src, out } = unaryOut(x!, ctx);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const base = o * len * inner + i;
        let max = -Infinity;
        for (let k = 0; k < len; k++) max = Math.max(max, src[base + k * inner]);
        let sum = 0;
        for (let k = 0; k < len; k++) {
          const e = Math.exp(src[base + k * inner] - max);
          out[base + k * inner] = e;
          sum += e;
        }
        for (let k = 0; k < len; k++) out[base + k * inner] /= sum;
      }
    return [new Tensor(ctx.outputTypes[0].dtype, shape, out)];
  },

  BatchNormalization: ([x, scale, bias, mean, variance], ctx) => {
    const eps = ctx.attr<number>('epsilon') ?? 1e-5;
    const shape = x!.shape;
    const n = shape[0], c = shape[1];
    const plane = x!.size / (n * c || 1);
    const { src, out } = unaryOut(x!, ctx);
    for (let ch = 0; ch < c; ch++) {
      // y = (x − mean)·scale/√(var+ε) + B, folded into one multiply-add per element.
      const k = scale!.data[ch] / Math.sqrt(variance!.data[ch] + eps);
      const b = bias!.data[ch] - mean!.data[ch] * k;
      for (let bi = 0; bi < n; bi++) {
        const base = (bi * c + ch) * plane;
        for (let i = base; i < base + plane; i++) out[i] = src[i] * k + b;
      }
    }
    return [new Tensor(ctx.outputTypes[0].dtype, shape, out)];
  },
});

/** A possibly negative axis as a non-negative one. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
