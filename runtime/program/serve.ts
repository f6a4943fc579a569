// A party's program run many times (serving, runtime/transport/serving.ts): what each party
// keeps of the one-time setup between inferences, and which setup each inference runs.
//
// P1 and P2 keep the setup of their pair (P1: W and the mask B; P2: B), named by the
// fingerprint of the session that made it (public, the same at all three parties); a new
// client gets it again ('resend': P1 sends W − B, the same mask for every client) when both
// servers still hold the same one, else the first inference makes a new one. A client keeps
// W − B for its later inferences, which run no setup ('skip'). Every inference still has its
// own session, hence fresh keys for every other mask. An open client (inputs one by one)
// runs each inference's setup and offline phase before its input comes: `beforeOnline` is
// where P0 reports it prepared and P1 and P2 wait for the client's word.

import type { WeightKey } from '../protocols/index.js';
import type { Session } from '../session/session.js';
import type { PartyArtifacts } from './artifacts.js';
import { runProgram, type ProgramProgress, type RunResult } from './run.js';

/** A serving server's program runner: its setup's id and one inference. */
export interface ServerRunner {
  /** Id of the one-time setup this server holds, or null. */
  setupId(): string | null;
  /** Runs inference `index` of a client on `session`; `reuseSetup`: the setup both servers
   * agreed to reuse for this client (index 0), or null to make a new one. */
  run(session: Session & { fingerprint: string }, index: number, reuseSetup: string | null, beforeOnline?: () => Promise<void>): Promise<RunResult>;
}

/** The runner of a serving P1 or P2 over its artifacts. */
export function serverRunner(arts: PartyArtifacts, onProgress?: (p: ProgramProgress) => void): ServerRunner {
  let kept: { id: string; keys: Map<string, WeightKey> } | null = null;
  let clientKeys: Map<string, WeightKey> | null = null;
  return {
    setupId: () => kept?.id ?? null,
    async run(session, index, reuseSetup, beforeOnline) {
      const reuse =
        index > 0 && clientKeys ? { keys: clientKeys, mode: 'skip' as const } : reuseSetup !== null && kept?.id === reuseSetup ? { keys: kept.keys, mode: 'resend' as const } : undefined;
      const r = await runProgram(session, arts.program, { weights: arts.weights, kernels: arts.kernels, onProgress, reuse, beforeOnline: beforeOnline ?? undefined });
      if (!reuse) kept = { id: session.fingerprint, keys: r.keys };
      clientKeys = r.keys;
      return r;
    },
  };
}

/** How a client runs one inference beyond its input: a stop signal, and a call once the
 * inference is prepared (its offline phase done), before it waits for its input. */
export interface ClientInference {
  signal?: AbortSignal;
  beforeOnline?: () => Promise<void>;
}

/** The runner of a client P0: one inference per input over one connection, the one-time
 * setup received in the first and kept for the others. The input may be a promise: the
 * setup and offline phase run before it comes. */
export function clientRunner(arts: PartyArtifacts, onProgress?: (p: ProgramProgress) => void): (session: Session, input: ArrayLike<number> | Promise<ArrayLike<number>>, how?: ClientInference) => Promise<RunResult> {
  let keys: Map<string, WeightKey> | null = null;
  return async (session, input, how = {}) => {
    const r = await runProgram(session, arts.program, { input, kernels: arts.kernels, onProgress, reuse: keys ? { keys, mode: 'skip' } : undefined, signal: how.signal, beforeOnline: how.beforeOnline });
    keys = r.keys;
    return r;
  };
}
