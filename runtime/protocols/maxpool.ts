// MaxPool as trees of pairwise maxima: max(a, b) = b + ReLU(a − b), every pair of a tree
// level across all windows in one fused ReLU (three rounds per level). Padding positions are
// left out of their windows (ONNX pads MaxPool with −∞).
//
// Separable when that costs no extra level: the max over a kh×kw window is the max over kh
// rows of the max over kw columns, so a row pass (1×kw windows, horizontal stride and pads,
// every input row) then a column pass (kh×1 windows on its output) take (kw − 1)·H·OW +
// (kh − 1)·OH·OW comparisons instead of (kh·kw − 1)·OH·OW: for ResNet's 3×3 stride-2 pool,
// 3 per output instead of 8 (overlapping windows share their row maxima), in the same 4 levels.

import type { Session } from '../session.js';
import type { BitWindow } from './compare.js';
import { poolOutShape, poolWindows } from './linear.js';
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

/** The row and column passes of a separable MaxPool (see the file comment). */
function separablePasses(p: PoolParams): [PoolParams, PoolParams] {
  const [n, c, h] = p.inShape;
  const rows: PoolParams = { inShape: p.inShape, kernel: [1, p.kernel[1]], strides: [1, p.strides[1]], pads: [0, p.pads[1], 0, p.pads[3]] };
  const ow = poolOutShape(rows)[3];
  const cols: PoolParams = { inShape: [n, c, h, ow], kernel: [p.kernel[0], 1], strides: [p.strides[0], 1], pads: [p.pads[0], 0, p.pads[2], 0] };
  return [rows, cols];
}

/** How a MaxPool runs: separable passes when they need no more levels than one tree over
 * each window, else the tree (a list of one pass). */
function maxPoolPasses(p: PoolParams): PoolParams[] {
  const sep = separablePasses(p);
  const sepLevels = sep.reduce((t, q) => t + maxTreeLevels(poolWindowSizes(q)).length, 0);
  return sepLevels <= maxTreeLevels(poolWindowSizes(p)).length ? sep : [p];
}

/** Pairs compared at each level of a MaxPool as maxPool runs it (the cost model's input). */
export function maxPoolLevels(p: PoolParams): number[] {
  return maxPoolPasses(p).flatMap((q) => maxTreeLevels(poolWindowSizes(q)));
}

/** MaxPool on shares; differences of window elements are compared on the bit window w. */
export async function maxPool(s: Session, x: BigUint64Array, p: PoolParams, w: BitWindow): Promise<BigUint64Array> {
  let v = x;
  for (const q of maxPoolPasses(p)) v = await maxTree(s, v, q, w);
  return v;
}

/** One pooling pass as a tree of pairwise maxima per window. */
async function maxTree(s: Session, x: BigUint64Array, p: PoolParams, w: BitWindow): Promise<BigUint64Array> {
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
