// The offline phase of one inference: everything a party computes that does not depend on
// the client's input, done before the input is read, so the online phase (input given →
// output revealed) carries only the input-dependent work.
//
// What is prepared, step by step in program order, on the step's own streams and in the order
// the online step continues them:
//   - for every product with P1's weights (steps 'weights', 'reluWeights', 'weightsSharedMask'):
//     P0's product share map(A, W − B) + C0 and P2's correction map(A, B) − C0 (weights.ts
//     maskProduct), from the one-time setup's keys; a 'weightsSharedMask' step takes the A of
//     the earlier step it names (`maskFrom`), whose masked copy P1 keeps; P1 has nothing to
//     prepare (its product reads x − A);
//   - for the first comparison of a fused (block-)ReLU, a block-ReLU or a ReLU that states its
//     size: the dealing (compare.ts dealCompare): the helper's r and Z_p bit shares of r with
//     P1's half as a correction, the holders' shares of r, their shared coins, P0's u share;
//     and the selection riding on it (select.ts dealSelect): the holders' shares of its mask a,
//     P0's and P2's c0, P2's a (no message: all from the streams);
//   - for a MaxPool: the same for every level of its trees (maxpool.ts maxPoolLevels), level by
//     level, each taken in turn by the level's ReLU (Session.prepared hands a purpose's items
//     out in order);
//   - for every exact truncation of a product (step 'truncateExact'): its dealing
//     (truncate-exact.ts dealTruncation: P0's wrap bits from its product share, the pads), whose
//     messages (P2's pad to P0, P0's choice bits to P1) ride in the closing exchange.
//   - in a program of the client-offline mode (program.ts CLIENT_OFFLINE_KINDS): P0 runs its
//     whole program here, and every 'helperSelect', 'truncateClientOffline' and
//     'weightsClientOffline' step is dealt from P0's offline shares (client-offline-pass.ts;
//     a 'weightsClientOffline' step with `maskFrom` takes the A of the earlier one it names);
//     their messages (P0's included) ride in the closing exchange, and a client-offline
//     product's correction always does (its online step has no round).
// The phase ends with its own rounds: when any comparison was prepared, P2 sends P1 their bit
// corrections ('drelu.bits', phase 'preprocessing', bytes the cost table already counts — they
// no longer travel in the comparison's first online round; one round, more only past
// OFFLINE_FRAME_BYTES) and P1 unpacks them; then a closing exchange between every pair
// ('offline.ready'), which also carries P2's product corrections map(A, B) − C0 to P1
// ('weights.correction', preprocessing; ProductCorrections: P1 keeps them until each product
// step takes its own, so the online frames carry no input-independent product bytes) and the
// truncations' dealing; then one more exchange of empty frames ('offline.done') once every party
// has taken in what the closing exchange brought. So no party's online clock starts while a peer
// still computes or unpacks offline, and a client's input that is ready early waits for it. The
// online steps take their material once (Session.prepared); a step without any (other kinds,
// later comparisons of a step) deals as before.
//
// The material is tagged with the session's public fingerprint and the digest of the program
// it was made for: runProgram refuses material of another inference (session) or another model
// (MPCC5050), since its masks would not match the peers' and the output would be garbage.
// A stop (AbortSignal, e.g. SIGTERM) during the phase ends it with MPCC5051 between two steps
// or at once while waiting; it writes nothing.

import { createHash } from 'node:crypto';
import { runtimeError } from '../diagnostics.js';
import { blockLayout, dealCompare, dealSelect, dealTruncation, fullWindow, maskProduct, maxPoolLevels, receiveCompareBits, receiveTruncationDealing, type BitWindow, type BlockSize, type CompareDealing, type MaskProduct, type TruncationDealing, type WeightKey } from '../protocols/index.js';
import type { PoolParams } from '../ring/windows.js';
import type { Outgoing, PartyId, Prg, Session } from '../session/session.js';
import { newCounters } from '../session/counters.js';
import type { BundleStreams } from '../session/party-session.js';
import { packRing, unpackRing } from '../protocols/wire.js';
import { keyRing } from '../protocols/weights.js';
import { conv2dOutShape } from '../ring/windows.js';
import { ClientOfflinePass } from './client-offline-pass.js';
import { CLIENT_OFFLINE_KINDS, isClientOffline, PRODUCT_KINDS, productValue, type Program, type ProgramStep, type SetupStep } from './program.js';
/** Step kinds whose comparisons' dealing is prepared (stepCompares). */
const COMPARE_KINDS: ReadonlySet<string> = new Set(['reluWeights', 'blockRelu', 'relu', 'maxPool']);

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
    /** By purpose, the items in the order the online step takes them (a MaxPool's levels). */
    private readonly items: Map<string, unknown[]>,
    /** Wall seconds of the phase (its exchanges included) and its rounds: 0 without offline
     * work, else the closing exchange and, with prepared comparisons, the bit corrections' round(s). */
    readonly seconds: number,
    readonly rounds: number,
  ) {}

  /** The next material of `purpose` ("step/purpose"), each handed out once. */
  take(purpose: string): unknown {
    const queue = this.items.get(purpose);
    const v = queue?.shift();
    if (queue?.length === 0) this.items.delete(purpose);
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

/** The comparison a step opens with (n elements on window w), known before the input: a
 * (block-)ReLU fused with a product (its input is the product's activation, or its tiles),
 * a block-ReLU (its tiles), a ReLU whose size the program states. None for the rest (their
 * comparisons deal online, as before) and for all-identity blocks. With it, the selection
 * riding on it: `selected` elements, on the comparison's own mask for a plain ReLU on the full
 * window (select.ts). */
function firstCompare(st: ProgramStep, keys: ReadonlyMap<string, WeightKey>): StepCompare | null {
  const w = st.params.window as BitWindow | undefined;
  if (!w) return null;
  const blocks = st.params.blocks as BlockSize[] | undefined;
  const shape = st.params.shape as [number, number, number, number] | undefined;
  if (st.kind === 'blockRelu' || (st.kind === 'reluWeights' && blocks && shape)) {
    const layout = blockLayout(shape!, blocks!);
    return layout.patches > 0 ? { n: layout.patches, w, selected: layout.selected.length, sharedMask: false } : null;
  }
  let n = 0;
  if (st.kind === 'reluWeights') n = keys.get(String(st.params.layer))?.map.xSize ?? 0;
  else if (st.kind === 'relu' && typeof st.params.size === 'number') n = st.params.size;
  return n > 0 ? { n, w, selected: n, sharedMask: fullWindow(w) } : null;
}

/** A comparison of a step and the selection riding on it. */
interface StepCompare {
  n: number;
  w: BitWindow;
  selected: number;
  sharedMask: boolean;
}

/** The comparisons a step runs whose sizes the program states, in the order it runs them:
 * the first one (firstCompare), or every level of a MaxPool's trees (a ReLU of the pairs'
 * differences each, maxpool.ts maxPoolLevels). */
function stepCompares(st: ProgramStep, keys: ReadonlyMap<string, WeightKey>): StepCompare[] {
  if (st.kind === 'maxPool') {
    const w = st.params.window as BitWindow | undefined;
    const pool = st.params.pool as PoolParams | undefined;
    if (!w || !pool) return [];
    return maxPoolLevels(pool).map((n) => ({ n, w, selected: n, sharedMask: fullWindow(w) }));
  }
  const first = firstCompare(st, keys);
  return first ? [first] : [];
}

/** Frames of the closing exchange stay below this, half the frame limit (P2's bit corrections
 * to P1 are split over as many rounds as it takes: all-ReLU resnet50's 0.44 GB take one). */
const OFFLINE_FRAME_BYTES = 512 * 2 ** 20;

/** Runs the offline phase of one inference on `session`, after the one-time setup (`keys`);
 * every party calls it. Returns the tagged material for runProgram's online phase. */
export async function prepareOffline(session: Session, program: Program, keys: ReadonlyMap<string, WeightKey>, options: OfflineOptions = {}): Promise<OfflineMaterial> {
  const t0 = performance.now();
  const dealt = await dealOffline(session, program, keys, { session: sessionFingerprint(session), program: programDigest(program) }, options);
  return exchangeOffline(session, program, dealt, options, t0);
}

/** A party's offline work computed, its exchange (the phase's rounds) still to run: what
 * prepareOffline does before its rounds, or what a serving helper pre-dealt (predealOffline). */
export interface DealtOffline {
  readonly tag: OfflineTag;
  readonly items: Map<string, unknown[]>;
  readonly dealings: CompareDealing[];
  readonly corrections: ProductCorrections;
  readonly pass: ClientOfflinePass | null;
  readonly truncations: TruncationDealing[];
  /** Steps with offline work (0: no exchange at all). */
  readonly work: number;
  /** Wall seconds of the computation. */
  readonly seconds: number;
}

/** The offline tag of a pre-dealt bundle's material. */
export function bundleTag(id: string): string {
  return `bundle:${id}`;
}

/** A serving helper's offline work for its next inference, before any client is there: P2's
 * whole offline computation (dealOffline) on the bundle's streams, with no peer (a message or
 * a common stream asked for is an internal error: the dealing has neither), tagged with the
 * bundle's id and the program's digest. runProgram (RunOptions.predealt) runs its exchange in
 * the session that uses the bundle. */
export function predealOffline(program: Program, keys: ReadonlyMap<string, WeightKey>, streams: BundleStreams, options: OfflineOptions = {}): Promise<DealtOffline> {
  if (program.party !== 2) throw new Error('internal: only the helper pre-deals');
  const counters = newCounters();
  const view: Session = {
    id: 2,
    counters,
    shared: (peer: PartyId, purpose: string): Prg => {
      if (peer !== 0 && peer !== 1) throw new Error(`internal: no stream with party ${peer}`);
      return streams.pairs[peer].get(purpose);
    },
    common: (purpose: string): Prg => {
      throw new Error(`internal: the pre-dealing asked for the common stream '${purpose}' (a pre-dealt bundle has none)`);
    },
    own: (purpose: string): Prg => streams.own.get(purpose),
    round: () => Promise.reject(new Error('internal: the pre-dealing sent a message (it has no peer)')),
    close: async () => undefined,
  };
  return dealOffline(view, program, keys, { session: bundleTag(streams.id), program: programDigest(program) }, options);
}

/** The offline computation of one inference (no message), tagged `tag`. */
async function dealOffline(session: Session, program: Program, keys: ReadonlyMap<string, WeightKey>, tag: OfflineTag, options: OfflineOptions): Promise<DealtOffline> {
  const t0 = performance.now();
  const items = new Map<string, unknown[]>();
  const put = (purpose: string, v: unknown) => {
    const queue = items.get(purpose);
    if (queue) queue.push(v);
    else items.set(purpose, [v]);
  };
  const work = program.steps.filter((st) => PRODUCT_KINDS.has(st.kind) || COMPARE_KINDS.has(st.kind) || CLIENT_OFFLINE_KINDS.has(st.kind));
  const dealings: CompareDealing[] = [];
  const corrections = new ProductCorrections();
  // A client-offline program: P0 walks all its steps offline (client-offline-pass.ts).
  const pass = isClientOffline(program) ? new ClientOfflinePass(session, program) : null;
  const isWork = new Set(work);
  // The A of each client-offline product whose mask a later one shares (maskFrom), kept until then (P0, P2).
  const sharedFrom = new Set(program.steps.filter((st) => st.kind === 'weightsClientOffline' && st.params.maskFrom !== undefined).map((st) => String(st.params.maskFrom)));
  const clientOfflineMasks = new Map<string, BigUint64Array>();
  let done = 0;
  for (const st of pass ? program.steps : work) {
    stopped(options.signal);
    const streams = stepStreams(session, st);
    // The step's comparison first, its product after: the streams are independent, and this
    // is the order in which the online step would draw them.
    // Each comparison's dealing, with the selection riding on it (its masks and P0's and P2's
    // c0, on the 'select' streams), in the order the step runs them.
    for (const cmp of stepCompares(st, keys)) {
      const d = dealCompare(streams, cmp.n, cmp.w);
      put(`${st.name}/drelu`, d);
      dealings.push(d);
      put(`${st.name}/select`, dealSelect(streams, cmp.selected, cmp.sharedMask));
    }
    let key: WeightKey | undefined;
    let m: MaskProduct | null = null;
    if (PRODUCT_KINDS.has(st.kind)) {
      key = keys.get(String(st.params.layer));
      if (!key) throw runtimeError('MPCC5204', [String(st.params.layer)]);
      const shared = () => (st.kind === 'weightsSharedMask' ? sharedMask(items, st) : st.kind === 'weightsClientOffline' && st.params.maskFrom !== undefined ? clientOfflineMask(clientOfflineMasks, st) : undefined);
      m = session.id !== 1 ? maskProduct(streams, key, shared()) : null;
      if (m && sharedFrom.has(st.name)) clientOfflineMasks.set(st.name, m.a);
      // A client-offline product's mask product goes to its dealing (P0's Z = y0 − A), and its
      // correction always travels offline: its online step has no round.
      const clientOffline = CLIENT_OFFLINE_KINDS.has(st.kind);
      if (m && !clientOffline) put(`${st.name}/weights`, m);
      corrections.add(st.name, key.map.ySize, m, clientOffline, keyRing(key));
    }
    if (pass) await pass.visit(st, streams, { key, mask: m }, put);
    if (!isWork.has(st)) continue;
    options.onStep?.(++done, work.length, st.name);
    // Let a stop request (a signal handler) and the transport run between layers.
    await new Promise((r) => setImmediate(r));
  }
  const truncations = dealTruncations(session, program, items, put);
  return { tag, items, dealings, corrections, pass, truncations, work: work.length, seconds: (performance.now() - t0) / 1000 };
}

/** The offline phase's rounds on `session` for work computed by dealOffline (here, or pre-dealt
 * by a serving helper: its tag must then name the session's bundle, MPCC5050); the material,
 * tagged with the session, its seconds counted from `t0`. */
export async function exchangeOffline(session: Session, program: Program, dealt: DealtOffline, options: OfflineOptions = {}, t0 = performance.now()): Promise<OfflineMaterial> {
  const bundle = (session as { bundle?: unknown }).bundle;
  const want: OfflineTag = { session: typeof bundle === 'string' && dealt.tag.session.startsWith('bundle:') ? bundleTag(bundle) : sessionFingerprint(session), program: programDigest(program) };
  if (dealt.tag.session !== want.session) throw runtimeError('MPCC5050', ['inference (pre-dealt bundle)', dealt.tag.session || '(none)', want.session || '(none)']);
  if (dealt.tag.program !== want.program) throw runtimeError('MPCC5050', ['model (program)', dealt.tag.program, want.program]);
  const tag: OfflineTag = { session: sessionFingerprint(session), program: want.program };
  const { items, dealings, corrections, pass, truncations } = dealt;
  const put = (purpose: string, v: unknown) => {
    const queue = items.get(purpose);
    if (queue) queue.push(v);
    else items.set(purpose, [v]);
  };
  if (dealt.work === 0) return new OfflineMaterial(tag, items, 0, 0);
  stopped(options.signal);
  // P2's bit corrections to P1, in frames of at most OFFLINE_FRAME_BYTES (every party knows
  // every size); P1 unpacks them, then every party says it is ready.
  const chunks: CompareDealing[][] = [];
  let size = Infinity;
  for (const d of dealings) {
    if (size + d.bitsBytes > OFFLINE_FRAME_BYTES) chunks.push([]), (size = 0);
    chunks[chunks.length - 1].push(d);
    size += d.bitsBytes;
  }
  const waitMs = offlineWaitMs(program);
  for (const chunk of chunks) {
    const bytes = chunk.reduce((t, d) => t + d.bitsBytes, 0);
    if (session.id === 0) {
      await session.round([], []);
    } else if (session.id === 2) {
      await session.round([{ to: 1, data: Buffer.concat(chunk.map((d) => d.bits!), bytes), label: 'drelu.bits', phase: 'preprocessing' }], []);
    } else {
      const round = session.round([], [2], { 2: bytes }, { timeoutMs: waitMs });
      const frame = (await (options.signal ? untilStopped(round, options.signal) : round)).get(2)!;
      let at = 0;
      for (const d of chunk) {
        receiveCompareBits(d, frame.subarray(at, at + d.bitsBytes));
        at += d.bitsBytes;
      }
    }
    for (const d of chunk) {
      d.bitsSent = true;
      d.bits = null;
    }
    stopped(options.signal);
  }
  // The closing exchange: a frame both ways between every pair (empty, but for the truncations'
  // dealing and P2's product corrections).
  const peers = ([0, 1, 2] as PartyId[]).filter((p) => p !== session.id);
  const ready = session.round(
    [
      ...peers.map((to) => ({ to, data: new Uint8Array(0), label: 'offline.ready', phase: 'preprocessing' as const })),
      ...truncations.flatMap((d) => d.outgoing),
      ...(pass?.dealings.flatMap((d) => d.outgoing) ?? []),
      ...corrections.outgoing(session.id),
    ],
    peers,
    Object.fromEntries(peers.map((p) => [p, truncations.reduce((t, d) => t + (d.expect[p] ?? 0), 0) + (pass?.expected(p) ?? 0) + (session.id === 1 && p === 2 ? corrections.bytes : 0)])),
    { timeoutMs: waitMs },
  );
  const frames = await (options.signal ? untilStopped(ready, options.signal) : ready);
  const at: Partial<Record<PartyId, number>> = {};
  for (const d of truncations) {
    receiveTruncationDealing(d, (p) => {
      const from = at[p] ?? 0;
      at[p] = from + (d.expect[p] ?? 0);
      return frames.get(p)!.subarray(from, at[p]);
    });
  }
  pass?.receive(frames, at);
  if (session.id === 1) corrections.received(frames.get(2)!.subarray(at[2] ?? 0), put);
  // Done: an empty frame both ways between every pair once a party has taken in what the closing
  // exchange brought (P1 unpacks P2's product corrections and the dealings: tens of ms), so no
  // party's online phase starts while a peer is still in its offline one.
  const done = session.round(peers.map((to) => ({ to, data: new Uint8Array(0), label: 'offline.done', phase: 'preprocessing' as const })), peers, Object.fromEntries(peers.map((p) => [p, 0])), { timeoutMs: waitMs });
  await (options.signal ? untilStopped(done, options.signal) : done);
  return new OfflineMaterial(tag, items, (performance.now() - t0) / 1000, chunks.length + 2);
}

/** P2's product corrections map(A, B) − C0, sent to P1 in the closing exchange (up to
 * OFFLINE_FRAME_BYTES of them, in program order; the rest ride in their steps' online frames as
 * before), so the online frames carry only input-dependent bytes of the products. P1 keeps each
 * until its step takes it ('correction'): 8 B per product output element (89 MB on resnet50). */
export class ProductCorrections {
  private readonly steps: { name: string; ySize: number; mine: MaskProduct | null; ring: number }[] = [];
  /** Bytes moved (every party computes the same from the sizes). */
  bytes = 0;

  /** A product step's correction (`mine`: P2's MaskProduct; null at P1); `always`: a
   * client-offline product's, which has no online round to carry it; `ring`: bytes per element
   * (the layer's WeightKey.ring). */
  add(name: string, ySize: number, mine: MaskProduct | null, always = false, ring = 8): void {
    if (!always && this.bytes + ring * ySize > OFFLINE_FRAME_BYTES) return;
    this.steps.push({ name, ySize, mine, ring });
    this.bytes += ring * ySize;
  }

  /** P2's messages to P1 (marking each correction sent); none for the others. */
  outgoing(me: PartyId): Outgoing[] {
    if (me !== 2) return [];
    return this.steps.map(({ mine, ring }) => {
      mine!.sent = true;
      return { to: 1, data: packRing(mine!.share, ring), label: 'weights.correction', phase: 'preprocessing' };
    });
  }

  /** P1: splits P2's frame (what follows the truncations' dealing) into each step's correction. */
  received(frame: Uint8Array, put: (purpose: string, v: unknown) => void): void {
    if (frame.length !== this.bytes) throw new Error(`internal: offline corrections of ${frame.length} bytes, expected ${this.bytes}`);
    let at = 0;
    for (const { name, ySize, ring } of this.steps) {
      put(`${name}/correction`, unpackRing(frame.subarray(at, at + ring * ySize), ring));
      at += ring * ySize;
    }
  }
}

/** The activation mask A of the earlier product a 'weightsSharedMask' step names (`maskFrom`),
 * prepared before it in program order (validate.ts checks the order and the sizes). */
function sharedMask(items: ReadonlyMap<string, unknown[]>, st: ProgramStep): BigUint64Array {
  const from = String(st.params.maskFrom);
  const source = items.get(`${from}/weights`)?.[0] as MaskProduct | undefined;
  if (!source) throw runtimeError('MPCC5222', ['(offline phase)', `steps.${st.name}.params.maskFrom`, `step '${from}' prepared no activation mask before it`]);
  return source.a;
}

/** P0's and P2's activation mask A of the earlier client-offline product a 'weightsClientOffline'
 * step shares (`maskFrom`; validate.ts checks the order and the operand). */
function clientOfflineMask(masks: ReadonlyMap<string, BigUint64Array>, st: ProgramStep): BigUint64Array {
  const from = String(st.params.maskFrom);
  const a = masks.get(from);
  if (!a) throw runtimeError('MPCC5222', ['(offline phase)', `steps.${st.name}.params.maskFrom`, `step '${from}' prepared no client-offline activation mask before it`]);
  return a;
}

/** The dealing of every exact truncation (its online step's 'trunc' material), in program
 * order; P0's wrap bits come from the product share prepared for the step it reads. */
function dealTruncations(session: Session, program: Program, items: ReadonlyMap<string, unknown[]>, put: (purpose: string, v: unknown) => void): TruncationDealing[] {
  const productOf = new Map<string, string>();
  for (const st of program.steps) if (PRODUCT_KINDS.has(st.kind) && !CLIENT_OFFLINE_KINDS.has(st.kind)) productOf.set(productValue(st), st.name);
  const out: TruncationDealing[] = [];
  for (const st of program.steps) {
    if (st.kind !== 'truncateExact') continue;
    const producer = productOf.get(st.inputs[0]);
    if (producer === undefined) throw runtimeError('MPCC5222', ['(offline phase)', `steps.${st.name}`, 'an exact truncation must read the product of a weights step']);
    const share = session.id === 0 ? (items.get(`${producer}/weights`)![0] as MaskProduct).share : null;
    const d = dealTruncation(stepStreams(session, st), share?.length ?? size(program, st.inputs[0]), Number(st.params.bits), share);
    put(`${st.name}/trunc`, d);
    out.push(d);
  }
  return out;
}

/** Elements of value `v` (the product of a setup step's map). */
function size(program: Program, v: string): number {
  const st = program.steps.find((s) => PRODUCT_KINDS.has(s.kind) && productValue(s) === v)!;
  const map = program.setup.find((m) => m.name === String(st.params.layer))!.map;
  return map.kind === 'matmul' ? map.m * map.n : conv2dOutShape(map.conv).reduce((a, b) => a * b, 1);
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
