// Checks that what a protocol call did to the session counters equals its cost formula.

import { expect } from 'chai';
import type { Session } from '../../../runtime/session/session.js';
import { expectedCounters } from '../../../runtime/protocols/costs.js';
import type { Cost } from '../../../runtime/protocols/costs.js';
import { delta, run3, snapshot } from './harness.js';

/** Runs fn on all three parties and asserts the counters moved exactly as `cost` says. */
export async function withCost<T>(ss: readonly Session[], cost: Cost, fn: (s: Session) => Promise<T>): Promise<[T, T, T]> {
  const before = ss.map(snapshot);
  const out = await run3(ss, fn);
  ss.forEach((s, p) => {
    const d = delta(snapshot(s), before[p]);
    const e = expectedCounters(cost, s.id);
    expect(d.rounds, `rounds of P${p}`).to.equal(e.rounds);
    expect(d.sent, `bytes sent by P${p}`).to.deep.equal(e.sent);
    expect(d.received, `bytes received by P${p}`).to.deep.equal(e.received);
    expect(d.sentTo, `bytes P${p} sent per peer`).to.deep.equal(e.sentTo);
    expect(Object.fromEntries(d.byLabel), `bytes P${p} sent per label`).to.deep.equal(Object.fromEntries(e.byLabel));
  });
  return out;
}
