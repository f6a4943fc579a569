// The program executor: a residual block (conv + ReLU chain beside a shortcut conv) run by
// runProgram with round merging, against a plaintext fixed-point reference and the protocol
// cost table; schedule checks; a peer that dies mid-run.

import { expect } from 'chai';
import { createInProcessSessions, createLocalTcpSessions, runParties } from '../../../runtime/session/connect.js';
import type { PartySession } from '../../../runtime/session/party-session.js';
import type { TcpPartySession } from '../../../runtime/transport/tcp.js';
import { runProgram, type RunResult } from '../../../runtime/program/index.js';
import type { Session } from '../../../runtime/session/session.js';
import { totalBytes } from '../../../runtime/protocols/costs.js';
import { FRAC, residualCosts, residualProgram, residualReference, residualWeights } from './residual.js';

function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

async function runResidual(ss: readonly [PartySession, PartySession, PartySession], x: number[], wt: Map<string, BigUint64Array>): Promise<[RunResult, RunResult, RunResult]> {
  return runParties(ss, (s) => runProgram(s, residualProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined }));
}

function checkResidual(r: [RunResult, RunResult, RunResult], x: number[], wt: Map<string, BigUint64Array>): void {
  const want = residualReference(x, wt);
  const got = r[0].outputs.get('y')!;
  expect(got.length).to.equal(want.length);
  // Three local truncations on the path: at most a few units in the last place.
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).to.be.at.most(4 / 2 ** FRAC);
  const { oneTime, steps } = residualCosts();
  const stepRounds = steps.reduce((t, c) => t + c.rounds, 0);
  for (const p of r) {
    expect(p.rounds).to.equal(6);
    expect(p.oneTimeRounds).to.equal(1);
    expect(p.rounds).to.be.below(stepRounds); // merging: fewer than one step after another
  }
  const sum = (f: (p: RunResult) => number) => r.reduce((t, p) => t + f(p), 0);
  expect(sum((p) => p.counters.sent.oneTime)).to.equal(totalBytes(oneTime));
  expect(sum((p) => p.counters.sent.online)).to.equal(steps.reduce((t, c) => t + totalBytes(c, 'online'), 0));
  expect(sum((p) => p.counters.sent.preprocessing)).to.equal(steps.reduce((t, c) => t + totalBytes(c, 'preprocessing'), 0));
  // One frame per peer per merged round at most.
  for (const p of r) for (const f of (p.counters as PartySession['counters']).framesSent) expect(f).to.be.at.most(7);
}

describe('program executor (runtime/program)', () => {
  const rand = lcg(7);
  const x = Array.from({ length: 72 }, () => 2 * rand() - 1);
  const wt = residualWeights(rand);

  it('runs a residual block in the scheduled 6 rounds, in process, with the cost table bytes', async () => {
    checkResidual(await runResidual(await createInProcessSessions(), x, wt), x, wt);
  });

  it('runs the same block over TCP', async () => {
    checkResidual(await runResidual(await createLocalTcpSessions(), x, wt), x, wt);
  });

  it('refuses a step that starts outside its scheduled round (MPCC5202)', async () => {
    const ss = await createInProcessSessions();
    const err = await runParties(ss, (s) => {
      const prog = residualProgram(s.id);
      prog.steps.find((st) => st.name === 'convB')!.round = 4;
      return runProgram(s, prog, { input: s.id === 0 ? x : null, weights: s.id === 1 ? wt : undefined });
    }).then(() => null, (e: Error & { code?: string }) => e);
    expect(err?.code).to.equal('MPCC5202');
    expect(err?.message).to.contain("'convB'");
  });

  it('fails the other parties within 5 s when a peer dies mid-run', async () => {
    const ss = await createLocalTcpSessions();
    // Party 2 "crashes" at its third merged round: its sockets drop without a goodbye.
    const dying: Session = Object.create(ss[2]) as Session;
    let calls = 0;
    dying.round = (out, from, expect) => {
      if (++calls === 3) {
        for (const p of [0, 1] as const) (ss[2] as TcpPartySession).socketTo(p).destroy();
        return new Promise(() => undefined);
      }
      return ss[2].round(out, from, expect);
    };
    const t0 = Date.now();
    const runs = [0, 1].map((id) => runProgram(ss[id], residualProgram(ss[id].id), { input: id === 0 ? x : null, weights: id === 1 ? wt : undefined }).then(() => null, (e: Error & { code?: string; peer?: number }) => e));
    void runProgram(dying, residualProgram(2)).catch(() => undefined);
    const errors = await Promise.all(runs);
    expect(Date.now() - t0).to.be.below(5000);
    for (const e of errors) {
      expect(e, 'the party should fail').to.not.equal(null);
      expect(e!.code).to.equal('MPCC5001');
      expect(e!.peer).to.equal(2);
    }
    await Promise.all(ss.map((s) => s.close().catch(() => undefined)));
  });
});
