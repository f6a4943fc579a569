// Cutting a network at a ReLU layer, for the distortion measures: the prefix that computes what
// the layer and everything after it read (the layer's input and every value computed before it
// and read after it: the residual branches), and the suffix that runs from the layer's output
// (and those carried values) to the network's outputs. Also the context network of `--refine`:
// the graph with the planned layers as BlockRelu nodes.
import { type Graph, type Node, makeGraph, makeNode, pruneValues } from '../../../ir/graph.js';
import { blocksAttr } from '../../../ir/ops/block-relu.js';
import { withDefaults } from '../../../ir/ops/index.js';
import { numel } from '../../../ir/types.js';
import type { ChannelBlock } from '../plan-file.js';

/** A ReLU layer's cut. */
export interface LayerCut {
  /** The layer's node (Relu, or BlockRelu in a context network) and its index in the graph. */
  readonly node: Node;
  readonly index: number;
  /** The layer's input (the pre-activation) and output. */
  readonly input: string;
  readonly output: string;
  /** Values defined before the layer (graph inputs or node outputs, not constants) that nodes
   * after it read, other than the layer's output. */
  readonly carried: readonly string[];
}

/** The cut of `g` at its node named `layer`. */
export function layerCut(g: Graph, layer: string): LayerCut {
  const index = g.nodes.findIndex((n) => n.name === layer);
  if (index < 0) throw new Error(`network-cut: no node '${layer}'`);
  const node = g.nodes[index];
  const before = new Set<string>(g.inputs);
  for (let i = 0; i < index; i++) for (const o of g.nodes[i].outputs) before.add(o);
  const carried = new Set<string>();
  for (let i = index + 1; i < g.nodes.length; i++) for (const v of g.nodes[i].inputs) if (v && before.has(v)) carried.add(v);
  for (const o of g.outputs) if (before.has(o)) carried.add(o);
  return { node, index, input: node.inputs[0], output: node.outputs[0], carried: [...carried] };
}

/** The part of `g` that computes `outputs` from `inputs` (the nodes needed, in graph order). */
export function subnetwork(g: Graph, inputs: readonly string[], outputs: readonly string[]): Graph {
  const given = new Set(inputs);
  const needed = new Set(outputs.filter((o) => !given.has(o)));
  const nodes: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    nodes.push(n);
    for (const v of n.inputs) if (v && !given.has(v) && !g.constants.has(v)) needed.add(v);
  }
  nodes.reverse();
  return pruneValues(makeGraph({ ...g, name: `${g.name}-part`, inputs: [...inputs], outputs: [...outputs], nodes }));
}

/** The prefix of the cut: graph inputs → the layer's input and the carried values that are node
 * outputs (`values`, in this order). */
export function prefixOf(g: Graph, cut: LayerCut): { graph: Graph; values: string[] } {
  const values = [...new Set([cut.input, ...cut.carried])].filter((v) => !g.inputs.includes(v));
  return { graph: subnetwork(g, g.inputs, values), values };
}

/** The suffix of the cut: [the layer's output, ...carried] → the graph outputs. */
export function suffixOf(g: Graph, cut: LayerCut): Graph {
  return subnetwork(g, [cut.output, ...cut.carried], g.outputs);
}

/** Multiply-accumulates (or elements, for the other ops) of one image through `g`'s nodes from
 * index `from` on: the relative cost of a suffix, for estimates and the progress bar's ETA. */
export function networkWork(g: Graph, from = 0): number {
  let work = 0;
  for (let i = from; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    const out = numel(g.types.get(n.outputs[0])!.shape);
    const batch = g.types.get(n.outputs[0])!.shape[0] || 1;
    if (n.op === 'Conv') {
      const wShape = g.types.get(n.inputs[1])!.shape;
      work += (out / batch) * numel(wShape.slice(1));
    } else if (n.op === 'Gemm' || n.op === 'MatMul') {
      const a = g.types.get(n.inputs[0])!.shape;
      work += (out / batch) * a[a.length - 1];
    } else work += out / batch;
  }
  return work;
}

/** `g` with the named Relu layers as BlockRelu nodes of the given per-channel blocks (the
 * context network of `--refine`; the other ReLUs stay). */
export function withBlockRelus(g: Graph, blocks: ReadonlyMap<string, readonly ChannelBlock[]>): Graph {
  const nodes = g.nodes.map((n) => {
    const b = blocks.get(n.name);
    if (b === undefined || n.op !== 'Relu') return n;
    const relu = withDefaults(n);
    return makeNode('BlockRelu', n.name, n.inputs, n.outputs, { blocks: blocksAttr(b), window_lo: relu.window_lo, window_k: relu.window_k });
  });
  return makeGraph({ ...g, nodes });
}
