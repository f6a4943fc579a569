// A hand-built residual block as three party programs, with its plaintext fixed-point
// reference (ring ops on clear values), for the executor's tests.

import { conv2d, decode, encode, truncPublic } from '../../../runtime/ring/ring.js';
import { conv2dOutShape, type Conv2dParams } from '../../../runtime/ring/windows.js';
import { PROGRAM_FORMAT, type Program, type ProgramStep } from '../../../runtime/program/index.js';
import type { PartyId } from '../../../runtime/session/session.js';
import { PROTOCOL_COSTS, seq, type Cost } from '../../../runtime/protocols/costs.js';

export const FRAC = 12;
export const SHAPE: [number, number, number, number] = [1, 2, 6, 6];
/** A k×k convolution (k = 1 or 3, same size) of a 1×cin×6×6 activation to cout channels. */
export const conv = (cin: number, cout: number, k: number): Conv2dParams => ({
  inShape: [1, cin, 6, 6],
  weightShape: [cout, cin, k, k],
  strides: [1, 1],
  pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0],
  dilations: [1, 1],
  group: 1,
});
export const A = conv(2, 3, 3);
export const B = conv(3, 2, 3);
export const S = conv(2, 2, 1);
const n = (p: Conv2dParams) => conv2dOutShape(p).reduce((a, b) => a * b, 1);
const win = { lo: 0, k: 64 };

/** x → convA → trunc → relu → convB → trunc ─┐
 *  x → convS → trunc ─────────────────────────┴→ add → reveal
 * Rounds (hand-scheduled): convA and convS in 1, relu 2–4, convB 5, reveal 6. */
export function residualSteps(): ProgramStep[] {
  const st = (name: string, kind: string, round: number, rounds: number, inputs: string[], outputs: string[], params: Record<string, unknown> = {}): ProgramStep => ({ name, kind, op: kind, round, rounds, inputs, outputs, params });
  return [
    st('x', 'input', 0, 0, [], ['x'], { size: 72 }),
    st('convA', 'weights', 1, 1, ['x'], ['a2'], { layer: 'A', bias: 'A.B', inner: 36 }),
    st('convS', 'weights', 1, 1, ['x'], ['s2'], { layer: 'S' }),
    st('truncA', 'truncate', 0, 0, ['a2'], ['a'], { bits: FRAC }),
    st('truncS', 'truncate', 0, 0, ['s2'], ['s'], { bits: FRAC }),
    st('relu', 'relu', 2, 3, ['a'], ['r'], { window: win }),
    st('convB', 'weights', 5, 1, ['r'], ['b2'], { layer: 'B' }),
    st('truncB', 'truncate', 0, 0, ['b2'], ['b'], { bits: FRAC }),
    st('sum', 'add', 0, 0, ['b', 's'], ['y']),
    st('out', 'reveal', 6, 1, ['y'], [], { value: 'y' }),
  ];
}

/** The residual block's program for `party`. */
export function residualProgram(party: PartyId): Program {
  return {
    format: PROGRAM_FORMAT,
    party,
    frac: FRAC,
    input: { name: 'x', value: 'x', shape: [...SHAPE] },
    outputs: [{ name: 'y', value: 'y', shape: [1, 2, 6, 6], post: [] }],
    setup: [
      { name: 'A', map: { kind: 'conv', conv: A }, weights: 'A.W' },
      { name: 'S', map: { kind: 'conv', conv: S }, weights: 'S.W' },
      { name: 'B', map: { kind: 'conv', conv: B }, weights: 'B.W' },
    ],
    steps: residualSteps(),
    rounds: 6,
    oneTimeRounds: 1,
  };
}

/** Random real weights, encoded as P1 holds them (W at frac, bias at 2·frac). */
export function residualWeights(rand: () => number): Map<string, BigUint64Array> {
  const w = (p: Conv2dParams) => encode(Array.from({ length: p.weightShape.reduce((a, b) => a * b, 1) }, () => rand() - 0.5), FRAC);
  return new Map([
    ['A.W', w(A)],
    ['A.B', encode([0.1, -0.2, 0.3], 2 * FRAC)],
    ['S.W', w(S)],
    ['B.W', w(B)],
  ]);
}

/** The plaintext fixed-point result (same ring arithmetic, exact truncation). */
export function residualReference(x: ArrayLike<number>, wt: Map<string, BigUint64Array>): Float64Array {
  const xe = encode(x, FRAC);
  const bias = wt.get('A.B')!;
  const a2 = conv2d(xe, wt.get('A.W')!, A);
  for (let i = 0; i < a2.length; i++) a2[i] += bias[Math.floor(i / 36)];
  const a = truncPublic(a2, FRAC);
  const r = a.map((v) => (BigInt.asIntN(64, v) >= 0n ? v : 0n));
  const b = truncPublic(conv2d(r, wt.get('B.W')!, B), FRAC);
  const s = truncPublic(conv2d(xe, wt.get('S.W')!, S), FRAC);
  return decode(b.map((v, i) => v + s[i]), FRAC);
}

/** The cost of the block's steps from the protocol table. */
export function residualCosts(): { oneTime: Cost; steps: Cost[] } {
  const m = (p: Conv2dParams) => ({ xSize: p.inShape.reduce((a, b) => a * b, 1), ySize: n(p) });
  return {
    oneTime: seq(...[A, S, B].map((p) => PROTOCOL_COSTS.setupWeights({ wSize: p.weightShape.reduce((a, b) => a * b, 1) }))),
    steps: [PROTOCOL_COSTS.applyWeights(m(A)), PROTOCOL_COSTS.applyWeights(m(S)), PROTOCOL_COSTS.relu({ n: n(A), k: 64 }), PROTOCOL_COSTS.applyWeights(m(B)), PROTOCOL_COSTS.revealToClient({ n: n(B) })],
  };
}
