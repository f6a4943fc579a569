// The cost model's data: which runtime protocol each secure op runs, with which sizes, and
// what that costs — always read from the runtime's PROTOCOL_COSTS table, never re-derived, so
// the executor's counters equal the prediction. `lower` stores the result on every secure node
// (attributes protocol, rounds, flows, drelus); the cost report reads those attributes back.
import { diag } from '../../runtime/diagnostics.js';
import type { Node } from '../../ir/graph.js';
import { isSecureOp } from '../../ir/ops/facts.js';
import { opNames } from '../../ir/ops/index.js';
import { PROTOCOL_COSTS } from '../../runtime/protocols/costs.js';
import { SIGMOID_PIECES } from '../../runtime/protocols/sigmoid.js';
import type { Cost, Flow } from '../../runtime/protocols/costs.js';
import type { PartyId, Phase } from '../../runtime/session/session.js';

/** What a secure node costs: the protocol it runs, its rounds and flows, its comparisons. */
export interface SecureCost {
  readonly protocol: keyof typeof PROTOCOL_COSTS;
  readonly rounds: number;
  /** Per-inference flows, then (phase oneTime) the flows of the one-time setup round. */
  readonly flows: readonly Flow[];
  readonly drelus: number;
}

/** Sizes of a product with P1's weights, in ring elements. */
export interface WeightSizes {
  readonly xSize: number;
  readonly ySize: number;
  readonly wSize: number;
}

/** A block-ReLU's sizes: its tiles (one comparison each) and its non-identity elements (one selection each). */
export interface BlockCount {
  readonly patches: number;
  readonly selected: number;
}

const make = (protocol: keyof typeof PROTOCOL_COSTS, c: Cost, drelus: number, oneTime: readonly Flow[] = []): SecureCost => ({
  protocol,
  rounds: c.rounds,
  flows: [...c.flows, ...oneTime],
  drelus,
});

/** The one-time flows of a weight layer (W − B to P0, `ring` bytes per weight), once per session. */
const setup = (wSize: number, ring = 8): Flow[] => PROTOCOL_COSTS.setupWeights({ wSize, ring }).flows;

/** The cost of each elementwise comparison op (n elements on the bit window [lo, lo + k)), by op
 * name: lower turns the op whose facts name it into it with no code of its own. */
export const COMPARE_COSTS: Readonly<Record<string, (n: number, k: number, lo: number) => SecureCost>> = {
  /** ReLU: one comparison each. */
  SecureRelu: (n, k, lo) => make('relu', PROTOCOL_COSTS.relu({ n, k, lo }), n),
  /** Clip: two comparisons each. */
  SecureClip: (n, k, lo) => make('clip', PROTOCOL_COSTS.clip({ n, k, lo }), 2 * n),
};

/** The cost of each other secure op, by op name, from its sizes. */
export const SECURE_COSTS = {
  /** P0 shares n input elements. */
  SecureInput: (n: number) => make('shareInput', PROTOCOL_COSTS.shareInput({ n }), 0),
  /** n output elements go to the client (`ring`: bytes per ring element, 8 at Z_2^64). */
  SecureReveal: (n: number, ring = 8) => make('revealToClient', PROTOCOL_COSTS.revealToClient({ n, ring }), 0),
  /** MaxPool: one comparison per pair of each tree level. */
  SecureMaxPool: (levels: readonly number[], k: number, lo: number) => make('maxPool', PROTOCOL_COSTS.maxPool({ levels, k, lo }), levels.reduce((a, b) => a + b, 0)),
  /** Product with P1's weights (plus its one-time setup); `ring`: bytes per ring element of
   * the per-inference messages and of the one-time W − B. */
  SecureWeights: (s: WeightSizes, ring = 8) => make('applyWeights', PROTOCOL_COSTS.applyWeights({ ...s, ring }), 0, setup(s.wSize, ring)),
  /** Product with P1's weights of an activation whose masked copy an earlier product sends
   * (mask_from, passes/secure/lower-shared-masks.ts): P2's correction only (plus the setup). */
  SecureWeightsSharedMask: (s: WeightSizes) => make('applyWeightsSharedMask', PROTOCOL_COSTS.applyWeightsSharedMask(s), 0, setup(s.wSize)),
  /** Exact truncation of n elements by `bits`: after a product with P1's weights, or (online)
   * where P0's share is input-dependent. */
  SecureTruncate: (n: number, bits: number, online = false) =>
    online ? make('truncateExactOnline', PROTOCOL_COSTS.truncateExactOnline({ n, bits }), 0) : make('truncateExact', PROTOCOL_COSTS.truncateExact({ n, bits }), 0),
  /** Product of two activations with broadcasting (Beaver, one round). */
  SecureMul: (xSize: number, ySize: number, outSize: number) => make('mulBroadcast', PROTOCOL_COSTS.mulBroadcast({ xSize, ySize, outSize }), 0),
  /** HardSigmoid: the affine map (its truncation exact, one round), then two comparisons per
   * element (Clip to [0, 1]). */
  SecureHardSigmoid: (n: number, frac: number) => make('hardSigmoid', PROTOCOL_COSTS.hardSigmoid({ n, frac }), 2 * n),
  /** Sigmoid: one comparison per knot and element (runtime/protocols/sigmoid.ts). */
  SecureSigmoid: (n: number) => make('sigmoid', PROTOCOL_COSTS.sigmoid({ n }), SIGMOID_PIECES * n),
  /** Block-ReLU: one comparison per tile (`patches`), one selection per non-identity element. */
  SecureBlockRelu: ({ patches, selected }: BlockCount, k: number) => make('blockRelu', PROTOCOL_COSTS.blockRelu({ patches, selected, k }), patches),
  /** ReLU of n elements (or, with `block`, a block-ReLU of that many tiles and selected
   * elements) fused with the product reading it (plus the product's one-time setup). */
  SecureReluWeights: (n: number, k: number, lo: number, s: WeightSizes, block?: BlockCount) =>
    block
      ? make('blockReluThenWeights', PROTOCOL_COSTS.blockReluThenWeights({ ...block, k, xSize: s.xSize, ySize: s.ySize }), block.patches, setup(s.wSize))
      : make('reluThenWeights', PROTOCOL_COSTS.reluThenWeights({ n, k, lo, xSize: s.xSize, ySize: s.ySize }), n, setup(s.wSize)),
  /** Client-offline mode: an optional exact truncation by `bits` of n elements, then a (block-)ReLU
   * of `patches` comparisons and `selected` selections made by the helper (a plain ReLU: patches =
   * selected = n). */
  SecureHelperSelect: (n: number, k: number, bits: number, block: BlockCount, ring = 8, copyRing?: number) =>
    make('helperSelect', PROTOCOL_COSTS.helperSelect({ n, patches: block.patches, selected: block.selected, k, bits, ring, copyRing }), block.patches),
  /** Client-offline mode: the exact truncation of n elements by `bits` no selection follows. */
  SecureTruncateClientOffline: (n: number, bits: number) => make('truncateClientOffline', PROTOCOL_COSTS.truncateClientOffline({ n, bits }), 0),
  /** Client-offline mode: n elements of a smaller ring brought back to the program's ring (SecureLift):
   * the exact truncation by `bits` of the shares shifted up by `bits`. */
  SecureLift: (n: number, bits: number) => make('truncateClientOffline', PROTOCOL_COSTS.truncateClientOffline({ n, bits }), 0),
  /** Client-offline mode: a product with P1's weights whose messages are all offline (plus the
   * setup); with `sharedMask` (mask_from), P0's masked activation is an earlier product's. */
  SecureWeightsClientOffline: (s: WeightSizes, sharedMask = false, ring = 8) => make('applyWeightsClientOffline', PROTOCOL_COSTS.applyWeightsClientOffline({ ...s, sharedMask, ring }), 0, setup(s.wSize, ring)),
} as const;

/** The secure op names, from the ops' facts (every other op of a lowered graph is local or the client's). */
export const SECURE_OPS: ReadonlySet<string> = new Set(opNames().filter(isSecureOp));

/** The attributes `lower` stores for a cost. */
export function costAttrs(c: SecureCost): { protocol: string; rounds: number; flows: string[]; drelus: number } {
  return { protocol: c.protocol, rounds: c.rounds, flows: c.flows.map(formatFlow), drelus: c.drelus };
}

/** `"<step> <from>-><to> <phase> <label> <bytes>"`, e.g. `"0 0->1 online drelu.reveal 16"`. */
export function formatFlow(f: Flow): string {
  return `${f.step} ${f.from}->${f.to} ${f.phase} ${f.label} ${f.bytes}`;
}

const FLOW = /^(\d+) ([012])->([012]) (online|preprocessing|oneTime) (\S+) (\d+)$/;

/** Reads a flow string back (MPCC6024 naming `node` when it is malformed). */
export function parseFlow(text: string, node: Node): Flow {
  const m = FLOW.exec(text);
  if (!m) throw diag('MPCC6024', [node.name, node.op, text, 'expected "<step> <from>-><to> <phase> <label> <bytes>"']);
  const [from, to] = [Number(m[2]) as PartyId, Number(m[3]) as PartyId];
  if (from === to) throw diag('MPCC6024', [node.name, node.op, text, 'a party does not send to itself']);
  return { step: Number(m[1]), from, to, phase: m[4] as Phase, label: m[5], bytes: Number(m[6]) };
}
