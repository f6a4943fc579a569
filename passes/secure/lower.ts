// lower: a quantized graph → its secure form. Every op that needs messages becomes a secure op
// (ir/ops/secure.ts) carrying its protocol, rounds and flows from the runtime's cost table
// (passes/secure/secure-costs.ts); every other op stays and runs locally on shares. Which is
// which is each op's facts (ir/ops/facts.ts: lower 'protocol' and its secureOp, 'local',
// 'client'); today:
//
//   FixedInput                 → SecureInput
//   Conv/Gemm/MatMul (W const) → SecureWeights (Gemm's alpha/beta/transB folded into W and C)
//   Relu                       → SecureRelu, or SecureReluWeights fused with the product
//                                reading it (the product's messages ride on the ReLU's rounds)
//   BlockRelu                  → SecureBlockRelu, or SecureReluWeights with its blocks, fused
//                                the same way (identity channels: no comparison, no selection)
//   Mul of two activations     → SecureMul (Beaver product with broadcasting; Truncate after it)
//   HardSigmoid, Sigmoid       → SecureHardSigmoid (affine map + Clip), SecureSigmoid (piecewise linear)
//   MaxPool, Clip              → SecureMaxPool, SecureClip; a ReLU/Clip read only by a
//                                MaxPool moves after it first (same output, fewer compares)
//   Truncate                   → SecureTruncate (option truncation=exact, the default): exact;
//                                after a weight product P0's share is known offline; elsewhere
//                                (after a product of two activations) online=1, a bit triple;
//                                one round either way; truncation=local keeps every Truncate local
//   AveragePool, GlobalAveragePool → with truncation=exact, the pool with untruncated=1 (window
//                                sums times round(2^b/D), b its divide_bits, 16 by default) then
//                                SecureTruncate online=1 by b; a single power-of-two D = 2^s:
//                                the sums themselves, then SecureTruncate by s
//   graph outputs              → SecureReveal before each (or before a trailing Softmax/ArgMax/Round,
//                                which the client computes in plaintext)
//
// A ReLU read by several products is fused with the one on the longest path to the outputs
// (the main path of a residual block, not its shortcut), so the fusion saves a round where
// the rounds add up; the other products run beside the next ReLU. With share-masks (the
// default), a product reading an activation whose masked copy an earlier product already sends
// takes that product's mask and sends nothing itself (passes/secure/lower-shared-masks.ts).
// With client-offline (opt-in), neither fusion runs: the client-offline mode's rewrite takes the
// lowered graph instead (passes/secure/lower-client-offline.ts: P0's shares made offline, the
// helper selecting, truncations folded into the selections; with share-masks, its products of
// one activation share a mask there).
import { type Graph, type Node, consumers, makeGraph, makeNode, pruneValues, replaceNode } from '../../ir/graph.js';
import { numel } from '../../ir/types.js';
import { MAX_EXACT_TRUNCATION_BITS } from '../../runtime/protocols/truncate-exact.js';
import { AVG_SHIFT } from '../../runtime/protocols/linear.js';
import { poolTruncationBits } from '../../ir/interp/fixed/params.js';
import { SECURE_COSTS, costAttrs } from './secure-costs.js';
import { secureFacts } from '../../ir/ops/facts.js';
import { withDefaults } from '../../ir/ops/index.js';
import { clientTail } from '../../ir/stage.js';
import type { Tensor } from '../../ir/tensor.js';
import type { TensorType } from '../../ir/types.js';
import { verify } from '../../ir/verify.js';
import { poolBeforeActivation } from './lower-reorder.js';
import { shareProductMasks } from './lower-shared-masks.js';
import { lowerClientOffline } from './lower-client-offline.js';
import { RING_BITS, type RingBits } from '../../runtime/program/program.js';
import { diag } from '../../runtime/diagnostics.js';
import { definePass } from '../pass.js';
import type { PassContext } from '../pass.js';
import { LOWERINGS, type LowerContext, lowerCompare, lowerReluWeights, revealNode } from './lower-ops.js';

/** Rough rounds of each secure op, to find the longest path before lowering (fusion choice only). */
const ROUGH_ROUNDS: Readonly<Record<string, number>> = { SecureRelu: 3, SecureBlockRelu: 3, SecureClip: 3, SecureMaxPool: 6, SecureWeights: 1, SecureMul: 1, SecureHardSigmoid: 3, SecureSigmoid: 3 };

/** Activations whose protocol can carry the next product's messages (blockReluThenWeights). */
const FUSABLE: ReadonlySet<string> = new Set(['SecureRelu', 'SecureBlockRelu']);

/** The secure op `op` lowers to, if any (its facts' secureOp). */
const secureOpOf = (op: string): string | undefined => secureFacts(op).secureOp;

/** The lower pass. */
export const lower = definePass({
  name: 'lower',
  summary:
    'Assumes a quantized graph (FixedInput after every input, Truncate after products); replaces every op that needs ' +
    "messages by its secure op with the runtime's protocol, rounds and flows, fuses each ReLU with a weight product " +
    'reading it, moves a ReLU/Clip read only by a MaxPool after it (same output, fewer comparisons), lets a product ' +
    'reuse the activation mask of an earlier product of the same activation (its masked copy sent once), and reveals ' +
    'the outputs to the client; every other op stays local. With client-offline, no fusion: the client-offline mode ' +
    "instead (P0's shares made offline, the helper selecting, truncations folded into the selections).",
  options: {
    truncation: {
      kind: 'string', default: 'exact' as string,
      doc: "exact: every Truncate (by 1..32 bits) and every average pool's division runs the exact protocol (runtime/protocols/truncate-exact.ts: no wrap failure, one round); local: they stay SecureML's local share truncation",
      check: (v) => (v === 'exact' || v === 'local' ? undefined : "must be 'exact' or 'local'"),
    },
    'share-masks': {
      kind: 'bool', default: true as boolean,
      doc: 'a product reading an activation whose masked copy an earlier product sends shares its mask and does not send it again (passes/secure/lower-shared-masks.ts; with client-offline, P0 sends its offline masked share once: passes/secure/lower-client-offline.ts); false: a fresh mask per product',
    },
    'client-offline': {
      kind: 'bool', default: false as boolean,
      doc: "the client-offline mode (passes/secure/lower-client-offline.ts): P0's share of every tensor after the first products made in the offline phase, the helper selecting each (block-)ReLU with the truncation and residual before it folded in; no ReLU-then-weights fusion, products of one activation share a mask only among themselves (share-masks); a graph with another communicating op is refused (MPCC6027)",
    },
    ring: {
      kind: 'int', default: 64 as number,
      doc: "bits of the ring the program runs in: 64, or 32, 40, 48, 56 with client-offline only (passes/secure/lower-client-offline.ts: its exact truncations hold while every truncated value stays below 2^(ring−2); each ring element travels in ring/8 bytes); without client-offline a smaller ring is MPCC6028",
      check: (v) => ((RING_BITS as readonly number[]).includes(v) ? undefined : `must be one of ${RING_BITS.join(', ')}`),
    },
  },
  run: (graph, ctx) => lowerGraph(graph, ctx),
});

function lowerGraph(quantized: Graph, ctx: PassContext<{ truncation: string; 'share-masks': boolean; 'client-offline': boolean; ring: number }>): Graph {
  const clientOffline = ctx.options['client-offline'];
  if (ctx.options.ring < 64 && !clientOffline) throw diag('MPCC6028', [String(ctx.options.ring), 'lower{client-offline=1} (--client-offline)']);
  verify(quantized, 'quantized');
  const g = poolBeforeActivation(quantized, ctx);
  const users = consumers(g);
  const frac = inputFrac(g, users);
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
    frac,
    type: (v) => types.get(v)!,
    constant: (v) => (v ? constants.get(v) : undefined),
    addConstant: (base: string, t: Tensor) => {
      const name = fresh(base);
      constants.set(name, t);
      types.set(name, { dtype: t.dtype, shape: t.shape });
      return name;
    },
  };
  const tail = clientTail(g);
  const reveal = valuesToReveal(g, tail);
  const fusedWith = clientOffline ? new Map<Node, Node>() : chooseFusions(g, users, cx);
  const fusedProducts = new Set(fusedWith.values());
  const exact = ctx.options.truncation === 'exact' ? exactTruncations(g) : new Map<Node, boolean>();

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
    } else if (exact.has(node)) {
      const online = exact.get(node)!;
      const bits = withDefaults(node).bits as number;
      emit(makeNode('SecureTruncate', node.name, node.inputs, node.outputs, { bits, ...(online ? { online: 1 } : {}), ...costAttrs(SECURE_COSTS.SecureTruncate(numel(types.get(node.inputs[0])!.shape), bits, online)) }));
      ctx.stat('truncations made exact');
      if (online) ctx.stat('exact truncations with online choice');
    } else if (ctx.options.truncation === 'exact' && !tail.has(node) && exactPoolDivision(node, types)) {
      // The pool only multiplies its window sums by round(2^b/D) (a single power-of-two D = 2^s:
      // by nothing, b = s; else b its divide_bits); its division's truncation by b runs exactly
      // after it (the bit-triple form: P0's share of the sums is input-dependent).
      const sum = fresh(`${node.outputs[0]}_sum`);
      types.set(sum, types.get(node.outputs[0]) as TensorType);
      emit(replaceNode(node, { outputs: [sum], attrs: { ...node.attrs, untruncated: 1 } }));
      const n = numel(types.get(sum)!.shape);
      const bits = poolTruncationBits(node, types.get(node.inputs[0])!.shape);
      emit(makeNode('SecureTruncate', fresh(`${node.name}/divide`), [sum], node.outputs, { bits, online: 1, ...costAttrs(SECURE_COSTS.SecureTruncate(n, bits, true)) }));
      ctx.stat('average pools divided exactly');
    } else if (tail.has(node)) emit(node);
    else emit(lowerOne(node, cx, ctx));
  }
  for (const n of nodes) if (n.op.startsWith('Secure')) ctx.stat('drelus', (n.attrs.drelus as number) ?? 0);
  const lowered = pruneValues(makeGraph({ ...g, nodes, types, constants }));
  if (clientOffline) return lowerClientOffline(lowered, ctx, ctx.options['share-masks'], ctx.options.ring as RingBits);
  return ctx.options['share-masks'] ? shareProductMasks(lowered, ctx) : lowered;
}

/** The secure form of one node outside the client tail (its facts' secureOp), or the node when
 * it is local on shares (verify has refused every other op). */
function lowerOne(node: Node, cx: LowerContext, ctx: PassContext<unknown>): Node {
  const op = secureOpOf(node.op);
  if (!op) return node;
  const lowering = LOWERINGS[op];
  const stat = lowering ? lowering.stat : `${node.op.toLowerCase()}s lowered`;
  if (stat) ctx.stat(stat);
  return lowering ? lowering.lower(node, cx) : lowerCompare(node, op, cx);
}

/** The Truncates the exact protocol runs (every one by 1..MAX_EXACT_TRUNCATION_BITS bits), each
 * with true when P0's share is input-dependent (the bit-triple form): false after a
 * product with P1's weights, whose P0 share is known offline (runtime/protocols/truncate-exact.ts). */
function exactTruncations(g: Graph): Map<Node, boolean> {
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const out = new Map<Node, boolean>();
  for (const n of g.nodes) {
    if (n.op !== 'Truncate') continue;
    const bits = withDefaults(n).bits as number;
    if (bits < 1 || bits > MAX_EXACT_TRUNCATION_BITS) continue;
    const p = producer.get(n.inputs[0]);
    out.set(n, !(p && secureOpOf(p.op) === 'SecureWeights'));
  }
  return out;
}

/** True for an average pool whose division the exact protocol can truncate: every divisor (at
 * most the window's size) within 2^AVG_SHIFT, so round(2^16/D) is the pool's multiplier. */
function exactPoolDivision(node: Node, types: ReadonlyMap<string, TensorType>): boolean {
  if (node.op === 'GlobalAveragePool') return types.get(node.inputs[0])!.shape.slice(2).reduce((a, b) => a * b, 1) <= 2 ** AVG_SHIFT;
  if (node.op !== 'AveragePool') return false;
  return (withDefaults(node).kernel_shape as number[]).reduce((a, b) => a * b, 1) <= 2 ** AVG_SHIFT;
}

/** The fixed-point frac of the graph's input encoding (its first input's FixedInput). */
function inputFrac(g: Graph, users: Map<string, Node[]>): number {
  const first = g.inputs.flatMap((input) => users.get(input) ?? [])[0];
  return withDefaults(first).frac as number;
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
    height.set(n, (ROUGH_ROUNDS[secureOpOf(n.op) ?? ''] ?? 0) + below);
  }
  const fusions = new Map<Node, Node>();
  for (const relu of g.nodes) {
    if (!FUSABLE.has(secureOpOf(relu.op) ?? '')) continue;
    const act = relu.outputs[0];
    let best: Node | undefined;
    for (const u of users.get(act) ?? []) {
      const fits = secureOpOf(u.op) === 'SecureWeights' && u.inputs[0] === act && u.inputs.slice(1).every((w) => !w || cx.constant(w));
      if (fits && (!best || height.get(u)! > height.get(best)!)) best = u;
    }
    if (best) fusions.set(relu, best);
  }
  return fusions;
}
