// The IR: a graph of immutable nodes over named, typed values. Value names are the ONNX
// tensor names, so users can find them. Rewrites return new graphs; a rewrite that changes
// nothing returns the same object.
import type { Tensor } from './tensor.js';
import type { TensorType } from './types.js';

/** An attribute value: int or float, list of them, string, list of strings, or tensor. */
export type AttrValue = number | string | readonly number[] | readonly string[] | Tensor;

/** Attributes of a node, by name. */
export type Attrs = Readonly<Record<string, AttrValue>>;

/** One operation. `inputs` are value names ('' marks an omitted optional input). */
export interface Node {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Attrs;
}

/** A whole network: inputs, constants (weights), nodes in topological order, outputs. */
export interface Graph {
  readonly name: string;
  /** Runtime inputs (the client's image), in order. */
  readonly inputs: readonly string[];
  /** Values the graph returns, in order. */
  readonly outputs: readonly string[];
  /** Nodes in a topological (dominance-respecting) order. */
  readonly nodes: readonly Node[];
  /** Type of every value: inputs, constants and node outputs. */
  readonly types: ReadonlyMap<string, TensorType>;
  /** Constant tensors (initializers, folded constants), by value name. */
  readonly constants: ReadonlyMap<string, Tensor>;
}

/** Makes a node; attribute keys are kept in insertion order (the printer sorts them). */
export function makeNode(op: string, name: string, inputs: readonly string[], outputs: readonly string[], attrs: Attrs = {}): Node {
  return Object.freeze({ op, name, inputs: Object.freeze([...inputs]), outputs: Object.freeze([...outputs]), attrs: Object.freeze({ ...attrs }) });
}

/** A node with some fields replaced; the same object when nothing changes. */
export function replaceNode(node: Node, changes: Partial<Omit<Node, 'attrs'>> & { attrs?: Attrs }): Node {
  const same =
    (changes.op === undefined || changes.op === node.op) &&
    (changes.name === undefined || changes.name === node.name) &&
    (changes.inputs === undefined || arraysEqual(changes.inputs, node.inputs)) &&
    (changes.outputs === undefined || arraysEqual(changes.outputs, node.outputs)) &&
    (changes.attrs === undefined || changes.attrs === node.attrs);
  if (same) return node;
  return makeNode(changes.op ?? node.op, changes.name ?? node.name, changes.inputs ?? node.inputs, changes.outputs ?? node.outputs, changes.attrs ?? node.attrs);
}

/** Makes a graph from its parts (shallow-frozen). */
export function makeGraph(parts: Graph): Graph {
  return Object.freeze({ ...parts, inputs: Object.freeze([...parts.inputs]), outputs: Object.freeze([...parts.outputs]), nodes: Object.freeze([...parts.nodes]) });
}

/** A graph with some parts replaced; the same object when nothing changes. */
export function replaceGraph(g: Graph, changes: Partial<Graph>): Graph {
  const keys = Object.keys(changes) as (keyof Graph)[];
  if (keys.every((k) => changes[k] === undefined || changes[k] === g[k])) return g;
  return makeGraph({ ...g, ...changes });
}

/** Drops types and constants of values no node, input or output refers to any more. */
export function pruneValues(g: Graph): Graph {
  const used = new Set<string>([...g.inputs, ...g.outputs]);
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i) used.add(i);
    for (const o of n.outputs) used.add(o);
  }
  if (used.size === g.types.size && [...g.constants.keys()].every((k) => used.has(k))) return g;
  const types = new Map([...g.types].filter(([k]) => used.has(k)));
  const constants = new Map([...g.constants].filter(([k]) => used.has(k)));
  return makeGraph({ ...g, types, constants });
}

/** Removes nodes whose outputs nothing uses (transitively), then prunes values. */
export function removeDeadNodes(g: Graph): Graph {
  const live = new Set<string>(g.outputs);
  const kept: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => live.has(o))) {
      kept.push(n);
      for (const x of n.inputs) if (x) live.add(x);
    }
  }
  kept.reverse();
  return pruneValues(kept.length === g.nodes.length ? g : replaceGraph(g, { nodes: kept }));
}

/** Map from value name to the node producing it. */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

/** Map from value name to the nodes reading it (graph outputs are not counted). */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes)
    for (const i of n.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  return m;
}

/** Renames every use of value `from` to `to` (in node inputs and graph outputs). */
export function renameUses(g: Graph, from: string, to: string): Graph {
  const nodes = g.nodes.map((n) => (n.inputs.includes(from) ? replaceNode(n, { inputs: n.inputs.map((i) => (i === from ? to : i)) }) : n));
  const outputs = g.outputs.map((o) => (o === from ? to : o));
  return replaceGraph(g, { nodes: nodes.some((n, i) => n !== g.nodes[i]) ? nodes : g.nodes, outputs: arraysEqual(outputs, g.outputs) ? g.outputs : outputs });
}

function arraysEqual(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
