// The pattern-rewrite driver (tinygrad style): a table of local rules, each looking at one
// node and its neighbourhood and proposing a replacement, applied until no rule fires.
// Rules never mutate: they return a Replacement, and the driver builds the new graph.
import { type Graph, type Node, makeGraph, pruneValues, replaceNode } from '../ir/graph.js';
import { InternalError } from '../runtime/diagnostics.js';
import type { Tensor } from '../ir/tensor.js';
import type { TensorType } from '../ir/types.js';
import type { PassContext } from './pass.js';

/** What a rule sees of the graph around the node it matched: the driver's live state, updated
 * in place after each rewrite (so a rewrite costs the size of its neighbourhood, not of the graph). */
export class RewriteView {
  constructor(private readonly state: RewriteState) {}

  /** The node defining `value` (undefined for inputs and constants). */
  producer(value: string): Node | undefined {
    return this.state.producers.get(value);
  }

  /** The nodes reading `value` (graph outputs are not nodes: see isGraphOutput). */
  users(value: string): readonly Node[] {
    const set = this.state.users.get(value);
    return set ? [...set] : [];
  }

  /** True when `value` is one of the graph's outputs. */
  isGraphOutput(value: string): boolean {
    return this.state.outputs.includes(value);
  }

  /** True when nothing but `node` reads `value` and it is not a graph output. */
  onlyUsedBy(value: string, node: Node): boolean {
    return !this.isGraphOutput(value) && this.users(value).every((u) => u === node);
  }

  /** The constant tensor of `value`, or undefined. */
  constant(value: string): Tensor | undefined {
    return value ? this.state.constants.get(value) : undefined;
  }

  /** The type of a defined value. */
  type(value: string): TensorType {
    const t = this.state.types.get(value);
    if (!t) throw new InternalError(`value '${value}' has no type`);
    return t;
  }

  /** `base` if no value or node is called that yet, else `base_1`, `base_2`, … */
  freshName(base: string): string {
    const taken = (n: string) => this.state.types.has(n) || (this.state.nodeNames.get(n) ?? 0) > 0;
    if (!taken(base)) return base;
    for (let i = 1; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
  }
}

/** The graph under rewrite, mutable and indexed: the node list, its value maps, who defines and
 * who reads each value, and how often each value is referenced (to prune the unreferenced). */
class RewriteState {
  readonly nodes: Node[];
  readonly inputs: string[];
  readonly outputs: string[];
  readonly types: Map<string, TensorType>;
  readonly constants: Map<string, Tensor>;
  readonly producers = new Map<string, Node>();
  readonly users = new Map<string, Set<Node>>();
  readonly nodeNames = new Map<string, number>();
  /** References of each value by node inputs and outputs and graph inputs and outputs. */
  private readonly refs = new Map<string, number>();
  private pruned = false;

  constructor(readonly graph: Graph) {
    this.nodes = [...graph.nodes];
    this.inputs = [...graph.inputs];
    this.outputs = [...graph.outputs];
    this.types = new Map(graph.types);
    this.constants = new Map(graph.constants);
    for (const v of [...this.inputs, ...this.outputs]) this.ref(v, 1);
    for (const n of this.nodes) this.index(n, 1);
  }

  private ref(v: string, d: number): void {
    this.refs.set(v, (this.refs.get(v) ?? 0) + d);
  }

  /** Adds (d = 1) or removes (d = -1) a node from the indexes. */
  private index(n: Node, d: 1 | -1): void {
    this.nodeNames.set(n.name, (this.nodeNames.get(n.name) ?? 0) + d);
    for (const i of n.inputs) {
      if (!i) continue;
      this.ref(i, d);
      let set = this.users.get(i);
      if (!set) this.users.set(i, (set = new Set()));
      if (d > 0) set.add(n);
      else set.delete(n);
    }
    for (const o of n.outputs) {
      this.ref(o, d);
      if (d > 0) this.producers.set(o, n);
      else if (this.producers.get(o) === n) this.producers.delete(o);
    }
  }

  /** Applies `repl` at position `at` (where `node` is), as applyReplacement would on a graph. */
  apply(at: number, node: Node, repl: Replacement): void {
    const touched = new Set<string>();
    const touch = (n: Node) => {
      for (const v of n.inputs) if (v) touched.add(v);
      for (const v of n.outputs) touched.add(v);
    };
    // Removed nodes first (each found by identity, usually right before `at`: a contiguous block
    // there goes in one splice), then the matched node gives way to the replacement nodes.
    const removed = new Set(repl.remove ?? []);
    removed.delete(node);
    // a node removed and added back (moved, unchanged) keeps its index entries
    const added = repl.nodes ?? [];
    const moved = new Set(added.filter((n) => removed.has(n)));
    let start = at;
    while (start > 0 && removed.has(this.nodes[start - 1])) start--;
    const block = at - start === removed.size;
    const positions: number[] = [];
    for (const r of removed) {
      if (!block) {
        let i = this.nodes.lastIndexOf(r, at);
        if (i < 0) i = this.nodes.indexOf(r, at);
        if (i < 0) continue;
        positions.push(i);
      }
      if (moved.has(r)) continue;
      this.index(r, -1);
      touch(r);
    }
    if (block) {
      this.nodes.splice(start, at - start);
      at = start;
    }
    for (const i of positions.sort((a, b) => b - a)) {
      this.nodes.splice(i, 1);
      if (i < at) at--;
    }
    this.index(node, -1);
    touch(node);
    this.nodes.splice(at, 1, ...added);
    for (const n of added) if (!moved.has(n)) this.index(n, 1);
    for (const [k, t] of repl.types ?? []) {
      this.types.set(k, t);
      touched.add(k);
    }
    for (const [k, t] of repl.constants ?? []) {
      this.constants.set(k, t);
      this.types.set(k, { dtype: t.dtype, shape: t.shape });
      touched.add(k);
    }
    for (const [from, to] of repl.rename ?? []) {
      this.rename(from, to);
      touched.add(from);
      touched.add(to);
    }
    this.prune(touched);
  }

  /** renameValue on the live state: only the definer and readers of `from` change. */
  private rename(from: string, to: string): void {
    if (from === to) return;
    const swap = (list: readonly string[]) => list.map((v) => (v === from ? to : v));
    const affected = new Set<Node>(this.users.get(from) ?? []);
    const def = this.producers.get(from);
    if (def) affected.add(def);
    for (const n of affected) {
      const i = this.nodes.indexOf(n);
      const next = replaceNode(n, { inputs: swap(n.inputs), outputs: swap(n.outputs) });
      this.index(n, -1);
      this.nodes[i] = next;
      this.index(next, 1);
    }
    for (const list of [this.inputs, this.outputs]) {
      for (let i = 0; i < list.length; i++) {
        if (list[i] !== from) continue;
        list[i] = to;
        this.ref(from, -1);
        this.ref(to, 1);
      }
    }
    const ft = this.types.get(from);
    this.types.delete(from);
    if (ft && !this.types.has(to)) this.types.set(to, ft);
    const fc = this.constants.get(from);
    this.constants.delete(from);
    if (fc && !this.constants.has(to)) this.constants.set(to, fc);
  }

  /** pruneValues: the first time over every value, then over the values a rewrite touched. */
  private prune(touched: Set<string>): void {
    const candidates = this.pruned ? touched : new Set([...this.types.keys(), ...this.constants.keys()]);
    this.pruned = true;
    for (const v of candidates) {
      if ((this.refs.get(v) ?? 0) > 0) continue;
      this.types.delete(v);
      this.constants.delete(v);
      this.refs.delete(v);
      this.users.delete(v);
    }
  }

  /** The graph as it stands. */
  toGraph(): Graph {
    return makeGraph({ ...this.graph, nodes: this.nodes, inputs: this.inputs, outputs: this.outputs, types: this.types, constants: this.constants });
  }
}

/** A rule's proposal; every field is optional. */
export interface Replacement {
  /** Nodes taking the matched node's place in the order (empty: delete it). */
  readonly nodes?: readonly Node[];
  /** Other nodes to delete (a Conv whose BatchNormalization absorbs it). */
  readonly remove?: readonly Node[];
  /** Constants to define or overwrite (their types follow the tensors). */
  readonly constants?: ReadonlyMap<string, Tensor>;
  /** Types of new node results. */
  readonly types?: ReadonlyMap<string, TensorType>;
  /** Value renamings applied everywhere, definitions and uses: [from, to]. When `to` already
   * has a type it is kept (the two values are the same value under two names). */
  readonly rename?: readonly (readonly [string, string])[];
}

/** One local rewrite: the ops it looks at and a function proposing a replacement. */
export interface RewriteRule {
  /** Op names this rule matches; '*' matches every node. */
  readonly ops: readonly string[] | '*';
  /** Statistic counted each time the rule fires ("batch-norms folded"). */
  readonly stat: string;
  /** A replacement for `node`, or undefined when the rule does not apply. */
  apply(node: Node, view: RewriteView): Replacement | undefined;
}

/** Applies `rules` to `graph` until none fires; the same graph object when none ever did. */
export function rewriteToFixpoint(graph: Graph, rules: readonly RewriteRule[], ctx?: PassContext<unknown>, maxRewrites = 1_000_000): Graph {
  const state = new RewriteState(graph);
  const view = new RewriteView(state);
  const nodes = state.nodes;
  let rewrites = 0;
  for (let changed = true; changed; ) {
    changed = false;
    // One sweep in order; after a rewrite the sweep goes on at the same position so that the
    // replacement nodes get their turn, and a sweep with any rewrite is followed by another.
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      for (const rule of rules) {
        if (rule.ops !== '*' && !rule.ops.includes(node.op)) continue;
        const repl = rule.apply(node, view);
        if (!repl) continue;
        state.apply(i, node, repl);
        ctx?.stat(rule.stat);
        changed = true;
        if (++rewrites > maxRewrites) throw new InternalError(`rewrite rules did not reach a fixpoint after ${maxRewrites} rewrites`);
        i = Math.min(i, nodes.length) - 1;
        break;
      }
    }
  }
  return rewrites === 0 ? graph : state.toGraph();
}

/** The graph with `node` replaced as `repl` says. */
export function applyReplacement(g: Graph, node: Node, repl: Replacement): Graph {
  const removed = new Set<Node>(repl.remove ?? []);
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (n === node) nodes.push(...(repl.nodes ?? []));
    else if (!removed.has(n)) nodes.push(n);
  }
  const types = new Map(g.types);
  const constants = new Map(g.constants);
  for (const [k, t] of repl.types ?? []) types.set(k, t);
  for (const [k, t] of repl.constants ?? []) {
    constants.set(k, t);
    types.set(k, { dtype: t.dtype, shape: t.shape });
  }
  let next = makeGraph({ ...g, nodes, types, constants });
  for (const [from, to] of repl.rename ?? []) next = renameValue(next, from, to);
  return pruneValues(next);
}

/** Renames value `from` to `to` everywhere: node inputs and outputs, graph inputs and outputs,
 * types and constants. `to` keeps its own type and constant when it has them. */
export function renameValue(g: Graph, from: string, to: string): Graph {
  if (from === to) return g;
  const swap = (list: readonly string[]) => list.map((v) => (v === from ? to : v));
  const nodes = g.nodes.map((n) => replaceNode(n, { inputs: swap(n.inputs), outputs: swap(n.outputs) }));
  const types = new Map(g.types);
  const ft = types.get(from);
  types.delete(from);
  if (ft && !types.has(to)) types.set(to, ft);
  const constants = new Map(g.constants);
  const fc = constants.get(from);
  constants.delete(from);
  if (fc && !constants.has(to)) constants.set(to, fc);
  return makeGraph({ ...g, nodes, inputs: swap(g.inputs), outputs: swap(g.outputs), types, constants });
}
