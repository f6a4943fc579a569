// Rounds bounded in time and frames checked against the static schedule: a peer that stops
// sending fails the others with MPCC5002 naming it; a frame of another length than its round
// expects, a frame in a round that expects none from that peer, and a frame beyond the
// schedule are refused with MPCC5021 naming the peer and the round; a header announcing a
// huge payload is refused before anything is allocated; the default timeout formula against
// hand-computed values, also on resnet18-cifar's real schedule.

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessSessions, createLocalTcpSessions, runParties, type TcpPartySession } from '../../../runtime/session/connect.js';
import { RuntimeError } from '../../../runtime/diagnostics.js';
import { ROUND_TIMEOUT_BASE_MS, ROUND_TIMEOUT_BYTES_PER_SECOND, roundTimeoutMs, scheduleRoundTimeoutMs } from '../../../runtime/session/round-timeout.js';
import { encodeHeader, FrameKind } from '../../../runtime/transport/frame.js';
import type { PeerLink } from '../../../runtime/transport/link.js';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { loadPartyArtifacts, offlineWaitMs, runProgram } from '../../../runtime/program/index.js';

async function expectRuntimeError(p: Promise<unknown>, code: string): Promise<RuntimeError> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(RuntimeError);
    expect((e as RuntimeError).code, (e as Error).message).to.equal(code);
    return e as RuntimeError;
  }
  throw new Error(`expected ${code}, the promise resolved`);
}

const bytes = (n: number) => new Uint8Array(n).fill(7);
const tick = () => new Promise((r) => setTimeout(r, 20));

describe('runtime/session: round timeouts and frames against the schedule', function () {
  this.timeout(120000);

  it('a peer that stops sending fails both others with MPCC5002 naming it and the round, within the timeout + 1 s', async () => {
    const ss = await createInProcessSessions({ roundTimeoutMs: 300 });
    // Round 1 completes everywhere; in round 2 the helper sends nothing (it stalled).
    await Promise.all(ss.map((s) => s.round(s.peers.map((p) => ({ to: p, data: bytes(8), label: 'a' })), s.peers, { [s.peers[0]]: 8, [s.peers[1]]: 8 })));
    const t0 = Date.now();
    const waits = [0, 1].map((id) => {
      const s = ss[id];
      return expectRuntimeError(s.round(s.peers.map((p) => ({ to: p, data: bytes(8), label: 'b' })), s.peers, { [s.peers[0]]: 8, [s.peers[1]]: 8 }), 'MPCC5002');
    });
    const errors = await Promise.all(waits);
    expect(Date.now() - t0).to.be.below(300 + 1000);
    for (const e of errors) {
      expect(e.peer).to.equal(2);
      expect(e.message).to.match(/^timed out after 300 ms waiting for peer 2 \(helper\) in round 2/);
    }
    await Promise.all(ss.map((s) => s.close()));
  });

  it('refuses a frame longer or shorter than its round expects, naming the peer and the round (MPCC5021)', async () => {
    for (const [sent, want] of [[24, 16], [10, 16], [8, 0]] as const) {
      const [s0, s1, s2] = await createInProcessSessions();
      const waiting = s1.round([], [0], { 0: want });
      await s0.round([{ to: 1, data: bytes(sent), label: 'x' }], []);
      const e = await expectRuntimeError(waiting, 'MPCC5021');
      expect(e.peer).to.equal(0);
      const expects = want === 0 ? 'an empty frame' : `${want} bytes`;
      expect(e.message).to.equal(`frame from peer 0 (client) refused in round 1: its frame ${sent > want ? 'announces' : 'carries'} ${sent} bytes, the schedule expects ${expects}`);
      await Promise.all([s0.close(), s1.close(), s2.close()]);
    }
  });

  it('refuses a frame sent in a round that expects none from that peer, at the next round that reads it', async () => {
    const [s0, s1, s2] = await createInProcessSessions();
    // Round 1: P0 sends P1 8 bytes the schedule does not have (P1 receives from nobody).
    await s0.round([{ to: 1, data: bytes(8), label: 'stray' }], []);
    await s1.round([], []);
    // Round 2: the schedule has P0 send P1 16 bytes; P1 reads the stray frame first.
    void s0.round([{ to: 1, data: bytes(16), label: 'x' }], []).catch(() => undefined);
    const e = await expectRuntimeError(s1.round([], [0], { 0: 16 }), 'MPCC5021');
    expect(e.message).to.equal('frame from peer 0 (client) refused in round 2: its frame carries 8 bytes, the schedule expects 16 bytes');
    await Promise.all([s0.close(), s1.close(), s2.close()]);
  });

  it('refuses a frame beyond the end of the schedule when the session closes (MPCC5021), the other parties fail too', async () => {
    const ss = await createInProcessSessions();
    await Promise.all(ss.map((s) => s.round(s.peers.map((p) => ({ to: p, data: bytes(4), label: 'a' })), s.peers, { [s.peers[0]]: 4, [s.peers[1]]: 4 })));
    await ss[2].round([{ to: 0, data: bytes(4), label: 'extra' }], []);
    await tick();
    const e = await expectRuntimeError(ss[0].close(), 'MPCC5021');
    expect(e.peer).to.equal(2);
    expect(e.message).to.contain('frame from peer 2 (helper) refused in round 1: 1 data frame(s) beyond the schedule');
    await tick();
    // P1 learns of it through P0's abort, with the same culprit.
    const e1 = await expectRuntimeError(ss[1].round([], [2], { 2: 4 }), 'MPCC5021');
    expect(e1.peer).to.equal(2);
    await Promise.all([ss[1].close(), ss[2].close()]);
  });

  for (const sealed of [false, true]) {
    for (const announced of [512 * 2 ** 20, 2 ** 32 - 1]) {
      it(`refuses a header announcing ${announced} bytes without allocating it (${sealed ? 'sealed' : 'plain'} TCP)`, async () => {
        const ss = (await createLocalTcpSessions({ insecure: !sealed, roundTimeoutMs: 3000 })) as TcpPartySession[];
        global.gc?.();
        const before = process.memoryUsage();
        const waiting = ss[1].round([], [2], { 2: 16 });
        const phases = { online: announced, preprocessing: 0, oneTime: 0 };
        if (sealed) {
          // The helper's own link seals a header announcing `announced` bytes and sends none.
          const link = (ss[2] as unknown as { tcpLinks: PeerLink[] }).tcpLinks[1];
          link.send(FrameKind.Data, 0, phases, [], announced);
        } else {
          ss[2].socketTo(1).write(encodeHeader(FrameKind.Data, 0, announced, phases));
        }
        // Past the configured maximum (1 GiB) the header is malformed; below it the
        // schedule refuses it: either way before the payload is allocated.
        const e = await expectRuntimeError(waiting, announced > 2 ** 30 ? 'MPCC5003' : 'MPCC5021');
        expect(e.peer).to.equal(2);
        expect(e.message).to.contain(announced > 2 ** 30 ? `payload length ${announced} exceeds the maximum` : `round 1: its frame announces ${announced} bytes, the schedule expects 16 bytes`);
        const after = process.memoryUsage();
        expect(after.arrayBuffers - before.arrayBuffers).to.be.below(32 * 2 ** 20);
        expect(after.rss - before.rss).to.be.below(128 * 2 ** 20);
        await Promise.all(ss.map((s) => s.close().catch(() => undefined)));
      });
    }
  }

  it('the default timeout is 10 s plus the largest frame at 10 MB/s (hand-computed values)', () => {
    expect(ROUND_TIMEOUT_BASE_MS).to.equal(10_000);
    expect(ROUND_TIMEOUT_BYTES_PER_SECOND).to.equal(10_000_000);
    expect(scheduleRoundTimeoutMs(0)).to.equal(10_000);
    expect(scheduleRoundTimeoutMs(80)).to.equal(10_001); // 0.008 ms, rounded up
    expect(scheduleRoundTimeoutMs(100_000_000)).to.equal(20_000); // a 100 MB round: 10 s more
    expect(scheduleRoundTimeoutMs(89_683_456)).to.equal(18_969); // 8968.3456 ms, rounded up
    expect(roundTimeoutMs(1234, 100_000_000)).to.equal(1234);
    expect(roundTimeoutMs(0, 100_000_000)).to.equal(0);
  });

  it("derives every round's timeout from resnet18-cifar's schedule", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpcc-timeouts-'));
    try {
      writeFileSync(join(dir, 'm.onnx'), buildZooFiles('resnet18-cifar').model);
      runCompile(join(dir, 'm.onnx'), { output: join(dir, 'out') });
      const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(join(dir, 'out'), id)));
      const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i / 9));
      const ss = await createInProcessSessions({ roundTimeoutMs: 'schedule', recordReceived: true });
      await runParties(ss, (s) => runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: arts[s.id].kernels }));
      const log = ss.map((s) => s.timeoutLog);
      // The one-time setup is one round: P1 sends P0 its 11,210,432 masked weights, 8 bytes
      // each (89,683,456 bytes, cost.json's oneTime); both ends wait 10 s + 8,968.35 ms.
      expect(log[0][0]).to.deep.equal([1, 18_969]);
      // The last round reveals the 10 logits to P0: 80 bytes from P1 (rounds are numbered
      // by the party's own exchanges, so P0's last is not the schedule's 55th).
      expect(log[0][log[0].length - 1][1]).to.equal(10_001);
      // Every other round is the base plus its largest frame at 10 MB/s, checked against
      // what the party actually received in that round (receivedLog) and the cost table's
      // largest per-inference frame bound (at most the inference's 109,540,416 bytes).
      // The offline phase's rounds (runtime/program/offline.ts) allow for the peers' offline
      // work, 2e-5 ms per MAC of resnet18-cifar's products, or the schedule's timeout of their
      // frames when longer: P1 waits for P2's comparison bit corrections (P0 idles, P2 only
      // sends), then all three wait in the closing exchange of empty frames.
      const offlineMs = offlineWaitMs(arts[0].program);
      expect(offlineMs).to.be.above(10_000);
      const bitsWait = log[1][0];
      const bits = ss[1].receivedLog.find((r) => r.round === bitsWait[0] - 1 && r.from === 2)!.data.length;
      expect(bits).to.be.above(0);
      expect(bitsWait[1]).to.equal(Math.max(offlineMs, scheduleRoundTimeoutMs(bits)));
      const closing = [log[0][1], log[1][1], log[2][0]];
      expect(closing.map(([, ms]) => ms)).to.deep.equal([offlineMs, offlineMs, offlineMs]);
      const offline = [...closing, bitsWait];
      for (const s of ss) {
        for (const [round, ms] of s.timeoutLog.filter((e) => !offline.includes(e))) {
          const got = s.receivedLog.filter((r) => r.round === round - 1).map((r) => r.data.length);
          expect(ms, `party ${s.id} round ${round}`).to.be.at.least(scheduleRoundTimeoutMs(Math.max(0, ...got)));
          expect(ms).to.be.at.most(scheduleRoundTimeoutMs(109_540_416));
        }
      }
      await Promise.all(ss.map((s) => s.close()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
