// lower: a quantized graph → its secure form. Every op that needs messages becomes a secure op
// (ir/ops/secure.ts) carrying its protocol, rounds and flows from the runtime's cost table
// (passes/secure/secure-costs.ts); every other op stays and runs locally on shares:
//
//   FixedInput                 → SecureInput
//   Conv/Gemm/MatMul (W const) → SecureWeights (Gemm's alpha/beta/transB folded into W and C)
//   Relu                       → SecureRelu, or SecureReluWeights fused with the product
//                                reading it (the product's messages ride on the ReLU's rounds)
//   MaxPool, Clip              → SecureMaxPool, SecureClip; a ReLU/Clip read only by a
//                                MaxPool moves after it first (same output, fewer compares)
//   graph outputs              → SecureReveal before each (or before a trailing Softmax/ArgMax,
//                                which the client computes in plaintext)
//
// A ReLU read by several products is fused with the one on the longest path to the outputs
// (the main path of a residual block, not its shortcut), so the fusion saves a round where
// the rounds add up; the other products run beside the next ReLU.
import { diag } from '../../runtime/diagnostics.js';
import { type Graph, type Node, consumers, makeGraph, pruneValues, replaceNode } from '../../ir/graph.js';
import { lookupOp, withDefaults } from '../../ir/ops/index.js';
import type { Tensor } from '../../ir/tensor.js';
import type { TensorType } from '../../ir/types.js';
import { poolBeforeActivation } from './lower-reorder.js';
import { definePass } from '../pass.js';
import type { PassContext } from '../pass.js';
import { type LowerContext, WEIGHT_OPS, lowerClip, lowerInput, lowerMaxPool, lowerRelu, lowerReluWeights, lowerWeights, revealNode } from './lower-ops.js';

/** Ops the client runs in plaintext after the reveal, when nothing but outputs follow them. */
const CLIENT_OPS: ReadonlySet<string> = new Set(['Softmax', 'ArgMax']);

/** Ops that are local on shares (linear in the secret, or data movement). Mul needs a constant
 * operand and Div a constant divisor. */
const LOCAL_OPS: ReadonlySet<string> = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Truncate', 'Concat', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Pad',
  'Slice', 'Gather', 'Resize', 'AveragePool', 'GlobalAveragePool', 'ReduceMean', 'BatchNormalization', 'Identity', 'Dropout',
]);

/** Rough rounds of an op before lowering, to find the longest path (fusion choice only). */
const ROUGH_ROUNDS: Readonly<Record<string, number>> = { Relu: 3, Clip: 3, MaxPool: 6, Conv: 1, Gemm: 1, MatMul: 1 };

/** The lower pass. */
export const lower = definePass({
  name: 'lower',
  summary:
    'Assumes a quantized graph (FixedInput after every input, Truncate after products); replaces every op that needs ' +
    "messages by its secure op with the runtime's protocol, rounds and flows, fuses each ReLU with a weight product " +
    'reading it, moves a ReLU/Clip read only by a MaxPool after it (same output, fewer comparisons), and reveals the ' +
    'outputs to the client; every other op stays local.',
  options: {},
  run: (graph, ctx) => lowerGraph(graph, ctx),
});

function lowerGraph(quantized: Graph, ctx: PassContext<unknown>): Graph {
  const g = poolBeforeActivation(quantized, ctx);
  const users = consumers(g);
  const frac = checkQuantized(g, users);
  const types = new Map(g.types);
  const constants = new Map(g.constants);
  const taken = new Set<string>([...g.types.keys(), ...g.nodes.map((n) => n.name)]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const cx: LowerContext = {
    type: (v) => types.get(v)!,
    constant: (v) => (v ? constants.get(v) : undefined),
    addConstant: (base: string, t: Tensor) => {
      const name = fresh(base);
      constants.set(name, t);
      types.set(name, { dtype: t.dtype, shape: t.shape });
      return name;
    },
  };
  const tail = clientTail(g, users);
  const reveal = valuesToReveal(g, tail);
  const fusedWith = chooseFusions(g, users, cx);
  const fusedProducts = new Set(fusedWith.values());

  const nodes: Node[] = [];
  // A revealed value's producer now defines `<value>_share`; secure-side readers follow.
  const shareOf = new Map<string, string>();
  const emit = (node: Node): void => {
    const inTail = tail.has(node);
    const inputs = inTail ? node.inputs : node.inputs.map((i) => shareOf.get(i) ?? i);
    const outputs = node.outputs.map((o) => {
      if (!reveal.has(o)) return o;
      const share = fresh(`${o}_share`);
      types.set(share, types.get(o) as TensorType);
      shareOf.set(o, share);
      return share;
    });
    nodes.push(replaceNode(node, { inputs, outputs }));
    node.outputs.forEach((o, i) => {
      if (outputs[i] === o) return;
      nodes.push(revealNode(fresh(`reveal_${o}`), outputs[i], o, frac, cx));
      ctx.stat('outputs revealed');
    });
  };

  for (const node of g.nodes) {
    if (fusedProducts.has(node)) continue;
    const product = fusedWith.get(node);
    if (product) {
      emit(lowerReluWeights(node, product, cx));
      ctx.stat('relus fused with the next product');
    } else if (tail.has(node)) emit(node);
    else emit(lowerOne(node, cx, ctx));
  }
  for (const n of nodes) if (n.op.startsWith('Secure')) ctx.stat('drelus', (n.attrs.drelus as number) ?? 0);
  return pruneValues(makeGraph({ ...g, nodes, types, constants }));
}

/** The secure or local form of one node outside the client tail. */
function lowerOne(node: Node, cx: LowerContext, ctx: PassContext<unknown>): Node {
  switch (node.op) {
    case 'FixedInput': return lowerInput(node, cx);
    case 'Relu': ctx.stat('relus lowered'); return lowerRelu(node, cx);
    case 'Clip': ctx.stat('clips lowered'); return lowerClip(node, cx);
    case 'MaxPool': ctx.stat('max-pools lowered'); return lowerMaxPool(node, cx);
    case 'Conv': case 'Gemm': case 'MatMul': ctx.stat('products lowered'); return lowerWeights(node, cx);
  }
  if (CLIENT_OPS.has(node.op)) throw diag('MPCC6001', [node.name, node.op, 'only a trailing Softmax/ArgMax (nothing after it but outputs) runs on the client']);
  if (!LOCAL_OPS.has(node.op)) throw diag('MPCC6001', [node.name, node.op, 'it is not linear in the secret input']);
  if (node.op === 'Mul' && !node.inputs.some((i) => cx.constant(i))) throw diag('MPCC6022', [node.name, node.op, node.inputs[1]]);
  if (node.op === 'Div' && !cx.constant(node.inputs[1])) throw diag('MPCC6022', [node.name, node.op, node.inputs[1]]);
  return node;
}

/** Every graph input must be read by FixedInput nodes only; returns the fixed-point frac. */
function checkQuantized(g: Graph, users: Map<string, Node[]>): number {
  if (!lookupOp('FixedInput')) throw diag('MPCC6021', ['the FixedInput op is not defined']);
  let frac: number | undefined;
  for (const input of g.inputs) {
    const readers = users.get(input) ?? [];
    const bad = readers.find((n) => n.op !== 'FixedInput');
    if (bad) throw diag('MPCC6021', [`input '${input}' is read by node '${bad.name}' (${bad.op}), not by FixedInput`]);
    if (g.outputs.includes(input)) throw diag('MPCC6021', [`input '${input}' is a graph output`]);
    for (const r of readers) frac ??= withDefaults(r).frac as number;
  }
  if (frac === undefined) throw diag('MPCC6021', ['the graph has no FixedInput']);
  return frac;
}

/** The trailing Softmax/ArgMax nodes: client ops whose results only client ops and graph
 * outputs read. */
function clientTail(g: Graph, users: Map<string, Node[]>): Set<Node> {
  const tail = new Set<Node>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (CLIENT_OPS.has(n.op) && n.outputs.every((o) => (users.get(o) ?? []).every((u) => tail.has(u)))) tail.add(n);
  }
  return tail;
}

/** Values the client receives: graph outputs computed on shares, and the secure-side inputs of
 * the client tail. */
function valuesToReveal(g: Graph, tail: Set<Node>): Set<string> {
  const tailOutputs = new Set([...tail].flatMap((n) => n.outputs));
  const out = new Set<string>();
  for (const o of g.outputs) if (!tailOutputs.has(o) && !g.constants.has(o)) out.add(o);
  for (const n of tail) for (const i of n.inputs) if (i && !tailOutputs.has(i) && !g.constants.has(i)) out.add(i);
  return out;
}

/** For every Relu read directly by a weight product with constant weights: the product to fuse
 * it with (the one with the longest rough path to the outputs; the first on ties). */
function chooseFusions(g: Graph, users: Map<string, Node[]>, cx: LowerContext): Map<Node, Node> {
  const height = new Map<Node, number>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    let below = 0;
    for (const o of n.outputs) for (const u of users.get(o) ?? []) below = Math.max(below, height.get(u) ?? 0);
    height.set(n, (ROUGH_ROUNDS[n.op] ?? 0) + below);
  }
  const fusions = new Map<Node, Node>();
  for (const relu of g.nodes) {
    if (relu.op !== 'Relu') continue;
    const act = relu.outputs[0];
    let best: Node | undefined;
    for (const u of users.get(act) ?? []) {
      const fits = WEIGHT_OPS.has(u.op) && u.inputs[0] === act && u.inputs.slice(1).every((w) => !w || cx.constant(w));
      const transA = u.op === 'Gemm' && withDefaults(u).transA === 1;
      if (fits && !transA && (!best || height.get(u)! > height.get(best)!)) best = u;
    }
    if (best) fusions.set(relu, best);
  }
  return fusions;
}
