// Backward of the pooling ops: MaxPool routes each output's gradient to the element the
// forward pass chose (the first maximum of the window, as ir/interp/pool.ts picks it),
// AveragePool and GlobalAveragePool spread it evenly over the window's counted elements.
import { ints } from '../conv.js';
import type { FloatArray } from '../gemm.js';
import { defineGradKernels, type GradContext, zeros } from './kernels.js';

interface Window {
  readonly kh: number; readonly kw: number; readonly sh: number; readonly sw: number;
  readonly pt: number; readonly pl: number; readonly pb: number; readonly pr: number;
  readonly dh: number; readonly dw: number;
}

function windowOf(ctx: GradContext): Window {
  const [kh, kw] = ints(ctx.attr<number[]>('kernel_shape'));
  const [sh, sw] = ints(ctx.attr<number[]>('strides') ?? [1, 1]);
  const [pt, pl, pb, pr] = ints(ctx.attr<number[]>('pads') ?? [0, 0, 0, 0]);
  const [dh, dw] = ints(ctx.attr<number[]>('dilations') ?? [1, 1]);
  return { kh, kw, sh, sw, pt, pl, pb, pr, dh, dw };
}

defineGradKernels({
  MaxPool: ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const x = ctx.inputs[0]!;
    const [n, c, h, w] = ints(x.shape);
    const [, , oh, ow] = ints(ctx.outputs[0].shape);
    const { kh, kw, sh, sw, pt, pl, dh, dw } = windowOf(ctx);
    const src = x.data, nx = x.size, ny = n * c * oh * ow;
    // The winning element of every output, found once for all probes.
    const arg = new Int32Array(ny).fill(-1);
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
              if (v > m || arg[p] < 0) { m = v; arg[p] = base + iy * w + ix; }
            }
          }
        }
    }
    const dx = zeros(ctx, ctx.probes * nx);
    for (let q = 0; q < ctx.probes; q++) for (let i = 0; i < ny; i++) if (arg[i] >= 0) dx[q * nx + arg[i]] += dy[q * ny + i];
    return [dx];
  },

  AveragePool: ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const x = ctx.inputs[0]!;
    const [n, c, h, w] = ints(x.shape);
    const [, , oh, ow] = ints(ctx.outputs[0].shape);
    const { kh, kw, sh, sw, pt, pl, pb, pr } = windowOf(ctx);
    const includePad = (ctx.attr<number>('count_include_pad') ?? 0) !== 0;
    const nx = x.size, ny = n * c * oh * ow;
    const dx = zeros(ctx, ctx.probes * nx);
    for (let q = 0; q < ctx.probes; q++) {
      let p = q * ny;
      for (let plane = 0; plane < n * c; plane++) {
        const base = q * nx + plane * h * w;
        for (let oy = 0; oy < oh; oy++) {
          const y0 = oy * sh - pt, y1 = Math.min(y0 + kh, h + pb);
          const ya = Math.max(y0, 0), yb = Math.min(y1, h);
          for (let ox = 0; ox < ow; ox++, p++) {
            const x0 = ox * sw - pl, x1 = Math.min(x0 + kw, w + pr);
            const xa = Math.max(x0, 0), xb = Math.min(x1, w);
            const count = includePad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa);
            const g = dy[p] / count;
            for (let iy = ya; iy < yb; iy++) for (let ix = xa; ix < xb; ix++) dx[base + iy * w + ix] += g;
          }
        }
      }
    }
    return [dx];
  },

  GlobalAveragePool: ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const x = ctx.inputs[0]!;
    const planes = x.shape[0] * x.shape[1], size = x.size / (planes || 1);
    const dx: FloatArray = zeros(ctx, ctx.probes * x.size);
    for (let q = 0; q < ctx.probes * planes; q++) {
      const g = dy[q] / size;
      dx.fill(g, q * size, (q + 1) * size);
    }
    return [dx];
  },
});
