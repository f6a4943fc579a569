// The client-offline mode in the executor (runtime/program/client-offline-pass.ts, offline.ts):
// P0 runs its whole program offline, each client-offline step deals with P0's offline shares,
// the dealings' messages ride in the offline phase's closing exchange, and online P0 sends
// only what depends on the input. Hand-written programs of the mode, against the plaintext
// fixed-point computation of the same steps (BigInt) and the cost table (per party, per phase,
// per label); the bad inputs: material of another session or program (MPCC5050), a stop during
// the offline phase (MPCC5051), a client-offline step without its dealing (MPCC5053), a
// client-offline step reading a value that depends on the input, and the new kinds' parameters.

import { expect } from 'chai';
import { createInProcessSessions, runParties } from '../../../runtime/session/connect.js';
import { parseProgram, prepareOffline, PROGRAM_FORMAT, runProgram, type Program, type ProgramStep, type RunResult } from '../../../runtime/program/index.js';
import { STEP_KINDS } from '../../../runtime/program/steps.js';
import { conv2d, encode } from '../../../runtime/ring/ring.js';
import { conv2dOutShape, type Conv2dParams } from '../../../runtime/ring/windows.js';
import { expectedCounters, PROTOCOL_COSTS, type Cost } from '../../../runtime/protocols/costs.js';
import { conv } from './residual.js';
import { stopDuringOffline } from './stop.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { fieldBytes } from '../../../runtime/protocols/field-format.js';
import type { PartyId, Phase, Session } from '../../../runtime/session/session.js';

const FRAC = 12;
const codeOf = (e: unknown) => (e as { code?: string }).code;

function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const outSize = (p: Conv2dParams) => size(conv2dOutShape(p));

/** A program of the mode from its steps (every party's the same, as codegen writes them). */
function modeProgram(party: PartyId, steps: ProgramStep[], setup: Record<string, Conv2dParams>, rounds: number, outs: { name: string; value: string; shape: number[] }[]): Program {
  return {
    format: PROGRAM_FORMAT,
    party,
    frac: FRAC,
    input: { name: 'x', value: 'x', shape: [1, 2, 6, 6] },
    outputs: outs.map((o) => ({ ...o, post: [] })),
    setup: Object.entries(setup).map(([name, c]) => ({ name, map: { kind: 'conv' as const, conv: c }, weights: `${name}.W` })),
    steps,
    rounds,
    oneTimeRounds: Object.keys(setup).length > 0 ? 1 : 0,
  };
}

const step = (name: string, kind: string, round: number, rounds: number, inputs: string[], outputs: string[], params: Record<string, unknown> = {}): ProgramStep => ({ name, kind, op: kind, round, rounds, inputs, outputs, params });

/** The sum over `costs` of what party `p`'s counters should show. */
function expectCounters(r: readonly RunResult[], costs: readonly Cost[]): void {
  for (const res of r) {
    const p = res.party;
    const want = costs.map((c) => expectedCounters(c, p));
    for (const phase of ['online', 'preprocessing'] as Phase[]) {
      expect(res.counters.sent[phase], `party ${p} sent ${phase}`).to.equal(want.reduce((t, w) => t + w.sent[phase], 0));
      expect(res.counters.received[phase], `party ${p} received ${phase}`).to.equal(want.reduce((t, w) => t + w.received[phase], 0));
    }
    const labels = new Map<string, number>();
    for (const w of want) for (const [l, b] of w.byLabel) labels.set(l, (labels.get(l) ?? 0) + b);
    const got = new Map([...res.counters.byLabel].filter(([l, b]) => b > 0 && !l.startsWith('weights.mask')));
    expect(Object.fromEntries(got), `party ${p} bytes by label`).to.deep.equal(Object.fromEntries([...labels].filter(([, b]) => b > 0)));
  }
}

/** Plaintext ring helpers (BigInt, the values the parties' shares sum to). */
const ring = (v: bigint) => BigInt.asUintN(64, v);
const signed = (v: bigint) => BigInt.asIntN(64, v);
/** ⌊v / 2^f⌋ (arithmetic shift, as the exact truncation computes). */
const shr = (a: BigUint64Array, f: number) => a.map((v) => ring(signed(v) >> BigInt(f)));

// --- a program of the mode around the client-offline product ------------------------------------
// x → convA ('weights', classic: P0's share is maskProduct's) → local truncation → convB
// ('weightsClientOffline': P0's Z offline, no online round) → local truncation → reveal.
const A = conv(2, 3, 3);
const B = conv(3, 2, 3);

function productProgram(party: PartyId): Program {
  return modeProgram(
    party,
    [
      step('x', 'input', 0, 0, [], ['x'], { size: 72 }),
      step('convA', 'weights', 1, 1, ['x'], ['a2'], { layer: 'A', bias: 'A.B', inner: 36 }),
      step('truncA', 'truncate', 0, 0, ['a2'], ['a'], { bits: FRAC }),
      step('convB', 'weightsClientOffline', 0, 0, ['a'], ['b2'], { layer: 'B', bias: 'B.B', inner: 36 }),
      step('truncB', 'truncate', 0, 0, ['b2'], ['b'], { bits: FRAC }),
      step('out', 'reveal', 2, 1, ['b'], [], { value: 'b' }),
    ],
    { A, B },
    2,
    [{ name: 'y', value: 'b', shape: [1, 2, 6, 6] }],
  );
}

const rand = lcg(21);
const x = Array.from({ length: 72 }, () => 2 * rand() - 1);
const w = (p: Conv2dParams) => encode(Array.from({ length: size(p.weightShape) }, () => rand() - 0.5), FRAC);
const wt = new Map([
  ['A.W', w(A)],
  ['A.B', encode([0.1, -0.2, 0.3], 2 * FRAC)],
  ['B.W', w(B)],
  ['B.B', encode([-0.4, -0.5], 2 * FRAC)],
]);

/** convB(trunc(convA(x) + bias)) + bias, truncated: the program's plaintext value. */
function productReference(): bigint[] {
  const addBias = (y: BigUint64Array, bias: BigUint64Array) => y.map((v, i) => ring(v + bias[Math.floor(i / 36)]));
  const a = shr(addBias(conv2d(encode(x, FRAC), wt.get('A.W')!, A), wt.get('A.B')!), FRAC);
  return [...shr(addBias(conv2d(a, wt.get('B.W')!, B), wt.get('B.B')!), FRAC)].map(signed);
}

function productCosts(): Cost[] {
  return [
    PROTOCOL_COSTS.applyWeights({ xSize: 72, ySize: outSize(A) }),
    PROTOCOL_COSTS.applyWeightsClientOffline({ xSize: outSize(A), ySize: outSize(B) }),
    PROTOCOL_COSTS.revealToClient({ n: outSize(B) }),
  ];
}

const runMode = async (program: (p: PartyId) => Program, ss?: Awaited<ReturnType<typeof createInProcessSessions>>) =>
  runParties(ss ?? (await createInProcessSessions()), (s) => runProgram(s, program(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined }));

// --- a whole program of the mode -----------------------------------------------------------------
// x ─ convA ('weights', keepMasked) ─ a2 ─ sel1 (helperSelect: T_f + ReLU) ─ r1 ─ convB (client-offline product) ─ b2 ─┐
//  └─ convS ('weightsSharedMask': convA's masked x) ─ s2 ─ trS (truncateClientOffline) ─ s ──────── residual ────────── sel2 (helperSelect: T_f + s + block-ReLU)
//   ─ y2 ─ convC (client-offline product) ─ c2 ─ trC (truncateClientOffline) ─ out ─ reveal
// r1, s and y2 are revealed too, so that each stage is checked exactly against its own inputs.
// Rounds: convA 1; convS 2 (after the product whose mask it shares); sel1 2–4, trS 3–4; sel2 5–7
// (with the reveals of r1 and s); trC 8–9 (with y2's); reveal 10.
const S = conv(2, 2, 1);
const C = conv(2, 2, 3);
const FULL = { lo: 0, k: 64 };
const SHAPE2: [number, number, number, number] = [1, 2, 6, 6];
const BLOCKS2 = [[2, 2], 'identity'] as const;
const wt2 = new Map([...wt, ['S.W', w(S)], ['C.W', w(C)]]);

function chainProgram(party: PartyId): Program {
  return modeProgram(
    party,
    [
      step('x', 'input', 0, 0, [], ['x'], { size: 72 }),
      step('convA', 'weights', 1, 1, ['x'], ['a2', 'xm'], { layer: 'A', bias: 'A.B', inner: 36, keepMasked: true }),
      step('convS', 'weightsSharedMask', 2, 1, ['xm'], ['s2'], { layer: 'S', maskFrom: 'convA' }),
      step('sel1', 'helperSelect', 2, 3, ['a2'], ['r1'], { bits: FRAC, size: 108, window: FULL }),
      step('trS', 'truncateClientOffline', 3, 2, ['s2'], ['s'], { bits: FRAC }),
      step('convB', 'weightsClientOffline', 0, 0, ['r1'], ['b2'], { layer: 'B', bias: 'B.B', inner: 36 }),
      step('sel2', 'helperSelect', 5, 3, ['b2', 's'], ['y2'], { bits: FRAC, size: 72, window: FULL, shape: SHAPE2, blocks: BLOCKS2 }),
      step('convC', 'weightsClientOffline', 0, 0, ['y2'], ['c2'], { layer: 'C' }),
      step('trC', 'truncateClientOffline', 8, 2, ['c2'], ['out'], { bits: FRAC }),
      step('showR1', 'reveal', 5, 1, ['r1'], [], { value: 'r1' }),
      step('showS', 'reveal', 5, 1, ['s'], [], { value: 's' }),
      step('showY2', 'reveal', 8, 1, ['y2'], [], { value: 'y2' }),
      step('reveal', 'reveal', 10, 1, ['out'], [], { value: 'out' }),
    ],
    { A, S, B, C },
    10,
    [
      { name: 'r1', value: 'r1', shape: [1, 3, 6, 6] },
      { name: 's', value: 's', shape: [1, 2, 6, 6] },
      { name: 'y2', value: 'y2', shape: [1, 2, 6, 6] },
      { name: 'y', value: 'out', shape: [1, 2, 6, 6] },
    ],
  );
}

/** The chain's stages in plaintext (BigInt ring values), each from the revealed values before
 * it: an exact truncation is ⌊v / 2^f⌋ or one less (its one-unit carry, truncate-client-offline.ts);
 * a ReLU is decided on c = v + (res << f), a block on its patch's sum of c, identity channels
 * unchanged. Returns the problems found (empty when every stage holds). */
function chainProblems(got: ReadonlyMap<string, Float64Array>): string[] {
  const f = BigInt(FRAC);
  const rev = (name: string) => BigUint64Array.from(got.get(name)!, (v) => ring(BigInt(Math.round(v * 2 ** FRAC))));
  const addBias = (y: BigUint64Array, bias: BigUint64Array) => y.map((v, i) => ring(v + bias[Math.floor(i / 36)]));
  const floor = (v: bigint) => signed(v) >> f;
  const problems: string[] = [];
  /** got = want − carry, carry 0 or 1 (a truncation's), per element. */
  const truncated = (stage: string, values: BigUint64Array, want: (i: number) => bigint, exact: (i: number) => boolean = () => false) =>
    values.forEach((v, i) => {
      const carry = want(i) - signed(v);
      if (carry !== 0n && (carry !== 1n || exact(i))) problems.push(`${stage}[${i}]: ${signed(v)}, expected ${want(i)}${exact(i) ? '' : ' or one less'}`);
    });
  const xe = encode(x, FRAC);
  const a2 = addBias(conv2d(xe, wt2.get('A.W')!, A), wt2.get('A.B')!);
  const r1 = rev('r1');
  truncated('r1', r1, (i) => (signed(a2[i]) >= 0n ? floor(a2[i]) : 0n), (i) => signed(a2[i]) < 0n);
  const s2 = conv2d(xe, wt2.get('S.W')!, S);
  const s = rev('s');
  truncated('s', s, (i) => floor(s2[i]));
  const b2 = addBias(conv2d(r1, wt2.get('B.W')!, B), wt2.get('B.B')!);
  const cs = [...b2].map((v, i) => signed(v) + (signed(s[i]) << f));
  // channel 0: 2×2 patches of the 6×6 plane; channel 1: identity
  const patch = (i: number) => Math.floor((i % 36) / 12) * 3 + Math.floor((i % 6) / 2);
  const sums = new Map<number, bigint>();
  for (let i = 0; i < 36; i++) sums.set(patch(i), (sums.get(patch(i)) ?? 0n) + cs[i]);
  const kept = (i: number) => i >= 36 || sums.get(patch(i))! >= 0n;
  // The data exercise both sides of each decision (else a constant selection would pass).
  const zeroed = [...sums.values()].filter((v) => v < 0n).length;
  if (zeroed === 0 || zeroed === 9) problems.push(`sel2: ${zeroed} of 9 patches zeroed`);
  if (!a2.some((v) => signed(v) < 0n) || !a2.some((v) => signed(v) > 0n)) problems.push('sel1: a2 of one sign');
  truncated('y2', rev('y2'), (i) => (kept(i) ? floor(b2[i]) + signed(s[i]) : 0n), (i) => !kept(i));
  const c2 = conv2d(rev('y2'), wt2.get('C.W')!, C);
  truncated('out', rev('y'), (i) => floor(c2[i]));
  return problems;
}

function chainCosts(): Cost[] {
  return [
    PROTOCOL_COSTS.applyWeights({ xSize: 72, ySize: 108 }),
    PROTOCOL_COSTS.applyWeightsSharedMask({ ySize: 72 }),
    PROTOCOL_COSTS.helperSelect({ n: 108, patches: 108, selected: 108, k: 64, bits: FRAC }),
    PROTOCOL_COSTS.truncateClientOffline({ n: 72, bits: FRAC }),
    PROTOCOL_COSTS.applyWeightsClientOffline({ xSize: 108, ySize: 72 }),
    PROTOCOL_COSTS.helperSelect({ n: 72, patches: 9, selected: 36, k: 64, bits: FRAC }),
    PROTOCOL_COSTS.applyWeightsClientOffline({ xSize: 72, ySize: 72 }),
    PROTOCOL_COSTS.truncateClientOffline({ n: 72, bits: FRAC }),
    PROTOCOL_COSTS.revealToClient({ n: 108 }),
    PROTOCOL_COSTS.revealToClient({ n: 72 }),
    PROTOCOL_COSTS.revealToClient({ n: 72 }),
    PROTOCOL_COSTS.revealToClient({ n: 72 }),
  ];
}

describe('client-offline mode in the executor (runtime/program/client-offline-pass.ts)', () => {
  it("a client-offline product: P0's masked activation travels offline, the product has no online round; output and counters as the plaintext and the cost table", async () => {
    const r = await runMode(productProgram);
    const got = [...r[0].outputs.get('y')!].map((v) => Math.round(v * 2 ** FRAC));
    const want = productReference().map(Number);
    // Two local share truncations on the path, one unit each; convB spreads the first over its
    // window: at most Σ|W_B| of an output channel, plus one.
    const wB = wt.get('B.W')!;
    const per = size(B.weightShape) / 2;
    const bound = (c: number) => 2 + wB.slice(c * per, (c + 1) * per).reduce((t, v) => t + Math.abs(Number(signed(v))) / 2 ** FRAC, 0);
    got.forEach((v, i) => expect(Math.abs(v - want[i]), `element ${i}`).to.be.at.most(bound(Math.floor(i / 36))));
    expectCounters(r, productCosts());
    for (const p of r) {
      expect(p.rounds).to.equal(2);
      expect(p.offlineRounds).to.equal(2);
    }
    // P0's online bytes: only the first product's masked input.
    expect(Object.fromEntries([...r[0].counters.byLabel].filter(([l]) => l !== 'weights.mask'))).to.include({ 'weights.activation': 8 * (72 + 108) });
    expect(r[0].counters.sent.online).to.equal(8 * 72);
  });

  it('a whole program of the mode (weights → T_f + ReLU → client-offline product → T_f + residual + block-ReLU → product → truncation → reveal): every stage the plaintext value of its inputs (up to a truncation\'s carry), the cost table per party, phase and label', async () => {
    const ss = await createInProcessSessions();
    // The input is given before the offline phase is done: it waits for it, then runs.
    const r = await runParties(ss, (s) => runProgram(s, chainProgram(s.id), { input: s.id === 0 ? Promise.resolve(x) : null, weights: s.id === 1 ? wt2 : undefined }));
    expect(chainProblems(r[0].outputs)).to.deep.equal([]);
    expectCounters(r, chainCosts());
    for (const p of r) {
      expect(p.rounds).to.equal(10);
      // The dealings' messages all ride in the one closing exchange (then the empty 'done' frames).
      expect(p.offlineRounds).to.equal(2);
    }
    // P0's online messages: its digits and e ⊕ ρ to P2, the first product's masked input to P1.
    const { p } = digitField(64);
    expect(r[0].counters.sent.online).to.equal(fieldBytes(108 * 64, p) + fieldBytes(9 * 64, p) + Math.ceil(108 / 8) + Math.ceil(9 / 8) + 8 * 72);
    const online0 = chainCosts().flatMap((c) => c.flows).filter((f) => f.from === 0 && f.phase === 'online');
    expect([...new Set(online0.map((f) => f.label))].sort()).to.deep.equal(['drelu.compare', 'hsel.flip', 'weights.activation']);
    expect(r[0].counters.sentTo[1] - 8 * 72 - 8 * 108 - 8 * 72).to.equal(chainCosts().flatMap((c) => c.flows).filter((f) => f.from === 0 && f.to === 1 && f.phase === 'preprocessing' && f.label !== 'weights.activation').reduce((t, f) => t + f.bytes, 0));
  });

  it('refuses offline material of another inference or another program (MPCC5050), before any online round', async () => {
    const first = await createInProcessSessions();
    const material = await runParties(first, async (s) => {
      const r = await runProgram(s, productProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined });
      return prepareOffline(s, productProgram(s.id), r.keys);
    });
    const err = await runParties(await createInProcessSessions(), (s) =>
      runProgram(s, productProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined, offline: material[s.id] }),
    ).then(() => null, (e: unknown) => e);
    expect(codeOf(err)).to.equal('MPCC5050');
    expect((err as Error).message).to.match(/another inference \(session\)/);
    // Another model: the same session, a program differing in one truncation.
    const other = (p: PartyId) => {
      const prog = productProgram(p);
      prog.steps[4].params.bits = FRAC - 1;
      return prog;
    };
    const err2 = await runParties(await createInProcessSessions(), async (s) => {
      const r = await runProgram(s, productProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined });
      const offline = await prepareOffline(s, other(s.id), r.keys);
      return runProgram(s, productProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined, offline, reuse: { keys: r.keys, mode: 'skip' } });
    }).then(() => null, (e: unknown) => e);
    expect(codeOf(err2)).to.equal('MPCC5050');
    expect((err2 as Error).message).to.match(/another model \(program\)/);
  });

  it('a stop during the offline phase of a client-offline program: MPCC5051, the peers fail instead of waiting, nothing is returned', async () => {
    // Stopped once sel1 is dealt (convA, convS, sel1): in the middle of P0's offline walk.
    const { results, errors } = await stopDuringOffline(chainProgram, x, wt2, 3);
    expect(results).to.deep.equal([null, null, null]);
    expect(codeOf(errors[0])).to.equal('MPCC5051');
    expect((errors[0] as Error).message).to.contain('stopped (SIGTERM) during the offline phase');
    for (const id of [1, 2] as PartyId[]) expect(codeOf(errors[id]), `party ${id}`).to.equal('MPCC5011');
  });

  it('a client-offline step without its offline dealing is an internal error naming the step (MPCC5053), never a fallback', async () => {
    const session = { id: 1, prepared: () => undefined } as unknown as Session;
    const ctx = { session, frac: FRAC, params: { layer: 'B' }, keys: new Map(), weights: new Map(), input: null, revealed: new Map(), step: 'convB' };
    const err = await Promise.resolve()
      .then(() => STEP_KINDS.weightsClientOffline({ ...ctx, keys: new Map([['B', { map: { xSize: 1, wSize: 1, ySize: 1, apply: () => new BigUint64Array(1) }, held: new BigUint64Array(1), mask: null }]]) }, [new BigUint64Array(1)]))
      .then(() => null, (e: unknown) => e);
    expect(codeOf(err)).to.equal('MPCC5053');
    expect((err as Error).message).to.contain("client-offline step 'convB' (weightsClientOffline)");
  });

  it("refuses a client-offline step reading a value that depends on the client's input (MPCC5222 naming the step's operand)", async () => {
    const bad = (p: PartyId) => {
      const prog = productProgram(p);
      // convB reads convA's input, the client's own x.
      prog.setup[1].map = { kind: 'conv', conv: conv(2, 2, 3) };
      prog.steps[3].inputs = ['x'];
      return prog;
    };
    const errors = await runParties(await createInProcessSessions(), async (s) => {
      const r = await runProgram(s, productProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined });
      return prepareOffline(s, bad(s.id), r.keys).then(() => null, (e: unknown) => e);
    });
    for (const e of errors) {
      expect(codeOf(e)).to.equal('MPCC5222');
      expect((e as Error).message).to.contain('steps.convB.inputs[0]').and.contain("value 'x' is not known to the client offline");
    }
  });

  describe('program.json: the new kinds under closed schemas (validate.ts)', () => {
    const text = (edit: (steps: Record<string, unknown>[]) => void) => {
      const prog = productProgram(0) as unknown as { steps: Record<string, unknown>[] };
      prog.steps.splice(3, 0, { name: 'sel', kind: 'helperSelect', op: 'SecureHelperSelect', round: 0, rounds: 0, inputs: ['a', 'a'], outputs: ['s'], params: { bits: 0, size: 108, window: { lo: 0, k: 64 }, shape: [1, 3, 6, 6], blocks: [[2, 2], 'identity', [1, 1]] } });
      prog.steps.splice(4, 0, { name: 'tr', kind: 'truncateClientOffline', op: 'SecureTruncateClientOffline', round: 0, rounds: 0, inputs: ['s'], outputs: ['t'], params: { bits: FRAC } });
      (prog.steps[5].inputs as string[])[0] = 't';
      edit(prog.steps);
      return JSON.stringify(prog);
    };
    const refusal = (edit: (steps: Record<string, unknown>[]) => void): string => {
      try {
        parseProgram(text(edit), 'party0/program.json', 0);
      } catch (e) {
        expect(codeOf(e)).to.equal('MPCC5222');
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    const params = (st: Record<string, unknown>) => st.params as Record<string, unknown>;

    it('accepts the three kinds with their parameters', () => {
      expect(parseProgram(text(() => undefined), 'party0/program.json', 0).steps.map((st) => st.kind)).to.include.members(['helperSelect', 'truncateClientOffline', 'weightsClientOffline']);
    });
    it("refuses a truncation beyond 32 bits, a block list of another channel count, blocks without a shape, a shape of another size, an operand of another size, an unknown parameter's type", () => {
      expect(refusal((s) => (params(s[3]).bits = 33))).to.contain('steps[3].params.bits');
      expect(refusal((s) => (params(s[4]).bits = 40))).to.contain('steps[4].params.bits');
      expect(refusal((s) => (params(s[4]).bits = 0))).to.contain('steps[4].params.bits').and.contain('outside [1, 32]');
      expect(refusal((s) => (params(s[3]).blocks = [[2, 2]]))).to.contain('steps[3].params.blocks').and.contain('1 block sizes for 3 channels');
      expect(refusal((s) => (params(s[3]).blocks = [[2, 2], 'identity', [0, 1]]))).to.contain('steps[3].params.blocks[2][0]');
      expect(refusal((s) => delete params(s[3]).shape)).to.contain('steps[3].params.shape').and.contain('missing');
      expect(refusal((s) => (params(s[3]).shape = [1, 3, 6, 5]))).to.contain('steps[3].params.shape').and.contain('the step\'s size is 108');
      expect(refusal((s) => (delete params(s[3]).shape, delete params(s[3]).blocks, (params(s[3]).size = 72)))).to.contain('steps[3].params.size').and.contain("the operand 'a' has 108");
      expect(refusal((s) => (params(s[3]).window = { lo: 0 }))).to.contain('steps[3].params.window.k');
      expect(refusal((s) => ((s[3].inputs as string[]).push('a')))).to.contain('steps[3].inputs').and.contain("3 operands for a 'helperSelect' step");
      // The client-offline product reads its layer's input size: 108 elements, not 72.
      expect(refusal((s) => ((s[5].inputs as string[])[0] = 'x'))).to.contain('steps[5].params.layer').and.contain("the operand 'x' has 72");
      expect(refusal((s) => (params(s[5]).layer = 'Z'))).to.contain('steps[5].params.layer').and.contain("no setup step for layer 'Z'");
    });
  });
});
