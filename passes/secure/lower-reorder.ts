// The first step of `lower`: a ReLU (or Clip) read only by a MaxPool moves after it.
// max(relu(a), relu(b)) = relu(max(a, b)) for every monotone function, exactly — on reals and
// on ring integers alike — so the output is bit for bit the same, but the ReLU now compares one
// element per window instead of every element (ResNet's stem: a quarter), and it reads straight
// into the next conv, where it fuses with the product and saves that product's round.
//
// One pass over the nodes, linear in the graph: the activations of a run (each read only by the
// next) wait in a group; a MaxPool read only by the group's last activation joins the group's
// pools, which run before all its activations. The result is the fixpoint of "swap a pool with
// the activation run above it" applied in node order (what the rewrite driver computed in n²
// steps for a chain of n (activation, pool) pairs): the same nodes, names and order.
import type { Graph, Node } from '../../ir/graph.js';
import { makeGraph, makeNode } from '../../ir/graph.js';
import type { TensorType } from '../../ir/types.js';
import type { PassContext } from '../pass.js';

/** Monotone non-decreasing ops that commute with a max. */
const MONOTONE: ReadonlySet<string> = new Set(['Relu', 'Clip']);

/** An activation of a group, with the input and output it has once the pools moved. */
interface Moved {
  readonly node: Node;
  input: string;
  output: string;
}

/** A run of activations, each read only by the next, and the pools moved before it. */
interface Group {
  /** The value the first pool (or, without pools, the first activation) reads. */
  head: string;
  readonly acts: Moved[];
  /** Moved pools, in order, emitted just before the group's first activation. */
  readonly pools: Node[];
  /** The type of the last moved pool's output: every activation of the group runs on it. */
  type?: TensorType;
}

/** The graph with every MaxPool ← Relu/Clip pair swapped where the activation has no other reader. */
export function poolBeforeActivation(g: Graph, ctx?: PassContext<unknown>): Graph {
  const readers = new Map<string, number>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  const outputs = new Set(g.outputs);
  const onlyReader = (v: string) => readers.get(v) === 1 && !outputs.has(v);

  // the names freshName would see: values and node names
  const valueNames = new Set<string>(g.types.keys());
  const nodeNames = new Set<string>(g.nodes.map((n) => n.name));
  const fresh = (base: string): string => {
    const taken = (s: string) => valueNames.has(s) || nodeNames.has(s);
    if (!taken(base)) return base;
    for (let i = 1; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
  };

  /** Per node position: the group whose first activation sits there, or the node itself. */
  const slots: (Node | Moved)[] = [];
  const firstOf = new Map<Moved, Group>();
  /** The group whose last activation writes the value. */
  const tails = new Map<string, Group>();
  const groups: Group[] = [];
  const types = new Map(g.types);
  let moves = 0;

  for (const node of g.nodes) {
    const input = node.inputs[0];
    if (MONOTONE.has(node.op)) {
      const act: Moved = { node, input, output: node.outputs[0] };
      let group = onlyReader(input) ? tails.get(input) : undefined;
      if (group) tails.delete(input);
      else {
        group = { head: input, acts: [], pools: [] };
        groups.push(group);
        firstOf.set(act, group);
      }
      group.acts.push(act);
      tails.set(act.output, group);
      slots.push(act);
      continue;
    }
    const group = node.op === 'MaxPool' && onlyReader(input) ? tails.get(input) : undefined;
    if (!group) {
      slots.push(node);
      continue;
    }
    // the pool reads the group's head and feeds its first activation; its result is now
    // written by the group's last activation, so its readers are unchanged
    const type = g.types.get(node.outputs[0]);
    const pooled = fresh(`${node.outputs[0]}_pre`);
    valueNames.add(pooled);
    if (type) types.set(pooled, type);
    group.pools.push(makeNode('MaxPool', node.name, [group.head, ...node.inputs.slice(1)], [pooled], node.attrs));
    group.head = pooled;
    group.acts[0].input = pooled;
    const last = group.acts[group.acts.length - 1];
    valueNames.delete(last.output);
    types.delete(last.output);
    tails.delete(last.output);
    last.output = node.outputs[0];
    tails.set(last.output, group);
    group.type = type;
    moves++;
  }
  if (moves === 0) return g;
  ctx?.stat('max-pools moved before their activation', moves);

  for (const group of groups) if (group.type) for (const act of group.acts) types.set(act.output, group.type);
  const nodes: Node[] = [];
  for (const slot of slots) {
    if (!('input' in slot)) {
      nodes.push(slot);
      continue;
    }
    const group = firstOf.get(slot);
    if (group) nodes.push(...group.pools);
    const n = slot.node;
    nodes.push(slot.input === n.inputs[0] && slot.output === n.outputs[0] ? n : makeNode(n.op, n.name, [slot.input, ...n.inputs.slice(1)], [slot.output, ...n.outputs.slice(1)], n.attrs));
  }
  return makeGraph({ ...g, nodes, types });
}
