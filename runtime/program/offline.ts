// The offline phase of one inference: everything a party computes that does not depend on
// the client's input, done before the input is read, so the online phase (input given →
// output revealed) carries only the input-dependent work.
//
// What is input-independent today: for every product with P1's weights (steps 'weights' and
// 'reluWeights'), P0's and P2's mask convolutions — P0's product share map(A, W − B) + C0 and
// P2's correction map(A, B) − C0 (runtime/protocols/weights.ts, maskProduct), from the step's
// own 'weights' stream and the one-time setup's keys. P1 has nothing to prepare (its product
// reads x − A). The phase computes them in program order, keeps them in memory by step, and
// ends with one closing exchange: every party sends each peer an empty frame ('offline.ready',
// phase 'preprocessing') and waits for theirs, so no party's online clock starts while a peer
// still computes offline, and a client's input that is ready early waits for it. The online
// steps take their material once (Session.prepared) and draw nothing more from those streams.
//
// The material is tagged with the session's public fingerprint and the digest of the program
// it was made for: runProgram refuses material of another inference (session) or another model
// (MPCC5050), since its masks would not match the peers' and the output would be garbage.
// A stop (AbortSignal, e.g. SIGTERM) during the phase ends it with MPCC5051 between two layers;
// it writes nothing.

import { createHash } from 'node:crypto';
import { runtimeError } from '../diagnostics.js';
import { maskProduct, type WeightKey } from '../protocols/index.js';
import type { PartyId, Prg, Session } from '../session/session.js';
import { conv2dOutShape } from '../ring/windows.js';
import type { Program, ProgramStep, SetupStep } from './program.js';

/** Step kinds whose product has a mask convolution to prepare. */
const PRODUCT_KINDS: ReadonlySet<string> = new Set(['weights', 'reluWeights']);

/** The closing exchange may wait this long per multiply-accumulate a peer computes offline
 * (a 50 M MAC/s floor, far below the kernels' speed even with three parties on two cores),
 * instead of the session's round timeout when that is shorter. */
export const OFFLINE_MS_PER_MAC = 2e-5;

/** Which inference and model offline material belongs to. */
export interface OfflineTag {
  /** The session's public fingerprint (one per inference). */
  session: string;
  /** programDigest of the program it was prepared for. */
  program: string;
}

/** One inference's offline material, taken once per step by its online step. */
export class OfflineMaterial {
  constructor(
    readonly tag: OfflineTag,
    private readonly items: Map<string, unknown>,
    /** Wall seconds of the phase (closing exchange included) and its rounds (0 or 1). */
    readonly seconds: number,
    readonly rounds: number,
  ) {}

  /** The material of `purpose` ("step/purpose"), handed out once. */
  take(purpose: string): unknown {
    const v = this.items.get(purpose);
    this.items.delete(purpose);
    return v;
  }

  /** Purposes prepared but never taken. */
  get left(): string[] {
    return [...this.items.keys()];
  }
}

/** Digest of a party's program (what its offline material is made for). */
export function programDigest(program: Program): string {
  return createHash('sha256').update(JSON.stringify([program.party, program.frac, program.setup, program.steps])).digest('hex').slice(0, 32);
}

/** The public fingerprint of `session` ('' for sessions without one). */
export function sessionFingerprint(session: Session): string {
  const f = (session as { fingerprint?: unknown }).fingerprint;
  return typeof f === 'string' ? f : '';
}

/** Refuses material made for another session or program (MPCC5050). */
export function checkOfflineTag(material: OfflineMaterial, session: Session, program: Program): void {
  const want: OfflineTag = { session: sessionFingerprint(session), program: programDigest(program) };
  const got = material.tag;
  if (got.session !== want.session) throw runtimeError('MPCC5050', ['inference (session)', got.session || '(none)', want.session || '(none)']);
  if (got.program !== want.program) throw runtimeError('MPCC5050', ['model (program)', got.program, want.program]);
}

/** Multiply-accumulates of a setup's map (the offline work of one product at P0 or P2). */
function setupMacs(st: SetupStep): number {
  if (st.map.kind === 'matmul') return st.map.m * st.map.k * st.map.n;
  // Every output element sums one input channel group's window.
  const [, cg, kh, kw] = st.map.conv.weightShape;
  return conv2dOutShape(st.map.conv).reduce((a, b) => a * b, 1) * cg * kh * kw;
}

/** How long the offline phase's closing exchange may wait (ms): the peers' offline work, the
 * MACs of every product's mask convolution, at OFFLINE_MS_PER_MAC (the session's round timeout
 * when longer; none when the session waits forever). */
export function offlineWaitMs(program: Program): number {
  const work = new Map(program.setup.map((st) => [st.name, setupMacs(st)]));
  const macs = program.steps.filter((st) => PRODUCT_KINDS.has(st.kind)).reduce((t, st) => t + (work.get(String(st.params.layer)) ?? 0), 0);
  return Math.ceil(macs * OFFLINE_MS_PER_MAC);
}

/** Options of prepareOffline. */
export interface OfflineOptions {
  /** A stop request: ends the phase with MPCC5051 at the next layer. */
  signal?: AbortSignal;
  /** Told after each prepared step. */
  onStep?: (done: number, total: number, step: string) => void;
}

/** Runs the offline phase of one inference on `session`, after the one-time setup (`keys`);
 * every party calls it. Returns the tagged material for runProgram's online phase. */
export async function prepareOffline(session: Session, program: Program, keys: ReadonlyMap<string, WeightKey>, options: OfflineOptions = {}): Promise<OfflineMaterial> {
  const t0 = performance.now();
  const tag: OfflineTag = { session: sessionFingerprint(session), program: programDigest(program) };
  const items = new Map<string, unknown>();
  const products = program.steps.filter((st) => PRODUCT_KINDS.has(st.kind));
  if (products.length === 0) return new OfflineMaterial(tag, items, 0, 0);
  for (const [i, st] of products.entries()) {
    stopped(options.signal);
    const key = keys.get(String(st.params.layer));
    if (!key) throw runtimeError('MPCC5204', [String(st.params.layer)]);
    if (session.id !== 1) items.set(`${st.name}/weights`, maskProduct(stepStreams(session, st), key));
    options.onStep?.(i + 1, products.length, st.name);
    // Let a stop request (a signal handler) and the transport run between layers.
    await new Promise((r) => setImmediate(r));
  }
  stopped(options.signal);
  const peers = ([0, 1, 2] as PartyId[]).filter((p) => p !== session.id);
  const ready = session.round(
    peers.map((to) => ({ to, data: new Uint8Array(0), label: 'offline.ready', phase: 'preprocessing' as const })),
    peers,
    Object.fromEntries(peers.map((p) => [p, 0])),
    { timeoutMs: offlineWaitMs(program) },
  );
  await (options.signal ? untilStopped(ready, options.signal) : ready);
  return new OfflineMaterial(tag, items, (performance.now() - t0) / 1000, 1);
}

/** The streams step `st` sees online (purposes prefixed by its name, as a StepSession does),
 * without rounds: the offline work draws exactly what the online step would have drawn. */
function stepStreams(session: Session, st: ProgramStep): Session {
  const prefixed = (purpose: string) => `${st.name}/${purpose}`;
  return {
    id: session.id,
    counters: session.counters,
    shared: (peer: PartyId, purpose: string): Prg => session.shared(peer, prefixed(purpose)),
    common: (purpose: string): Prg => session.common(prefixed(purpose)),
    own: (purpose: string): Prg => session.own(prefixed(purpose)),
    round: () => Promise.reject(new Error(`internal: offline work of step '${st.name}' sent a message`)),
    close: async () => undefined,
  };
}

/** Throws MPCC5051 when `signal` asked to stop. */
function stopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw runtimeError('MPCC5051', [String(signal.reason ?? 'stopped'), 'offline']);
}

/** `p`, or MPCC5051 (naming `phase`) as soon as `signal` asks to stop; `p` keeps running
 * (its caller aborts the session, which ends it). */
export function untilStopped<T>(p: Promise<T>, signal: AbortSignal, phase = 'offline'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(runtimeError('MPCC5051', [String(signal.reason ?? 'stopped'), phase]));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
