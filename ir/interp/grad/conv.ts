// Backward of Conv with respect to its input (the weights are constants): a transposed
// convolution. Per probe and group, the column matrix Wᵀ·dY comes from the GEMM core (packed
// like the forward im2col product, with the roles of weights and columns swapped) and is
// scattered back onto the input map (col2im); depthwise convolutions use direct loops.

import { ints, tileWidth } from '../conv.js';
import { type FloatArray, packA, packB, packedLength } from '../gemm.js';
import type { Tensor } from '../../tensor.js';
import { allocFloats, interpreterThreads, runGemm } from '../parallel.js';
import { defineGradKernels, type GradContext, scratchFloats, zeros } from './kernels.js';

/** Tile height of the column product. */
const TILE_M = 64;

function convGrad([dy]: readonly (FloatArray | undefined)[], ctx: GradContext): (FloatArray | undefined)[] {
  const [x, w] = ctx.inputs;
  if (!ctx.needs[0] || !dy) return [];
  const [n, c, h, wd] = ints(x!.shape);
  const [o, cg, kh, kw] = ints(w!.shape);
  const [, , oh, ow] = ints(ctx.outputs[0].shape);
  const [sh, sw] = ints(ctx.attr<number[]>('strides') ?? [1, 1]);
  const [pt, pl] = ints(ctx.attr<number[]>('pads') ?? [0, 0, 0, 0]);
  const [dh, dw] = ints(ctx.attr<number[]>('dilations') ?? [1, 1]);
  const group = (ctx.attr<number>('group') ?? 1) | 0;
  const og = (o / group) | 0, K = cg * kh * kw, N = oh * ow, plane = h * wd;
  const batch = ctx.probes * n;
  const dx = zeros(ctx, batch * c * plane);
  const wt = w!.data as FloatArray;
  const geo = { h, wd, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow };
  if (cg === 1 && group > 1) {
    depthwiseGrad(dy, wt, dx, batch, c, og, geo);
    return [dx];
  }
  const panels = transposedPanels(w!, group, ctx.dtype);
  // All probes' dY of a group side by side (og × batch·N), so that small maps still make one
  // wide product: the columns of probe b are b·N … b·N + N − 1.
  const NB = batch * N;
  const stacked = scratchFloats('conv-dy', ctx.dtype, og * NB);
  const bp = scratchFloats('conv-b', ctx.dtype, packedLength(NB, og));
  const cols = scratchFloats('conv-cols', ctx.dtype, K * NB);
  const nc = tileWidth(K, NB);
  for (let g = 0; g < group; g++) {
    for (let b = 0; b < batch; b++)
      for (let oc = 0; oc < og; oc++) {
        const src = (b * o + g * og + oc) * N;
        stacked.set(dy.subarray(src, src + N), oc * NB + b * N);
      }
    packB(stacked, 0, NB, 1, og, NB, bp);
    runGemm({ ap: panels[g], bp, c: cols, cOff: 0, ldc: NB, biasOff: 0, biasPerColumn: false, M: K, N: NB, K: og, mc: TILE_M, nc, alpha: 1, beta: 1 });
    for (let b = 0; b < batch; b++) col2im(cols, b * N, NB, dx, (b * c + g * cg) * plane, cg, geo);
  }
  return [dx];
}

const panelCache = new WeakMap<object, FloatArray[]>();

/** Packed A panels of each group's W_gᵀ (K × og: element (k, oc) at w[(g·og + oc)·K + k]), cached per weight tensor. */
function transposedPanels(w: Tensor, group: number, dtype: 'float32' | 'float64'): FloatArray[] {
  const shared = interpreterThreads() > 1;
  const cached = panelCache.get(w.data);
  if (cached && cached.length === group && (cached[0] instanceof Float32Array) === (dtype === 'float32') && (cached[0].buffer instanceof SharedArrayBuffer) === shared) return cached;
  const [o, cg, kh, kw] = ints(w.shape);
  const og = (o / group) | 0, K = cg * kh * kw;
  const panels: FloatArray[] = [];
  for (let g = 0; g < group; g++) {
    const ap = allocFloats(dtype, packedLength(K, og), shared);
    packA(w.data, g * og * K, 1, K, K, og, ap);
    panels.push(ap);
  }
  panelCache.set(w.data, panels);
  return panels;
}

interface Geometry {
  readonly h: number; readonly wd: number; readonly kh: number; readonly kw: number;
  readonly sh: number; readonly sw: number; readonly pt: number; readonly pl: number;
  readonly dh: number; readonly dw: number; readonly oh: number; readonly ow: number;
}

/**
 * Adds the column matrix (rows (c, ky, kx) `ld` apart, output pixels from column `col`) onto
 * the input map at `off`.
 */
function col2im(cols: FloatArray, col: number, ld: number, dx: FloatArray, off: number, channels: number, geo: Geometry): void {
  const { h, wd, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow } = geo;
  let row = 0;
  for (let ci = 0; ci < channels; ci++) {
    const base = off + ci * h * wd;
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++, row++) {
        const r0 = row * ld + col;
        // Output columns whose input column lies inside the map.
        const ox0 = Math.max(0, Math.ceil((pl - kx * dw) / sw));
        const ox1 = Math.min(ow, Math.floor((wd - 1 + pl - kx * dw) / sw) + 1);
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) continue;
          const dst = base + iy * wd - pl + kx * dw, src = r0 + oy * ow;
          for (let ox = ox0; ox < ox1; ox++) dx[dst + ox * sw] += cols[src + ox];
        }
      }
  }
}

/** Transposed depthwise convolution: every output channel scatters onto its one input channel. */
function depthwiseGrad(dy: FloatArray, w: FloatArray, dx: FloatArray, batch: number, c: number, mult: number, geo: Geometry): void {
  const { h, wd, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow } = geo;
  const o = c * mult;
  for (let b = 0; b < batch; b++)
    for (let oc = 0; oc < o; oc++) {
      const xBase = (b * c + Math.floor(oc / mult)) * h * wd, wBase = oc * kh * kw;
      let p = (b * o + oc) * oh * ow;
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++, p++) {
          const g = dy[p];
          if (g === 0) continue;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix >= 0 && ix < wd) dx[xBase + iy * wd + ix] += g * w[wBase + ky * kw + kx];
            }
          }
        }
    }
}

defineGradKernels({ Conv: convGrad });
