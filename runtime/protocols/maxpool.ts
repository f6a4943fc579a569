// MaxPool as trees of pairwise maxima: max(a, b) = b + ReLU(a − b), every pair of a tree
// level across all windows in one fused ReLU (three rounds per level). Padding positions are
// left out of their windows (ONNX pads MaxPool with −∞).
//
// Separable when that costs no extra level: the max over a kh×kw window is the max over kh
// rows of the max over kw columns, so a row pass (1×kw windows, horizontal stride and pads,
// every input row) then a column pass (kh×1 windows on its output) take (kw − 1)·H·OW +
// (kh − 1)·OH·OW comparisons instead of (kh·kw − 1)·OH·OW: for ResNet's 3×3 stride-2 pool
// (H = 2·OH), 4 + 2 = 6 per output instead of 8 (overlapping windows share their row maxima), in
// the same 4 levels. No comparison tree does much better: each output's window of 9 shares only
// single rows or columns of 3 with its neighbours, so only the row maxima of the rows two windows
// share can serve twice (resnet50's stem: 1.19 M pairs for 0.2 M outputs; BENCHMARKS.md,
// "MaxPool in a planned network", for what the plan can do about it instead).

import type { Session } from '../session/session.js';
import type { BitWindow } from './compare.js';
import { gatherByIndex } from '../ring/ring.js';
import { poolWindowSizes, poolWindows } from './linear.js';
import { poolOutShape, type PoolParams } from '../ring/windows.js';
import { relu } from './relu.js';

/** Pairs compared at each level of the max tree, for windows of the given sizes. */
export function maxTreeLevels(windowSizes: ArrayLike<number>): number[] {
  // Windows of equal size pair up alike: count windows by size, then halve the sizes.
  let bySize = new Map<number, number>();
  for (let o = 0; o < windowSizes.length; o++) bySize.set(windowSizes[o], (bySize.get(windowSizes[o]) ?? 0) + 1);
  const levels: number[] = [];
  for (;;) {
    let pairs = 0;
    const next = new Map<number, number>();
    for (const [size, windows] of bySize) {
      pairs += Math.floor(size / 2) * windows;
      const half = Math.ceil(size / 2);
      next.set(half, (next.get(half) ?? 0) + windows);
    }
    if (pairs === 0) return levels;
    levels.push(pairs);
    bySize = next;
  }
}

/** Window sizes of a pooling (padding excluded), one per output. */
export { poolWindowSizes };

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
  for (const q of maxPoolPasses(p)) v = await windowMaxima(v, poolWindows(q), (diff) => relu(s, diff, w));
  return v;
}

/** MaxPool as maxPool computes it, with a synchronous ReLU on the pairwise differences (the
 * fixed-point interpreter's plaintext twin: the same passes, trees and pair order). */
export function maxPoolWith(x: BigUint64Array, p: PoolParams, reluAll: (diff: BigUint64Array) => BigUint64Array): BigUint64Array {
  let v = x;
  for (const q of maxPoolPasses(p)) {
    const tree = maxTreeSteps(v, poolWindows(q));
    for (let step = tree.next(); ; step = tree.next(reluAll(step.value as BigUint64Array))) if (step.done) { v = step.value; break; }
  }
  return v;
}

/** The maximum of every window (windows as poolWindows lists them; 0 for an empty one) by
 * trees of pairwise maxima max(a, b) = b + relu(a − b): level by level, the differences of
 * every window's pairs (in window order, pairs in order) go to one relu call. */
export async function windowMaxima(
  x: BigUint64Array,
  windows: { starts: Int32Array; index: Int32Array },
  reluAll: (diff: BigUint64Array) => Promise<BigUint64Array>,
): Promise<BigUint64Array> {
  const tree = maxTreeSteps(x, windows);
  for (let step = tree.next(); ; step = tree.next(await reluAll(step.value as BigUint64Array))) if (step.done) return step.value;
}

/** The tree of windowMaxima as a generator: it yields each level's differences and takes
 * their ReLUs back. The candidates stay in one flat vector laid out like `index` (window o
 * from starts[o], count[o] of them live): a level writes its maxima in place at the front of
 * each window, so no per-window arrays are allocated (ResNet50's stem pool has 600 k windows). */
function* maxTreeSteps(x: BigUint64Array, windows: { starts: Int32Array; index: Int32Array }): Generator<BigUint64Array, BigUint64Array, BigUint64Array> {
  const { starts, index } = windows;
  const outs = starts.length - 1;
  const cand = gatherByIndex(x, index);
  const count = new Int32Array(outs);
  let pairs = 0;
  for (let o = 0; o < outs; o++) {
    count[o] = starts[o + 1] - starts[o];
    pairs += count[o] >> 1;
  }
  while (pairs > 0) {
    const diff = new BigUint64Array(pairs);
    let at = 0;
    for (let o = 0; o < outs; o++) {
      const end = starts[o] + count[o] - 1;
      for (let j = starts[o]; j < end; j += 2) diff[at++] = cand[j] - cand[j + 1];
    }
    const r = yield diff;
    at = 0;
    pairs = 0;
    for (let o = 0; o < outs; o++) {
      const base = starts[o];
      const c = count[o];
      const half = c >> 1;
      // Slot base + j is written after slots base + 2j and base + 2j + 1 were read.
      for (let j = 0; j < half; j++) cand[base + j] = cand[base + 2 * j + 1] + r[at++];
      if (c & 1) cand[base + half] = cand[base + c - 1];
      count[o] = c - half;
      pairs += count[o] >> 1;
    }
  }
  const out = new BigUint64Array(outs);
  for (let o = 0; o < outs; o++) if (count[o] > 0) out[o] = cand[starts[o]];
  return out;
}
