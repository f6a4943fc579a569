// Block-ReLU: per channel, every bh×bw patch (tiled from the top-left, edge patches partial)
// passes or becomes zero by the sign of its sum, or the channel passes unchanged (identity).
// blockLayout is the one tiling of the runtime: the patch of every element for the channels'
// block sizes; blockPlan the local part (patch sums, the elements to select); blockRelu the
// protocol (one comparison per patch, one selection per element, three rounds).

import type { Session } from '../session/session.js';
import { compareWindow } from './compare.js';
import type { BitWindow } from './compare.js';
import { Selection } from './select.js';

/** Block sizes of one channel: a patch [bh, bw], or no ReLU at all. */
export type BlockSize = readonly [number, number] | 'identity';

/** The tiling of a block-ReLU over NCHW data (read only: it is shared, see blockLayout). */
export interface BlockLayout {
  /** For every element its patch index (−1 for identity channels). */
  readonly patchOf: Int32Array;
  /** Number of patches. */
  readonly patches: number;
  /** The non-identity elements in order. */
  readonly selected: Int32Array;
  /** The patch of every selected element (patchOf at selected). */
  readonly selectedPatch: Int32Array;
  /** The selected elements as runs of consecutive elements: [start, length] pairs (whole
   * planes of non-identity channels, neighbours merged). */
  readonly runs: Int32Array;
  /** Per non-identity plane, in order: its first element, height, width, block (bh, bw) and
   * first patch (the tile sums' loop). */
  readonly planes: Int32Array;
}

/** Layouts made, by block list (the program's own array, the same for every inference of a
 * step) and shape: the tiling is input-independent, so the offline phase's first use
 * (offline.ts, the comparison's size) makes it and the online steps reuse it. */
const LAYOUTS = new WeakMap<readonly BlockSize[], Map<string, BlockLayout>>();

/** For a block-ReLU over NCHW data: for every element its patch index (−1 for identity
 * channels), the number of patches, and the non-identity elements in order. Typed arrays
 * sized up front (a ResNet50 layer has ~800 k elements; growing a JS array of them cost
 * about as much as the layer's selection arithmetic). Made once per block list and shape;
 * callers only read it. */
export function blockLayout(shape: readonly [number, number, number, number], blocks: readonly BlockSize[]): BlockLayout {
  let byShape = LAYOUTS.get(blocks);
  if (!byShape) LAYOUTS.set(blocks, (byShape = new Map()));
  const key = shape.join('x');
  let layout = byShape.get(key);
  if (!layout) byShape.set(key, (layout = makeLayout(shape, blocks)));
  return layout;
}

function makeLayout(shape: readonly [number, number, number, number], blocks: readonly BlockSize[]): BlockLayout {
  const [n, c, h, w] = shape;
  if (blocks.length !== c) throw new Error(`block-relu: ${blocks.length} block sizes for ${c} channels`);
  const plane = h * w;
  const patchOf = new Int32Array(n * c * plane).fill(-1);
  let kept = 0;
  for (const blk of blocks) if (blk !== 'identity') kept++;
  // Non-identity channels are whole planes, in order: their elements are the selected ones.
  const selected = new Int32Array(n * kept * plane);
  const selectedPatch = new Int32Array(n * kept * plane);
  const planes = new Int32Array(6 * n * kept);
  const runs: number[] = [];
  /** Patch column of each x coordinate, per block width. */
  const columnPatch = new Map<number, Int32Array>();
  let patches = 0;
  let at = 0;
  let p = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const blk = blocks[ch];
      if (blk === 'identity') continue;
      const [bh, bw] = blk;
      const ph = Math.ceil(h / bh);
      const pw = Math.ceil(w / bw);
      let col = columnPatch.get(bw);
      if (!col) columnPatch.set(bw, (col = Int32Array.from({ length: w }, (_, xx) => Math.floor(xx / bw))));
      const base = (b * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        const row = patches + Math.floor(y / bh) * pw;
        const line = base + y * w;
        for (let xx = 0; xx < w; xx++) patchOf[line + xx] = row + col[xx];
      }
      for (let i = 0; i < plane; i++) {
        selected[at] = base + i;
        selectedPatch[at++] = patchOf[base + i];
      }
      planes.set([base, h, w, bh, bw, patches], 6 * p++);
      const last = runs.length - 2;
      if (last >= 0 && runs[last] + runs[last + 1] === base) runs[last + 1] += plane;
      else if (plane > 0) runs.push(base, plane);
      patches += ph * pw;
    }
  return { patchOf, patches, selected, selectedPatch, runs: Int32Array.from(runs), planes };
}

/** Elements per patch below which the tile sums add 32-bit halves in doubles (exact: a sum of
 * fewer than 2^21 values below 2^32 stays below 2^53); larger patches add in BigInt. */
const WORD_SUM_MAX = 1 << 20;

/** The patch sums of x (mod 2^64) over a layout's non-identity planes, on 32-bit halves
 * (a BigInt per element cost more than the rest of the plan). */
export function tileSums(x: BigUint64Array, layout: BlockLayout): BigUint64Array {
  const sums = new BigUint64Array(layout.patches);
  const { planes } = layout;
  const X = new Uint32Array(x.buffer, x.byteOffset, 2 * x.length);
  const S = new Uint32Array(sums.buffer, sums.byteOffset, 2 * sums.length);
  for (let q = 0; q < planes.length; q += 6) {
    const [base, h, w, bh, bw, first] = planes.subarray(q, q + 6);
    const pw = Math.ceil(w / bw);
    if (bh * bw >= WORD_SUM_MAX) {
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) {
          const t = first + Math.floor(y / bh) * pw + Math.floor(xx / bw);
          sums[t] += x[base + y * w + xx];
        }
      continue;
    }
    const lo = new Float64Array(pw);
    const hi = new Float64Array(pw);
    for (let ty = 0; ty * bh < h; ty++) {
      lo.fill(0);
      hi.fill(0);
      const yEnd = Math.min(h, (ty + 1) * bh);
      for (let y = ty * bh; y < yEnd; y++) {
        const line = 2 * (base + y * w);
        for (let xx = 0, tx = 0, edge = bw; xx < w; xx++) {
          if (xx === edge) tx++, (edge += bw);
          lo[tx] += X[line + 2 * xx];
          hi[tx] += X[line + 2 * xx + 1];
        }
      }
      const row = first + ty * pw;
      for (let tx = 0; tx < pw; tx++) {
        const carry = Math.floor(lo[tx] / 4294967296);
        S[2 * (row + tx)] = lo[tx] - carry * 4294967296;
        S[2 * (row + tx) + 1] = (hi[tx] + carry) % 4294967296;
      }
    }
  }
  return sums;
}

/** The local part of a block-ReLU: patch sums to compare, the non-identity elements to
 * select (with their patch), and how to put the selected values back. Without identity
 * channels the selected elements are x itself (not copied: the protocols only read it) and
 * the selection's result is the whole activation. */
export function blockPlan(x: BigUint64Array, shape: readonly [number, number, number, number], blocks: readonly BlockSize[]) {
  const layout = blockLayout(shape, blocks);
  return { patches: layout.patches, sums: tileSums(x, layout), map: layout.selectedPatch, ...selectionOf(layout, x) };
}

/** The non-identity elements of x in order (x itself when every channel is selected: not
 * copied, only read) and how to put selected values back into x's other elements. */
export function selectionOf(layout: BlockLayout, x: BigUint64Array, own = false) {
  const { runs, selected } = layout;
  const whole = selected.length === x.length;
  let xs = x;
  if (!whole) {
    xs = new BigUint64Array(selected.length);
    for (let r = 0, at = 0; r < runs.length; at += runs[r + 1], r += 2) xs.set(x.subarray(runs[r], runs[r] + runs[r + 1]), at);
  }
  /** The whole activation from the selected values (identity elements unchanged): into x itself
   * when the caller owns it (`own`: a fresh vector no one else reads), else a copy. */
  const assemble = (ys: BigUint64Array): BigUint64Array => {
    if (whole) return ys;
    const out = own ? x : x.slice();
    for (let r = 0, at = 0; r < runs.length; at += runs[r + 1], r += 2) out.set(ys.subarray(at, at + runs[r + 1]), runs[r]);
    return out;
  };
  return { xs, assemble };
}

/** Block-ReLU: every bh×bw patch (tiled from the top-left, edge patches partial) of a channel
 * passes or becomes zero by the sign of its sum (one comparison per patch, on the window w),
 * one selection per element; identity channels pass unchanged at no cost. Three rounds, or
 * none when every channel is identity. */
export async function blockRelu(
  s: Session,
  x: BigUint64Array,
  shape: readonly [number, number, number, number],
  blocks: readonly BlockSize[],
  w: BitWindow,
): Promise<BigUint64Array> {
  const plan = blockPlan(x, shape, blocks);
  if (plan.patches === 0) return x.slice();
  const sel = new Selection(s, plan.xs, plan.map);
  const bit = await compareWindow(s, plan.sums, w, sel);
  return plan.assemble(sel.finish(bit));
}
