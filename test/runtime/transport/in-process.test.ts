import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { createInProcessSessions, runInProcess } from '../../../runtime/transport/in-process.js';
import { RuntimeError } from '../../../runtime/diagnostics.js';
import type { Outgoing, PartyId } from '../../../runtime/session/session.js';

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const eq = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.from(a).equals(Buffer.from(b));

async function expectRuntimeError(p: Promise<unknown>, code: string): Promise<RuntimeError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(RuntimeError);
    expect((e as RuntimeError).code).to.equal(code, (e as Error).message);
    return e as RuntimeError;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

describe('runtime/in-process transport', () => {
  it('delivers every message of a round to its peer', async () => {
    // m[i][j]: what party i sends party j.
    const m = [0, 1, 2].map(() => [0, 1, 2].map(() => bytes(1 + Math.floor(Math.random() * 100))));
    const got = await runInProcess(async (s) => {
      const out: Outgoing[] = s.peers.map((p) => ({ to: p, data: m[s.id][p], label: 'x' }));
      return s.round(out, s.peers);
    });
    for (const i of [0, 1, 2] as PartyId[]) {
      for (const j of [0, 1, 2] as PartyId[]) if (i !== j) expect(eq(got[j].get(i), m[i][j])).to.equal(true);
    }
  });

  it('merges all messages to one peer into one frame and counts bytes per label, phase and peer', async () => {
    const a = bytes(13);
    const b = bytes(8 * 5);
    const c = bytes(7);
    const [c0, c1, c2] = await runInProcess(async (s) => {
      if (s.id === 0) {
        await s.round(
          [
            { to: 1, data: a, label: 'drelu.reveal' },
            { to: 1, data: b, label: 'conv.mask', phase: 'oneTime' },
            { to: 1, data: c, label: 'drelu.reveal', phase: 'preprocessing' },
            { to: 2, data: c, label: 'drelu.digits' },
          ],
          [],
        );
      } else if (s.id === 1) {
        const got = await s.round([], [0]);
        expect(eq(got.get(0), Buffer.concat([a, b, c]))).to.equal(true);
        expect(got.get(0)!.byteOffset % 8).to.equal(0);
      } else {
        const got = await s.round([{ to: 1, data: new Uint8Array(0), label: 'empty' }], [0]);
        expect(eq(got.get(0), c)).to.equal(true);
      }
      if (s.id === 1) await s.round([], [2]);
      return s.counters;
    });
    expect(c0.framesSent).to.deep.equal([0, 1, 1]);
    expect(c1.framesReceived).to.deep.equal([1, 0, 1]);
    expect(c0.sent).to.deep.equal({ online: 13 + 7, preprocessing: 7, oneTime: 40 });
    expect(c1.received).to.deep.equal({ online: 13, preprocessing: 7, oneTime: 40 });
    expect(c2.received).to.deep.equal({ online: 7, preprocessing: 0, oneTime: 0 });
    expect(c0.sentTo).to.deep.equal([0, 60, 7]);
    expect(c0.byLabel.get('drelu.reveal')).to.equal(20);
    expect(c0.byLabel.get('conv.mask')).to.equal(40);
    expect(c0.byLabel.get('drelu.digits')).to.equal(7);
    expect(c0.byLabelPhase.get('drelu.reveal')).to.deep.equal({ online: 13, preprocessing: 7, oneTime: 0 });
    expect(c0.rounds).to.equal(1);
    expect(c1.rounds).to.equal(2);
    expect(c2.rounds).to.equal(1);
    expect(c2.framesSent).to.deep.equal([0, 1, 0]);
    expect(c1.receivedFrom).to.deep.equal([60, 0, 0]);
  });

  it('keeps rounds in order across many rounds and overlapping calls', async () => {
    const n = 50;
    const res = await runInProcess(async (s) => {
      const calls = [];
      for (let r = 0; r < n; r++) {
        calls.push(s.round(s.peers.map((p) => ({ to: p, data: new Uint8Array([s.id, r]), label: 'seq' })), s.peers));
      }
      return (await Promise.all(calls)).map((f) => s.peers.map((p) => Array.from(f.get(p)!)));
    });
    for (const id of [0, 1, 2] as const) {
      const peers = [0, 1, 2].filter((p) => p !== id);
      for (let r = 0; r < n; r++) expect(res[id][r]).to.deep.equal(peers.map((p) => [p, r]));
    }
  });

  it('gives equal shared streams to both peers of a pair, equal common streams, distinct purposes', async () => {
    const [s0, s1, s2] = await createInProcessSessions();
    try {
      expect(eq(s0.shared(1, 'm').bytes(32), s1.shared(0, 'm').bytes(32))).to.equal(true);
      expect(eq(s1.shared(2, 'm').bytes(32), s2.shared(1, 'm').bytes(32))).to.equal(true);
      const x = s0.shared(2, 'm').bytes(32);
      expect(eq(s2.shared(0, 'm').bytes(32), x)).to.equal(true);
      expect(eq(s0.shared(1, 'other').bytes(32), x)).to.equal(false);
      const c = s0.common('c').bytes(32);
      expect(eq(s1.common('c').bytes(32), c)).to.equal(true);
      expect(eq(s2.common('c').bytes(32), c)).to.equal(true);
      expect(eq(s1.own('c').bytes(32), s2.own('c').bytes(32))).to.equal(false);
      expect(s0.fingerprint).to.equal(s2.fingerprint);
    } finally {
      await Promise.all([s0.close(), s1.close(), s2.close()]);
    }
  });

  it('derives different keys in two sessions', async () => {
    const a = await createInProcessSessions();
    const b = await createInProcessSessions();
    try {
      expect(eq(a[0].shared(1, 'k').bytes(32), b[0].shared(1, 'k').bytes(32))).to.equal(false);
      expect(eq(a[1].shared(2, 'k').bytes(32), b[1].shared(2, 'k').bytes(32))).to.equal(false);
      expect(eq(a[0].common('k').bytes(32), b[0].common('k').bytes(32))).to.equal(false);
      expect(a[0].fingerprint).to.not.equal(b[0].fingerprint);
    } finally {
      await Promise.all([...a, ...b].map((s) => s.close()));
    }
  });

  it('fails rounds waiting on a party that closes, naming it', async () => {
    const [s0, s1, s2] = await createInProcessSessions();
    const pending = s0.round([], [2]);
    const pending1 = s1.round([], [2]);
    await s2.close();
    const e = await expectRuntimeError(pending, 'MPCC5012');
    expect(e.peer).to.equal(2);
    expect(e.message).to.contain('peer 2 (helper)');
    const e1 = await expectRuntimeError(pending1, 'MPCC5012');
    expect(e1.peer).to.equal(2);
    await expectRuntimeError(s0.round([{ to: 2, data: bytes(1), label: 'x' }], []), 'MPCC5012');
    await Promise.all([s0.close(), s1.close()]);
  });

  it('propagates the first error of runInProcess and makes the other parties fail, not hang', async () => {
    const seen: string[] = [];
    const t0 = Date.now();
    try {
      await runInProcess(async (s) => {
        if (s.id === 1) throw new Error('server exploded');
        try {
          return await s.round([], [1]);
        } catch (e) {
          seen.push((e as RuntimeError).code);
          throw e;
        }
      });
      expect.fail('runInProcess should have thrown');
    } catch (e) {
      expect((e as Error).message).to.equal('server exploded');
    }
    expect(seen.sort()).to.deep.equal(['MPCC5011', 'MPCC5011']);
    expect(Date.now() - t0).to.be.below(3000);
  });

  it('rejects a frame whose length differs from the expected one', async () => {
    const [s0, s1, s2] = await createInProcessSessions();
    void s0.round([{ to: 1, data: bytes(10), label: 'x' }], []);
    const e = await expectRuntimeError(s1.round([], [0], { 0: 16 }), 'MPCC5021');
    expect(e.message).to.contain('peer 0 (client)');
    expect(e.message).to.contain('round 1: its frame carries 10 bytes, the schedule expects 16 bytes');
    await Promise.all([s0.close(), s1.close(), s2.close()]);
  });

  it('detects a deadlock instead of hanging', async () => {
    const [s0, s1, s2] = await createInProcessSessions();
    const all = [s0.round([], [1]), s1.round([], [2]), s2.round([], [0])];
    for (const p of all) await expectRuntimeError(p, 'MPCC5013');
    await Promise.all([s0.close(), s1.close(), s2.close()]);
  });

  it('rejects sending to itself', async () => {
    const [s0, s1, s2] = await createInProcessSessions();
    await expectRuntimeError(s0.round([{ to: 0, data: bytes(1), label: 'x' }], []), 'MPCC5010');
    await Promise.all([s0.close(), s1.close(), s2.close()]);
  });

  it('fails a round that waits longer than roundTimeoutMs, naming the silent peer', async () => {
    const [s0, s1, s2] = await createInProcessSessions({ roundTimeoutMs: 200 });
    const t0 = Date.now();
    void s1.round([{ to: 0, data: bytes(4), label: 'x' }], []);
    const e = await expectRuntimeError(s0.round([], [1, 2]), 'MPCC5002');
    expect(Date.now() - t0).to.be.below(3000);
    expect(e.peer).to.equal(2);
    expect(e.message).to.contain('peer 2 (helper)');
    await Promise.all([s0.close(), s1.close(), s2.close()]);
  });
});
