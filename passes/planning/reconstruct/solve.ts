// The refit's solver: ridge-regularized least squares from a layer's inputs to its target
// outputs, by normal equations. Samples arrive in chunks (im2col patches of a few images at a
// time) and only their sufficient statistics are kept, in float64: the Gram matrix of the
// inputs (with a row of ones when the layer has a bias), their cross products with the
// targets, and the targets' squares. From those alone the solver solves for new weights
// (Cholesky) and tells the relative output error of any weights, so no second pass over the
// data is needed. The ridge pulls toward the original weights, not toward zero: with inputs
// that carry no information the refit returns the weights it was given.
import { InternalError } from '../../../runtime/diagnostics.js';
import { type FloatArray, PANEL, packA, packB, packedLength } from '../../../ir/interp/gemm.js';
import { allocFloats, runGemm } from '../../../ir/interp/parallel.js';

/** The normal equations of one least-squares problem: y ≈ W·x (+ b), `features` inputs x and
 * `outputs` targets y per sample. */
export class NormalEquations {
  /** Unknowns per output: the features, and one more for the bias. */
  readonly unknowns: number;
  /** Gram matrix Σ x̃x̃ᵀ of the inputs x̃ = [x; 1], unknowns × unknowns (row-major). */
  readonly gram: Float64Array;
  /** Cross products Σ x̃yᵀ, unknowns × outputs. */
  readonly cross: Float64Array;
  /** Σ y² per output. */
  readonly targetSquares: Float64Array;
  /** Samples added. */
  samples = 0;

  constructor(readonly features: number, readonly outputs: number, readonly bias: boolean) {
    this.unknowns = features + (bias ? 1 : 0);
    this.gram = new Float64Array(this.unknowns * this.unknowns);
    this.cross = new Float64Array(this.unknowns * outputs);
    this.targetSquares = new Float64Array(outputs);
  }

  /**
   * Adds `count` samples: `x` holds feature f of sample s at x[f·stride + s] (features ×
   * count, rows `stride` apart), `y` output o of sample s at y[o·stride + s].
   */
  add(x: ArrayLike<number>, y: ArrayLike<number>, count: number, stride = count): void {
    const n = this.unknowns, f = this.features, o = this.outputs;
    if (count === 0) return;
    // The augmented inputs [x; 1], packed once as A (rows = unknowns) and as B (columns = unknowns).
    const ap = allocFloats('float64', packedLength(n, count));
    const bx = allocFloats('float64', packedLength(n, count));
    const ones = this.bias ? new Float64Array(count).fill(1) : undefined;
    packA(x, 0, stride, 1, f, count, ap);
    packB(x, 0, 1, stride, count, f, bx);
    if (ones) addOnesRow(ap, bx, f, count);
    addProduct(this.gram, ap, bx, n, n, count);
    const by = allocFloats('float64', packedLength(o, count));
    packB(y, 0, 1, stride, count, o, by);
    addProduct(this.cross, ap, by, n, o, count);
    for (let j = 0; j < o; j++) {
      let s = 0;
      for (let i = j * stride, end = i + count; i < end; i++) s += y[i] * y[i];
      this.targetSquares[j] += s;
    }
    this.samples += count;
  }

  /** Adds another problem's statistics (same sizes). */
  merge(other: NormalEquations): void {
    if (other.unknowns !== this.unknowns || other.outputs !== this.outputs) throw new InternalError('merging normal equations of different sizes');
    for (let i = 0; i < this.gram.length; i++) this.gram[i] += other.gram[i];
    for (let i = 0; i < this.cross.length; i++) this.cross[i] += other.cross[i];
    for (let i = 0; i < this.outputs; i++) this.targetSquares[i] += other.targetSquares[i];
    this.samples += other.samples;
  }

  /** Mean of the Gram matrix's feature diagonal: the scale a relative ridge multiplies. */
  featureScale(): number {
    let s = 0;
    for (let i = 0; i < this.features; i++) s += this.gram[i * this.unknowns + i];
    return this.features === 0 ? 0 : s / this.features;
  }

  /**
   * Weights minimizing Σ‖W·x̃ − y‖² + λ‖W − W₀‖² over the features (the bias pulled toward its
   * original value 10⁻⁶ as hard, so it stays determined with no sample), λ = `ridge` × the
   * mean squared feature (featureScale). `start` holds W₀ as unknowns × outputs (column o the
   * weights of output o, the bias last). Returns the solution in the same layout.
   */
  solve(start: Float64Array, ridge: number): Float64Array {
    const n = this.unknowns, o = this.outputs;
    const scale = this.featureScale();
    const lambda = ridge * (scale > 0 ? scale : 1);
    const lhs = Float64Array.from(this.gram);
    const rhs = Float64Array.from(this.cross);
    for (let i = 0; i < n; i++) {
      const l = i < this.features ? lambda : Math.max(lambda * 1e-6, 1e-12);
      lhs[i * n + i] += l;
      for (let j = 0; j < o; j++) rhs[i * o + j] += l * start[i * o + j];
    }
    choleskySolve(lhs, rhs, n, o);
    return rhs;
  }

  /** Σ‖W·x̃ − y‖² over the samples for weights `w` (unknowns × outputs), from the statistics. */
  squaredError(w: Float64Array): number {
    const n = this.unknowns, o = this.outputs;
    let total = 0;
    for (let j = 0; j < o; j++) {
      let quad = 0, lin = 0;
      for (let a = 0; a < n; a++) {
        const wa = w[a * o + j];
        if (wa === 0) continue;
        lin += wa * this.cross[a * o + j];
        let row = 0;
        for (let b = 0; b < n; b++) row += this.gram[a * n + b] * w[b * o + j];
        quad += wa * row;
      }
      total += this.targetSquares[j] - 2 * lin + quad;
    }
    return Math.max(0, total);
  }

  /** ‖W·x̃ − y‖ / ‖y‖ over the samples (0 when every target is 0 and so is the error). */
  relativeError(w: Float64Array): number {
    let norm = 0;
    for (const v of this.targetSquares) norm += v;
    const err = this.squaredError(w);
    return norm > 0 ? Math.sqrt(err / norm) : Math.sqrt(err);
  }
}

/** Sets row (of A) and column (of B) `f` of the packed operands to ones: the bias's input. */
function addOnesRow(ap: FloatArray, bp: FloatArray, f: number, count: number): void {
  // A panel p holds rows 4p..4p+3, k-major: element (i, k) at p·4·count + k·4 + (i − 4p); B alike.
  const base = Math.floor(f / PANEL) * PANEL * count, lane = f % PANEL;
  for (let k = 0; k < count; k++) {
    ap[base + k * PANEL + lane] = 1;
    bp[base + k * PANEL + lane] = 1;
  }
}

/** C[M,N] += A·B through the interpreter's GEMM core (threads included). */
function addProduct(c: Float64Array, ap: FloatArray, bp: FloatArray, m: number, n: number, k: number): void {
  const tmp = allocFloats('float64', m * n);
  runGemm({ ap, bp, c: tmp, cOff: 0, ldc: n, biasOff: 0, biasPerColumn: false, M: m, N: n, K: k, mc: 16 * PANEL, nc: 32 * PANEL, alpha: 1, beta: 1 });
  for (let i = 0; i < c.length; i++) c[i] += tmp[i];
}

/**
 * Solves S·X = R in place (R becomes X) for symmetric positive definite S (n × n, row-major,
 * overwritten by its Cholesky factor) and R (n × m). A pivot that is not positive (S only
 * semi-definite in floating point) is lifted to a tiny multiple of the diagonal's scale.
 */
export function choleskySolve(s: Float64Array, r: Float64Array, n: number, m: number): void {
  let diagScale = 0;
  for (let i = 0; i < n; i++) diagScale = Math.max(diagScale, Math.abs(s[i * n + i]));
  const floor = (diagScale > 0 ? diagScale : 1) * 1e-12;
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = s[rj + j];
    for (let k = 0; k < j; k++) d -= s[rj + k] * s[rj + k];
    if (!(d > floor)) d = floor;
    const ljj = Math.sqrt(d);
    s[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let v = s[ri + j];
      for (let k = 0; k < j; k++) v -= s[ri + k] * s[rj + k];
      s[ri + j] = v / ljj;
    }
  }
  // forward L·Z = R, then backward Lᵀ·X = Z, both by whole rows of R (contiguous)
  for (let i = 0; i < n; i++) {
    const ri = i * n, row = i * m;
    for (let k = 0; k < i; k++) {
      const l = s[ri + k];
      if (l === 0) continue;
      for (let c = 0, rk = k * m; c < m; c++) r[row + c] -= l * r[rk + c];
    }
    const inv = 1 / s[ri + i];
    for (let c = 0; c < m; c++) r[row + c] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n, row = i * m;
    const inv = 1 / s[ri + i];
    for (let c = 0; c < m; c++) r[row + c] *= inv;
    for (let k = 0; k < i; k++) {
      const l = s[ri + k];
      if (l === 0) continue;
      for (let c = 0, rk = k * m; c < m; c++) r[rk + c] -= l * r[row + c];
    }
  }
}
