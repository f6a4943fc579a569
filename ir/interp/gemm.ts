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
  const { channels, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow } = g;
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
  return Math.ceil(job.M / job.mc) * Math.ceil(job.N / job.nc);
}

/** Computes tile `t` of `job` (rows and columns of C that no other tile touches). */
export function gemmTile(job: GemmJob, t: number): void {
  const { ap, bp, c, cOff, ldc, bias, biasOff, biasPerColumn, M, N, K, mc, nc, alpha, beta } = job;
  const mTiles = Math.ceil(M / mc);
  const m0 = (t % mTiles) * mc, n0 = ((t / mTiles) | 0) * nc;
  const m1 = Math.min(M, m0 + mc), n1 = Math.min(N, n0 + nc);
  // Start from the scaled bias, then accumulate K in slices of KC.
  for (let i = m0; i < m1; i++) {
    const row = cOff + i * ldc;
    if (!bias) for (let j = n0; j < n1; j++) c[row + j] = 0;
    else if (biasPerColumn) for (let j = n0; j < n1; j++) c[row + j] = beta * bias[biasOff + j];
    else {
      const b = beta * bias[biasOff + i];
      for (let j = n0; j < n1; j++) c[row + j] = b;
    }
  }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kl = Math.min(KC, K - k0);
    for (let i0 = m0; i0 < m1; i0 += PANEL) {
      const aStart = i0 * K + k0 * PANEL;
      const rows = Math.min(PANEL, m1 - i0);
      for (let j0 = n0; j0 < n1; j0 += PANEL) {
        let pa = aStart, pb = j0 * K + k0 * PANEL;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let k = 0; k < kl; k++) {
          const a0 = ap[pa], a1 = ap[pa + 1], a2 = ap[pa + 2], a3 = ap[pa + 3];
          const b0 = bp[pb], b1 = bp[pb + 1], b2 = bp[pb + 2], b3 = bp[pb + 3];
          pa += PANEL; pb += PANEL;
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        const cols = Math.min(PANEL, n1 - j0);
        let o = cOff + i0 * ldc + j0;
        if (rows === PANEL && cols === PANEL && alpha === 1) {
          c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += ldc;
          c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += ldc;
          c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += ldc;
          c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
        } else {
          // Edge tiles go through a scratch array in a separate function, which keeps the
          // hot loop small enough for V8 to hold the 16 accumulators in registers.
          const e = edgeTile;
          e[0] = c00; e[1] = c01; e[2] = c02; e[3] = c03; e[4] = c10; e[5] = c11; e[6] = c12; e[7] = c13;
          e[8] = c20; e[9] = c21; e[10] = c22; e[11] = c23; e[12] = c30; e[13] = c31; e[14] = c32; e[15] = c33;
          addEdgeTile(c, o, ldc, rows, cols, alpha);
        }
      }
    }
  }
}

const edgeTile = new Float64Array(PANEL * PANEL);

function addEdgeTile(c: FloatArray, o: number, ldc: number, rows: number, cols: number, alpha: number): void {
  for (let i = 0; i < rows; i++, o += ldc) for (let j = 0; j < cols; j++) c[o + j] += alpha * edgeTile[i * PANEL + j];
}

/** Slots of a job's claim counters (an Int32Array over its own SharedArrayBuffer). */
export const CLAIM_NEXT = 0, CLAIM_DONE = 1, CLAIM_FAILED = 2, CLAIM_SLOTS = 3;

/**
 * Claims and computes tiles of `job` until none is left; every thread working on the job calls
 * this. A failing tile still counts as done (so no thread waits forever) and sets the flag.
 */
export function drainTiles(job: GemmJob, claim: Int32Array, tiles: number): void {
  for (;;) {
    const t = Atomics.add(claim, CLAIM_NEXT, 1);
    if (t >= tiles) return;
    try {
      gemmTile(job, t);
    } catch (err) {
      Atomics.store(claim, CLAIM_FAILED, 1);
      throw err;
    } finally {
      Atomics.add(claim, CLAIM_DONE, 1);
      Atomics.notify(claim, CLAIM_DONE);
    }
  }
}
