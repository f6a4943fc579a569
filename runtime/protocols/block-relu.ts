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

/** For a block-ReLU over NCHW data: for every element its patch index (−1 for identity
 * channels), the number of patches, and the non-identity elements in order. Typed arrays
 * sized up front (a ResNet50 layer has ~800 k elements; growing a JS array of them cost
 * about as much as the layer's selection arithmetic). */
export function blockLayout(shape: readonly [number, number, number, number], blocks: readonly BlockSize[]) {
  const [n, c, h, w] = shape;
  if (blocks.length !== c) throw new Error(`block-relu: ${blocks.length} block sizes for ${c} channels`);
  const plane = h * w;
  const patchOf = new Int32Array(n * c * plane).fill(-1);
  let kept = 0;
  for (const blk of blocks) if (blk !== 'identity') kept++;
  // Non-identity channels are whole planes, in order: their elements are the selected ones.
  const selected = new Int32Array(n * kept * plane);
  /** Patch column of each x coordinate, per block width. */
  const columnPatch = new Map<number, Int32Array>();
  let patches = 0;
  let at = 0;
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
      for (let i = 0; i < plane; i++) selected[at++] = base + i;
      patches += ph * pw;
    }
  return { patchOf, patches, selected };
}

/** The local part of a block-ReLU: patch sums to compare, the non-identity elements to
 * select (with their patch), and how to put the selected values back. */
export function blockPlan(x: BigUint64Array, shape: readonly [number, number, number, number], blocks: readonly BlockSize[]) {
  const { patchOf, patches, selected } = blockLayout(shape, blocks);
  const sums = new BigUint64Array(patches);
  const xs = new BigUint64Array(selected.length);
  const map = new Int32Array(selected.length);
  for (let j = 0; j < selected.length; j++) {
    const i = selected[j];
    xs[j] = x[i];
    map[j] = patchOf[i];
    sums[patchOf[i]] += x[i];
  }
  /** The whole activation from the selected values (identity elements unchanged). */
  const assemble = (ys: BigUint64Array): BigUint64Array => {
    const out = x.slice();
    for (let j = 0; j < selected.length; j++) out[selected[j]] = ys[j];
    return out;
  };
  return { patches, sums, xs, map, assemble };
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
