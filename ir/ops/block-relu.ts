// BlockRelu: the seed paper's block-ReLU over NCHW activations, one block size per channel.
// Channel c's map is tiled from the top-left in bh×bw tiles (edge tiles partial); each tile
// passes unchanged when its sum is ≥ 0 (ties at zero pass) and becomes 0 otherwise. Block
// [1, 1] is an ordinary ReLU; block (0, 0) is the identity (no ReLU, no comparison). The
// tiling is the runtime's (blockLayout in runtime/protocols/block-relu.ts), which the
// interpreters call, so plaintext and secure runs cannot tile differently.
import type { Node } from '../graph.js';
import type { BlockSize } from '../../runtime/protocols/block-relu.js';
import { toSecureOp } from './facts.js';
import { type ShapeContext, ShapeError, attrOf, defineOps, lookupOp } from './registry.js';
import { WINDOW_ATTRS, checkWindow } from './window.js';

/** The blocks attribute's pair for an identity channel. */
export const IDENTITY_BLOCK = [0, 0] as const;

/** The channels' block sizes from a `blocks` attribute (2·C ints; (0, 0) is identity). */
export function blockSizesFrom(blocks: readonly number[]): BlockSize[] {
  const out: BlockSize[] = [];
  for (let c = 0; c + 1 < blocks.length; c += 2) {
    const bh = blocks[c], bw = blocks[c + 1];
    out.push(bh === 0 && bw === 0 ? 'identity' : [bh, bw]);
  }
  return out;
}

/** The `blocks` attribute of per-channel block sizes (the inverse of blockSizesFrom). */
export function blocksAttr(sizes: readonly BlockSize[]): number[] {
  return sizes.flatMap((b) => (b === 'identity' ? [...IDENTITY_BLOCK] : [b[0], b[1]]));
}

/** The block sizes of a BlockRelu (or a secure op carrying its `blocks`) node. */
export function blockSizesOf(node: Node): BlockSize[] {
  return blockSizesFrom(attrOf<number[]>(node, lookupOp(node.op), 'blocks') ?? []);
}

/** Comparisons (DReLUs) of a block-ReLU over one image batch: ceil(H/bh)·ceil(W/bw) per
 * non-identity channel and image. */
export function blockDrelus(shape: readonly number[], sizes: readonly BlockSize[]): number {
  const [n, , h, w] = shape;
  let per = 0;
  for (const b of sizes) if (b !== 'identity') per += Math.ceil(h / b[0]) * Math.ceil(w / b[1]);
  return n * per;
}

/** Elements a block-ReLU selects (those of non-identity channels). */
export function blockSelected(shape: readonly number[], sizes: readonly BlockSize[]): number {
  const [n, , h, w] = shape;
  return n * h * w * sizes.filter((b) => b !== 'identity').length;
}

/** Checks `blocks` against the input X (4-D NCHW): one pair per channel, each (0, 0) or within
 * the map. Throws ShapeError (the verifier names the node). */
export function checkBlocks(x: readonly number[], blocks: readonly number[]): void {
  if (x.length !== 4) throw new ShapeError(`input must be 4-D NCHW, got rank ${x.length}`);
  const [, c, h, w] = x;
  if (blocks.length !== 2 * c) throw new ShapeError(`blocks has ${blocks.length} values for ${c} channels (expected ${2 * c}: one [bh, bw] pair per channel)`);
  for (let ch = 0; ch < c; ch++) {
    const bh = blocks[2 * ch], bw = blocks[2 * ch + 1];
    if (bh === 0 && bw === 0) continue;
    if (bh < 1 || bw < 1 || bh > h || bw > w) {
      throw new ShapeError(`channel ${ch}: block [${bh}, ${bw}] does not fit the ${h}×${w} map (1 ≤ bh ≤ ${h}, 1 ≤ bw ≤ ${w}, or [0, 0] for identity)`);
    }
  }
}

/** The block attributes: per-channel sizes, and the comparison's bit window. */
export const BLOCK_ATTRS = {
  blocks: { kind: 'ints', range: [0, 1 << 30], doc: 'per channel c: (blocks[2c], blocks[2c+1]) = [bh, bw], or (0, 0) for identity' },
  ...WINDOW_ATTRS,
} as const;

/** BlockRelu's shape rule (also the secure op's): the blocks fit X, the window fits the ring. */
export function blockReluInfer(ctx: ShapeContext) {
  checkWindow(ctx);
  const x = ctx.inputs[0]!;
  checkBlocks(x.shape, ctx.attr<number[]>('blocks'));
  return [x];
}

defineOps({
  name: 'BlockRelu',
  doc: 'per channel, every bh×bw tile (from the top-left, edge tiles partial) passes when its sum is ≥ 0, else 0; (0, 0): identity',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: BLOCK_ATTRS,
  infer: blockReluInfer,
  secure: toSecureOp('SecureBlockRelu'),
});
