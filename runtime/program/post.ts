// The client's plaintext post-processing of revealed outputs (a trailing Softmax or ArgMax
// runs on P0 after the reveal, in floating point; Round makes reveal-argmax's class indices,
// revealed within one fixed-point unit, the integers).

import type { PostOp } from './program.js';

/** Applies the post ops in order to a value of `shape` (row-major). */
export function applyPost(v: Float64Array, shape: readonly number[], post: readonly PostOp[]): Float64Array {
  let x = v;
  let dims = [...shape];
  for (const op of post) {
    if (op.op === 'Round') {
      x = x.map(roundHalfEven);
      continue;
    }
    const axis = op.axis < 0 ? op.axis + dims.length : op.axis;
    const n = dims[axis];
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
    if (op.op === 'Softmax') {
      const y = new Float64Array(x.length);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          const at = (j: number) => (o * n + j) * inner + i;
          let m = -Infinity;
          for (let j = 0; j < n; j++) m = Math.max(m, x[at(j)]);
          let s = 0;
          for (let j = 0; j < n; j++) s += (y[at(j)] = Math.exp(x[at(j)] - m));
          for (let j = 0; j < n; j++) y[at(j)] /= s;
        }
      x = y;
    } else {
      const y = new Float64Array(outer * inner);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          let best = 0;
          for (let j = 1; j < n; j++) if (x[(o * n + j) * inner + i] > x[(o * n + best) * inner + i]) best = j;
          y[o * inner + i] = best;
        }
      x = y;
      dims = op.keepdims === false ? dims.filter((_, d) => d !== axis) : dims.map((d, k) => (k === axis ? 1 : d));
    }
  }
  return x;
}

/** The nearest integer, halves to even (ONNX Round, numpy.round; the interpreter's Round kernel,
 * ir/interp/activations.ts); NaN and ±∞ unchanged. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
