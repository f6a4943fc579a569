// lower's client-offline mode (option client-offline, `mpcc compile --client-offline`): after the
// first products, P0's (the client's) share of every tensor is input-independent and computed in
// the offline phase, so P0's online work shrinks to its comparison digits (the contract:
// runtime/protocols/helper-select.ts, truncate-client-offline.ts, weights.ts). lower runs without
// its fusions (no ReLU-then-weights, no classic shared masks) and hands its result here, which rewrites:
//
//   SecureTruncate (after a product) [→ Add(residual)] → SecureRelu/SecureBlockRelu
//                       → SecureHelperSelect(v, res): bits = the truncation's shift, the window moved
//                         onto the comparison value c = v + (res << bits): {lo, k} becomes
//                         {lo + bits, min(k, 64 − lo − bits)}, the full {0, 64} stays
//   SecureRelu/SecureBlockRelu on any other value
//                       → SecureHelperSelect with bits 0
//   SecureTruncate where no such ReLU follows
//                       → SecureTruncateClientOffline
//   SecureWeights reading a value in client-offline form
//                       → SecureWeightsClientOffline (no message online, no round); with
//                         `shareMasks` (lower's share-masks), one reading the very value an
//                         earlier SecureWeightsClientOffline reads (in node order) takes that
//                         product's mask (mask_from): P0's masked share Z = y0 − A is the same
//                         bytes, so P0 sends it once and P1 multiplies it by both weights (resnet's
//                         downsample conv beside conv1 of each stage's first block)
//
// The fixed-point meaning: x = ⌊v / 2^bits⌋ + res and c = 2^bits·x + (v mod 2^bits), so bits
// [lo + bits, …) of c are bits [lo, …) of x and a ReLU's sign is the Relu's on x exactly (the window
// clipped at the ring's top reads x's bit 63 − bits: the same for |x| < 2^(63 − bits)); a block's
// sum of c is 2^bits·Σx + Σ(v mod 2^bits), whose sign differs from Σx's only for −(patch size) ≤
// Σx < 0, within the truncation's carry. The selected value is the exact truncation's (⌊v / 2^bits⌋
// or one less), as SecureTruncate's.
//
// A smaller ring (`ring` < 64 bits, `mpcc compile --ring`): every exact truncation above is right
// while |v| < 2^(ring − 2), and every other step of such a graph (products, selections on a window
// inside the ring, sums, pools' window sums, layout) is a ring homomorphism, so the runtime runs
// them on 64-bit words and only the low `ring` bits mean anything: each ring-element message then
// travels in ring/8 bytes. The rewrite marks the SecureInput with `ring` (codegen writes it into
// every program), clips every window to the ring ({lo + bits, min(k, ring − lo − bits)}; the full
// window becomes {0, ring}), and recomputes the costs of the classic products reading the input
// and of the reveals at ring/8 bytes per element (the one-time W − B too, per weight). A local
// op that truncates its shares (a Truncate kept local, a pool's or a linear Resize's own division)
// is no homomorphism: MPCC6029 names it.
//
// A smaller ring inside the program's (window_ring = r, 24 or 32, which --ring auto sets on a
// (block-)ReLU whose values calibration shows fit Z_2^r with its margin: compiler/ring-choice.ts):
// a selection with no truncation and no residual folded in (a MaxPool's tree levels, the ReLU
// behind a pool) needs no exact truncation, so it runs in Z_2^r (its window clipped there, its ring
// elements in r/8 B), reading its input's low r bits for free; the local ops that carry a value
// through (NARROW_CARRYING_KINDS: sums, layout) keep it in Z_2^r; any other reader (a product, a
// truncation, a selection in the wider ring, the reveal) reads it through one SecureLift per value:
// each share shifted up by ring − r bits, then the exact truncation by as many
// (truncate-client-offline.ts), which sign-extends x exactly (the shifted shares' low bits are
// zero, so there is no carry) while |x| < 2^(r − 2). Two rounds and (ring − r)/8 B offline and as
// many plus a bit online per element, against (ring − r)/8 B saved per ring element of every
// narrow step.
//
// The graph qualifies when every op is local on shares, one of the above, the client's input and
// the products reading it (values computed from the input by local ops alone keep P0's share
// input-dependent: "input form"; they stay classic SecureWeights), or the reveal; else MPCC6027
// names the first node that breaks it and why.
import { type Graph, type Node, consumers, makeNode, pruneValues, producers, replaceGraph, replaceNode } from '../../ir/graph.js';
import { secureFacts } from '../../ir/ops/facts.js';
import { withDefaults } from '../../ir/ops/index.js';
import { PROTOCOL_ATTRS } from '../../ir/ops/secure.js';
import { windowOf } from '../../ir/ops/window.js';
import { numel } from '../../ir/types.js';
import { diag } from '../../runtime/diagnostics.js';
import type { PassContext } from '../pass.js';
import { blockCount } from './lower-ops.js';
import { SECURE_COSTS, type SecureCost, type WeightSizes, costAttrs } from './secure-costs.js';
import { NARROW_CARRYING_KINDS, type RingBits } from '../../runtime/program/program.js';
import { COPY_RINGS, MAX_COPY_LIFT_BITS } from '../../runtime/protocols/copy-ring.js';

/** The secure ops the mode turns into a selection by the helper. */
const RELUS: ReadonlySet<string> = new Set(['SecureRelu', 'SecureBlockRelu']);

/** What one (block-)ReLU becomes: the pre-truncation value, the residual, the shift, and the
 * Truncate and Add it absorbs. */
interface Selection {
  readonly v: string;
  readonly res?: string;
  readonly bits: number;
  readonly absorbed: readonly Node[];
}

/** `g` (lowered without fusions) in the client-offline mode (see the file comment), in the ring
 * Z_2^ring. */
export function lowerClientOffline(g: Graph, ctx: PassContext<unknown>, shareMasks = true, ring: RingBits = 64): Graph {
  const bytes = ring / 8;
  const producer = producers(g);
  const readers = consumers(g);
  const shape = (v: string) => g.types.get(v)!.shape;
  const size = (v: string) => numel(shape(v));
  /** True when `reader` is the only reader of `v` and `v` is no graph output. */
  const onlyReader = (v: string, reader: Node) => !g.outputs.includes(v) && (readers.get(v) ?? []).length === 1 && readers.get(v)![0] === reader;
  /** The exact truncation after a product producing `v`, when `reader` is its only reader. */
  const truncationBefore = (v: string, reader: Node): Node | undefined => {
    const t = producer.get(v);
    if (!t || t.op !== 'SecureTruncate' || withDefaults(t).online || !onlyReader(v, reader)) return undefined;
    return producer.get(t.inputs[0])?.op === 'SecureWeights' ? t : undefined;
  };
  const selectionOf = (relu: Node): Selection => {
    const x = relu.inputs[0];
    const direct = truncationBefore(x, relu);
    if (direct) return { v: direct.inputs[0], bits: withDefaults(direct).bits as number, absorbed: [direct] };
    const add = producer.get(x);
    if (add?.op === 'Add' && onlyReader(x, relu) && add.inputs.every((i) => i && !g.constants.has(i) && shape(i).join() === shape(x).join())) {
      for (const i of [0, 1]) {
        const t = truncationBefore(add.inputs[i], add);
        if (t) return { v: t.inputs[0], res: add.inputs[1 - i], bits: withDefaults(t).bits as number, absorbed: [t, add] };
      }
    }
    return { v: x, bits: 0, absorbed: [] };
  };
  const selections = new Map<Node, Selection>();
  for (const n of g.nodes) if (RELUS.has(n.op)) selections.set(n, selectionOf(n));
  const absorbed = new Set([...selections.values()].flatMap((s) => s.absorbed));

  /** Values whose P0 share depends on the input: the client's input and what local ops make of it. */
  const inputForm = new Set<string>();
  const refuse = (n: Node, why: string) => diag('MPCC6027', [n.name, n.op, why]);
  /** The first client-offline product reading each value (whose mask later ones share). */
  const sender = new Map<string, Node>();
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (absorbed.has(n)) continue;
    const facts = secureFacts(n.op);
    const selection = selections.get(n);
    if (n.op === 'SecureInput') {
      inputForm.add(n.outputs[0]);
      nodes.push(ring < 64 ? replaceNode(n, { attrs: { ...n.attrs, ring } }) : n);
    } else if (facts.lower === 'local') {
      if (ring < 64) {
        const why = truncatesShares(n);
        if (why) throw diag('MPCC6029', [String(ring), n.name, n.op, why]);
      }
      if (n.inputs.some((i) => i && inputForm.has(i))) for (const o of n.outputs) inputForm.add(o);
      nodes.push(n);
    } else if (facts.lower === 'client') {
      nodes.push(n);
    } else if (n.op === 'SecureReveal') {
      nodes.push(ring < 64 ? withCost(n, SECURE_COSTS.SecureReveal(size(n.inputs[0]), bytes)) : n);
    } else if (n.op === 'SecureWeights') {
      if (inputForm.has(n.inputs[0])) {
        nodes.push(ring < 64 ? withCost(n, SECURE_COSTS.SecureWeights(weightSizes(n, g), bytes)) : n);
        ctx.stat("products of the client's input (classic)");
      } else {
        const source = shareMasks ? sender.get(n.inputs[0]) : undefined;
        nodes.push(weightsClientOffline(n, g, source?.name, bytes));
        ctx.stat('products made offline');
        if (!source) sender.set(n.inputs[0], n);
        else {
          ctx.stat('products sharing an earlier mask');
          ctx.stat('masked activation elements not resent', size(n.inputs[0]));
        }
      }
    } else if (n.op === 'SecureTruncate') {
      if (inputForm.has(n.inputs[0])) throw refuse(n, "it truncates a value computed from the client's input by local ops alone (the mode truncates only after a product)");
      const bits = withDefaults(n).bits as number;
      nodes.push(makeNode('SecureTruncateClientOffline', n.name, n.inputs, n.outputs, { bits, ...costAttrs(SECURE_COSTS.SecureTruncateClientOffline(size(n.inputs[0]), bits)) }));
      ctx.stat('truncations without a selection after them');
    } else if (selection) {
      const read = [selection.v, ...(selection.res ? [selection.res] : [])].find((v) => inputForm.has(v));
      if (read) throw refuse(n, `it reads '${read}', computed from the client's input by local ops alone (the mode selects only after a product)`);
      nodes.push(helperSelect(n, selection, g, (why) => refuse(n, why), ring, narrowRing(n, selection, ring)));
      ctx.stat('selections made by the helper');
      if (selection.bits > 0) ctx.stat('truncations folded into a selection');
      if (selection.res) ctx.stat('residual additions folded into a selection');
    } else {
      const pool = n.op === 'SecureMaxPool' ? '; a MaxPool must be written as ReLU trees first: --client-offline runs maxpool-to-relu-tree on a float model (after the plan when the plan was made without it), so a quantized or lowered model must have been made with it' : '';
      throw refuse(n, `the mode has no client-offline form of ${n.op} (it runs products with the server's weights, exact truncations, ReLUs and block-ReLUs, local ops and the reveal${pool})`);
    }
  }
  const types = new Map(g.types);
  const lifted = liftNarrow(nodes, g, ring, ctx);
  for (const n of lifted) if (n.op === 'SecureLift') types.set(n.outputs[0], g.types.get(n.inputs[0])!);
  return pruneValues(replaceGraph(g, { nodes: lifted, types }));
}

/** True when `op` carries a smaller ring's value through (NARROW_CARRYING_KINDS in
 * runtime/program/program.ts: a value such an op makes from one in Z_2^r is in Z_2^r too); every
 * other reader of such a value reads it lifted (SecureLift). */
export function carriesNarrow(op: string): boolean {
  const facts = secureFacts(op);
  return facts.lower === 'local' && facts.step !== undefined && NARROW_CARRYING_KINDS.has(facts.step);
}

/** The smaller ring (window_ring, set by --ring auto) selection `s` of `relu` runs in, or `ring`:
 * only a selection with no truncation and no residual folded in (its input is the value itself). */
function narrowRing(relu: Node, s: Selection, ring: RingBits): number {
  const r = withDefaults(relu).window_ring as number | undefined;
  return r && r < ring && s.bits === 0 && !s.res ? r : ring;
}

/** The ring of the helper's masked copies (copy_ring, set by --ring auto; copy-ring.ts) of a
 * selection of `relu` in Z_2^ring: kept for a selection in the program's ring when it is one of
 * COPY_RINGS below it within the lift's reach, else undefined (the copies in the ring itself). */
function copyRingOf(relu: Node, ring: number, programRing: RingBits): number | undefined {
  const c = withDefaults(relu).copy_ring as number | undefined;
  return c && ring === programRing && (COPY_RINGS as readonly number[]).includes(c) && c < ring && ring - c <= MAX_COPY_LIFT_BITS ? c : undefined;
}

/** `nodes` with every value of a smaller ring (a narrow SecureHelperSelect's, and what the
 * carrying local ops make of it) lifted to Z_2^ring before any other node reads it (a selection
 * in a ring wider than the value's included): one SecureLift per value, placed before its first
 * such reader. */
function liftNarrow(nodes: readonly Node[], g: Graph, ring: RingBits, ctx: PassContext<unknown>): Node[] {
  const narrow = new Map<string, number>();
  const lifted = new Map<string, string>();
  const out: Node[] = [];
  for (const n of nodes) {
    const rings = n.inputs.map((i) => (i ? narrow.get(i) : undefined)).filter((x): x is number => x !== undefined);
    if (rings.length > 0 && carriesNarrow(n.op)) {
      for (const o of n.outputs) narrow.set(o, Math.min(...rings));
      out.push(n);
      continue;
    }
    // a selection in Z_2^own reads a value of a ring at least as wide as its own
    const own = n.op === 'SecureHelperSelect' ? ((withDefaults(n).window_ring as number | undefined) || ring) : ring;
    if (own < ring) for (const o of n.outputs) narrow.set(o, own);
    const inputs = n.inputs.map((i) => {
      const from = i ? narrow.get(i) : undefined;
      if (!i || from === undefined || from >= own) return i;
      let to = lifted.get(i);
      if (!to) {
        to = `${i}.lift`;
        const size = numel(g.types.get(i)!.shape);
        out.push(makeNode('SecureLift', `${i}.lift`, [i], [to], { bits: ring - from, from, ...costAttrs(SECURE_COSTS.SecureLift(size, ring - from)) }));
        lifted.set(i, to);
        ctx.stat('values lifted from a smaller ring', size);
      }
      return to;
    });
    out.push(inputs.every((x, j) => x === n.inputs[j]) ? n : replaceNode(n, { inputs }));
  }
  return out;
}

/** The SecureHelperSelect of (block-)ReLU `relu` over `s` in Z_2^ring: its window moved up by the
 * truncation's bits onto c and clipped at the ring's top, the full window the whole ring (MPCC6027
 * through `refuse` when no window of 2 bits is left). */
function helperSelect(relu: Node, s: Selection, g: Graph, refuse: (why: string) => Error, programRing: RingBits, ring: number = programRing): Node {
  const shape = g.types.get(s.v)!.shape;
  const n = numel(shape);
  const { lo, k } = windowOf(relu);
  const full = lo === 0 && k === 64;
  const window = full ? { lo: 0, k: ring } : { lo: lo + s.bits, k: Math.min(k, ring - lo - s.bits) };
  if (window.lo > ring - 2 || window.k < 2) throw refuse(`its bit window [${lo}, ${lo + k}) cannot move up by the truncation's ${s.bits} bits${ring < 64 ? ` inside the ring Z_2^${ring}` : ''}`);
  const blocks = relu.op === 'SecureBlockRelu' ? (withDefaults(relu).blocks as number[]) : [];
  const count = blocks.length > 0 ? blockCount(shape, blocks) : { patches: n, selected: n };
  const copy = copyRingOf(relu, ring, programRing);
  const cost = SECURE_COSTS.SecureHelperSelect(n, window.k, s.bits, count, ring / 8, copy);
  return makeNode('SecureHelperSelect', relu.name, s.res ? [s.v, s.res] : [s.v], relu.outputs, {
    bits: s.bits,
    ...(blocks.length > 0 ? { blocks } : {}),
    window_lo: window.lo,
    window_k: window.k,
    ...(ring < programRing ? { window_ring: ring } : {}),
    ...(copy !== undefined ? { copy_ring: copy } : {}),
    ...costAttrs(cost),
  });
}

/** SecureWeights `n` as SecureWeightsClientOffline (its product attributes kept, its cost the
 * mode's at `bytes` per ring element); `maskFrom`: the earlier client-offline product of the same
 * activation whose mask it shares. */
function weightsClientOffline(n: Node, g: Graph, maskFrom: string | undefined, bytes: number): Node {
  const attrs = Object.fromEntries(Object.entries(n.attrs).filter(([key]) => !(key in PROTOCOL_ATTRS) && key !== 'mask_from'));
  const shared: Record<string, string> = maskFrom ? { mask_from: maskFrom } : {};
  return makeNode('SecureWeightsClientOffline', n.name, n.inputs, n.outputs, { ...attrs, ...shared, ...costAttrs(SECURE_COSTS.SecureWeightsClientOffline(weightSizes(n, g), Boolean(maskFrom), bytes)) });
}

/** The sizes of product `n` (activation, result, weights), in ring elements. */
function weightSizes(n: Node, g: Graph): WeightSizes {
  return { xSize: numel(g.types.get(n.inputs[0])!.shape), ySize: numel(g.types.get(n.outputs[0])!.shape), wSize: numel(g.types.get(n.inputs[1])!.shape) };
}

/** `n` with the cost attributes of `cost` instead of its own. */
function withCost(n: Node, cost: SecureCost): Node {
  return replaceNode(n, { attrs: { ...n.attrs, ...costAttrs(cost) } });
}

/** Why local node `n` truncates its shares (not a homomorphism of Z_2^ring → Z_2^ring when the
 * parties compute on 64-bit words), or undefined when it does not. */
function truncatesShares(n: Node): string | undefined {
  const kind = secureFacts(n.op).step;
  const a = withDefaults(n);
  if (kind === 'truncate') return 'a Truncate kept local (--truncation local) shifts each share, whose bits above the ring are not the value\'s: compile with --truncation exact (the default)';
  if ((kind === 'avgPool' || kind === 'globalAvgPool') && !a.untruncated) return "the pool divides by truncating each share: compile with --truncation exact (the default), which divides exactly after the pool's sums";
  if (kind === 'resize') return resizeTruncates(n);
  return undefined;
}

/** Why Resize `n` truncates its shares (an interpolating mode), or undefined (nearest): such a node
 * keeps a client-offline program in Z_2^64 (compiler/ring-choice.ts asks before lower). */
export function resizeTruncates(n: Node): string | undefined {
  const mode = withDefaults(n).mode;
  return mode !== undefined && mode !== 'nearest' ? `a ${String(mode)} Resize truncates each share after its interpolation` : undefined;
}
