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

/** For a protocol split into an offline part (its dealing and the offline exchange) and an
 * online part: runs both on the three parties and asserts that the bytes (per phase, peer and
 * label) equal `cost` and that the online part's rounds equal those of the cost's online flows. */
export async function withOfflineCost<D, T>(
  ss: readonly Session[],
  cost: Cost,
  offline: (s: Session) => Promise<D>,
  online: (s: Session, deal: D) => Promise<T>,
): Promise<[T, T, T]> {
  const before = ss.map(snapshot);
  const deals = await run3(ss, offline);
  const mid = ss.map(snapshot);
  const out = await run3(ss, (s) => online(s, deals[s.id]));
  const onlineOnly: Cost = { rounds: cost.rounds, flows: cost.flows.filter((f) => f.phase === 'online') };
  ss.forEach((s, p) => {
    const d = delta(snapshot(s), before[p]);
    const e = expectedCounters(cost, s.id);
    expect(delta(snapshot(s), mid[p]).rounds, `online rounds of P${p}`).to.equal(expectedCounters(onlineOnly, s.id).rounds);
    expect(d.sent, `bytes sent by P${p}`).to.deep.equal(e.sent);
    expect(d.received, `bytes received by P${p}`).to.deep.equal(e.received);
    expect(d.sentTo, `bytes P${p} sent per peer`).to.deep.equal(e.sentTo);
    expect(Object.fromEntries(d.byLabel), `bytes P${p} sent per label`).to.deep.equal(Object.fromEntries(e.byLabel));
  });
  return out;
}
