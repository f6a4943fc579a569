// The last step of `lower`: one activation mask for every product that reads the same
// activation. A product with P1's weights sends P1 its activation masked, x − A (8 B per
// element, runtime/protocols/weights.ts); when a later product (SecureWeights) reads the very
// same tensor — the value itself, not a copy after any op — whose masked copy an earlier
// product already sends, it takes that product's mask A instead of a fresh one (attribute
// mask_from, protocol applyWeightsSharedMask): P1 keeps z = x − A and multiplies it by both
// weights, and P0 sends nothing for the second. Resnet's first block of every stage is the case:
// the block input feeds conv1 (fused with the ReLU before it, SecureReluWeights, whose masked
// activation is its ReLU's output) and the downsample conv.
//
// The later product now waits for the earlier one's last round (P1 needs z): where the first is
// fused, the later one reads its activation output anyway; where both are plain products of one
// value, the schedule (schedule-rounds) gains that edge, and the mask is shared only when the
// inference's rounds stay as they were.
import { type Graph, type Node, replaceGraph, replaceNode } from '../../ir/graph.js';
import { numel } from '../../ir/types.js';
import type { PassContext } from '../pass.js';
import { schedule } from './schedule-rounds.js';
import { SECURE_COSTS, costAttrs } from './secure-costs.js';

/** `g` with every SecureWeights whose activation an earlier product already sends masked
 * reading that product's mask (mask_from) and costed as such. */
export function shareProductMasks(g: Graph, ctx: PassContext<unknown>): Graph {
  /** The product that sends each value's masked copy first, in node order. */
  const sender = new Map<string, Node>();
  const nodes = [...g.nodes];
  let rounds: number | undefined;
  nodes.forEach((n, i) => {
    if (n.op === 'SecureReluWeights') {
      if (!sender.has(n.outputs[0])) sender.set(n.outputs[0], n);
      return;
    }
    if (n.op !== 'SecureWeights') return;
    const x = n.inputs[0];
    const source = sender.get(x);
    if (!source) return void sender.set(x, n);
    const sizes = { xSize: numel(g.types.get(x)!.shape), ySize: numel(g.types.get(n.outputs[0])!.shape), wSize: numel(g.types.get(n.inputs[1])!.shape) };
    const shared = replaceNode(n, { attrs: { ...n.attrs, mask_from: source.name, ...costAttrs(SECURE_COSTS.SecureWeightsSharedMask(sizes)) } });
    if (source.op === 'SecureWeights') {
      // Two plain products of one value: share only if the new edge lengthens no path that counts.
      rounds ??= schedule(replaceGraph(g, { nodes })).rounds;
      const trial = [...nodes];
      trial[i] = shared;
      if (schedule(replaceGraph(g, { nodes: trial })).rounds > rounds) return void ctx.stat('products kept on a fresh mask (sharing would add a round)');
    }
    nodes[i] = shared;
    ctx.stat('products sharing an earlier mask');
    ctx.stat('masked activation elements not resent', sizes.xSize);
  });
  return nodes.every((n, i) => n === g.nodes[i]) ? g : replaceGraph(g, { nodes });
}
