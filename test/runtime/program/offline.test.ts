// The offline phase (runtime/program/offline.ts) on the executor's residual block: the mask
// convolutions are done before the online phase starts at any party, the output still equals
// the plaintext reference, and every bad input of the issue: an input ready before the offline
// phase is done (it waits, then runs) or long after it; material of another inference or
// another model (MPCC5050, refused before any online round); a stop during the offline phase
// (MPCC5051 at the stopped party, the peers failing instead of waiting).

import { expect } from 'chai';
import { createInProcessSessions, runParties } from '../../../runtime/session/connect.js';
import { PROGRAM_FORMAT, prepareOffline, runProgram, type Program, type ProgramProgress, type RunResult } from '../../../runtime/program/index.js';
import { bilinearMap } from '../../../runtime/program/steps.js';
import { RoundMerger } from '../../../runtime/program/merger.js';
import { maxPoolLevels, Selection, setupWeights, type WeightKey } from '../../../runtime/protocols/index.js';
import type { PoolParams } from '../../../runtime/ring/windows.js';
import type { PartyId, Session } from '../../../runtime/session/session.js';
import { fieldBytes } from '../../../runtime/protocols/field-format.js';
import { FRAC, residualProgram, residualReference, residualWeights } from './residual.js';
import { stopDuringOffline } from './stop.js';

function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

const rand = lcg(11);
const x = Array.from({ length: 72 }, () => 2 * rand() - 1);
const wt = residualWeights(rand);

function checkOutput(r: RunResult): void {
  const want = residualReference(x, wt);
  const got = r.outputs.get('y')!;
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).to.be.at.most(4 / 2 ** FRAC);
}

const codeOf = (e: unknown) => (e as { code?: string }).code;

/** The one-time setup of the residual program on `s`, as runProgram runs it. */
async function setup(s: Session): Promise<Map<string, WeightKey>> {
  const prog = residualProgram(s.id);
  const merger = new RoundMerger(s);
  merger.hold();
  const done = Promise.all(
    prog.setup.map(async (st, i) => {
      const ss = merger.open(`setup/${st.name}`, i);
      try {
        return [st.name, await setupWeights(ss, bilinearMap(st.map), s.id === 1 ? wt.get(st.weights)! : null, st.name)] as const;
      } finally {
        ss.done();
      }
    }),
  );
  merger.release();
  return new Map(await done);
}

describe('offline phase (runtime/program/offline.ts)', () => {
  it('prepares every mask convolution before any party starts online; an input ready early waits, then runs', async () => {
    const events: string[][] = [[], [], []];
    const r = await runParties(await createInProcessSessions(), (s) =>
      runProgram(s, residualProgram(s.id), {
        input: s.id === 0 ? Promise.resolve(x) : null,
        weights: s.id === 1 ? wt : undefined,
        onProgress: (p: ProgramProgress) => events[s.id].push(p.phase),
      }),
    );
    checkOutput(r[0]);
    for (const p of r) {
      // the closing exchange, then the empty frames once every party has taken it in
      expect(p.offlineRounds).to.equal(2);
      expect(p.rounds).to.equal(6);
      expect(p.seconds.offline).to.be.above(0);
      expect(p.seconds.online).to.be.above(0);
    }
    // Every party goes through the three products and the ReLU (P1 has nothing to compute for
    // the products); no party's online step ran before its offline phase ended.
    for (const ev of events) {
      expect(ev.filter((e) => e === 'offline')).to.have.length(4);
      expect(ev.lastIndexOf('offline')).to.be.below(ev.indexOf('inference'));
    }
  });

  it("a ReLU whose size the program states: its comparison's dealing is offline, P2's bit corrections travel in the closing exchange", async () => {
    const sized = (id: PartyId) => {
      const prog = residualProgram(id);
      prog.steps.find((st) => st.kind === 'relu')!.params.size = 108;
      return prog;
    };
    const ss = await createInProcessSessions({ recordReceived: true });
    const r = await runParties(ss, (s) => runProgram(s, sized(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined }));
    checkOutput(r[0]);
    // After the setup, P1 receives from P2 the 108 comparisons' corrections, 108 × 63 digits
    // mod 67 (fieldBytes), then the closing exchange: P0's empty frame, and P2's product
    // corrections conv(A, B) − C0 of convA, convS and convB (108 + 72 + 72 outputs, 8 B each).
    const frames = (round: number) => ss[1].receivedLog.filter((p) => p.round === round).map((p) => [p.from, p.data.length]);
    expect(frames(1)).to.deep.equal([[2, fieldBytes(108 * 63, 67)]]);
    expect(frames(2)).to.deep.equal([[0, 0], [2, 8 * 252]]);
    expect(frames(3)).to.deep.equal([[0, 0], [2, 0]]);
    for (const p of r) expect(p.offlineRounds).to.equal(3);
    // The bytes are those of the cost table all the same (phase preprocessing).
    expect(r[2].counters.byLabel.get('drelu.bits')).to.equal(fieldBytes(108 * 63, 67));
    expect(r[2].counters.byLabel.get('weights.correction')).to.equal(8 * 252);
    // Online, P2 sends P1 only the ReLU's input-dependent messages: its bit's re-share and the
    // selection's correction, 8 B per element each.
    const online = ss[1].receivedLog.filter((p) => p.round > 2 && p.from === 2).reduce((t, p) => t + p.data.length, 0);
    expect(online).to.equal(2 * 8 * 108);
  });

  it("a sized ReLU's selection is dealt offline with its comparison, and the online step takes both", async () => {
    const sized = (id: PartyId) => {
      const prog = residualProgram(id);
      prog.steps.find((st) => st.kind === 'relu')!.params.size = 108;
      return prog;
    };
    const r = await runParties(await createInProcessSessions(), async (s) => {
      const prog = sized(s.id);
      const keys = await setup(s);
      const offline = await prepareOffline(s, prog, keys);
      const relu = prog.steps.find((st) => st.kind === 'relu')!.name;
      expect(offline.left).to.include(`${relu}/drelu`).and.include(`${relu}/select`);
      const res = await runProgram(s, prog, { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined, offline, reuse: { keys, mode: 'skip' } });
      expect(offline.left).to.deep.equal([]);
      return res;
    });
    // P0's c0 and P2's c0 drawn offline agree: the selection's output is right.
    checkOutput(r[0]);
  });

  it("a MaxPool's levels: every level's comparison and selection dealt offline, taken level by level; the output is the windows' maxima", async () => {
    const pool: PoolParams = { inShape: [1, 2, 6, 6], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
    const levels = maxPoolLevels(pool);
    const program = (party: PartyId): Program => ({
      format: PROGRAM_FORMAT,
      party,
      frac: FRAC,
      input: { name: 'x', value: 'x', shape: [1, 2, 6, 6] },
      outputs: [{ name: 'y', value: 'y', shape: [1, 2, 3, 3], post: [] }],
      setup: [],
      steps: [
        { name: 'x', kind: 'input', op: 'input', round: 0, rounds: 0, inputs: [], outputs: ['x'], params: { size: 72 } },
        { name: 'pool', kind: 'maxPool', op: 'maxPool', round: 1, rounds: 3 * levels.length, inputs: ['x'], outputs: ['y'], params: { pool, window: { lo: 0, k: 64 } } },
        { name: 'out', kind: 'reveal', op: 'reveal', round: 1 + 3 * levels.length, rounds: 1, inputs: ['y'], outputs: [], params: { value: 'y' } },
      ],
      rounds: 1 + 3 * levels.length,
      oneTimeRounds: 0,
    });
    const r = await runParties(await createInProcessSessions(), async (s) => {
      const offline = await prepareOffline(s, program(s.id), new Map());
      // P2's bit corrections of every level in the offline exchange, then the closing one and
      // the empty frames after it.
      expect(offline.rounds).to.equal(3);
      const res = await runProgram(s, program(s.id), { input: s.id === 0 ? x : null, offline });
      expect(offline.left).to.deep.equal([]);
      return res;
    });
    // Padding is left out of the windows; the maxima are exact (fixed-point values compared).
    const fx = x.map((v) => Math.round(v * 2 ** FRAC) / 2 ** FRAC);
    const got = r[0].outputs.get('y')!;
    for (let c = 0; c < 2; c++)
      for (let oy = 0; oy < 3; oy++)
        for (let ox = 0; ox < 3; ox++) {
          let m = -Infinity;
          for (let dy = 0; dy < 3; dy++)
            for (let dx = 0; dx < 3; dx++) {
              const yy = 2 * oy - 1 + dy, xx = 2 * ox - 1 + dx;
              if (yy >= 0 && yy < 6 && xx >= 0 && xx < 6) m = Math.max(m, fx[c * 36 + yy * 6 + xx]);
            }
          expect(got[c * 9 + oy * 3 + ox]).to.equal(m);
        }
  });

  it('a selection refuses offline material made for another size', () => {
    const s = { id: 0, prepared: () => ({ n: 3, sharedMask: false, a: new BigUint64Array(3), c: new BigUint64Array(3) }) } as unknown as Session;
    expect(() => new Selection(s, new BigUint64Array(4), null)).to.throw('the offline dealing is for 3 elements');
  });

  it('an input given long after the offline phase: the parties wait for it, the output is right', async () => {
    let offlineDone = false;
    const late = new Promise<number[]>((resolve) => setTimeout(() => resolve(x), 300));
    const r = await runParties(await createInProcessSessions(), (s) =>
      runProgram(s, residualProgram(s.id), {
        input: s.id === 0 ? late.then((v) => (expect(offlineDone).to.equal(true), v)) : null,
        weights: s.id === 1 ? wt : undefined,
        onProgress: (p) => s.id === 0 && p.phase === 'offline' && p.done === p.total && (offlineDone = true),
      }),
    );
    checkOutput(r[0]);
  });

  it('material prepared on this session is used as is (no second offline round)', async () => {
    const r = await runParties(await createInProcessSessions(), async (s) => {
      const keys = await setup(s);
      const offline = await prepareOffline(s, residualProgram(s.id), keys);
      expect(offline.rounds).to.equal(2);
      // The setup already ran on this session: the run reuses its keys.
      return runProgram(s, residualProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined, offline, reuse: { keys, mode: 'skip' } });
    });
    checkOutput(r[0]);
  });

  it('refuses material of another inference (another session) with MPCC5050, before any online round', async () => {
    const first = await createInProcessSessions();
    const prepared = await runParties(first, async (s) => prepareOffline(s, residualProgram(s.id), await setup(s)));
    const err = await runParties(await createInProcessSessions(), (s) =>
      runProgram(s, residualProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined, offline: prepared[s.id] }),
    ).then(() => null, (e: unknown) => e);
    expect(codeOf(err)).to.equal('MPCC5050');
    expect((err as Error).message).to.match(/another inference \(session\)/);
  });

  it('refuses material of another model (program) with MPCC5050', async () => {
    const err = await runParties(await createInProcessSessions(), async (s) => {
      const keys = await setup(s);
      const other = residualProgram(s.id);
      other.frac = FRAC + 1;
      const offline = await prepareOffline(s, other, keys);
      return runProgram(s, residualProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined, offline, reuse: { keys, mode: 'skip' } });
    }).then(() => null, (e: unknown) => e);
    expect(codeOf(err)).to.equal('MPCC5050');
    expect((err as Error).message).to.match(/another model \(program\)/);
  });

  it('a stop during the offline phase: MPCC5051 at the stopped party, its peers fail instead of waiting', async () => {
    const { errors, ms } = await stopDuringOffline(residualProgram, x, wt);
    expect(ms).to.be.below(5000);
    expect(codeOf(errors[0])).to.equal('MPCC5051');
    expect((errors[0] as Error).message).to.contain('stopped (SIGTERM) during the offline phase');
    // The peers learn why from the abort P0 relays.
    for (const id of [1, 2] as PartyId[]) {
      expect(codeOf(errors[id]), `party ${id}`).to.equal('MPCC5011');
      expect((errors[id] as Error).message).to.contain('peer 0 (client) aborted the session').and.contain('stopped (SIGTERM) during the offline phase');
    }
  });
});
