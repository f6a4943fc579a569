// MaxPool as a tree of pairwise maxima: max(a, b) = b + ReLU(a − b), every pair of a tree
// level across all windows in one fused ReLU (three rounds per level, ceil(log2 window)
// levels). Padding positions are left out of their windows (ONNX pads MaxPool with −∞).

import type { Session } from '../session.js';
import type { BitWindow } from './compare.js';
import { poolWindows } from './linear.js';
import type { PoolParams } from './linear.js';
import { relu } from './select.js';

/** Pairs compared at each level of the max tree, for windows of the given sizes. */
export function maxTreeLevels(windowSizes: ArrayLike<number>): number[] {
  const sizes = Array.from(windowSizes);
  const levels: number[] = [];
  for (;;) {
    let pairs = 0;
    for (let o = 0; o < sizes.length; o++) {
      pairs += Math.floor(sizes[o] / 2);
      sizes[o] = Math.ceil(sizes[o] / 2);
    }
    if (pairs === 0) return levels;
    levels.push(pairs);
  }
}

/** Window sizes of a pooling (padding excluded), one per output. */
export function poolWindowSizes(p: PoolParams): Int32Array {
  const { starts } = poolWindows(p);
  const sizes = new Int32Array(starts.length - 1);
  for (let o = 0; o < sizes.length; o++) sizes[o] = starts[o + 1] - starts[o];
  return sizes;
}

/** MaxPool on shares; differences of window elements are compared on the bit window w. */
export async function maxPool(s: Session, x: BigUint64Array, p: PoolParams, w: BitWindow): Promise<BigUint64Array> {
  const { starts, index } = poolWindows(p);
  const outs = starts.length - 1;
  // Candidates per output, as a list of shares.
  let cand: BigUint64Array[] = [];
  for (let o = 0; o < outs; o++) cand.push(BigUint64Array.from(index.subarray(starts[o], starts[o + 1]), (i) => x[i]));
  for (;;) {
    let pairs = 0;
    for (const c of cand) pairs += c.length >> 1;
    if (pairs === 0) break;
    const diff = new BigUint64Array(pairs);
    let at = 0;
    for (const c of cand) for (let j = 0; j + 1 < c.length; j += 2) diff[at++] = c[j] - c[j + 1];
    const r = await relu(s, diff, w);
    at = 0;
    cand = cand.map((c) => {
      const next = new BigUint64Array((c.length + 1) >> 1);
      for (let j = 0; j + 1 < c.length; j += 2) next[j >> 1] = c[j + 1] + r[at++];
      if (c.length & 1) next[next.length - 1] = c[c.length - 1];
      return next;
    });
  }
  const out = new BigUint64Array(outs);
  for (let o = 0; o < outs; o++) out[o] = cand[o][0] ?? 0n;
  return out;
}
