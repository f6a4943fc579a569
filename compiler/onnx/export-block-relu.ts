// BlockRelu in standard ONNX operators, for onnxruntime and for PyTorch users who import the
// planned network to fine-tune it. Channels are grouped by block size; each group is
//   Gather(channels) → Pad (to whole tiles, zeros) → AveragePool(kernel = stride = block)
//   → the sign test 1 − float(bool(Relu(−mean))) → Resize nearest (×block, asymmetric, floor)
//   → Slice (crop) → Mul with the group's input,
// so a tile passes when its mean (the sign of its sum: the zero padding adds nothing) is ≥ 0
// and is zeroed otherwise, exactly the IR's semantics (ir/ops/block-relu.ts). The sign test
// avoids GreaterOrEqual, which mpcc's importer does not take, so the export re-imports. Identity
// channels pass through untouched. The groups are joined by Concat along the channels and put
// back in the original channel order by one Gather. The bit window attributes only matter in
// fixed point and are dropped.
import type { Attrs, Node } from '../../ir/graph.js';
import type { ExportContext } from './export-context.js';
import { dataType } from './writer.js';

/** One group of channels sharing a block size ([0, 0]: identity). */
interface ChannelGroup {
  readonly bh: number;
  readonly bw: number;
  readonly channels: number[];
}

/** Channels grouped by block, in order of first appearance; identity channels last. */
export function channelGroups(blocks: readonly number[]): ChannelGroup[] {
  const byBlock = new Map<string, ChannelGroup>();
  for (let c = 0; c < blocks.length / 2; c++) {
    const bh = blocks[2 * c], bw = blocks[2 * c + 1];
    const key = `${bh}x${bw}`;
    if (!byBlock.has(key)) byBlock.set(key, { bh, bw, channels: [] });
    byBlock.get(key)!.channels.push(c);
  }
  const groups = [...byBlock.values()];
  return [...groups.filter((g) => g.bh !== 0), ...groups.filter((g) => g.bh === 0)];
}

/** Writes BlockRelu `node` (attributes with defaults `a`) as standard operators. */
export function exportBlockRelu(node: Node, a: Attrs, ctx: ExportContext): void {
  const [x] = node.inputs, [y] = node.outputs;
  const [, c, h, w] = ctx.type(x).shape;
  const dtype = ctx.type(x).dtype;
  const groups = channelGroups(a.blocks as number[]);
  const b = ctx.builder, p = `${node.name}/`;
  const whole = groups.length === 1;
  const parts = groups.map((g, k) => {
    const input = whole ? x : b.node('Gather', [x, ctx.int64(`${p}channels`, g.channels)], [ctx.fresh(`${p}group${k}`)], { axis: 1 })[0];
    const out = whole ? y : ctx.fresh(`${p}out${k}`);
    if (g.bh === 0) return whole ? b.node('Identity', [x], [y], {}, node.name)[0] : input;
    const th = Math.ceil(h / g.bh), tw = Math.ceil(w / g.bw);
    const [padH, padW] = [th * g.bh - h, tw * g.bw - w];
    const name = (what: string) => ctx.fresh(`${p}${what}${k}`);
    let tiled = input;
    if (padH || padW) tiled = b.node('Pad', [input, ctx.int64(`${p}pads`, [0, 0, 0, 0, 0, 0, padH, padW])], [name('padded')], { mode: 'constant' })[0];
    const mean = b.node('AveragePool', [tiled], [name('tileMean')], { kernel_shape: [g.bh, g.bw], strides: [g.bh, g.bw] })[0];
    // keep = [mean ≥ 0], exactly, with operators mpcc's importer knows: Relu(−mean) is non-zero
    // exactly when mean < 0 (−0 gives 0: ties pass), and Cast to bool tests non-zero
    const negated = b.node('Mul', [mean, ctx.scalar(`${p}minusOne`, -1, dtype)], [name('tileNegMean')])[0];
    const below = b.node('Relu', [negated], [name('tileBelow')])[0];
    const dropBool = b.node('Cast', [below], [name('tileDropBool')], { to: dataType('bool') })[0];
    const drop = b.node('Cast', [dropBool], [name('tileDrop')], { to: dataType(dtype === 'float64' ? 'float64' : 'float32') })[0];
    const keepF = b.node('Sub', [ctx.scalar(`${p}one`, 1, dtype), drop], [name('tileMask')])[0];
    const scales = b.initializer(ctx.fresh(`${p}scales`), [1, 1, g.bh, g.bw], [4]);
    let mask = b.node('Resize', [keepF, '', scales], [name('mask')], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' })[0];
    if (padH || padW) {
      mask = b.node('Slice', [mask, ctx.int64(`${p}starts`, [0, 0]), ctx.int64(`${p}ends`, [h, w]), ctx.int64(`${p}axes`, [2, 3])], [name('cropped')])[0];
    }
    return b.node('Mul', [input, mask], [out], {}, whole ? node.name : undefined)[0];
  });
  if (whole) return;
  const order = groups.flatMap((g) => g.channels);
  const inOrder = order.every((ch, i) => ch === i);
  const joined = b.node('Concat', parts, [inOrder ? y : ctx.fresh(`${p}joined`)], { axis: 1 }, inOrder ? node.name : undefined)[0];
  if (inOrder) return;
  const position = new Array<number>(c);
  order.forEach((ch, i) => { position[ch] = i; });
  b.node('Gather', [joined, ctx.int64(`${p}order`, position)], [y], { axis: 1 }, node.name);
}
