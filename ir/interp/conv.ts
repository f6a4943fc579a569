// Convolution: im2col packed straight into GEMM panels (ir/interp/gemm.ts) for ordinary and
// grouped convolutions, direct loops for depthwise ones (one input channel per output
// channel), where a matrix product would have a single row. Packed weights are cached per
// weight tensor, since weights are constants that every run reuses.
import { Tensor } from '../tensor.js';
import { numel } from '../types.js';
import { type FloatArray, type Im2colGeometry, PANEL, packA, packB, packIm2col, packedLength } from './gemm.js';
import { defineKernels, type KernelContext } from './kernels.js';
import { allocFloats, interpreterThreads, runGemm } from './parallel.js';
import { winogradConv } from './winograd.js';

/** Whether 3×3 stride-1 convolutions use Winograd F(4×4, 3×3) (tests compare both paths). */
let winograd = true;

/** Turns the Winograd path of 3×3 stride-1 convolutions on or off; returns the previous setting. */
export function setWinograd(enabled: boolean): boolean {
  const before = winograd;
  winograd = enabled;
  return before;
}

/** Tile shape of a conv product: 64 output channels × up to 128 pixels. */
const TILE_M = 64, TILE_N = 128;
/** Aim for at least this many tiles so that two threads finish together. */
const MIN_TILES = 8;

const packedWeights = new WeakMap<object, FloatArray[]>();
const scratch: { float32?: FloatArray; float64?: FloatArray } = {};

/** Packed A panels of each group's [og, cg·kh·kw] weight matrix, cached per weight tensor. */
function weightPanels(w: Tensor, group: number, dtype: 'float32' | 'float64'): FloatArray[] {
  const cached = packedWeights.get(w.data);
  if (cached && cached.length === group && (cached[0] instanceof Float32Array) === (dtype === 'float32')) return cached;
  const [o, cg, kh, kw] = ints(w.shape);
  const og = (o / group) | 0, K = cg * kh * kw;
  const panels: FloatArray[] = [];
  for (let g = 0; g < group; g++) {
    const p = allocFloats(dtype, packedLength(og, K));
    packA(w.data, g * og * K, K, 1, og, K, p);
    panels.push(p);
  }
  packedWeights.set(w.data, panels);
  return panels;
}

/** Reusable (shared) storage of at least `n` elements for packed B panels. */
function scratchFloats(dtype: 'float32' | 'float64', n: number): FloatArray {
  const shared = interpreterThreads() > 1;
  const cur = scratch[dtype];
  if (cur && cur.length >= n && (cur.buffer instanceof SharedArrayBuffer) === shared) return cur;
  const fresh = allocFloats(dtype, n, shared);
  scratch[dtype] = fresh;
  return fresh;
}

/** Tile width giving at least MIN_TILES tiles when the product is narrow. */
export function tileWidth(M: number, N: number): number {
  const mTiles = Math.ceil(M / TILE_M);
  if (mTiles * Math.ceil(N / TILE_N) >= MIN_TILES) return TILE_N;
  const want = Math.ceil(MIN_TILES / mTiles);
  return Math.max(16, Math.ceil(N / want / PANEL) * PANEL);
}

function conv([x, w, b]: readonly (Tensor | undefined)[], ctx: KernelContext): Tensor[] {
  const t = ctx.outputTypes[0];
  const dtype = t.dtype === 'float64' ? 'float64' : 'float32';
  // Integers as int32 (see gemmTile): shapes and attributes from ONNX may be integral doubles.
  const [n, c, h, wd] = ints(x!.shape);
  const [o, cg, kh, kw] = ints(w!.shape);
  const [, , oh, ow] = ints(t.shape);
  const [sh, sw] = ints(ctx.attr<number[]>('strides') ?? [1, 1]);
  const [pt, pl, pb, pr] = ints(ctx.attr<number[]>('pads') ?? [0, 0, 0, 0]);
  const [dh, dw] = ints(ctx.attr<number[]>('dilations') ?? [1, 1]);
  const group = (ctx.attr<number>('group') ?? 1) | 0;
  const og = (o / group) | 0;
  const geo: Im2colGeometry = { channels: cg, h, w: wd, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow };
  const xd = x!.data as FloatArray, bias = b?.data as FloatArray | undefined;
  const N = oh * ow, K = cg * kh * kw;
  if (cg === 1 && group > 1) {
    const out = allocFloats(dtype, numel(t.shape), false);
    depthwise(xd, w!.data as FloatArray, bias, out, n, c, og, geo);
    return [new Tensor(dtype, t.shape, out)];
  }
  const out = allocFloats(dtype, numel(t.shape));
  // Winograd pays off once the channel product amortizes its tile transforms and the map has
  // at least one full panel of 4 tiles (below that, a padded product and weights transformed
  // to 4× their size buy nothing).
  const tiles = Math.ceil(oh / 4) * Math.ceil(ow / 4);
  if (winograd && group === 1 && kh === 3 && kw === 3 && sh === 1 && sw === 1 && dh === 1 && dw === 1 && c * o >= 256 && tiles >= 4) {
    for (let bi = 0; bi < n; bi++)
      winogradConv(xd, bi * c * h * wd, w!, bias, out, bi * o * oh * ow, { c, h, w: wd, o, oh, ow, pt, pl }, dtype);
    return [new Tensor(dtype, t.shape, out)];
  }
  const panels = weightPanels(w!, group, dtype);
  const bp = scratchFloats(dtype, packedLength(N, K));
  const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && pb === 0 && pr === 0;
  const nc = tileWidth(og, N);
  for (let bi = 0; bi < n; bi++)
    for (let g = 0; g < group; g++) {
      const xOff = (bi * c + g * cg) * h * wd;
      if (pointwise) packB(xd, xOff, h * wd, 1, K, N, bp);
      else packIm2col(xd, xOff, geo, bp);
      runGemm({
        ap: panels[g], bp, c: out, cOff: (bi * o + g * og) * N, ldc: N, bias, biasOff: g * og, biasPerColumn: false,
        M: og, N, K, mc: TILE_M, nc, alpha: 1, beta: 1,
      });
    }
  return [new Tensor(dtype, t.shape, out)];
}

/** Numbers as int32 values, which V8 keeps as small integers. */
export function ints(xs: readonly number[]): number[] {
  return xs.map((v) => v | 0);
}

/** Convolution where every output channel reads one input channel (group = channels). */
function depthwise(x: FloatArray, w: FloatArray, bias: FloatArray | undefined, out: FloatArray, n: number, c: number, mult: number, geo: Im2colGeometry): void {
  const { h, w: wd, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow } = geo;
  const o = c * mult;
  // Output columns whose whole window lies inside the row need no bounds checks.
  const oxLo = Math.min(ow, Math.max(0, Math.ceil(pl / sw)));
  const oxHi = Math.max(oxLo, Math.min(ow, Math.floor((wd - 1 + pl - (kw - 1) * dw) / sw) + 1));
  for (let bi = 0; bi < n; bi++)
    for (let oc = 0; oc < o; oc++) {
      const xBase = (bi * c + Math.floor(oc / mult)) * h * wd;
      const wBase = oc * kh * kw;
      const b0 = bias ? bias[oc] : 0;
      let p = (bi * o + oc) * oh * ow;
      for (let oy = 0; oy < oh; oy++) {
        const iy0 = oy * sh - pt;
        for (let ox = 0; ox < ow; ox++, p++) {
          const ix0 = ox * sw - pl;
          let acc = b0;
          const inside = ox >= oxLo && ox < oxHi;
          for (let ky = 0; ky < kh; ky++) {
            const iy = iy0 + ky * dh;
            if (iy < 0 || iy >= h) continue;
            const row = xBase + iy * wd, wRow = wBase + ky * kw;
            if (inside) for (let kx = 0; kx < kw; kx++) acc += w[wRow + kx] * x[row + ix0 + kx * dw];
            else
              for (let kx = 0; kx < kw; kx++) {
                const ix = ix0 + kx * dw;
                if (ix >= 0 && ix < wd) acc += w[wRow + kx] * x[row + ix];
              }
          }
          out[p] = acc;
        }
      }
    }
}

defineKernels({ Conv: conv });
