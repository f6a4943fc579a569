// The refit solver's dense kernels, as jobs of independent tasks that the main thread and a
// worker (refit-worker.ts, through parallel.ts) claim one at a time over shared memory. A task
// always writes the same output region (or its own partial sum) by the same sequence of
// operations, whichever thread runs it, so results never depend on thread timing. This file is
// pure computation, shared by both threads: it imports only the interpreter's claim protocol.
import { drainClaims } from '../../../ir/interp/gemm.js';

/** Rows per register block (the 4×4 micro-kernel). */
export const LANES = 4;
/** Samples per pass of the product kernel: a block of 4 rows (8 KB) stays in L1 while the others stream by. */
const SAMPLE_BLOCK = 256;
/** Rows of the second operand one pass over a sample block takes (a multiple of 4). */
const B_TILE = 128;
/** Columns of a Cholesky panel's row block one triangular-solve task owns. */
const PANEL_COLUMNS = 256;

/** out[(row0 + i)·ldo + col0 + j] += sign · Σ_s a[aOff + i·lda + s]·b[bOff + j·ldb + s] over rows
 * i < rows of `a` and j < bRows of `b` (both multiples of 4), s < len; with `upper` (a = b) only
 * the 4×4 blocks on and above the diagonal. One task is a range of 4-row blocks of `a`. */
export interface ProductsJob {
  readonly kind: 'products';
  readonly a: Float64Array;
  readonly aOff: number;
  readonly lda: number;
  readonly rows: number;
  readonly b: Float64Array;
  readonly bOff: number;
  readonly ldb: number;
  readonly bRows: number;
  readonly len: number;
  readonly out: Float64Array;
  readonly ldo: number;
  /** Row and column of the output's (0, 0). */
  readonly row0: number;
  readonly col0: number;
  readonly upper: boolean;
  readonly sign: 1 | -1;
  /** First 4-row block of each task, and the end: tasks + 1 entries. */
  readonly bounds: Int32Array;
}

/** partial[t] = Σ over the 4×4 blocks (i, j ≥ i) of task t of ⟨G_ij, (W·Wᵀ)_ij⟩, weighted 2 off
 * the diagonal blocks: their sum is Σ_o wₒᵀ·G·wₒ for the symmetric G stored as its upper blocks
 * (p × p, both halves of each diagonal block) and W (p × cols, rows `ldw` apart). */
export interface QuadJob {
  readonly kind: 'quad';
  readonly g: Float64Array;
  readonly p: number;
  readonly w: Float64Array;
  readonly ldw: number;
  readonly cols: number;
  readonly partial: Float64Array;
  readonly bounds: Int32Array;
}

/** One step of the blocked Cholesky: rows k0 ≤ k < k1 of U, already factored on their diagonal
 * block, extended to columns k1 ≤ j < n (U[k][j] = (A[k][j] − Σ_{k0≤q<k} U[q][k]·U[q][j]) / U[k][k]);
 * one task is a range of PANEL_COLUMNS columns. */
export interface PanelJob {
  readonly kind: 'panel';
  readonly u: Float64Array;
  readonly p: number;
  readonly n: number;
  readonly k0: number;
  readonly k1: number;
}

/** A job of the refit's kernels. */
export type KernelJob = ProductsJob | QuadJob | PanelJob;

/** Task bounds over `blocks` 4-row blocks splitting their work (`upper`: block r costs blocks − r)
 * into about `tasks` equal parts. */
export function blockBounds(blocks: number, upper: boolean, tasks: number): Int32Array {
  const cost = (r: number) => (upper ? blocks - r : 1);
  let total = 0;
  for (let r = 0; r < blocks; r++) total += cost(r);
  const out = [0];
  let acc = 0;
  for (let r = 0; r < blocks; r++) {
    acc += cost(r);
    if (acc >= (total * out.length) / tasks && r + 1 < blocks) out.push(r + 1);
  }
  out.push(blocks);
  return Int32Array.from(out);
}

/** Tasks of a job. */
export function taskCount(job: KernelJob): number {
  switch (job.kind) {
    case 'products':
    case 'quad':
      return job.bounds.length - 1;
    case 'panel':
      return Math.ceil((job.n - job.k1) / PANEL_COLUMNS);
  }
}

/** Runs task `t` of `job`. */
export function runTask(job: KernelJob, t: number): void {
  switch (job.kind) {
    case 'products':
      return productsTask(job, t);
    case 'quad':
      return quadTask(job, t);
    case 'panel':
      return panelColumns(job, job.k1 + t * PANEL_COLUMNS, Math.min(job.n, job.k1 + (t + 1) * PANEL_COLUMNS));
  }
}

/** Claims and runs tasks of `job` until none is left (the interpreter's claim protocol,
 * ir/interp/gemm.ts' drainClaims); a failure is flagged in `claim`. */
export function drainTasks(job: KernelJob, claim: Int32Array, tasks: number): void {
  drainClaims(claim, tasks, (t) => runTask(job, t));
}

/** The 4×4 register block: acc[4r + c] = Σ_{s0≤s<s1} a[a0 + r·lda + s]·b[b0 + c·ldb + s]. */
function block4x4(a: Float64Array, a0: number, lda: number, b: Float64Array, b0: number, ldb: number, s0: number, s1: number, acc: Float64Array): void {
  const a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let s = s0; s < s1; s++) {
    const x0 = a[a0 + s], x1 = a[a1 + s], x2 = a[a2 + s], x3 = a[a3 + s];
    const y0 = b[b0 + s], y1 = b[b1 + s], y2 = b[b2 + s], y3 = b[b3 + s];
    c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
    c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
    c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
    c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
  }
  acc[0] = c00; acc[1] = c01; acc[2] = c02; acc[3] = c03;
  acc[4] = c10; acc[5] = c11; acc[6] = c12; acc[7] = c13;
  acc[8] = c20; acc[9] = c21; acc[10] = c22; acc[11] = c23;
  acc[12] = c30; acc[13] = c31; acc[14] = c32; acc[15] = c33;
}

/** block4x4's output, one per thread. */
const acc = new Float64Array(LANES * LANES);

function productsTask(job: ProductsJob, t: number): void {
  const { a, aOff, lda, b, bOff, ldb, bRows, len, out, ldo, row0, col0, upper, sign } = job;
  const r0 = job.bounds[t] * LANES, r1 = job.bounds[t + 1] * LANES;
  for (let s0 = 0; s0 < len; s0 += SAMPLE_BLOCK) {
    const s1 = Math.min(len, s0 + SAMPLE_BLOCK);
    // B_TILE rows of b at a time (256 KB at most, in L2) against every row block of the task
    for (let j0 = upper ? r0 : 0; j0 < bRows; j0 += B_TILE) {
      const j1 = Math.min(bRows, j0 + B_TILE);
      for (let i = r0; i < r1 && (!upper || i < j1); i += LANES) {
        const a0 = aOff + i * lda;
        for (let j = upper ? Math.max(i, j0) : j0; j < j1; j += LANES) {
          block4x4(a, a0, lda, b, bOff + j * ldb, ldb, s0, s1, acc);
          for (let r = 0, o = (row0 + i) * ldo + col0 + j; r < LANES; r++, o += ldo) {
            out[o] += sign * acc[r * LANES];
            out[o + 1] += sign * acc[r * LANES + 1];
            out[o + 2] += sign * acc[r * LANES + 2];
            out[o + 3] += sign * acc[r * LANES + 3];
          }
        }
      }
    }
  }
}

function quadTask(job: QuadJob, t: number): void {
  const { g, p, w, ldw, cols } = job;
  const r0 = job.bounds[t] * LANES, r1 = job.bounds[t + 1] * LANES;
  let total = 0;
  for (let i = r0; i < r1; i += LANES) {
    for (let j = i; j < p; j += LANES) {
      block4x4(w, i * ldw, ldw, w, j * ldw, ldw, 0, cols, acc);
      let block = 0;
      for (let r = 0, o = i * p + j; r < LANES; r++, o += p) {
        block += g[o] * acc[r * LANES] + g[o + 1] * acc[r * LANES + 1] + g[o + 2] * acc[r * LANES + 2] + g[o + 3] * acc[r * LANES + 3];
      }
      total += j === i ? block : 2 * block;
    }
  }
  job.partial[t] = total;
}

/** Row k of `r` (rows `ldr` apart), columns c0 ≤ c < c1, minus Σ_{k0≤q<k} U[q][k]·(row q of `r`):
 * one step of a forward substitution by Uᵀ (U upper, rows p apart). */
function subtractRows(u: Float64Array, p: number, k: number, k0: number, r: Float64Array, ldr: number, c0: number, c1: number): void {
  const rk = k * ldr;
  for (let q = k0; q < k; q++) {
    const l = u[q * p + k];
    if (l === 0) continue;
    const rq = q * ldr;
    for (let c = c0; c < c1; c++) r[rk + c] -= l * r[rq + c];
  }
}

function panelColumns(job: PanelJob, j0: number, j1: number): void {
  const { u, p, k0, k1 } = job;
  for (let k = k0; k < k1; k++) {
    subtractRows(u, p, k, k0, u, p, j0, j1);
    const inv = 1 / u[k * p + k];
    for (let j = j0; j < j1; j++) u[k * p + j] *= inv;
  }
}

/** Factors rows k0 ≤ k < k1 of U on their diagonal block (columns k0 ≤ j < k1), the earlier
 * blocks' updates already subtracted; a pivot not above `floor` is lifted to it. */
export function factorDiagonal(u: Float64Array, p: number, k0: number, k1: number, floor: number): void {
  for (let k = k0; k < k1; k++) {
    const rk = k * p;
    subtractRows(u, p, k, k0, u, p, k, k1);
    let d = u[rk + k];
    if (!(d > floor)) d = floor;
    const ukk = Math.sqrt(d);
    u[rk + k] = ukk;
    const inv = 1 / ukk;
    for (let j = k + 1; j < k1; j++) u[rk + j] *= inv;
  }
}

/** Rows k0 ≤ k < k1 of Z in Uᵀ·Z = R (R n × m in `r`, rows `ldr` apart, overwritten), the
 * earlier blocks' contributions already subtracted. */
export function forwardBlock(u: Float64Array, p: number, k0: number, k1: number, r: Float64Array, ldr: number, m: number): void {
  for (let k = k0; k < k1; k++) {
    const rk = k * ldr;
    subtractRows(u, p, k, k0, r, ldr, 0, m);
    const inv = 1 / u[k * p + k];
    for (let c = 0; c < m; c++) r[rk + c] *= inv;
  }
}

/** Rows k0 ≤ k < k1 of X in U·X = Z (Z in `r`, overwritten), the later blocks' contributions
 * already subtracted. */
export function backwardBlock(u: Float64Array, p: number, k0: number, k1: number, r: Float64Array, ldr: number, m: number): void {
  for (let k = k1 - 1; k >= k0; k--) {
    const rk = k * ldr, uk = k * p;
    for (let q = k + 1; q < k1; q++) {
      const l = u[uk + q];
      if (l === 0) continue;
      const rq = q * ldr;
      for (let c = 0; c < m; c++) r[rk + c] -= l * r[rq + c];
    }
    const inv = 1 / u[uk + k];
    for (let c = 0; c < m; c++) r[rk + c] *= inv;
  }
}
