// The protocols' communication as data: for each protocol, the messages (sender, receiver,
// phase, step label, bytes) and the rounds, as functions of the sizes. The compiler's cost
// model reads this table; the tests check that the session counters equal it exactly.
// Rounds are Session.round calls: every party makes each of them, so every party's round
// counter advances by the same number.

import type { PartyId, Phase } from '../session.js';
import { DIGIT_BITS } from './compare.js';

/** One message stream of a protocol. */
export interface Flow {
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

const flow = (from: PartyId, to: PartyId, label: string, bytes: number, phase: Phase = 'online'): Flow => ({ from, to, phase, label, bytes });

/** Protocols in sequence: rounds add, flows concatenate. */
export function seq(...costs: Cost[]): Cost {
  return { rounds: costs.reduce((r, c) => r + c.rounds, 0), flows: costs.flatMap((c) => c.flows) };
}

/** Protocols merged into the same rounds (e.g. a selection riding on a comparison). */
export function fused(rounds: number, ...costs: Cost[]): Cost {
  return { rounds, flows: costs.flatMap((c) => c.flows) };
}

/** The cost formula of every protocol, by name. */
export const PROTOCOL_COSTS = {
  /** Input sharing: no message. */
  shareInput: (_: { n: number }): Cost => ({ rounds: 0, flows: [] }),
  /** Reveal to P0: P1 sends its share. */
  revealToClient: ({ n }: { n: number }): Cost => ({ rounds: 1, flows: [flow(1, 0, 'reveal', 8 * n)] }),
  /** Local linear ops (add, scale, pooling, truncation): free. */
  local: (_: { n: number }): Cost => ({ rounds: 0, flows: [] }),
  /** Beaver product of two shared vectors. */
  mulShares: ({ n }: { n: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 1, 'mul.open', 16 * n), flow(1, 0, 'mul.open', 16 * n), flow(2, 1, 'mul.triple', 8 * n, 'preprocessing')],
  }),
  /** Comparison on a k-bit window (drelu, and the bit a selection uses). */
  compare: ({ n, k }: { n: number; k: number }): Cost => ({
    rounds: 3,
    flows: [
      flow(0, 1, 'drelu.reveal', packed(n, k)),
      flow(1, 0, 'drelu.reveal', packed(n, k)),
      flow(2, 1, 'drelu.bits', packed(n * (k - 1), DIGIT_BITS), 'preprocessing'),
      flow(0, 2, 'drelu.compare', packed(n * k, DIGIT_BITS)),
      flow(1, 2, 'drelu.compare', packed(n * k, DIGIT_BITS)),
      flow(2, 1, 'drelu.reshare', 8 * n),
    ],
  }),
  /** Selection of n elements by earlier comparison bits (any number of bits). */
  select: ({ n }: { n: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 1, 'select.open', 8 * n), flow(1, 0, 'select.open', 8 * n), flow(2, 1, 'select.correction', 8 * n)],
  }),
  /** ReLU of n elements: comparison and selection fused. */
  relu: ({ n, k }: { n: number; k: number }): Cost => fused(3, PROTOCOL_COSTS.compare({ n, k }), PROTOCOL_COSTS.select({ n })),
  /** Block-ReLU: one comparison per patch, one selection per non-identity element. */
  blockRelu: ({ patches, selected, k }: { patches: number; selected: number; k: number }): Cost =>
    patches === 0 ? { rounds: 0, flows: [] } : fused(3, PROTOCOL_COSTS.compare({ n: patches, k }), PROTOCOL_COSTS.select({ n: selected })),
  /** Clip / ReLU6: two ReLUs in the same rounds. */
  clip: ({ n, k }: { n: number; k: number }): Cost => PROTOCOL_COSTS.relu({ n: 2 * n, k }),
  /** MaxPool: one fused ReLU per level of the max tree (pairs per level from maxTreeLevels). */
  maxPool: ({ levels, k }: { levels: readonly number[]; k: number }): Cost => seq(...levels.map((n) => PROTOCOL_COSTS.relu({ n, k }))),
  /** Once per session per weight layer: W − B to P0. */
  setupWeights: ({ wSize }: { wSize: number }): Cost => ({ rounds: 1, flows: [flow(1, 0, 'weights.mask', 8 * wSize, 'oneTime')] }),
  /** Per inference: activation product with P1's weights (conv, matmul). */
  applyWeights: ({ xSize, ySize }: { xSize: number; ySize: number }): Cost => ({
    rounds: 1,
    flows: [flow(0, 1, 'weights.activation', 8 * xSize), flow(2, 1, 'weights.correction', 8 * ySize, 'preprocessing')],
  }),
} as const;

/** Total bytes of a cost, optionally only those of one phase. */
export function totalBytes(c: Cost, phase?: Phase): number {
  return c.flows.reduce((t, f) => t + (phase === undefined || f.phase === phase ? f.bytes : 0), 0);
}

/** What a party's counters should show for a cost: bytes sent/received per phase, bytes sent
 * to each peer, bytes per label, rounds. */
export function expectedCounters(c: Cost, party: PartyId) {
  const zero = (): Record<Phase, number> => ({ online: 0, preprocessing: 0, oneTime: 0 });
  const sent = zero();
  const received = zero();
  const sentTo: [number, number, number] = [0, 0, 0];
  const byLabel = new Map<string, number>();
  for (const f of c.flows) {
    if (f.from === party) {
      sent[f.phase] += f.bytes;
      sentTo[f.to] += f.bytes;
      byLabel.set(f.label, (byLabel.get(f.label) ?? 0) + f.bytes);
    }
    if (f.to === party) received[f.phase] += f.bytes;
  }
  return { sent, received, sentTo, byLabel, rounds: c.rounds };
}
