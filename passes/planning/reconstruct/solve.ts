// The refit's solver: ridge-regularized least squares from a layer's inputs to its target
// outputs, by normal equations. Samples arrive in chunks (im2col patches of a few images at a
// time) and only their sufficient statistics are kept, in float64 (the Gram matrix's upper half
// only, by a blocked kernel of its own: 4×4 register blocks over blocks of 256 samples): the Gram matrix of the
// inputs (with a row of ones when the layer has a bias), their cross products with the
// targets, and the targets' squares. From those alone the solver solves for new weights
// (Cholesky) and tells the relative output error of any weights, so no second pass over the
// data is needed. The ridge pulls toward the original weights, not toward zero: with inputs
// that carry no information the refit returns the weights it was given.
import { InternalError } from '../../../runtime/diagnostics.js';

/** Samples per block of the Gram kernel (a block of 4 input rows stays in L1 while the others stream by). */
const SAMPLE_BLOCK = 256;
/** Rows per register block of the kernel. */
const LANES = 4;

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
  /** Σ x̃x̃ᵀ, padded × padded, accumulated on and above the diagonal's 4×4 blocks only (symmetric). */
  private readonly upper: Float64Array;
  /** Σ x̃yᵀ, padded × paddedOutputs. */
  private readonly crossPadded: Float64Array;

  constructor(readonly features: number, readonly outputs: number, readonly bias: boolean) {
    this.unknowns = features + (bias ? 1 : 0);
    this.padded = Math.ceil(this.unknowns / LANES) * LANES;
    this.paddedOutputs = Math.ceil(outputs / LANES) * LANES;
    this.upper = new Float64Array(this.padded * this.padded);
    this.crossPadded = new Float64Array(this.padded * this.paddedOutputs);
    this.targetSquares = new Float64Array(outputs);
  }

  /** Gram matrix Σ x̃x̃ᵀ of the inputs x̃ = [x; 1], unknowns × unknowns (row-major, full). */
  get gram(): Float64Array {
    const n = this.unknowns, p = this.padded, g = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      const base = Math.floor(i / LANES) * LANES; // within a diagonal block both halves are computed
      for (let j = base; j < n; j++) {
        const v = this.upper[i * p + j];
        g[i * n + j] = v;
        g[j * n + i] = v;
      }
    }
    return g;
  }

  /** Cross products Σ x̃yᵀ, unknowns × outputs. */
  get cross(): Float64Array {
    const n = this.unknowns, o = this.outputs, po = this.paddedOutputs, c = new Float64Array(n * o);
    for (let i = 0; i < n; i++) for (let j = 0; j < o; j++) c[i * o + j] = this.crossPadded[i * po + j];
    return c;
  }

  /**
   * Adds `count` samples: `x` holds feature f of sample s at x[f·stride + s] (features ×
   * count, rows `stride` apart), `y` output o of sample s at y[o·stride + s].
   */
  add(x: ArrayLike<number>, y: ArrayLike<number>, count: number, stride = count): void {
    const f = this.features, o = this.outputs, p = this.padded, po = this.paddedOutputs;
    if (count === 0) return;
    // the block of samples copied as [x; 1; 0…] (p rows) and [y; 0…] (po rows), samples contiguous
    const xs = new Float64Array(p * SAMPLE_BLOCK), ys = new Float64Array(po * SAMPLE_BLOCK);
    for (let s0 = 0; s0 < count; s0 += SAMPLE_BLOCK) {
      const len = Math.min(SAMPLE_BLOCK, count - s0);
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
      addProducts(xs, p, xs, p, len, this.upper, p, true);
      addProducts(xs, p, ys, po, len, this.crossPadded, po, false);
    }
    this.samples += count;
  }

  /** Adds another problem's statistics (same sizes). */
  merge(other: NormalEquations): void {
    if (other.unknowns !== this.unknowns || other.outputs !== this.outputs) throw new InternalError('merging normal equations of different sizes');
    for (let i = 0; i < this.upper.length; i++) this.upper[i] += other.upper[i];
    for (let i = 0; i < this.crossPadded.length; i++) this.crossPadded[i] += other.crossPadded[i];
    for (let i = 0; i < this.outputs; i++) this.targetSquares[i] += other.targetSquares[i];
    this.samples += other.samples;
  }

/** Mean of the Gram matrix's feature diagonal: the scale a relative ridge multiplies. */
  featureScale(): number {
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
    const n = this.unknowns, o = this.outputs;
    const scale = this.featureScale();
    const lambda = ridge * (scale > 0 ? scale : 1);
    const lhs = this.gram;
    const rhs = this.cross;
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
    const gram = this.gram, cross = this.cross;
    let total = 0;
    for (let j = 0; j < o; j++) {
      let quad = 0, lin = 0;
      for (let a = 0; a < n; a++) {
        const wa = w[a * o + j];
        if (wa === 0) continue;
        lin += wa * cross[a * o + j];
        let row = 0;
        for (let b = 0; b < n; b++) row += gram[a * n + b] * w[b * o + j];
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

/**
 * out[i·ldo + j] += Σ_s a[i·len + s]·b[j·len + s] for rows i < aRows of `a` and j < bRows of `b`
 * (both multiples of 4), in 4×4 register blocks; with `upper` only the blocks with j ≥ i (a
 * Gram matrix's upper half, `a` = `b`). The sums run over the `len` samples of one block, in
 * float64.
 */
function addProducts(a: Float64Array, aRows: number, b: Float64Array, bRows: number, len: number, out: Float64Array, ldo: number, upper: boolean): void {
  for (let i = 0; i < aRows; i += LANES) {
    const a0 = i * len, a1 = a0 + len, a2 = a1 + len, a3 = a2 + len;
    for (let j = upper ? i : 0; j < bRows; j += LANES) {
      const b0 = j * len, b1 = b0 + len, b2 = b1 + len, b3 = b2 + len;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let s = 0; s < len; s++) {
        const x0 = a[a0 + s], x1 = a[a1 + s], x2 = a[a2 + s], x3 = a[a3 + s];
        const y0 = b[b0 + s], y1 = b[b1 + s], y2 = b[b2 + s], y3 = b[b3 + s];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      let o = i * ldo + j;
      out[o] += c00; out[o + 1] += c01; out[o + 2] += c02; out[o + 3] += c03; o += ldo;
      out[o] += c10; out[o + 1] += c11; out[o + 2] += c12; out[o + 3] += c13; o += ldo;
      out[o] += c20; out[o + 1] += c21; out[o + 2] += c22; out[o + 3] += c23; o += ldo;
      out[o] += c30; out[o + 1] += c31; out[o + 2] += c32; out[o + 3] += c33;
    }
  }
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
