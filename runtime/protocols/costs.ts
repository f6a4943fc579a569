// The protocols' communication as data: for each protocol, the messages (sender, receiver,
// phase, step label, bytes) and the rounds, as functions of the sizes. The compiler's cost
// model reads this table; the tests check that the session counters equal it exactly.
// Every flow names the round (step) of the protocol it travels in; `rounds` is the
// protocol's depth, and a party's round counter advances by the number of steps in which it
// sends or receives something (the session does not count a round with neither).

import type { PartyId, Phase } from '../session/session.js';
import { digitField } from './compare.js';
import { fieldBytes } from './field-format.js';
import { SIGMOID_PIECES } from './sigmoid.js';

/** One message stream of a protocol. */
export interface Flow {
  /** Round of the protocol (0-based) the message travels in. */
  step: number;
  from: PartyId;
  to: PartyId;
  phase: Phase;
  label: string;
  bytes: number;
}

/** Communication of one protocol invocation. */
export interface Cost {
  rounds: number;
  flows: Flow[];
}

const packed = (count: number, width: number): number => Math.ceil((count * width) / 8);

const flow = (step: number, from: PartyId, to: PartyId, label: string, bytes: number, phase: Phase = 'online'): Flow => ({ step, from, to, phase, label, bytes });

/** Protocols in sequence: rounds add, later protocols' steps shift. */
export function seq(...costs: Cost[]): Cost {
  let at = 0;
  const flows: Flow[] = [];
  for (const c of costs) {
    for (const f of c.flows) flows.push({ ...f, step: f.step + at });
    at += c.rounds;
  }
  return { rounds: at, flows };
}


/** The cost formula of every protocol, by name. */
export const PROTOCOL_COSTS = {
  /** Input sharing: no message. */
  shareInput: (_: { n: number }): Cost => ({ rounds: 0, flows: [] }),
  /** Reveal to P0: P1 sends its share (`ring` bytes per element: RING_BYTES). */
  revealToClient: ({ n, ring = 8 }: { n: number; ring?: number }): Cost => ({ rounds: 1, flows: [flow(0, 1, 0, 'reveal', ring * n)] }),
  /** Local linear ops (add, scale, pooling, truncation): free. */
  local: (_: { n: number }): Cost => ({ rounds: 0, flows: [] }),
  /** Exact share truncation of n elements by `bits` (truncate-exact.ts): P1's f-bit opening
   * online; P2's pad to P0 and P0's choice bit to P1 dealt in the offline phase's exchange. */
  truncateExact: ({ n, bits }: { n: number; bits: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 1, 0, 'trunc.open', packed(n, bits)), flow(0, 2, 0, 'trunc.pad', packed(n, bits), 'preprocessing'), flow(0, 0, 1, 'trunc.choice', packed(n, 1), 'preprocessing')],
  }),
  /** Exact share truncation where P0's share is input-dependent (truncate-exact.ts
   * truncateExactOnline, a helper-dealt bit triple): one round, P0's and P1's masked bits cross
   * (1 bit each way per element), P2's f-bit triple share to P1 beside them, preprocessing. */
  truncateExactOnline: ({ n, bits }: { n: number; bits: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 0, 1, 'trunc.choice', packed(n, 1)), flow(0, 1, 0, 'trunc.open', packed(n, 1)), flow(0, 2, 1, 'trunc.triple', packed(n, bits), 'preprocessing')],
  }),
  /** Beaver product of two shared vectors. */
  mulShares: ({ n }: { n: number }): Cost => PROTOCOL_COSTS.mulBroadcast({ xSize: n, ySize: n, outSize: n }),
  /** Beaver product of two shared tensors with broadcasting (beaver.ts mulBroadcast): each of P0
   * and P1 opens both operands to the other, the helper's correction has the result's size. */
  mulBroadcast: ({ xSize, ySize, outSize }: { xSize: number; ySize: number; outSize: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 0, 1, 'mul.open', 8 * (xSize + ySize)), flow(0, 1, 0, 'mul.open', 8 * (xSize + ySize)), flow(0, 2, 1, 'mul.triple', 8 * outSize, 'preprocessing')],
  }),
  /** Comparison on a k-bit window (drelu, and the bit a selection uses). */
  compare: ({ n, k }: { n: number; k: number }): Cost => ({
    rounds: 3,
    // Digits in Z_p, p the smallest prime above k + 1, packed in base p (bits.ts fieldBytes).
    flows: [
      flow(0, 0, 1, 'drelu.reveal', packed(n, k)),
      flow(0, 1, 0, 'drelu.reveal', packed(n, k)),
      flow(0, 2, 1, 'drelu.bits', fieldBytes(n * (k - 1), digitField(k).p), 'preprocessing'),
      flow(1, 0, 2, 'drelu.compare', fieldBytes(n * k, digitField(k).p)),
      flow(1, 1, 2, 'drelu.compare', fieldBytes(n * k, digitField(k).p)),
      flow(2, 2, 1, 'drelu.reshare', 8 * n),
    ],
  }),
  /** Selection of n elements by earlier comparison bits (any number of bits). */
  select: ({ n }: { n: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 0, 1, 'select.open', 8 * n), flow(0, 1, 0, 'select.open', 8 * n), flow(0, 2, 1, 'select.correction', 8 * n)],
  }),
  /** ReLU of n elements: the selection's opening rides on the comparison's first round,
   * its correction on the last; on the full window (lo = 0, k = 64) the selection reuses the
   * comparison's mask and has no opening (select.ts). */
  relu: ({ n, k, lo = 0 }: { n: number; k: number; lo?: number }): Cost => PROTOCOL_COSTS.blockRelu({ patches: n, selected: n, k, sharedMask: k === 64 && lo === 0 }),
  /** Block-ReLU: one comparison per patch, one selection per non-identity element
   * (sharedMask: the plain-ReLU case above, without the opening). */
  blockRelu: ({ patches, selected, k, sharedMask = false }: { patches: number; selected: number; k: number; sharedMask?: boolean }): Cost => {
    if (patches === 0) return { rounds: 0, flows: [] };
    const cmp = PROTOCOL_COSTS.compare({ n: patches, k });
    const sel = PROTOCOL_COSTS.select({ n: selected });
    const riding = sel.flows.filter((f) => !(sharedMask && f.label === 'select.open')).map((f) => ({ ...f, step: f.label === 'select.open' ? 0 : 2 }));
    return { rounds: cmp.rounds, flows: [...cmp.flows, ...riding] };
  },
  /** Block-ReLU (or ReLU: patches = selected = n) whose output feeds a weight layer, fused
   * (relu-then-weights.ts): the product's messages ride on the ReLU's rounds 2 and 3. */
  blockReluThenWeights: ({ patches, selected, k, xSize, ySize, sharedMask = false }: { patches: number; selected: number; k: number; xSize: number; ySize: number; sharedMask?: boolean }): Cost => {
    if (patches === 0) return PROTOCOL_COSTS.applyWeights({ xSize, ySize });
    const relu = PROTOCOL_COSTS.blockRelu({ patches, selected, k, sharedMask });
    const product = PROTOCOL_COSTS.applyWeights({ xSize, ySize }).flows.map((f) => ({ ...f, step: f.from === 0 ? 1 : 2 }));
    return { rounds: relu.rounds, flows: [...relu.flows, ...product] };
  },
  /** ReLU of n elements feeding a weight layer (relu-then-weights.ts reluThenWeights): as the block form
   * with one patch per element, and the shared mask on the full window. */
  reluThenWeights: ({ n, k, lo = 0, xSize, ySize }: { n: number; k: number; lo?: number; xSize: number; ySize: number }): Cost =>
    PROTOCOL_COSTS.blockReluThenWeights({ patches: n, selected: n, k, xSize, ySize, sharedMask: k === 64 && lo === 0 }),
  /** Clip / ReLU6: two ReLUs in the same rounds. */
  clip: ({ n, k, lo = 0 }: { n: number; k: number; lo?: number }): Cost => PROTOCOL_COSTS.relu({ n: 2 * n, k, lo }),
  /** HardSigmoid (hard-sigmoid.ts): a local affine map, then Clip to [0, 1] on the full window. */
  hardSigmoid: ({ n, frac }: { n: number; frac: number }): Cost => seq(PROTOCOL_COSTS.truncateExactOnline({ n, bits: frac }), PROTOCOL_COSTS.clip({ n, k: 64, lo: 0 })),
  /** Sigmoid (sigmoid.ts): one ReLU per knot and element on the full window, in three rounds. */
  sigmoid: ({ n }: { n: number }): Cost => PROTOCOL_COSTS.relu({ n: SIGMOID_PIECES * n, k: 64, lo: 0 }),
  /** MaxPool: one fused ReLU per level of its max trees (pairs per level from maxPoolLevels). */
  maxPool: ({ levels, k, lo = 0 }: { levels: readonly number[]; k: number; lo?: number }): Cost => seq(...levels.map((n) => PROTOCOL_COSTS.relu({ n, k, lo }))),
  /** Once per session per weight layer: W − B to P0 (`ring` bytes per weight: ℓ/8 in a program on Z_2^ℓ). */
  setupWeights: ({ wSize, ring = 8 }: { wSize: number; ring?: number }): Cost => ({ rounds: 1, flows: [flow(0, 1, 0, 'weights.mask', ring * wSize, 'oneTime')] }),
  /** Per inference: activation product with P1's weights (conv, matmul). */
  applyWeights: ({ xSize, ySize, ring = 8 }: { xSize: number; ySize: number; ring?: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 0, 1, 'weights.activation', ring * xSize), flow(0, 2, 1, 'weights.correction', ring * ySize, 'preprocessing')],
  }),
  /** Per inference: a product whose activation's masked copy an earlier product already sent
   * (weights.ts applyWeightsSharedMask): P2's correction only. */
  applyWeightsSharedMask: ({ ySize, ring = 8 }: { ySize: number; ring?: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 2, 1, 'weights.correction', ring * ySize, 'preprocessing')],
  }),
  /** The client-offline mode (helper-select.ts): an optional exact truncation by `bits` of n
   * elements (three-way, its P2 part sent back in round 3), a (block-)ReLU of `patches`
   * comparisons on a k-bit window and `selected` selections that P2 makes on x + m, with P0's
   * messages all offline (its reveal half, the truncation's pads, x0 + m0). With no patch it is
   * the standalone truncation. With `copyRing` (bits r, copy-ring.ts) the helper's copies take
   * r/8 bytes and the wrap's shares ring·8 − r bits. */
  helperSelect: ({ n, patches, selected, k, bits, ring = 8, copyRing }: { n: number; patches: number; selected: number; k: number; bits: number; ring?: number; copyRing?: number }): Cost => {
    if (patches === 0) return bits > 0 ? PROTOCOL_COSTS.truncateClientOffline({ n, bits }) : { rounds: 0, flows: [] };
    const { p } = digitField(k);
    const trunc = bits > 0;
    const copy = copyRing === undefined ? ring : copyRing / 8;
    const lift = copyRing === undefined ? 0 : 8 * ring - copyRing;
    return {
      rounds: 3,
      flows: [
        flow(0, 0, 1, 'drelu.reveal', packed(patches, k), 'preprocessing'),
        flow(0, 1, 0, 'drelu.reveal', packed(patches, k)),
        flow(0, 2, 1, 'drelu.bits', fieldBytes(patches * (k - 1), p), 'preprocessing'),
        ...(trunc ? [flow(0, 0, 1, 'trunc.pad', packed(n, bits), 'preprocessing'), flow(0, 1, 2, 'trunc.open', packed(n, 1))] : []),
        flow(0, 0, 2, 'hsel.masked', copy * selected, 'preprocessing'),
        flow(0, 1, 2, 'hsel.masked', copy * selected),
        flow(1, 0, 2, 'drelu.compare', fieldBytes(patches * k, p)),
        flow(1, 1, 2, 'drelu.compare', fieldBytes(patches * k, p)),
        flow(1, 0, 2, 'hsel.flip', packed(patches, 1)),
        flow(2, 2, 1, 'hsel.select', ring * selected),
        flow(2, 2, 1, 'hsel.flipshare', ring * patches),
        ...(lift > 0 ? [flow(2, 2, 1, 'hsel.wrap', packed(selected, lift))] : []),
        ...(trunc ? [flow(2, 2, 1, 'trunc.share', packed(n, bits))] : []),
      ],
    };
  },
  /** The client-offline mode's exact truncation where no selection follows
   * (truncate-client-offline.ts): P0's pads offline, P1's masked wrap bit to P2, P2's part back. */
  truncateClientOffline: ({ n, bits }: { n: number; bits: number }): Cost => ({
    rounds: 2,
    flows: [flow(0, 0, 1, 'trunc.pad', packed(n, bits), 'preprocessing'), flow(0, 1, 2, 'trunc.open', packed(n, 1)), flow(1, 2, 1, 'trunc.share', packed(n, bits))],
  }),
  /** The client-offline mode's product (weights.ts applyWeightsClientOffline): P0's masked
   * activation and P2's correction both offline; online P1 computes alone (no round). With
   * `sharedMask` (an earlier client-offline product of the same activation sent its masked
   * copy: mask_from, maskFrom), P2's correction only. */
  applyWeightsClientOffline: ({ xSize, ySize, sharedMask = false, ring = 8 }: { xSize: number; ySize: number; sharedMask?: boolean; ring?: number }): Cost => ({
    rounds: 0,
    flows: [...(sharedMask ? [] : [flow(0, 0, 1, 'weights.activation', ring * xSize, 'preprocessing')]), flow(0, 2, 1, 'weights.correction', ring * ySize, 'preprocessing')],
  }),
} as const;

/** Total bytes of a cost, optionally only those of one phase. */
export function totalBytes(c: Cost, phase?: Phase): number {
  return c.flows.reduce((t, f) => t + (phase === undefined || f.phase === phase ? f.bytes : 0), 0);
}

/** What a party's counters should show for a cost: bytes sent/received per phase, bytes sent
 * to each peer, bytes per label, and the rounds it takes part in. */
export function expectedCounters(c: Cost, party: PartyId) {
  const zero = (): Record<Phase, number> => ({ online: 0, preprocessing: 0, oneTime: 0 });
  const sent = zero();
  const received = zero();
  const sentTo: [number, number, number] = [0, 0, 0];
  const byLabel = new Map<string, number>();
  const steps = new Set<number>();
  for (const f of c.flows) {
    if (f.from === party || f.to === party) steps.add(f.step);
    if (f.from === party) {
      sent[f.phase] += f.bytes;
      sentTo[f.to] += f.bytes;
      byLabel.set(f.label, (byLabel.get(f.label) ?? 0) + f.bytes);
    }
    if (f.to === party) received[f.phase] += f.bytes;
  }
  return { sent, received, sentTo, byLabel, rounds: steps.size };
}
