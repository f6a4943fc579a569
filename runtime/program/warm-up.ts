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
// inference); a failure here is ignored: the online phase then only runs colder.
import {
  applyWeights, blockRelu, blockReluThenWeights, convMap, dealTruncation, exchangeTruncationDealing, relu, reluThenWeights, setupWeights,
  truncateExact, truncateExactOnline, type BlockSize,
} from '../protocols/index.js';
import type { Session } from '../session/session.js';
import { runInProcess } from '../transport/in-process.js';
import type { Conv2dParams } from '../ring/windows.js';

/** The warm-up activations: a large one for the loops over every element (tiled 4×4, so its
 * comparisons stay few), a small one for the per-element comparisons' paths. */
const LARGE = [1, 16, 32, 32] as const;
const SMALL = [1, 4, 16, 16] as const;
/** Passes over the protocols (enough for V8 to compile the loops they spend their time in). */
const PASSES = 2;

let warmed: Promise<void> | null = null;

/** Runs the warm-up once per process (a failure ignored); later calls wait for the first. */
export function warmUpOnce(): Promise<void> {
  warmed ??= warmUp().catch(() => undefined);
  return warmed;
}

/** One warm-up: the three parties in this process (rejects when a protocol fails). */
export async function warmUp(): Promise<void> {
  await runInProcess(warmUpParty);
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

/** Ring elements made small (fixed-point weights fit in 32 bits, as a model's do). */
function small(w: BigUint64Array): BigUint64Array {
  for (let i = 0; i < w.length; i++) w[i] = BigInt.asUintN(64, BigInt.asIntN(16, w[i]));
  return w;
}
