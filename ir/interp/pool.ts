// Pooling kernels over NCHW maps: MaxPool, AveragePool and GlobalAveragePool. Window
// arithmetic follows onnxruntime: padding never counts as a max candidate; with
// count_include_pad the divisor counts explicit pads but not the ceil-mode overhang.
import { Tensor, allocData } from '../tensor.js';
import { numel } from '../types.js';
import { ints } from './conv.js';
import { defineKernels, type KernelContext } from './kernels.js';

/** A pooling window's geometry. */
export interface Window {
  readonly kh: number; readonly kw: number;
  readonly sh: number; readonly sw: number;
  readonly pt: number; readonly pl: number; readonly pb: number; readonly pr: number;
  readonly dh: number; readonly dw: number;
}

/** The window attributes of a pooling node. */
export function windowOf(ctx: Pick<KernelContext, 'attr'>): Window {
  const [kh, kw] = ints(ctx.attr<number[]>('kernel_shape'));
  const [sh, sw] = ints(ctx.attr<number[]>('strides') ?? [1, 1]);
  const [pt, pl, pb, pr] = ints(ctx.attr<number[]>('pads') ?? [0, 0, 0, 0]);
  const [dh, dw] = ints(ctx.attr<number[]>('dilations') ?? [1, 1]);
  return { kh, kw, sh, sw, pt, pl, pb, pr, dh, dw };
}

/** Sizes of a pooling node's planes (N·C of them), input and output maps. */
export interface PoolMaps { readonly planes: number; readonly h: number; readonly w: number; readonly oh: number; readonly ow: number }

/**
 * Index into the input of each output's winner: the window's first maximum (its last NaN when
 * it holds one), as onnxruntime picks it; −1 for a window entirely in the padding.
 */
export function maxPoolWinners(src: ArrayLike<number>, maps: PoolMaps, win: Window): Int32Array {
  const { planes, h, w, oh, ow } = maps;
  const { kh, kw, sh, sw, pt, pl, dh, dw } = win;
  const arg = new Int32Array(planes * oh * ow).fill(-1);
  let p = 0;
  for (let plane = 0; plane < planes; plane++) {
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
            const i = base + iy * w + ix, v = src[i];
            if (v > m || Number.isNaN(v) || arg[p] < 0) { m = v; arg[p] = i; }
          }
        }
      }
  }
  return arg;
}

/**
 * Calls `fn` for every output of an average pool, in order, with its window's rows [ya, yb)
 * and columns [xa, xb) inside the map and the divisor (explicit pads counted when
 * `includePad`, the ceil-mode overhang never).
 */
export function forEachAverageWindow(maps: PoolMaps, win: Window, includePad: boolean, fn: (p: number, base: number, ya: number, yb: number, xa: number, xb: number, count: number) => void): void {
  const { planes, h, w, oh, ow } = maps;
  const { kh, kw, sh, sw, pt, pl, pb, pr } = win;
  let p = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - pt, y1 = Math.min(y0 + kh, h + pb);
      const ya = Math.max(y0, 0), yb = Math.min(y1, h);
      for (let ox = 0; ox < ow; ox++, p++) {
        const x0 = ox * sw - pl, x1 = Math.min(x0 + kw, w + pr);
        const xa = Math.max(x0, 0), xb = Math.min(x1, w);
        fn(p, base, ya, yb, xa, xb, includePad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa));
      }
    }
  }
}

/** The planes and map sizes of a pooling node from its operand's and result's shapes. */
export function poolMaps(inShape: readonly number[], outShape: readonly number[]): PoolMaps {
  const [n, c, h, w] = ints(inShape);
  const [, , oh, ow] = ints(outShape);
  return { planes: n * c, h, w, oh, ow };
}

defineKernels({
  MaxPool: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const src = x!.data, out = allocData(t.dtype, numel(t.shape));
    const arg = maxPoolWinners(src, poolMaps(x!.shape, t.shape), windowOf(ctx));
    for (let p = 0; p < arg.length; p++) out[p] = arg[p] < 0 ? -Infinity : src[arg[p]];
    return [new Tensor(t.dtype, t.shape, out)];
  },

  AveragePool: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const includePad = (ctx.attr<number>('count_include_pad') ?? 0) !== 0;
    const src = x!.data, out = allocData(t.dtype, numel(t.shape));
    const w = x!.shape[3];
    forEachAverageWindow(poolMaps(x!.shape, t.shape), windowOf(ctx), includePad, (p, base, ya, yb, xa, xb, count) => {
      let sum = 0;
      for (let iy = ya; iy < yb; iy++) for (let ix = xa; ix < xb; ix++) sum += src[base + iy * w + ix];
      out[p] = sum / count;
    });
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
