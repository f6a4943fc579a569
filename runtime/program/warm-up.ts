// Warming the online phase's code before the input arrives. A party process meets its online
// phase's JavaScript loops (tile sums, selections, exact truncations, the comparisons' word and
// digit loops) for the first time inside that phase, where V8 runs their first, longest calls
// in its interpreter and baseline tiers: on resnet18-cifar@4x4 P0's first two block-ReLU layers
// took 80–140 ms each on the critical path against ~35 ms for the same work one layer later.
// So before its first online phase a process runs the protocols such programs use on a small
// random activation, all three parties in this process (in-process links, fresh session keys,
// data from a private stream), a few times over: V8 compiles the hot functions then, with the
// types the online phase passes them. Input-independent work, run before the one-time setup's
// round and counted in its seconds; nothing of it is sent to a peer or kept. Once per process (a serving party warms at its first
// inference); a failure here is ignored: the online phase then only runs colder. A program of
// the client-offline mode (program.ts isClientOffline) warms that mode's protocols instead
// (helperSelect, the standalone three-way truncation, the product without an online message),
// each dealt and exchanged as its offline phase does, then run.
//
// What keeps that compiled code alive into the online phase (BENCHMARKS.md, "The first
// inference's extra time"): (1) the ArrayBufferDetaching protector is invalidated before the
// warm-up (ring-wasm.ts settleDetachProtector): the kernels memory's first grow, in the model's
// setup, used to deoptimize every typed-array loop the warm-up had compiled; (2) the warm-up
// takes the program's own comparison windows, block sizes and step kinds (warmUpProfile): the
// word, digit and packing loops branch on the window width k (16, 32 and 64 have fast paths,
// other widths the bit-packing ones) and the tile sums on the block sizes, so a warm-up on other
// widths left those paths to be compiled in the online phase; (3) a classic program's steps are
// rehearsed (rehearse): its step kinds through their own step functions, a round merger and an
// offline phase of their own, so the objects they pass (dealings, step sessions, mergers) have
// the shapes the online phase's have. A later program in the same process warms only the
// windows and block sizes not warmed yet.
import { settleDetachProtector } from '../kernels/ring-wasm.js';
import { addRepeating } from '../kernels/model-kernels.js';
import {
  applyWeights, applyWeightsClientOffline, blockRelu, blockReluThenWeights, convMap, dealHelperSelect, dealTruncateClientOffline,
  dealTruncation, dealWeightsClientOffline, exchangeTruncationDealing, helperSelect, maskProduct, relu, reluThenWeights, setupWeights,
  truncateClientOffline, truncateExact, truncateExactOnline, type BitWindow, type BlockSize, type HelperSelectSpec, type WeightKey,
} from '../protocols/index.js';
import { sumPool, untruncatedPoolBits } from '../protocols/linear.js';
import { conv2d, keepConvWeights } from '../ring/ring.js';
import { RoundMerger } from './merger.js';
import { prepareOffline } from './offline.js';
import { isClientOffline, PROGRAM_FORMAT, type Program, type ProgramStep } from './program.js';
import { helperSelectSpec, stepKind } from './steps.js';
import { exchangeClientOfflineDealings } from '../protocols/client-offline.js';
import { bytesRing } from '../protocols/wire.js';
import { correctionMessage } from '../protocols/weights.js';
import type { Session } from '../session/session.js';
import { createInProcessSessions, type SessionMaker } from '../transport/in-process.js';
import { TcpPartySession, type TcpLink } from '../transport/tcp.js';
import { PartySession } from '../session/party-session.js';
import { runParties } from '../session/run-parties.js';
import type { Conv2dParams } from '../ring/windows.js';

/** The warm-up activations: a large one for the loops over every element (tiled 4×4, so its
 * comparisons stay few), a small one for the per-element comparisons' paths. */
const LARGE = [1, 16, 32, 32] as const;
const SMALL = [1, 4, 16, 16] as const;
/** The rehearsal's activation (rehearse): the program's block sizes clamped to its plane. */
const MINI = [1, 16, 16, 16] as const;
/** One pass over the protocols per session class (two passes: enough for V8 to compile the
 * loops they spend their time in). */
const SESSION_MAKERS: SessionMaker[] = [
  (id, links, options) => new PartySession(id, links, options),
  (id, links, options) => new TcpPartySession(id, links as (TcpLink | null)[], options),
];

/** Which protocols a program's online phase runs: the classic ones, or the client-offline mode's. */
export type WarmUpFamily = 'classic' | 'clientOffline';

/** What a warm-up runs: the family's protocols, on the program's comparison windows and block sizes. */
export interface WarmUpProfile {
  family: WarmUpFamily;
  /** Distinct comparison windows of the program's steps (at most MAX_WINDOWS, in step order). */
  windows: BitWindow[];
  /** Distinct block sizes of its block-ReLUs (at most MAX_BLOCKS, 'identity' left out). */
  blocks: [number, number][];
  /** Its step kinds (which the classic rehearsal mirrors). */
  kinds: string[];
}

/** Bounds on what a program adds to the warm-up (each window costs two small comparison passes). */
const MAX_WINDOWS = 24;
const MAX_BLOCKS = 32;

/** The warm-up a program needs: its family, the windows and block sizes its steps name. */
export function warmUpProfile(program: Pick<Program, 'steps'>): WarmUpProfile {
  const windows = new Map<string, BitWindow>();
  const blocks = new Map<string, [number, number]>();
  const kinds = new Set<string>();
  for (const st of program.steps) {
    kinds.add(st.kind === 'reluWeights' && !Array.isArray(st.params.blocks) ? 'reluWeights/plain' : st.kind);
    const w = st.params.window as Partial<BitWindow> | undefined;
    if (w && typeof w.lo === 'number' && typeof w.k === 'number' && windows.size < MAX_WINDOWS) windows.set(`${w.lo}/${w.k}`, { lo: w.lo, k: w.k });
    const b = st.params.blocks;
    if (Array.isArray(b))
      for (const blk of b as BlockSize[]) if (blk !== 'identity' && blocks.size < MAX_BLOCKS) blocks.set(`${blk[0]}x${blk[1]}`, [blk[0], blk[1]]);
  }
  return { family: isClientOffline(program) ? 'clientOffline' : 'classic', windows: [...windows.values()], blocks: [...blocks.values()], kinds: [...kinds] };
}

/** A family's profile without a program: its default protocols only. */
function defaultProfile(family: WarmUpFamily): WarmUpProfile {
  return { family, windows: [], blocks: [], kinds: [] };
}

/** Per family, the last warm-up started (later ones chain after it) and the windows it covers. */
const warmed = new Map<WarmUpFamily, { done: Promise<void>; windows: Set<string>; blocks: Set<string> }>();

/** Runs the warm-up of a program (or of a family's default windows) once per process: a
 * failure is ignored; a later call waits for the earlier ones and warms only the windows and
 * block sizes they did not cover. */
export function warmUpOnce(what: WarmUpFamily | Pick<Program, 'steps'> = 'classic'): Promise<void> {
  settleDetachProtector();
  const profile = typeof what === 'string' ? defaultProfile(what) : warmUpProfile(what);
  const prior = warmed.get(profile.family);
  const windows = profile.windows.filter((w) => !prior?.windows.has(`${w.lo}/${w.k}`));
  const blocks = profile.blocks.filter((b) => !prior?.blocks.has(`${b[0]}x${b[1]}`));
  if (prior && windows.length === 0 && blocks.length === 0) return prior.done;
  const delta: WarmUpProfile = { ...profile, windows, blocks };
  const done = (prior?.done ?? Promise.resolve()).then(() => warmUp(delta, !prior)).catch(() => undefined);
  const entry = { done, windows: prior?.windows ?? new Set<string>(), blocks: prior?.blocks ?? new Set<string>() };
  for (const w of windows) entry.windows.add(`${w.lo}/${w.k}`);
  for (const b of blocks) entry.blocks.add(`${b[0]}x${b[1]}`);
  warmed.set(profile.family, entry);
  return done;
}

/** One warm-up: the three parties in this process (rejects when a protocol fails); `full`: the
 * family's default protocols too, else only the profile's windows and block sizes. */
export async function warmUp(what: WarmUpFamily | WarmUpProfile = 'classic', full = true): Promise<void> {
  settleDetachProtector();
  const profile = typeof what === 'string' ? defaultProfile(what) : what;
  // Sessions set up as a party's (a tag, the schedule's round timeouts), one pass on each class
  // a party's sessions have (PartySession: serving; TcpPartySession: mpcc party and run), so the
  // code compiled here takes both object shapes instead of being deoptimized by the other one.
  for (const [pass, make] of SESSION_MAKERS.entries()) {
    const sessions = await createInProcessSessions({ tag: 'warm-up', roundTimeoutMs: 'schedule' }, make);
    await runParties(sessions, (s) => (profile.family === 'classic' ? warmUpParty(s, profile, full, pass) : warmUpClientOffline(s, profile, full, pass)));
  }
}

type Shape = readonly [number, number, number, number];

/** The block lists of the LARGE activation that cover `sizes` (clamped to its plane), a
 * quarter of its channels identity; none without sizes. */
function blockLists(sizes: readonly (readonly [number, number])[], shape: Shape = LARGE): BlockSize[][] {
  const lists: BlockSize[][] = [];
  const per = (shape[1] * 3) / 4;
  for (let at = 0; at < sizes.length; at += per)
    lists.push(
      Array.from({ length: shape[1] }, (_, c): BlockSize => {
        if (c % 4 === 0) return 'identity';
        const [bh, bw] = sizes[at + ((c - 1 - Math.floor(c / 4)) % Math.min(per, sizes.length - at))];
        return [Math.min(bh, shape[2]), Math.min(bw, shape[3])];
      }),
    );
  return lists;
}

/** The local kernels the online phase runs between protocols (a bias added over channels, the
 * global average pool's sum), and a convolution in Z_2^32 (gemmRing32), on x. */
function localKernels(x: BigUint64Array): void {
  const values = new BigUint64Array(LARGE[1]).fill(12345n);
  addRepeating(x, { values, inner: LARGE[2] * LARGE[3] });
  sumPool(x, { inShape: [...LARGE], kernel: [LARGE[2], LARGE[3]], strides: [1, 1], pads: [0, 0, 0, 0] });
  // The Z_2^32 GEMM (gemmRing32), which the products of a program on that ring run.
  const p = conv3x3(LARGE);
  conv2d(x, small(x.slice(0, p.weightShape.reduce((a, b) => a * b, 1))), p, undefined, 32);
}

/** One party's part: the protocols of a planned or all-ReLU CNN, on the profile's windows and
 * block sizes, and (full) at default full and narrowed windows. */
async function warmUpParty(s: Session, profile: WarmUpProfile, full: boolean, pass: number): Promise<void> {
  const own = s.own('warm-up');
  const size = (shape: Shape) => shape[0] * shape[1] * shape[2] * shape[3];
  const x = (shape: Shape) => (s.id === 2 ? new BigUint64Array(size(shape)) : own.ring(size(shape)));
  const layer = async (shape: Shape) => {
    const map = convMap(conv3x3(shape));
    return setupWeights(s, map, s.id === 1 ? small(own.ring(map.wSize)) : null, `warm-up/${shape}`);
  };
  const blocks = (shape: Shape, pick: (c: number) => BlockSize) => Array.from({ length: shape[1] }, (_, c) => pick(c));
  const large = await layer(LARGE);
  const smallLayer = await layer(SMALL);
  const narrow = { lo: 8, k: 16 };
  const perElement = async (w: BitWindow) => {
    await reluThenWeights(s, x(SMALL), w, smallLayer);
    await blockReluThenWeights(s, x(SMALL), SMALL, blocks(SMALL, (c) => (c % 3 === 0 ? 'identity' : c % 3 === 1 ? [2, 2] : [1, 1])), w, smallLayer);
    await relu(s, x(SMALL), w);
  };
  const mini = profile.windows.length + profile.blocks.length > 0 ? await layer(MINI) : null;
  // P1 packs its weights once, as run.ts does for a program's convolutions.
  if (mini && s.id === 1) keepConvWeights(mini.held, conv3x3(MINI));
  {
    // The program's own step kinds, windows and block sizes first, as its steps run them.
    if (mini) await rehearse(s, profile, mini, x(MINI), pass);
    if (!full) return;
    // Every element's loops: tile sums, selections, products, truncations, local kernels.
    await blockReluThenWeights(s, x(LARGE), LARGE, blocks(LARGE, () => [4, 4]), narrow, large);
    await blockRelu(s, x(LARGE), LARGE, blocks(LARGE, (c) => (c % 2 ? [4, 4] : 'identity')), narrow);
    const y = await applyWeights(s, large, x(LARGE));
    const d = dealTruncation(s, y.length, 16, s.id === 0 ? y : null);
    await exchangeTruncationDealing(s, d);
    await truncateExact(s, y, 16, d);
    await truncateExactOnline(s, x(LARGE), 16);
    localKernels(y);
    // A comparison per element, at both window widths.
    for (const w of [narrow, { lo: 0, k: 64 }]) await perElement(w);
  }
}

/** A rehearsal of a classic program's steps: its step kinds through their own step functions
 * (steps.ts), a round merger and an offline phase of their own (offline.ts prepareOffline: the
 * dealings and corrections the online steps take), on MINI with the layer `key`, one
 * ReLU-then-product per window of the profile, its block sizes over the block-ReLUs' channels.
 * So the online phase meets no function, object shape or branch the warm-up has not run. */
async function rehearse(s: Session, profile: WarmUpProfile, key: WeightKey, x: BigUint64Array, pass: number): Promise<void> {
  const has = (kind: string) => profile.kinds.includes(kind);
  const lists = blockLists(profile.blocks, MINI);
  const windows = profile.windows.length > 0 ? profile.windows : [{ lo: 0, k: 64 }];
  const steps: ProgramStep[] = [];
  let last = 'x';
  let n = 0;
  const step = (kind: string, inputs: string[], params: Record<string, unknown>, outputs = 1): string[] => {
    const name = `warm-up/${pass}/${n++}/${kind}`;
    const outs = Array.from({ length: outputs }, (_, i) => `${name}/${i}`);
    steps.push({ name, kind, op: kind, round: 0, rounds: 0, inputs, outputs: outs, params });
    return outs;
  };
  const layer = 'warm-up/mini';
  const inner = MINI[2] * MINI[3];
  [last] = step('weights', [last], { layer });
  [last] = step('truncateExact', [last], { bits: 16, bias: 'warm-up/bias', inner });
  // Each pass (one per session class) rehearses the first window and every other one of the
  // rest: the word and digit loops need each width once, the step functions both passes.
  for (let i = 0; i < Math.max(windows.length, lists.length); i++) {
    if (i > 0 && i % SESSION_MAKERS.length !== pass % SESSION_MAKERS.length) continue;
    const window = windows[i % windows.length];
    const blocks = lists.length > 0 ? lists[i % lists.length] : null;
    // The first one keeps P1's masked activation for a product sharing its mask, when the program has such.
    const shared = i === 0 && has('weightsSharedMask');
    const params: Record<string, unknown> = blocks ? { layer, window, shape: [...MINI], blocks } : { layer, window };
    if (shared) params.keepMasked = true;
    const [act, product, kept] = step('reluWeights', [last], params, shared ? 3 : 2);
    [last] = step('truncateExact', [product], { bits: 16 });
    if (shared) {
      const [p2] = step('weightsSharedMask', [kept], { layer, maskFrom: steps[steps.length - 2].name });
      const [t2] = step('truncateExact', [p2], { bits: 16 });
      [last] = step('add', [last, t2], {});
    }
    if (has('reluWeights/plain') && blocks) {
      const [, p2] = step('reluWeights', [last], { layer, window }, 2);
      [last] = step('truncateExact', [p2], { bits: 16 });
    }
    [last] = step('add', [last, act], {});
  }
  if (has('blockRelu') && lists.length > 0) [last] = step('blockRelu', [last], { shape: [...MINI], blocks: lists[0], window: windows[0] });
  if (has('relu')) [last] = step('relu', [last], { window: windows[0] });
  [last] = step('globalAvgPool', [last], { inShape: [...MINI], untruncated: true });
  step('truncateExactOnline', [last], { bits: untruncatedPoolBits([MINI[2] * MINI[3]]) });

  const keys = new Map([[layer, key]]);
  const weights = new Map(s.id === 1 ? [['warm-up/bias', new BigUint64Array(MINI[1]).fill(4096n)]] : []);
  const program: Program = { format: PROGRAM_FORMAT, party: s.id, frac: 16, input: { name: 'x', value: 'x', shape: [...MINI] }, outputs: [], setup: [{ name: layer, map: { kind: 'conv', conv: conv3x3(MINI) }, weights: layer }], steps, rounds: 0, oneTimeRounds: 0 };
  const offline = await prepareOffline(s, program, keys);
  // A first-round hook as the executor has (run.ts): the same merger object shape.
  const merger = new RoundMerger(s, () => undefined, offline);
  const values = new Map([['x', x]]);
  for (const [i, st] of steps.entries()) {
    const ss = merger.open(st.name, i);
    try {
      const outs = await stepKind(st.kind)({ session: ss, frac: 16, keys, weights, input: null, revealed: new Map(), params: st.params, step: st.name }, st.inputs.map((v) => values.get(v)!));
      st.outputs.forEach((v, j) => values.set(v, outs[j]));
    } finally {
      ss.done();
    }
  }
}

/** One party's part for the client-offline mode: truncation + block-ReLU (identity channels
 * among them) + residual and the product after it, a plain ReLU at each of the profile's windows
 * and (full) at both default widths, a standalone truncation; P0's offline shares from its
 * private stream. */
async function warmUpClientOffline(s: Session, profile: WarmUpProfile, full: boolean, pass: number): Promise<void> {
  const own = s.own('warm-up');
  const size = (shape: Shape) => shape[0] * shape[1] * shape[2] * shape[3];
  const x = (shape: Shape) => (s.id === 2 ? new BigUint64Array(size(shape)) : own.ring(size(shape)));
  const map = convMap(conv3x3(LARGE));
  const key = await setupWeights(s, map, s.id === 1 ? small(own.ring(map.wSize)) : null, 'warm-up/client-offline');
  const select = async (spec: HelperSelectSpec, residual: boolean) => {
    const v = x([1, 1, 1, spec.n]), res = residual ? x([1, 1, 1, spec.n]) : null;
    const deal = dealHelperSelect(s, spec, s.id === 0 ? { v, res } : null);
    await exchangeClientOfflineDealings(s, [deal]);
    return helperSelect(s, spec, v, res, deal);
  };
  const narrow = { lo: 24, k: 16 };
  const first = profile.windows[0] ?? narrow;
  // Specs built as the program's steps build theirs (one object shape for V8).
  const perElement = (window: BitWindow) => select(helperSelectSpec({ size: size(SMALL), bits: 16, window }), false);
  {
    // As in the rehearsal, each pass takes the first window and block list and every other one of the rest.
    const mine = (i: number) => i === 0 || i % SESSION_MAKERS.length === pass % SESSION_MAKERS.length;
    for (const [i, window] of profile.windows.entries()) if (mine(i)) await perElement(window);
    for (const [i, blocks] of blockLists(profile.blocks).entries()) {
      if (!mine(i)) continue;
      const y = await select(helperSelectSpec({ size: size(LARGE), bits: 16, window: first, shape: [...LARGE], blocks }), true);
      await product(s, key, y);
    }
    if (!full) return;
    const blocks = Array.from({ length: LARGE[1] }, (_, c): BlockSize => (c % 4 === 0 ? 'identity' : [4, 4]));
    const y = await select(helperSelectSpec({ size: size(LARGE), bits: 16, window: narrow, shape: [...LARGE], blocks }), true);
    await product(s, key, y);
    localKernels(y);
    for (const window of [narrow, { lo: 0, k: 64 }]) await perElement(window);
    const t = dealTruncateClientOffline(s, size(SMALL), 16, s.id === 0 ? x(SMALL) : null);
    await exchangeClientOfflineDealings(s, [t]);
    await truncateClientOffline(s, x(SMALL), 16, t);
  }
}

/** A client-offline product of y: P0's masked activation and P2's correction exchanged offline. */
async function product(s: Session, key: WeightKey, y: BigUint64Array): Promise<void> {
  const mask = s.id === 1 ? null : maskProduct(s, key);
  const deal = dealWeightsClientOffline(s, key, s.id === 0 ? y : null, mask);
  const rest = await exchangeClientOfflineDealings(s, [deal], s.id === 2 ? { outgoing: correctionMessage(mask!) } : s.id === 1 ? { expect: { 2: 8 * key.map.ySize } } : {});
  await applyWeightsClientOffline(s, key, y, deal, s.id === 1 ? bytesRing(rest.get(2)!.slice()) : undefined);
}

/** A 3×3 convolution keeping `shape` (padding 1). */
function conv3x3(shape: Shape): Conv2dParams {
  return { inShape: [...shape], weightShape: [shape[1], shape[1], 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
}

/** Ring elements made small (fixed-point weights fit in 32 bits, as a model's do). */
function small(w: BigUint64Array): BigUint64Array {
  for (let i = 0; i < w.length; i++) w[i] = BigInt.asUintN(64, BigInt.asIntN(16, w[i]));
  return w;
}
