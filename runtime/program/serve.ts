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
//
// Pre-dealing (serving.ts, keys.ts "Pre-dealt bundles"): P1 and P2 make their one-time setup at
// start-up instead, B drawn from a key they agree over their link (adoptSetup), so that P2
// holds B before any client; every client's first inference then resends W − B, as a later
// client's does without pre-dealing. P2 deals each next inference's offline phase on a
// bundle's streams while no client is there (deal), and the inference that uses the bundle
// runs only the phase's exchange (RunOptions.predealt).

import type { WeightKey } from '../protocols/index.js';
import { weightKey } from '../protocols/weights.js';
import { ringWidthBytes } from '../protocols/wire.js';
import { PrgFamily } from '../session/prg.js';
import type { Session } from '../session/session.js';
import { runtimeError } from '../diagnostics.js';
import type { PartyArtifacts } from './artifacts.js';
import { predealOffline, type DealtOffline } from './offline.js';
import type { BundleStreams } from '../session/party-session.js';
import { runProgram, type ProgramProgress, type RunResult } from './run.js';
import { bilinearMap } from './steps.js';

/** A serving server's program runner: its setup's id and one inference. */
export interface ServerRunner {
  /** Id of the one-time setup this server holds, or null. */
  setupId(): string | null;
  /** Runs inference `index` of a client on `session`; `reuseSetup`: the setup both servers
   * agreed to reuse for this client (index 0), or null to make a new one. */
  run(session: Session & { fingerprint: string }, index: number, reuseSetup: string | null, beforeOnline?: () => Promise<void>, predealt?: Promise<unknown>): Promise<RunResult>;
  /** P1, P2: makes the one-time setup from `key` (16 bytes only the pair holds), named `id`,
   * before any client: B = the stream 'weights/<layer>' of `key` per layer. */
  adoptSetup(id: string, key: Uint8Array): void;
  /** P2: the offline work of its next inference, dealt on a bundle's streams (needs the setup). */
  deal(streams: BundleStreams, signal?: AbortSignal): Promise<DealtOffline>;
}

/** The runner of a serving P1 or P2 over its artifacts. */
export function serverRunner(arts: PartyArtifacts, onProgress?: (p: ProgramProgress) => void): ServerRunner {
  let kept: { id: string; keys: Map<string, WeightKey> } | null = null;
  let clientKeys: Map<string, WeightKey> | null = null;
  return {
    setupId: () => kept?.id ?? null,
    async run(session, index, reuseSetup, beforeOnline, predealt) {
      const reuse =
        index > 0 && clientKeys ? { keys: clientKeys, mode: 'skip' as const } : reuseSetup !== null && kept?.id === reuseSetup ? { keys: kept.keys, mode: 'resend' as const } : undefined;
      const r = await runProgram(session, arts.program, { weights: arts.weights, kernels: arts.kernels, onProgress, reuse, beforeOnline: beforeOnline ?? undefined, predealt: predealt as Promise<DealtOffline> | undefined });
      if (!reuse) kept = { id: session.fingerprint, keys: r.keys };
      clientKeys = r.keys;
      return r;
    },
    adoptSetup(id, key) {
      const party = arts.program.party;
      if (party === 0) throw new Error('internal: the client makes no setup');
      const family = new PrgFamily(key);
      const keys = new Map<string, WeightKey>();
      for (const st of arts.program.setup) {
        const map = bilinearMap(st.map, st.ring);
        const b = family.get(`weights/${st.name}`).ring(map.wSize);
        // The ring of the layer's messages, as setupWeights keeps it (weights.ts WeightKey.ring).
        const ring = ringWidthBytes(st.ring);
        if (party === 2) keys.set(st.name, weightKey(map, b, null, ring));
        else {
          const w = arts.weights.get(st.weights);
          if (!w) throw runtimeError('MPCC5205', [st.weights]);
          keys.set(st.name, weightKey(map, w, b, ring));
        }
      }
      kept = { id, keys };
    },
    deal(streams, signal) {
      if (!kept) return Promise.reject(new Error('internal: pre-dealing needs the one-time setup'));
      return predealOffline(arts.program, kept.keys, streams, { signal });
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
