import { expect } from 'chai';
import { runInWorkers, settleInWorkers } from '../../../runtime/transport/workers.js';
import { RuntimeError } from '../../../runtime/diagnostics.js';

const JOBS = new URL('./fixtures/worker-jobs.js', import.meta.url);

describe('runtime/worker-thread transport', function () {
  this.timeout(30_000);

  it('runs the three parties on their own threads with agreeing keys and counters', async () => {
    const size = 100_003;
    const rounds = 4;
    const res = await runInWorkers<{ ok: boolean; sent: number; received: number; rounds: number; common: string }>(JOBS, 'exchange', { size, rounds });
    for (const r of res) {
      expect(r.ok).to.equal(true);
      expect(r.sent).to.equal(2 * size * rounds);
      expect(r.received).to.equal(2 * size * rounds);
      expect(r.rounds).to.equal(rounds);
      expect(r.common).to.equal(res[0].common);
    }
  });

  it('rethrows the error of the party that threw; the others fail instead of hanging', async () => {
    const t0 = Date.now();
    try {
      await runInWorkers(JOBS, 'failing', { who: 1, how: 'throw' });
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.equal('party 1 failed on purpose');
    }
    expect(Date.now() - t0).to.be.below(5000);
  });

  it('fails the others within 5 s, naming the party, when a party thread exits mid-protocol', async () => {
    const t0 = Date.now();
    const [o0, o1, o2] = await settleInWorkers(JOBS, 'failing', { who: 2, how: 'exit' });
    expect(Date.now() - t0).to.be.below(5000);
    expect(o2.ok).to.equal(false);
    expect(!o2.ok && o2.error.message).to.contain('exited with code 3');
    for (const o of [o0, o1]) {
      expect(o.ok).to.equal(false);
      const e = (o as { error: Error }).error as RuntimeError;
      expect(e).to.be.instanceOf(RuntimeError);
      expect([e.code, e.peer]).to.deep.equal(['MPCC5001', 2]);
      expect(e.message).to.contain('peer 2 (helper) disconnected');
    }
    try {
      await runInWorkers(JOBS, 'failing', { who: 2, how: 'exit' });
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.contain('exited with code 3');
    }
  });

  it('reports a missing export as the error', async () => {
    try {
      await runInWorkers(JOBS, 'noSuchJob');
      expect.fail('should have thrown');
    } catch (e) {
      expect(e).to.not.be.instanceOf(RuntimeError);
      expect((e as Error).message).to.contain("no exported function 'noSuchJob'");
    }
  });
});
