// The refit's solver: ridge-regularized least squares from a layer's inputs to its target
// outputs, by normal equations. Samples arrive in chunks (im2col patches of a few images at a
// time) and only their sufficient statistics are kept, in float64 (the Gram matrix's upper half
// only, by the blocked kernels of kernels.ts on both cores): the Gram matrix of the
// inputs (with a row of ones when the layer has a bias), their cross products with the
// targets, and the targets' squares. From those alone the solver solves for new weights
// (a blocked Cholesky factorization, in place when the statistics are not needed again) and
// tells the relative output error of any weights, so no second pass over the data is needed;
// the error of the solution itself comes from the solve's own equations, with no Gram product. The ridge pulls toward the original weights, not toward zero: with inputs
// that carry no information the refit returns the weights it was given.
import { InternalError } from '../../../runtime/diagnostics.js';
import { LANES, backwardBlock, blockBounds, factorDiagonal, forwardBlock } from './kernels.js';
import { runJob, sharedFloats } from './parallel.js';

/** Samples staged (copied with the bias row and padding) at a time. */
const STAGE_SAMPLES = 2048;
/** Tasks a job is split into: more than the threads, so a thread slowed by the load takes fewer. */
const TASKS = 24;
/** Columns of one Cholesky panel. */
const PANEL = 64;

/** The normal equations of one least-squares problem: y ≈ W·x (+ b), `features` inputs x and
 * `outputs` targets y per sample. */
export class NormalEquations {
  /** Unknowns per output: the features, and one more for the bias. */
  readonly unknowns: number;
  /** Σ y² per output. */
  readonly targetSquares: Float64Array;
  /** Samples added. */
  samples = 0;
  /** Unknowns and outputs rounded up to the kernel's register block. */
  private readonly padded: number;
  private readonly paddedOutputs: number;
  /** Σ x̃x̃ᵀ, padded × padded, accumulated on and above the diagonal's 4×4 blocks only
   * (symmetric; shared memory); overwritten by its Cholesky factor by solveInPlace. */
  private readonly upper: Float64Array;
  /** Σ x̃yᵀ, padded × paddedOutputs (shared memory). */
  private readonly crossPadded: Float64Array;
  private consumed = false;

  constructor(readonly features: number, readonly outputs: number, readonly bias: boolean) {
    this.unknowns = features + (bias ? 1 : 0);
    this.padded = Math.ceil(this.unknowns / LANES) * LANES;
    this.paddedOutputs = Math.ceil(outputs / LANES) * LANES;
    this.upper = sharedFloats(this.padded * this.padded);
    this.crossPadded = sharedFloats(this.padded * this.paddedOutputs);
    this.targetSquares = new Float64Array(outputs);
  }

  /** Cross products Σ x̃yᵀ, unknowns × outputs. */
  get cross(): Float64Array {
    const n = this.unknowns, o = this.outputs, po = this.paddedOutputs, c = sharedFloats(n * o);
    for (let i = 0; i < n; i++) for (let j = 0; j < o; j++) c[i * o + j] = this.crossPadded[i * po + j];
    return c;
  }

  /**
   * Adds `count` samples: `x` holds feature f of sample s at x[f·stride + s] (features ×
   * count, rows `stride` apart), `y` output o of sample s at y[o·stride + s].
   */
  add(x: ArrayLike<number>, y: ArrayLike<number>, count: number, stride = count): void {
    this.live();
    const f = this.features, o = this.outputs, p = this.padded, po = this.paddedOutputs;
    if (count === 0) return;
    // samples staged as [x; 1; 0…] (p rows) and [y; 0…] (po rows), each row contiguous
    const slab = Math.min(count, STAGE_SAMPLES);
    const xs = sharedFloats(p * slab), ys = sharedFloats(po * slab);
    const gramBounds = blockBounds(p / LANES, true, TASKS), crossBounds = blockBounds(p / LANES, false, TASKS);
    for (let s0 = 0; s0 < count; s0 += slab) {
      const len = Math.min(slab, count - s0);
      for (let r = 0; r < f; r++) for (let s = 0, from = r * stride + s0, to = r * len; s < len; s++) xs[to + s] = x[from + s];
      if (this.bias) xs.fill(1, f * len, (f + 1) * len);
      xs.fill(0, this.unknowns * len, p * len);
      for (let r = 0; r < o; r++) {
        let sq = 0;
        for (let s = 0, from = r * stride + s0, to = r * len; s < len; s++) {
          const v = y[from + s];
          ys[to + s] = v;
          sq += v * v;
        }
        this.targetSquares[r] += sq;
      }
      ys.fill(0, o * len, po * len);
      runJob({ kind: 'products', a: xs, aOff: 0, lda: len, rows: p, b: xs, bOff: 0, ldb: len, bRows: p, len, out: this.upper, ldo: p, row0: 0, col0: 0, upper: true, sign: 1, bounds: gramBounds }, (p * p * len) / 2);
      runJob({ kind: 'products', a: xs, aOff: 0, lda: len, rows: p, b: ys, bOff: 0, ldb: len, bRows: po, len, out: this.crossPadded, ldo: po, row0: 0, col0: 0, upper: false, sign: 1, bounds: crossBounds }, p * po * len);
    }
    this.samples += count;
  }

  /** Adds another problem's statistics (same sizes). */
  merge(other: NormalEquations): void {
    this.live();
    other.live();
    if (other.unknowns !== this.unknowns || other.outputs !== this.outputs) throw new InternalError('merging normal equations of different sizes');
    for (let i = 0; i < this.upper.length; i++) this.upper[i] += other.upper[i];
    for (let i = 0; i < this.crossPadded.length; i++) this.crossPadded[i] += other.crossPadded[i];
    for (let i = 0; i < this.outputs; i++) this.targetSquares[i] += other.targetSquares[i];
    this.samples += other.samples;
  }

  /** Mean of the Gram matrix's feature diagonal: the scale a relative ridge multiplies. */
  featureScale(): number {
    this.live();
    let s = 0;
    for (let i = 0; i < this.features; i++) s += this.upper[i * this.padded + i];
    return this.features === 0 ? 0 : s / this.features;
  }

  /**
   * Weights minimizing Σ‖W·x̃ − y‖² + λ‖W − W₀‖² over the features (the bias pulled toward its
   * original value 10⁻⁶ as hard, so it stays determined with no sample), λ = `ridge` × the
   * mean squared feature (featureScale). `start` holds W₀ as unknowns × outputs (column o the
   * weights of output o, the bias last). Returns the solution in the same layout.
   */
  solve(start: Float64Array, ridge: number): Float64Array {
    const copy = sharedFloats(this.upper.length);
    copy.set(this.upper);
    return this.solveOn(copy, start, ridge).solution;
  }

  /**
   * solve, factoring the Gram matrix where it is (no copy): the statistics are spent, and only
   * targetSquares stays readable. Also returns Σ‖W·x̃ − y‖² of the solution W, read from the
   * normal equations it satisfies, (G + Λ)·W = C + Λ·W₀, so that
   * Σ‖W·x̃ − y‖² = Σy² − ⟨W, C⟩ + Σᵢ λᵢ⟨Wᵢ, W₀ᵢ − Wᵢ⟩ with no product by G.
   */
  solveInPlace(start: Float64Array, ridge: number): { solution: Float64Array; squaredError: number } {
    const out = this.solveOn(this.upper, start, ridge);
    this.consumed = true;
    return out;
  }

  private solveOn(u: Float64Array, start: Float64Array, ridge: number): { solution: Float64Array; squaredError: number } {
    this.live();
    const n = this.unknowns, o = this.outputs, p = this.padded;
    const scale = this.featureScale();
    const lambda = ridge * (scale > 0 ? scale : 1);
    const cross = this.cross, po = this.paddedOutputs;
    // the right-hand side padded to p × po (the product kernel's 4×4 blocks)
    const rhs = sharedFloats(p * po);
    const lambdas = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const l = i < this.features ? lambda : Math.max(lambda * 1e-6, 1e-12);
      lambdas[i] = l;
      u[i * p + i] += l;
      for (let j = 0; j < o; j++) rhs[i * po + j] = cross[i * o + j] + l * start[i * o + j];
    }
    choleskySolveUpper(u, n, p, rhs, po);
    const solution = new Float64Array(n * o);
    for (let i = 0; i < n; i++) for (let j = 0; j < o; j++) solution[i * o + j] = rhs[i * po + j];
    let err = 0;
    for (const v of this.targetSquares) err += v;
    for (let i = 0; i < n; i++) {
      let lin = 0, pull = 0;
      for (let j = 0; j < o; j++) {
        const w = solution[i * o + j];
        lin += w * cross[i * o + j];
        pull += w * (start[i * o + j] - w);
      }
      err += lambdas[i] * pull - lin;
    }
    return { solution, squaredError: Math.max(0, err) };
  }

  /** Σ‖W·x̃ − y‖² over the samples for weights `w` (unknowns × outputs), from the statistics. */
  squaredError(w: Float64Array): number {
    this.live();
    const n = this.unknowns, o = this.outputs, p = this.padded, cross = this.crossPadded, po = this.paddedOutputs;
    const padded = sharedFloats(p * o);
    padded.set(w.subarray(0, n * o));
    let total = 0;
    for (const v of this.targetSquares) total += v;
    for (let a = 0; a < n; a++) for (let j = 0; j < o; j++) total -= 2 * w[a * o + j] * cross[a * po + j];
    const bounds = blockBounds(p / LANES, true, TASKS);
    const partial = sharedFloats(bounds.length - 1);
    runJob({ kind: 'quad', g: this.upper, p, w: padded, ldw: o, cols: o, partial, bounds }, (p * p * o) / 2);
    for (const v of partial) total += v;
    return Math.max(0, total);
  }

  /** ‖W·x̃ − y‖ / ‖y‖ over the samples (0 when every target is 0 and so is the error). */
  relativeError(w: Float64Array): number {
    let norm = 0;
    for (const v of this.targetSquares) norm += v;
    const err = this.squaredError(w);
    return norm > 0 ? Math.sqrt(err / norm) : Math.sqrt(err);
  }

  private live(): void {
    if (this.consumed) throw new InternalError('normal equations used after solveInPlace spent them');
  }
}

/**
 * Solves S·X = R in place (R, n × m in `r` with rows m apart, p × m allocated, becomes X; m a
 * multiple of 4) for the symmetric positive definite S (n × n, its upper 4×4 blocks stored in
 * `u`, rows p apart, p a multiple of 4 and ≥ n), which is overwritten by its upper Cholesky
 * factor U (S = UᵀU). Right-looking and blocked: per panel of PANEL rows, the diagonal block and
 * the forward substitution's block on the main thread, the panel's row block, the trailing update
 * and the right-hand side's update on every thread; then the backward substitution block by block
 * from the last. A pivot that is not positive (S only semi-definite in floating point) is lifted
 * to a tiny multiple of the diagonal's scale.
 */
export function choleskySolveUpper(u: Float64Array, n: number, p: number, r: Float64Array, m: number): void {
  let diagScale = 0;
  for (let i = 0; i < n; i++) diagScale = Math.max(diagScale, Math.abs(u[i * p + i]));
  const floor = (diagScale > 0 ? diagScale : 1) * 1e-12;
  let packed = sharedFloats(0);
  const zt = sharedFloats(m * PANEL);
  /** zt = rows k0 ≤ k < k1 of R, transposed (m × width). */
  const transpose = (k0: number, k1: number) => {
    const width = k1 - k0;
    for (let k = k0; k < k1; k++) for (let c = 0; c < m; c++) zt[c * width + k - k0] = r[k * m + c];
  };
  for (let k0 = 0; k0 < n; k0 += PANEL) {
    const k1 = Math.min(n, k0 + PANEL), width = k1 - k0;
    factorDiagonal(u, p, k0, k1, floor);
    forwardBlock(u, p, k0, k1, r, m, m);
    if (k1 >= n) break;
    runJob({ kind: 'panel', u, p, n, k0, k1 }, (width * width * (n - k1)) / 2);
    // trailing update S[k1:, k1:] −= U[k0:k1, k1:]ᵀ·U[k0:k1, k1:] and R[k1:] −= U[k0:k1, k1:]ᵀ·Z[k0:k1],
    // the panel packed row by row (rows padded to 4 with zeros)
    const rows = Math.ceil((n - k1) / LANES) * LANES;
    if (packed.length < rows * width) packed = sharedFloats(rows * width);
    else packed.fill(0, 0, rows * width);
    for (let k = k0; k < k1; k++) for (let i = k1, q = k - k0; i < n; i++) packed[(i - k1) * width + q] = u[k * p + i];
    runJob({ kind: 'products', a: packed, aOff: 0, lda: width, rows, b: packed, bOff: 0, ldb: width, bRows: rows, len: width, out: u, ldo: p, row0: k1, col0: k1, upper: true, sign: -1, bounds: blockBounds(rows / LANES, true, TASKS) }, (rows * rows * width) / 2);
    transpose(k0, k1);
    runJob({ kind: 'products', a: packed, aOff: 0, lda: width, rows, b: zt, bOff: 0, ldb: width, bRows: m, len: width, out: r, ldo: m, row0: k1, col0: 0, upper: false, sign: -1, bounds: blockBounds(rows / LANES, false, TASKS) }, rows * m * width);
  }
  // backward: X[k0:k1] from its block, then R[0:k0] −= U[0:k0, k0:k1]·X[k0:k1]
  for (let k0 = Math.floor((n - 1) / PANEL) * PANEL; k0 >= 0; k0 -= PANEL) {
    const k1 = Math.min(n, k0 + PANEL), width = k1 - k0;
    backwardBlock(u, p, k0, k1, r, m, m);
    if (k0 === 0) break;
    transpose(k0, k1);
    runJob({ kind: 'products', a: u, aOff: k0, lda: p, rows: k0, b: zt, bOff: 0, ldb: width, bRows: m, len: width, out: r, ldo: m, row0: 0, col0: 0, upper: false, sign: -1, bounds: blockBounds(k0 / LANES, false, TASKS) }, k0 * m * width);
  }
}
