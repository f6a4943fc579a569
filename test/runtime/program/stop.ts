// A stop (SIGTERM) during the offline phase, as `mpcc party` turns it into an abort: the three
// parties run `program`, P0 is stopped once its offline phase has prepared `after` steps, and
// every party that fails aborts its session (the peers learn why from P0's abort).

import { createInProcessSessions } from '../../../runtime/session/connect.js';
import { runProgram, type Program, type RunResult } from '../../../runtime/program/index.js';
import type { PartyId } from '../../../runtime/session/session.js';

/** Each party's result (null when it failed) and error, and the wall milliseconds of the whole. */
export async function stopDuringOffline(program: (p: PartyId) => Program, input: ArrayLike<number>, weights: Map<string, BigUint64Array>, after = 1): Promise<{ results: (RunResult | null)[]; errors: unknown[]; ms: number }> {
  const stop = new AbortController();
  const errors: unknown[] = [null, null, null];
  const ss = await createInProcessSessions();
  const t0 = Date.now();
  const results = await Promise.all(
    ss.map(async (s) => {
      try {
        return await runProgram(s, program(s.id), {
          input: s.id === 0 ? input : null,
          weights: s.id === 1 ? weights : undefined,
          signal: s.id === 0 ? stop.signal : undefined,
          onProgress: (p) => s.id === 0 && p.phase === 'offline' && p.done === after && stop.abort('SIGTERM'),
        });
      } catch (e) {
        errors[s.id] = e;
        await s.abort(e as Error);
        return null;
      }
    }),
  );
  return { results, errors, ms: Date.now() - t0 };
}
