// Running one function as all three parties of a session (tests, benchmarks, the
// single-process executor): each party's session closes as soon as its part is done, and the
// first party that throws aborts the session, so the others fail instead of hanging.

import type { PartySession } from './party-session.js';

/** Runs `fn` on the three sessions concurrently; returns the results by party id or throws
 * the first error any party threw (the others' consequent abort errors are dropped). */
export async function runParties<S extends PartySession, T>(sessions: readonly [S, S, S], fn: (s: S) => Promise<T>): Promise<[T, T, T]> {
  let firstError: unknown = undefined;
  let failed = false;
  const runs = sessions.map(async (s) => {
    try {
      const result = await fn(s);
      // A party that is done sends nothing more: its goodbye fails reads still waiting on it.
      await s.close();
      return result;
    } catch (e) {
      if (!failed) {
        failed = true;
        firstError = e;
      }
      await s.abort(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
  });
  const settled = await Promise.allSettled(runs);
  await Promise.all(sessions.map((s) => s.close()));
  if (failed) throw firstError;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value) as [T, T, T];
}
