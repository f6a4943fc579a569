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
function modeProgram(party: PartyId, steps: ProgramStep[], setup: Record<string, Conv2dParams>, rounds: number, out: { value: string; shape: number[] }): Program {
  return {
    format: PROGRAM_FORMAT,
    party,
    frac: FRAC,
    input: { name: 'x', value: 'x', shape: [1, 2, 6, 6] },
    outputs: [{ name: 'y', value: out.value, shape: out.shape, post: [] }],
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
    { value: 'b', shape: [1, 2, 6, 6] },
  );
}

const rand = lcg(21);
const x = Array.from({ length: 72 }, () => 2 * rand() - 1);
const w = (p: Conv2dParams) => encode(Array.from({ length: size(p.weightShape) }, () => rand() - 0.5), FRAC);
const wt = new Map([
  ['A.W', w(A)],
  ['A.B', encode([0.1, -0.2, 0.3], 2 * FRAC)],
  ['B.W', w(B)],
  ['B.B', encode([0.25, -0.5], 2 * FRAC)],
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
      expect(p.offlineRounds).to.equal(1);
    }
    // P0's online bytes: only the first product's masked input.
    expect(Object.fromEntries([...r[0].counters.byLabel].filter(([l]) => l !== 'weights.mask'))).to.include({ 'weights.activation': 8 * (72 + 108) });
    expect(r[0].counters.sent.online).to.equal(8 * 72);
  });

  it('refuses offline material of another inference or another program (MPCC5050), before any online round', async () => {
    const prepared = await runParties(await createInProcessSessions(), (s) => prepareOffline(s, productProgram(s.id), new Map()).catch((e: unknown) => e));
    // Without the one-time setup's keys the phase refuses at once (MPCC5204); with them, below.
    expect(codeOf(prepared[0])).to.equal('MPCC5204');
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
    const { results, errors } = await stopDuringOffline(productProgram, x, wt);
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

  describe('program.json: the client-offline product under its schema (validate.ts)', () => {
    const refusal = (edit: (steps: Record<string, unknown>[]) => void): string => {
      const prog = productProgram(0) as unknown as { steps: Record<string, unknown>[] };
      edit(prog.steps);
      try {
        parseProgram(JSON.stringify(prog), 'party0/program.json', 0);
      } catch (e) {
        expect(codeOf(e)).to.equal('MPCC5222');
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    it('accepts the product; refuses an operand of another size than its layer reads, an unknown layer', () => {
      expect(parseProgram(JSON.stringify(productProgram(0)), 'party0/program.json', 0).steps[3].kind).to.equal('weightsClientOffline');
      // The client-offline product reads its layer's input size: 108 elements, not 72.
      expect(refusal((s) => ((s[3].inputs as string[])[0] = 'x'))).to.contain('steps[3].params.layer').and.contain("the operand 'x' has 72");
      expect(refusal((s) => ((s[3].params as Record<string, unknown>).layer = 'Z'))).to.contain('steps[3].params.layer').and.contain("no setup step for layer 'Z'");
    });
  });
});
