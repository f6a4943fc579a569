// Winograd F(4×4, 3×3) for 3×3 convolutions with stride 1 and no dilation (most of ResNet's
// 3×3 layers): each 4×4 output tile costs 36 multiplies per channel pair instead of 144. The
// 36 products U_ξ·V_ξ (transformed weights × transformed input tiles) run as one batched job
// on the packed GEMM core. All arithmetic is in double precision (JS numbers), so the
// transforms' rounding stays far below float32's; only the stored operands are float32.
import { type FloatArray, PANEL, packA, packedLength, type GemmJob } from './gemm.js';
import { allocFloats, interpreterThreads, runGemm } from './parallel.js';

/** Tile geometry: 4×4 outputs from 6×6 inputs. */
const OUT = 4, IN = 6, POINTS = IN * IN;

/** Geometry of a Winograd-eligible convolution (one image, group 1). */
export interface WinogradConv {
  readonly c: number; readonly h: number; readonly w: number;
  readonly o: number; readonly oh: number; readonly ow: number;
  readonly pt: number; readonly pl: number;
}

const transformedWeights = new WeakMap<object, FloatArray>();
const scratchBuffers = new Map<string, FloatArray>();

/** Reusable storage (shared with the worker when it is in use) for transformed tiles and products. */
function scratch(name: 'V' | 'M', dtype: 'float32' | 'float64', n: number): FloatArray {
  const key = `${name}:${dtype}`, shared = interpreterThreads() > 1;
  const cur = scratchBuffers.get(key);
  if (cur && cur.length >= n && (cur.buffer instanceof SharedArrayBuffer) === shared) return cur;
  const fresh = allocFloats(dtype, n, shared);
  scratchBuffers.set(key, fresh);
  return fresh;
}

/** U_ξ = (G g Gᵀ)_ξ for every output/input channel pair, packed as A panels per point ξ. */
function weightTransform(w: ArrayLike<number>, o: number, c: number, dtype: 'float32' | 'float64', key: object): FloatArray {
  const cached = transformedWeights.get(key);
  if (cached && (cached instanceof Float32Array) === (dtype === 'float32')) return cached;
  // u[ξ][oc][ic] unpacked, then packed per ξ.
  const u = new Float64Array(POINTS * o * c);
  const t = new Float64Array(IN * 3);
  for (let oc = 0; oc < o; oc++)
    for (let ic = 0; ic < c; ic++) {
      const g = (oc * c + ic) * 9;
      // t = G g (6×3), then u = t Gᵀ (6×6).
      for (let col = 0; col < 3; col++) {
        const g0 = w[g + col], g1 = w[g + 3 + col], g2 = w[g + 6 + col];
        gRow(g0, g1, g2, t, col, 3);
      }
      const row = new Float64Array(IN);
      for (let r = 0; r < IN; r++) {
        gRow(t[r * 3], t[r * 3 + 1], t[r * 3 + 2], row, 0, 1);
        for (let s = 0; s < IN; s++) u[((r * IN + s) * o + oc) * c + ic] = row[s];
      }
    }
  const stride = packedLength(o, c);
  const packed = allocFloats(dtype, POINTS * stride);
  const panel = dtype === 'float32' ? new Float32Array(stride) : new Float64Array(stride);
  for (let xi = 0; xi < POINTS; xi++) {
    packA(u, xi * o * c, c, 1, o, c, panel);
    packed.set(panel, xi * stride);
  }
  transformedWeights.set(key, packed);
  return packed;
}

/** Writes G·(g0, g1, g2) (6 values) to out[at + k·step]. */
function gRow(g0: number, g1: number, g2: number, out: Float64Array, at: number, step: number): void {
  out[at] = g0 / 4;
  out[at + step] = -(g0 + g1 + g2) / 6;
  out[at + 2 * step] = -(g0 - g1 + g2) / 6;
  out[at + 3 * step] = g0 / 24 + g1 / 12 + g2 / 6;
  out[at + 4 * step] = g0 / 24 - g1 / 12 + g2 / 6;
  out[at + 5 * step] = g2;
}

/** In-place Bᵀ·x on 6 values at x[at + k·step]. */
function bTransform(x: Float64Array, at: number, step: number): void {
  const x0 = x[at], x1 = x[at + step], x2 = x[at + 2 * step], x3 = x[at + 3 * step], x4 = x[at + 4 * step], x5 = x[at + 5 * step];
  x[at] = 4 * x0 - 5 * x2 + x4;
  x[at + step] = -4 * x1 - 4 * x2 + x3 + x4;
  x[at + 2 * step] = 4 * x1 - 4 * x2 - x3 + x4;
  x[at + 3 * step] = -2 * x1 - x2 + 2 * x3 + x4;
  x[at + 4 * step] = 2 * x1 - x2 - 2 * x3 + x4;
  x[at + 5 * step] = 4 * x1 - 5 * x3 + x5;
}

/** Aᵀ·m on 6 values at m[at + k·step], written as 4 values to out[oat + k·ostep]. */
function aTransform(m: Float64Array, at: number, step: number, out: Float64Array, oat: number, ostep: number): void {
  const m0 = m[at], m1 = m[at + step], m2 = m[at + 2 * step], m3 = m[at + 3 * step], m4 = m[at + 4 * step], m5 = m[at + 5 * step];
  out[oat] = m0 + m1 + m2 + m3 + m4;
  out[oat + ostep] = m1 - m2 + 2 * (m3 - m4);
  out[oat + 2 * ostep] = m1 + m2 + 4 * (m3 + m4);
  out[oat + 3 * ostep] = m1 - m2 + 8 * (m3 - m4) + m5;
}

/**
 * Convolves one image x (c×h×w at xOff) with 3×3 weights into out (o×oh×ow at outOff), stride 1,
 * pads top/left `pt`/`pl` (bottom/right padding is implied by oh, ow).
 */
export function winogradConv(x: FloatArray, xOff: number, weights: { data: ArrayLike<number> }, bias: FloatArray | undefined, out: FloatArray, outOff: number, g: WinogradConv, dtype: 'float32' | 'float64'): void {
  const c = g.c | 0, h = g.h | 0, w = g.w | 0, o = g.o | 0, oh = g.oh | 0, ow = g.ow | 0, pt = g.pt | 0, pl = g.pl | 0;
  const tilesY = Math.ceil(oh / OUT), tilesX = Math.ceil(ow / OUT), T = tilesY * tilesX;
  const U = weightTransform(weights.data, o, c, dtype, weights.data as object);
  // V_ξ[ic][tile], packed as B panels of 4 tiles, one block per ξ.
  const vStride = packedLength(T, c);
  const V = scratch('V', dtype, POINTS * vStride);
  V.fill(0, 0, POINTS * vStride); // the last panel's unused tile columns must read as 0
  const d = new Float64Array(POINTS);
  for (let ty = 0; ty < tilesY; ty++)
    for (let tx = 0; tx < tilesX; tx++) {
      const tile = ty * tilesX + tx;
      const iy0 = ty * OUT - pt, ix0 = tx * OUT - pl;
      const col = ((tile / PANEL) | 0) * c * PANEL + (tile % PANEL);
      for (let ic = 0; ic < c; ic++) {
        const base = xOff + ic * h * w;
        for (let r = 0; r < IN; r++) {
          const iy = iy0 + r;
          for (let s = 0; s < IN; s++) {
            const ix = ix0 + s;
            d[r * IN + s] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[base + iy * w + ix] : 0;
          }
        }
        for (let s = 0; s < IN; s++) bTransform(d, s, IN);
        for (let r = 0; r < IN; r++) bTransform(d, r * IN, 1);
        const at = col + ic * PANEL;
        for (let xi = 0; xi < POINTS; xi++) V[xi * vStride + at] = d[xi];
      }
    }
  // M_ξ = U_ξ · V_ξ: 36 products of [o × c]·[c × T] in one job.
  const M = scratch('M', dtype, POINTS * o * T);
  const job: GemmJob = {
    ap: U, bp: V, c: M, cOff: 0, ldc: T, biasOff: 0, biasPerColumn: false, M: o, N: T, K: c,
    mc: 64, nc: 128, alpha: 1, beta: 1,
    batch: POINTS, aBatchStride: packedLength(o, c), bBatchStride: vStride, cBatchStride: o * T,
  };
  runGemm(job);
  // Y = Aᵀ M A per output channel and tile, cropped to the map.
  const m = new Float64Array(POINTS), tmp = new Float64Array(OUT * IN), y = new Float64Array(OUT * OUT);
  const plane = o * T;
  for (let oc = 0; oc < o; oc++) {
    const b0 = bias ? bias[oc] : 0;
    for (let tile = 0; tile < T; tile++) {
      for (let xi = 0; xi < POINTS; xi++) m[xi] = M[xi * plane + oc * T + tile];
      // Columns first (6 → 4 rows), then rows (6 → 4 columns).
      for (let s = 0; s < IN; s++) aTransform(m, s, IN, tmp, s, IN);
      for (let r = 0; r < OUT; r++) aTransform(tmp, r * IN, 1, y, r * OUT, 1);
      const ty = (tile / tilesX) | 0, tx = tile - ty * tilesX;
      const oy0 = ty * OUT, ox0 = tx * OUT;
      const rows = Math.min(OUT, oh - oy0), cols = Math.min(OUT, ow - ox0);
      const dst = outOff + oc * oh * ow + oy0 * ow + ox0;
      for (let r = 0; r < rows; r++) for (let s = 0; s < cols; s++) out[dst + r * ow + s] = y[r * OUT + s] + b0;
    }
  }
}
