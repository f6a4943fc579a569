// The pattern-rewrite driver (tinygrad style): a table of local rules, each looking at one
// node and its neighbourhood and proposing a replacement, applied until no rule fires.
// Rules never mutate: they return a Replacement, and the driver builds the new graph.
import { type Graph, type Node, consumers, makeGraph, producers, pruneValues, replaceNode } from '../ir/graph.js';
import { InternalError } from '../runtime/diagnostics.js';
import type { Tensor } from '../ir/tensor.js';
import type { TensorType } from '../ir/types.js';
import type { PassContext } from './pass.js';

/** What a rule sees of the graph around the node it matched. */
export class RewriteView {
  private producerMap?: Map<string, Node>;
  private consumerMap?: Map<string, Node[]>;
  private outputSet?: Set<string>;

  constructor(readonly graph: Graph) {}

  /** The node defining `value` (undefined for inputs and constants). */
  producer(value: string): Node | undefined {
    this.producerMap ??= producers(this.graph);
    return this.producerMap.get(value);
  }

  /** The nodes reading `value` (graph outputs are not nodes: see isGraphOutput). */
  users(value: string): readonly Node[] {
    this.consumerMap ??= consumers(this.graph);
    return this.consumerMap.get(value) ?? [];
  }

  /** True when `value` is one of the graph's outputs. */
  isGraphOutput(value: string): boolean {
    this.outputSet ??= new Set(this.graph.outputs);
    return this.outputSet.has(value);
  }

  /** True when nothing but `node` reads `value` and it is not a graph output. */
  onlyUsedBy(value: string, node: Node): boolean {
    return !this.isGraphOutput(value) && this.users(value).every((u) => u === node);
  }

  /** The constant tensor of `value`, or undefined. */
  constant(value: string): Tensor | undefined {
    return value ? this.graph.constants.get(value) : undefined;
  }

  /** The type of a defined value. */
  type(value: string): TensorType {
    const t = this.graph.types.get(value);
    if (!t) throw new InternalError(`value '${value}' has no type`);
    return t;
  }

  /** `base` if no value or node is called that yet, else `base_1`, `base_2`, … */
  freshName(base: string): string {
    const taken = (n: string) => this.graph.types.has(n) || this.graph.nodes.some((x) => x.name === n);
    if (!taken(base)) return base;
    for (let i = 1; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
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
  let g = graph;
  let rewrites = 0;
  for (let changed = true; changed; ) {
    changed = false;
    // One sweep in order; after a rewrite the sweep goes on at the same position so that the
    // replacement nodes get their turn, and a sweep with any rewrite is followed by another.
    let view = new RewriteView(g);
    for (let i = 0; i < g.nodes.length; i++) {
      const node = g.nodes[i];
      for (const rule of rules) {
        if (rule.ops !== '*' && !rule.ops.includes(node.op)) continue;
        const repl = rule.apply(node, view);
        if (!repl) continue;
        g = applyReplacement(g, node, repl);
        view = new RewriteView(g);
        ctx?.stat(rule.stat);
        changed = true;
        if (++rewrites > maxRewrites) throw new InternalError(`rewrite rules did not reach a fixpoint after ${maxRewrites} rewrites`);
        i = Math.min(i, g.nodes.length) - 1;
        break;
      }
    }
  }
  return g;
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
