// Party functions for the worker-thread rows of `npm run bench -- protocols` (imported by each
// worker of runInWorkers): every party times its own runs; the parties pace each other
// through the protocol's rounds, so the slowest party's time of a run is its wall time.

import type { PartySession } from '../runtime/session/party-session.js';
import { drelu } from '../runtime/protocols/compare.js';

/** What a party reports: its seconds per timed run, its output of the last run, and the
 * bytes it sent and rounds it took in one run. */
export interface TimedRuns {
  seconds: number[];
  out: BigUint64Array;
  sent: number;
  rounds: number;
}

/** DReLU on bits [0, k) of this party's share (`shares[id]`), one warm-up run then `reps`
 * timed runs. */
export async function dreluRuns(s: PartySession, arg: { shares: BigUint64Array[]; k: number; reps: number }): Promise<TimedRuns> {
  const x = arg.shares[s.id];
  const w = { lo: 0, k: arg.k };
  let out = await drelu(s, x, w);
  const seconds: number[] = [];
  const sent = () => s.counters.sent.online + s.counters.sent.preprocessing + s.counters.sent.oneTime;
  let bytes = 0;
  let rounds = 0;
  for (let r = 0; r < arg.reps; r++) {
    const b0 = sent();
    const r0 = s.counters.rounds;
    const t0 = process.hrtime.bigint();
    out = await drelu(s, x, w);
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    bytes = sent() - b0;
    rounds = s.counters.rounds - r0;
  }
  return { seconds, out, sent: bytes, rounds };
}
