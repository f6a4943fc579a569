// Pooling kernels over NCHW maps: MaxPool, AveragePool and GlobalAveragePool. Window
// arithmetic follows onnxruntime: padding never counts as a max candidate; with
// count_include_pad the divisor counts explicit pads but not the ceil-mode overhang.
import { Tensor, allocData } from '../tensor.js';
import { numel } from '../types.js';
import { ints } from './conv.js';
import { defineKernels, type KernelContext } from './kernels.js';

interface Window {
  readonly kh: number; readonly kw: number;
  readonly sh: number; readonly sw: number;
  readonly pt: number; readonly pl: number; readonly pb: number; readonly pr: number;
  readonly dh: number; readonly dw: number;
}

function windowOf(ctx: KernelContext): Window {
  const [kh, kw] = ints(ctx.attr<number[]>('kernel_shape'));
  const [sh, sw] = ints(ctx.attr<number[]>('strides') ?? [1, 1]);
  const [pt, pl, pb, pr] = ints(ctx.attr<number[]>('pads') ?? [0, 0, 0, 0]);
  const [dh, dw] = ints(ctx.attr<number[]>('dilations') ?? [1, 1]);
  return { kh, kw, sh, sw, pt, pl, pb, pr, dh, dw };
}

defineKernels({
  MaxPool: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const [n, c, h, w] = ints(x!.shape);
    const [, , oh, ow] = ints(t.shape);
    const { kh, kw, sh, sw, pt, pl, dh, dw } = windowOf(ctx);
    const src = x!.data, out = allocData(t.dtype, numel(t.shape));
    let p = 0;
    for (let plane = 0; plane < n * c; plane++) {
      const base = plane * h * w;
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++, p++) {
          let m = -Infinity;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= w) continue;
              const v = src[base + iy * w + ix];
              if (v > m || Number.isNaN(v)) m = v;
            }
          }
          out[p] = m;
        }
    }
    return [new Tensor(t.dtype, t.shape, out)];
  },

  AveragePool: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const [n, c, h, w] = ints(x!.shape);
    const [, , oh, ow] = ints(t.shape);
    const { kh, kw, sh, sw, pt, pl, pb, pr } = windowOf(ctx);
    const includePad = (ctx.attr<number>('count_include_pad') ?? 0) !== 0;
    const src = x!.data, out = allocData(t.dtype, numel(t.shape));
    let p = 0;
    for (let plane = 0; plane < n * c; plane++) {
      const base = plane * h * w;
      for (let oy = 0; oy < oh; oy++) {
        const y0 = oy * sh - pt, y1 = Math.min(y0 + kh, h + pb);
        const ya = Math.max(y0, 0), yb = Math.min(y1, h);
        for (let ox = 0; ox < ow; ox++, p++) {
          const x0 = ox * sw - pl, x1 = Math.min(x0 + kw, w + pr);
          const xa = Math.max(x0, 0), xb = Math.min(x1, w);
          let sum = 0;
          for (let iy = ya; iy < yb; iy++) for (let ix = xa; ix < xb; ix++) sum += src[base + iy * w + ix];
          const count = includePad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa);
          out[p] = sum / count;
        }
      }
    }
    return [new Tensor(t.dtype, t.shape, out)];
  },

  GlobalAveragePool: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const planes = x!.shape[0] * x!.shape[1];
    const size = x!.size / (planes || 1);
    const src = x!.data, out = allocData(t.dtype, planes);
    for (let plane = 0; plane < planes; plane++) {
      let sum = 0;
      for (let i = plane * size; i < (plane + 1) * size; i++) sum += src[i];
      out[plane] = sum / size;
    }
    return [new Tensor(t.dtype, t.shape, out)];
  },
});
