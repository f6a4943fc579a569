// The program executor: runs one party's program on its session, its kernel calls going to
// the party's kernels module (the model's kernels.wasm), in three phases:
//   one-time setup  all weight layers' masks in one merged round (once per client);
//   offline         the input-independent work of this inference (offline.ts: P0's and
//                   P2's mask convolutions), closed by one 'offline.ready' exchange; a
//                   client's input that is ready earlier waits for it;
//   online          from the input to the revealed output: the inference steps as a
//                   dataflow, a step starting as soon as its inputs are done, all started
//                   steps running concurrently, and the RoundMerger turning each round in
//                   which they all wait into one exchange. The first round of every
//                   communicating step must be the one the compiler scheduled.

import { runtimeError } from '../diagnostics.js';
import type { KernelsModule } from '../kernels/kernels-module.js';
import { useKernels } from '../kernels/ring-wasm.js';
import { keepConvWeights } from '../ring/ring.js';
import { idleLocalSteps, SKIPPED_VALUE } from './idle-local-steps.js';
import { resendWeights, setupWeights } from '../protocols/index.js';
import type { WeightKey } from '../protocols/index.js';
import { ringWidthBytes } from '../protocols/wire.js';
import type { Counters, PartyId, Session } from '../session/session.js';
import { RoundMerger } from './merger.js';
import type { StepSession } from './merger.js';
import { applyPost } from './post.js';
import { PROGRAM_FORMAT, type Program, type ProgramStep } from './program.js';
import { bilinearMap, stepKind, type StepContext } from './steps.js';
import { warmUpOnce } from './warm-up.js';
import { checkOfflineTag, exchangeOffline, OfflineMaterial, prepareOffline, untilStopped, type DealtOffline } from './offline.js';

/** Where the executor is, for progress reports. */
export interface ProgramProgress {
  phase: 'setup' | 'offline' | 'inference';
  /** Steps finished / all steps of the phase. */
  done: number;
  total: number;
  /** Merged rounds so far in the phase. */
  round: number;
  /** The step that just finished. */
  step?: string;
}

/** Inputs of runProgram. */
export interface RunOptions {
  /** P0: the client's input (reals, row-major in the program's input shape), or its promise:
   * the offline phase runs meanwhile, and the online phase starts when both are done. */
  input?: ArrayLike<number> | Promise<ArrayLike<number>> | null;
  /** This inference's offline material, prepared earlier on this session (prepareOffline);
   * refused when made for another session or program (MPCC5050). Without it runProgram runs
   * the offline phase itself. */
  offline?: OfflineMaterial;
  /** A serving helper's offline work pre-dealt for this session's bundle (offline.ts
   * predealOffline), or its promise (still dealing: the phase waits for it); the phase then only
   * runs its exchange. Refused when made for another bundle or program (MPCC5050). */
  predealt?: DealtOffline | Promise<DealtOffline>;
  /** A stop request (e.g. SIGTERM): ends the run with MPCC5051 naming the phase it stopped
   * (one-time setup, offline, online), between two layers of the offline work or at once while
   * waiting; the caller aborts the session, and nothing is written. */
  signal?: AbortSignal;
  /** P1: its encoded constants by key (weights.bin); others pass none. */
  weights?: Map<string, BigUint64Array>;
  /** The party's kernels module (its kernels.wasm, loadPartyArtifacts); without it the
   * runtime's generic module, which lacks the model's specialized kernels. */
  kernels?: KernelsModule;
  onProgress?: (p: ProgramProgress) => void;
  /** Called once the offline phase is done, before the online phase, which waits for it: a
   * serving client reports its inference prepared, serving P1 and P2 wait for the client's
   * word that its input is there (runtime/transport/serving.ts). */
  beforeOnline?: () => Promise<void>;
  /** A serving party's one-time setup kept from an earlier inference (RunResult.keys):
   * 'skip' uses it as is (the same client again: no setup round); 'resend' (P1, P2: a new
   * client) runs the setup round with it, P1 sending W − B again from the kept mask. */
  reuse?: { keys: Map<string, WeightKey>; mode: 'skip' | 'resend' };
}

/** What a party gets from a run. */
export interface RunResult {
  party: PartyId;
  /** P0: every graph output (after the client's post-processing); others: empty. */
  outputs: Map<string, Float64Array>;
  /** Merged online rounds, offline rounds (the closing exchange: 0 or 1) and one-time rounds
   * this party went through. */
  rounds: number;
  offlineRounds: number;
  oneTimeRounds: number;
  counters: Counters;
  /** The one-time setup's keys (weights' masks), for later inferences (RunOptions.reuse). */
  keys: Map<string, WeightKey>;
  /** Wall seconds of the one-time setup, of this inference's offline phase and of its online
   * phase (input given → output revealed: the latency a client feels). */
  seconds: { setup: number; offline: number; online: number };
  /** CPU seconds (user + system, every thread of this process) of the offline and online
   * phases: what the party computed, apart from its waits (parties sharing one process, as
   * in-process runs do, each count the process's). */
  cpuSeconds: { offline: number; online: number };
  /** The helper's pre-dealing of this inference (before its session, outside its clock):
   * wall seconds of the computation; null when the inference was not pre-dealt. */
  predealSeconds: number | null;
}

/** Runs `program` as this party; every party calls it with its own program. */
export async function runProgram(session: Session, program: Program, options: RunOptions = {}): Promise<RunResult> {
  if (program.format !== PROGRAM_FORMAT) throw runtimeError('MPCC5207', [program.format, PROGRAM_FORMAT]);
  if (program.party !== session.id) throw runtimeError('MPCC5208', [program.party, session.id]);
  // Every kernel call of the run goes to this module's instance (ring-wasm.ts says which
  // instance is active when one process runs several parties or models).
  useKernels(options.kernels ?? null);
  if (session.id === 0 && (options.input === undefined || options.input === null)) throw runtimeError('MPCC5209', ['party 0 needs the input']);
  const weights = options.weights ?? new Map<string, BigUint64Array>();
  const progress = options.onProgress ?? (() => undefined);

  // One-time setup: every weight layer's setupWeights concurrently, one merged round. Before
  // it, once per process, the online phase's code compiled (warm-up.ts): before any round, so
  // no peer's round timer runs while this party warms up.
  const t0 = performance.now();
  await warmUpOnce(program);
  const reuse = options.reuse;
  if (reuse?.mode === 'resend' && session.id === 0) throw runtimeError('MPCC5209', ['party 0 receives the one-time setup, it never resends it']);
  const keys = reuse?.mode === 'skip' ? reuse.keys : new Map<string, WeightKey>();
  const setup = new RoundMerger(session);
  setup.hold();
  const setupDone = Promise.all(
    (reuse?.mode === 'skip' ? [] : program.setup).map(async (st, i) => {
      const ss = setup.open(`setup/${st.name}`, i);
      try {
        const kept = reuse?.keys.get(st.name);
        if (reuse && !kept) throw runtimeError('MPCC5205', [st.name]);
        const w = session.id === 1 && !kept ? weights.get(st.weights) : null;
        if (session.id === 1 && !kept && !w) throw runtimeError('MPCC5205', [st.weights]);
        keys.set(st.name, kept ? await resendWeights(ss, kept) : await setupWeights(ss, bilinearMap(st.map, st.ring), w ?? null, st.name, ringWidthBytes(st.ring)));
        progress({ phase: 'setup', done: keys.size, total: program.setup.length, round: setup.rounds, step: st.name });
      } catch (e) {
        setup.fail(e);
        throw e;
      } finally {
        ss.done();
      }
    }),
  );
  setup.release();
  await (options.signal ? untilStopped(setupDone, options.signal, 'one-time setup') : setupDone);
  if (setup.rounds !== (reuse?.mode === 'skip' ? 0 : program.oneTimeRounds)) throw runtimeError('MPCC5203', ['one-time setup', setup.rounds, program.oneTimeRounds]);
  // Every party's weights stay as they are for the whole session (P1's clear W, P0's W − B,
  // P2's B): each convolution's packing (or shared copy) is made once here, not in every
  // inference's products (ring.ts keepConvWeights).
  for (const st of program.setup) {
    const held = keys.get(st.name)?.held;
    if (held && st.map.kind === 'conv') keepConvWeights(held, st.map.conv, st.ring);
  }

  // Offline: this inference's input-independent work, unless it was prepared before.
  const t1 = performance.now();
  const cpu1 = cpuNow();
  let offline = options.offline;
  let predealSeconds: number | null = null;
  if (offline) checkOfflineTag(offline, session, program);
  else if (options.predealt) {
    const pending = Promise.resolve(options.predealt);
    const dealt = await (options.signal ? untilStopped(pending, options.signal, 'offline') : pending);
    predealSeconds = dealt.seconds;
    offline = await exchangeOffline(session, program, dealt, { signal: options.signal }, t1);
  } else
    offline = await prepareOffline(session, program, keys, { signal: options.signal, onStep: (done, total, step) => progress({ phase: 'offline', done, total, round: 0, step }) });
  const offlineSeconds = options.offline ? options.offline.seconds : (performance.now() - t1) / 1000;

  if (options.beforeOnline) {
    const gate = options.beforeOnline();
    await (options.signal ? untilStopped(gate, options.signal, 'offline') : gate);
  }
  // Online: from the input (which may have waited for the offline phase) to the output.
  const given = Promise.resolve(session.id === 0 ? options.input : null);
  const input = (await (options.signal ? untilStopped(given, options.signal, 'offline') : given)) ?? null;
  if (session.id === 0 && !input) throw runtimeError('MPCC5209', ['party 0 needs the input']);
  const t2 = performance.now();
  const cpu2 = cpuNow();
  const revealed = new Map<string, Float64Array>();
  const ctxBase = { session, frac: program.frac, keys, weights, input, revealed };
  const online = runSteps(session, program.steps, ctxBase, progress, offline);
  const rounds = await (options.signal ? untilStopped(online, options.signal, 'online') : online);
  if (rounds !== program.rounds) throw runtimeError('MPCC5203', ['inference', rounds, program.rounds]);
  const cpu3 = cpuNow();
  const unused = offline.left;
  if (unused.length > 0) throw runtimeError('MPCC5052', [unused[0]]);

  const outputs = new Map<string, Float64Array>();
  if (session.id === 0) {
    for (const o of program.outputs) {
      const v = revealed.get(o.value);
      if (!v) throw runtimeError('MPCC5210', [o.value]);
      outputs.set(o.name, applyPost(v, o.shape, o.post));
    }
  }
  const seconds = { setup: (t1 - t0) / 1000, offline: offlineSeconds, online: (performance.now() - t2) / 1000 };
  const cpuSeconds = { offline: options.offline ? 0 : cpu2 - cpu1, online: cpu3 - cpu2 };
  return { party: session.id, outputs, rounds, offlineRounds: offline.rounds, oneTimeRounds: setup.rounds, counters: session.counters, keys, seconds, cpuSeconds, predealSeconds };
}

/** This process's CPU seconds so far (user + system). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Runs the steps as a dataflow through one merger; returns the merged rounds. */
function runSteps(session: Session, steps: readonly ProgramStep[], base: Omit<StepContext, 'params'>, progress: (p: ProgramProgress) => void, offline: OfflineMaterial): Promise<number> {
  const scheduled = new Map<StepSession, ProgramStep>();
  const merger = new RoundMerger(
    session,
    (ss, merged) => {
      const st = scheduled.get(ss)!;
      if (st.round !== merged) throw runtimeError('MPCC5202', [st.name, st.op, merged, st.round]);
    },
    offline,
  );
  const values = new Map<string, BigUint64Array>();
  const skipped = session.id === 1 ? new Set<number>() : idleLocalSteps({ steps }, session.id);
  const producer = new Map<string, number>();
  steps.forEach((st, i) => st.outputs.forEach((v) => producer.set(v, i)));
  const consumers: number[][] = steps.map(() => []);
  const missing = steps.map((st, i) => {
    const deps = new Set<number>();
    for (const v of st.inputs) {
      const p = producer.get(v);
      if (p === undefined) throw runtimeError('MPCC5210', [v]);
      deps.add(p);
    }
    for (const p of deps) consumers[p].push(i);
    return deps.size;
  });
  // Readers left per value: a value is dropped when its last reader has started, so a big
  // model holds only the activations still ahead of the schedule, not all of them.
  const readers = new Map<string, number>();
  for (const st of steps) for (const v of st.inputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  let finished = 0;
  return new Promise<number>((resolve, reject) => {
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      merger.fail(e);
      reject(e);
    };
    const start = (i: number): void => {
      const st = steps[i];
      const ss = merger.open(st.name, i);
      scheduled.set(ss, st);
      void (async () => {
        try {
          const fn = stepKind(st.kind);
          const ins = st.inputs.map((v) => values.get(v)!);
          for (const v of st.inputs) {
            const left = readers.get(v)! - 1;
            readers.set(v, left);
            if (left === 0) values.delete(v);
          }
          // P0's and P2's idle local steps in the client-offline mode (idle-local-steps.ts): a placeholder.
          const outs = skipped.has(i) ? st.outputs.map(() => SKIPPED_VALUE) : await fn({ ...base, session: ss, params: st.params, step: st.name }, ins);
          if (st.rounds > 0 && ss.calls === 0) throw runtimeError('MPCC5202', [st.name, st.op, 'none', st.round]);
          if (outs.length !== st.outputs.length) throw runtimeError('MPCC5211', [st.name, outs.length, st.outputs.length]);
          st.outputs.forEach((v, j) => readers.has(v) && values.set(v, outs[j]));
          finished++;
          progress({ phase: 'inference', done: finished, total: steps.length, round: merger.rounds, step: st.name });
          // Dependents become live before this step leaves, so the merger never flushes a
          // round they should have joined.
          for (const c of consumers[i]) if (--missing[c] === 0) start(c);
          if (finished === steps.length) resolve(merger.rounds);
        } catch (e) {
          fail(e);
        } finally {
          ss.done();
        }
      })();
    };
    if (steps.length === 0) resolve(0);
    merger.hold();
    missing.forEach((m, i) => m === 0 && start(i));
    merger.release();
  });
}
