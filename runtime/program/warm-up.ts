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
import {
  applyWeights, applyWeightsClientOffline, blockRelu, blockReluThenWeights, convMap, dealHelperSelect, dealTruncateClientOffline,
  dealTruncation, dealWeightsClientOffline, exchangeTruncationDealing, helperSelect, maskProduct, relu, reluThenWeights, setupWeights,
  truncateClientOffline, truncateExact, truncateExactOnline, type BlockSize, type HelperSelectSpec, type WeightKey,
} from '../protocols/index.js';
import { exchangeClientOfflineDealings } from '../protocols/client-offline.js';
import { bytesRing } from '../protocols/wire.js';
import { correctionMessage } from '../protocols/weights.js';
import type { Session } from '../session/session.js';
import { runInProcess } from '../transport/in-process.js';
import type { Conv2dParams } from '../ring/windows.js';

/** The warm-up activations: a large one for the loops over every element (tiled 4×4, so its
 * comparisons stay few), a small one for the per-element comparisons' paths. */
const LARGE = [1, 16, 32, 32] as const;
const SMALL = [1, 4, 16, 16] as const;
/** Passes over the protocols (enough for V8 to compile the loops they spend their time in). */
const PASSES = 2;

/** Which protocols a program's online phase runs: the classic ones, or the client-offline mode's. */
export type WarmUpFamily = 'classic' | 'clientOffline';

const warmed = new Map<WarmUpFamily, Promise<void>>();

/** Runs the warm-up of `family` once per process (a failure ignored); later calls wait for the first. */
export function warmUpOnce(family: WarmUpFamily = 'classic'): Promise<void> {
  let done = warmed.get(family);
  if (!done) warmed.set(family, (done = warmUp(family).catch(() => undefined)));
  return done;
}

/** One warm-up: the three parties in this process (rejects when a protocol fails). */
export async function warmUp(family: WarmUpFamily = 'classic'): Promise<void> {
  await runInProcess(family === 'classic' ? warmUpParty : warmUpClientOffline);
}

type Shape = readonly [number, number, number, number];

/** One party's part: the protocols of a planned or all-ReLU CNN, at full and narrowed windows. */
async function warmUpParty(s: Session): Promise<void> {
  const own = s.own('warm-up');
  const size = (shape: Shape) => shape[0] * shape[1] * shape[2] * shape[3];
  const x = (shape: Shape) => (s.id === 2 ? new BigUint64Array(size(shape)) : own.ring(size(shape)));
  const layer = async (shape: Shape) => {
    const conv: Conv2dParams = { inShape: [...shape], weightShape: [shape[1], shape[1], 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
    const map = convMap(conv);
    return setupWeights(s, map, s.id === 1 ? small(own.ring(map.wSize)) : null, `warm-up/${shape}`);
  };
  const blocks = (shape: Shape, pick: (c: number) => BlockSize) => Array.from({ length: shape[1] }, (_, c) => pick(c));
  const large = await layer(LARGE);
  const smallLayer = await layer(SMALL);
  const narrow = { lo: 8, k: 16 };
  for (let pass = 0; pass < PASSES; pass++) {
    // Every element's loops: tile sums, selections, products, truncations.
    await blockReluThenWeights(s, x(LARGE), LARGE, blocks(LARGE, () => [4, 4]), narrow, large);
    await blockRelu(s, x(LARGE), LARGE, blocks(LARGE, (c) => (c % 2 ? [4, 4] : 'identity')), narrow);
    const y = await applyWeights(s, large, x(LARGE));
    const d = dealTruncation(s, y.length, 16, s.id === 0 ? y : null);
    await exchangeTruncationDealing(s, d);
    await truncateExact(s, y, 16, d);
    await truncateExactOnline(s, x(LARGE), 16);
    // A comparison per element, at both window widths.
    for (const w of [narrow, { lo: 0, k: 64 }]) {
      await reluThenWeights(s, x(SMALL), w, smallLayer);
      await blockReluThenWeights(s, x(SMALL), SMALL, blocks(SMALL, (c) => (c % 3 === 0 ? 'identity' : c % 3 === 1 ? [2, 2] : [1, 1])), w, smallLayer);
      await relu(s, x(SMALL), w);
    }
  }
}

/** One party's part for the client-offline mode: truncation + block-ReLU (identity channels
 * among them) + residual and the product after it, a plain ReLU at both window widths, a
 * standalone truncation; P0's offline shares from its private stream. */
async function warmUpClientOffline(s: Session): Promise<void> {
  const own = s.own('warm-up');
  const size = (shape: Shape) => shape[0] * shape[1] * shape[2] * shape[3];
  const x = (shape: Shape) => (s.id === 2 ? new BigUint64Array(size(shape)) : own.ring(size(shape)));
  const conv: Conv2dParams = { inShape: [...LARGE], weightShape: [LARGE[1], LARGE[1], 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
  const map = convMap(conv);
  const key = await setupWeights(s, map, s.id === 1 ? small(own.ring(map.wSize)) : null, 'warm-up/client-offline');
  const select = async (spec: HelperSelectSpec, residual: boolean) => {
    const v = x([1, 1, 1, spec.n]), res = residual ? x([1, 1, 1, spec.n]) : null;
    const deal = dealHelperSelect(s, spec, s.id === 0 ? { v, res } : null);
    await exchangeClientOfflineDealings(s, [deal]);
    return helperSelect(s, spec, v, res, deal);
  };
  for (let pass = 0; pass < PASSES; pass++) {
    const blocks = Array.from({ length: LARGE[1] }, (_, c): BlockSize => (c % 4 === 0 ? 'identity' : [4, 4]));
    const y = await select({ n: size(LARGE), bits: 16, window: { lo: 24, k: 16 }, shape: [...LARGE], blocks }, true);
    await product(s, key, y);
    for (const window of [{ lo: 24, k: 16 }, { lo: 0, k: 64 }]) await select({ n: size(SMALL), bits: 16, window, shape: [...SMALL] }, false);
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

/** Ring elements made small (fixed-point weights fit in 32 bits, as a model's do). */
function small(w: BigUint64Array): BigUint64Array {
  for (let i = 0; i < w.length; i++) w[i] = BigInt.asUintN(64, BigInt.asIntN(16, w[i]));
  return w;
}
