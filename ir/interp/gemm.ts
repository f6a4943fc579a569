// The interpreter's matrix-multiply core: operands packed into 4-wide panels, a 4×4
// register-blocked micro-kernel, and tiles of the output that one thread computes at a time.
// Conv (through im2col), Gemm and MatMul all end here. This file is pure computation, shared
// by the main thread and the worker (ir/interp/gemm-worker.ts), so it imports nothing.

/** Float storage the kernels compute on. */
export type FloatArray = Float32Array | Float64Array;

/** Height of an A panel and width of a B panel (the register tile is PANEL × PANEL). */
export const PANEL = 4;
/** Depth of one pass over K: an A slice (4×KC) stays in L1, a B block (KC×NC) in L2. */
const KC = 256;

/** One matrix product C[M,N] = bias + A[M,K]·B[K,N] on packed operands, split into tiles. */
export interface GemmJob {
  /** A packed by packA: ceil(M/4) panels of K×4 values. */
  readonly ap: FloatArray;
  /** B packed by packB or packIm2col: ceil(N/4) panels of K×4 values. */
  readonly bp: FloatArray;
  readonly c: FloatArray;
  /** Offset of C[0,0] in `c`; C's rows are `ldc` apart. */
  readonly cOff: number;
  readonly ldc: number;
  /** Per-row bias (conv bias), per-column bias, or none. */
  readonly bias?: FloatArray;
  readonly biasOff: number;
  readonly biasPerColumn: boolean;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** Tile height and width (multiples of PANEL). */
  readonly mc: number;
  readonly nc: number;
  /** Scale of the product (Gemm's alpha) and of the bias (Gemm's beta). */
  readonly alpha: number;
  readonly beta: number;
  /**
   * Independent products of the same shape in one job (Winograd's 36): product b reads A at
   * b·aBatchStride, B at b·bBatchStride and writes C at cOff + b·cBatchStride.
   */
  readonly batch?: number;
  readonly aBatchStride?: number;
  readonly bBatchStride?: number;
  readonly cBatchStride?: number;
}

/** Storage for a packed operand of `rows` (M or N) by `k`. */
export function packedLength(rows: number, k: number): number {
  return Math.ceil(rows / PANEL) * PANEL * k;
}

/**
 * Packs A (M×K, element (i,k) at src[off + i*rs + k*cs]) into panels of 4 rows, k-major;
 * rows past M are zero.
 */
export function packA(src: ArrayLike<number>, off: number, rs: number, cs: number, M: number, K: number, out: FloatArray): void {
  off |= 0; rs |= 0; cs |= 0; M |= 0; K |= 0;
  let o = 0;
  for (let i0 = 0; i0 < M; i0 += PANEL) {
    const rows = Math.min(PANEL, M - i0);
    for (let k = 0; k < K; k++) {
      const base = off + i0 * rs + k * cs;
      for (let i = 0; i < PANEL; i++) out[o++] = i < rows ? src[base + i * rs] : 0;
    }
  }
}

/** Packs B (K×N, element (k,j) at src[off + k*rs + j*cs]) into panels of 4 columns, k-major. */
export function packB(src: ArrayLike<number>, off: number, rs: number, cs: number, K: number, N: number, out: FloatArray): void {
  off |= 0; rs |= 0; cs |= 0; K |= 0; N |= 0;
  let o = 0;
  for (let j0 = 0; j0 < N; j0 += PANEL) {
    const cols = Math.min(PANEL, N - j0);
    if (cols === PANEL && cs === 1) {
      for (let k = 0, s = off + j0; k < K; k++, s += rs) {
        out[o] = src[s]; out[o + 1] = src[s + 1]; out[o + 2] = src[s + 2]; out[o + 3] = src[s + 3];
        o += PANEL;
      }
      continue;
    }
    for (let k = 0; k < K; k++) {
      const base = off + k * rs + j0 * cs;
      for (let j = 0; j < PANEL; j++) out[o++] = j < cols ? src[base + j * cs] : 0;
    }
  }
}

/** Geometry of one convolution group for im2col. */
export interface Im2colGeometry {
  readonly channels: number;
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly pt: number;
  readonly pl: number;
  readonly dh: number;
  readonly dw: number;
  readonly oh: number;
  readonly ow: number;
}

/**
 * Packs the im2col matrix of one image group (rows k = (c, ky, kx), columns = output pixels)
 * straight into B panels, without materializing the unpacked matrix. Padding reads as 0.
 */
export function packIm2col(x: FloatArray, off: number, g: Im2colGeometry, out: FloatArray): void {
  const channels = g.channels | 0, h = g.h | 0, w = g.w | 0, kh = g.kh | 0, kw = g.kw | 0, sh = g.sh | 0, sw = g.sw | 0;
  const pt = g.pt | 0, pl = g.pl | 0, dh = g.dh | 0, dw = g.dw | 0, oh = g.oh | 0, ow = g.ow | 0;
  off |= 0;
  const N = oh * ow, plane = h * w;
  const iy0 = new Int32Array(PANEL), ix0 = new Int32Array(PANEL);
  let o = 0;
  for (let j0 = 0; j0 < N; j0 += PANEL) {
    const cols = Math.min(PANEL, N - j0);
    for (let j = 0; j < PANEL; j++) {
      const p = j0 + Math.min(j, cols - 1);
      const oy = (p / ow) | 0;
      iy0[j] = oy * sh - pt;
      ix0[j] = (p - oy * ow) * sw - pl;
    }
    for (let c = 0; c < channels; c++) {
      const cbase = off + c * plane;
      for (let ky = 0; ky < kh; ky++) {
        const dy = ky * dh;
        for (let kx = 0; kx < kw; kx++) {
          const dx = kx * dw;
          for (let j = 0; j < PANEL; j++) {
            const iy = iy0[j] + dy, ix = ix0[j] + dx;
            out[o++] = j < cols && iy >= 0 && iy < h && ix >= 0 && ix < w ? x[cbase + iy * w + ix] : 0;
          }
        }
      }
    }
  }
}

/** Number of tiles of a job. */
export function tileCount(job: GemmJob): number {
  return (job.batch ?? 1) * Math.ceil(job.M / job.mc) * Math.ceil(job.N / job.nc);
}

/** Computes tile `t` of `job` (rows and columns of C that no other tile touches). */
export function gemmTile(job: GemmJob, t: number): void {
  const { ap, bp, c, bias, biasPerColumn, alpha, beta } = job;
  // `| 0` keeps every index a small integer for V8: dimensions read from ONNX files can be
  // integral doubles, and double-typed indices would halve the kernel's speed.
  const cOff = job.cOff | 0, ldc = job.ldc | 0, biasOff = job.biasOff | 0;
  const M = job.M | 0, N = job.N | 0, K = job.K | 0, mc = job.mc | 0, nc = job.nc | 0;
  const mTiles = Math.ceil(M / mc), perProduct = mTiles * Math.ceil(N / nc);
  const b = (t / perProduct) | 0;
  t -= b * perProduct;
  const aBase = b * ((job.aBatchStride ?? 0) | 0), bBase = b * ((job.bBatchStride ?? 0) | 0);
  const cBase = cOff + b * ((job.cBatchStride ?? 0) | 0);
  const m0 = (t % mTiles) * mc, n0 = ((t / mTiles) | 0) * nc;
  const m1 = Math.min(M, m0 + mc), n1 = Math.min(N, n0 + nc);
  // Start from the scaled bias, then accumulate K in slices of KC.
  for (let i = m0; i < m1; i++) {
    const row = cBase + i * ldc;
    if (!bias) for (let j = n0; j < n1; j++) c[row + j] = 0;
    else if (biasPerColumn) for (let j = n0; j < n1; j++) c[row + j] = beta * bias[biasOff + j];
    else {
      const bv = beta * bias[biasOff + i];
      for (let j = n0; j < n1; j++) c[row + j] = bv;
    }
  }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kl = Math.min(KC, K - k0);
    for (let i0 = m0; i0 < m1; i0 += PANEL) {
      const rows = Math.min(PANEL, m1 - i0);
      for (let j0 = n0; j0 < n1; j0 += PANEL) {
        const cols = Math.min(PANEL, n1 - j0);
        const pa = aBase + i0 * K + k0 * PANEL, pb = bBase + j0 * K + k0 * PANEL, o = cBase + i0 * ldc + j0;
        if (rows === PANEL && cols === PANEL && alpha === 1) addPanelProduct(ap, bp, c, pa, pb, kl, o, ldc);
        else {
          // Edge blocks go through a scratch block of C's own type (one array type per
          // call site keeps the micro-kernel monomorphic).
          const e = c instanceof Float32Array ? edge32 : edge64;
          e.fill(0);
          addPanelProduct(ap, bp, e, pa, pb, kl, 0, PANEL);
          for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) c[o + i * ldc + j] += alpha * e[i * PANEL + j];
        }
      }
    }
  }
}

/**
 * The micro-kernel: adds the product of one A panel and one B panel over `kl` steps of k to
 * the 4×4 block of `c` at `o` (rows `ldc` apart). Kept small and separate so that V8 holds
 * the 16 accumulators in registers.
 */
function addPanelProduct(ap: FloatArray, bp: FloatArray, c: FloatArray, pa: number, pb: number, kl: number, o: number, ldc: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (const end = pa + kl * PANEL; pa < end; pa += PANEL, pb += PANEL) {
    const a0 = ap[pa], a1 = ap[pa + 1], a2 = ap[pa + 2], a3 = ap[pa + 3];
    let b = bp[pb];
    c00 += a0 * b; c10 += a1 * b; c20 += a2 * b; c30 += a3 * b;
    b = bp[pb + 1];
    c01 += a0 * b; c11 += a1 * b; c21 += a2 * b; c31 += a3 * b;
    b = bp[pb + 2];
    c02 += a0 * b; c12 += a1 * b; c22 += a2 * b; c32 += a3 * b;
    b = bp[pb + 3];
    c03 += a0 * b; c13 += a1 * b; c23 += a2 * b; c33 += a3 * b;
  }
  c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += ldc;
  c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += ldc;
  c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += ldc;
  c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
}

const edge32 = new Float32Array(PANEL * PANEL), edge64 = new Float64Array(PANEL * PANEL);

/** Slots of a job's claim counters (an Int32Array over its own SharedArrayBuffer). */
export const CLAIM_NEXT = 0, CLAIM_DONE = 1, CLAIM_FAILED = 2, CLAIM_SLOTS = 3;

/**
 * Claims and computes tiles of `job` until none is left; every thread working on the job calls
 * this. A failing tile still counts as done (so no thread waits forever) and sets the flag.
 */
export function drainTiles(job: GemmJob, claim: Int32Array, tiles: number): void {
  drainClaims(claim, tiles, (t) => gemmTile(job, t));
}

/** Claims tasks 0 … tasks − 1 through `claim` and runs each by `run` until none is left (the
 * claim protocol of drainTiles, for any job shared between threads). */
export function drainClaims(claim: Int32Array, tasks: number, run: (task: number) => void): void {
  for (;;) {
    const t = Atomics.add(claim, CLAIM_NEXT, 1);
    if (t >= tasks) return;
    try {
      run(t);
    } catch (err) {
      Atomics.store(claim, CLAIM_FAILED, 1);
      throw err;
    } finally {
      Atomics.add(claim, CLAIM_DONE, 1);
      Atomics.notify(claim, CLAIM_DONE);
    }
  }
}
