// `--refine K`, beyond the paper: the knapsack adds up per-channel distortions measured with
// every other ReLU intact, but in the planned network the channels' changes interact. One round
// re-measures, for every channel, its chosen option's neighbours (the next cheaper and the next
// dearer of its knapsack options) in the context of the current plan (every other channel as
// planned: the context network has BlockRelu layers, channel-measure.ts runs it), and corrects
// the table so its differences around the current choice are the ones measured in context:
//   d'(j) = d(j*) + MSE(plan with c := j) − MSE(plan),   clamped at 0,
// with j* the chosen option, the other options unchanged; the caller re-solves. MSE(plan)
// itself, the planned network's measured distortion, is returned beside the predicted one. The
// context differences carry the cross term between the plan's error and the channel's change
// (what additivity leaves out), but over few samples they are noisy, so the caller
// (compiler/planning/budget-plan.ts) keeps, of the plans it made, the one whose measured
// distortion is lowest.
import type { Graph } from '../../../ir/graph.js';
import type { DistortionLayer, DistortionTable } from '../distortion-table.js';
import type { KnapsackInstance } from '../knapsack-plan.js';
import type { ChannelBlock } from '../plan-file.js';
import { type CalibrationImages, type ChannelMeasureOptions, measureChannels, networkOutputs } from './channel-measure.js';
import { withBlockRelus } from './network-cut.js';

/** One refinement round's outcome. */
export interface RefineRound {
  /** The table corrected around the plan. */
  readonly table: DistortionTable;
  /** The plan's distortion measured on the calibration images (the network with every planned block). */
  readonly measured: number;
}

/** The mean squared difference of two equally long arrays. */
export function meanSquaredError(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return sum / a.length;
}

/** The measured distortion of the plan `chosen` (per layer, per channel: candidate index of
 * `table`) against `reference` (networkOutputs of `g`). */
export async function planDistortion(g: Graph, calib: CalibrationImages, table: DistortionTable, chosen: readonly Int32Array[], reference: Float32Array, opts: ChannelMeasureOptions): Promise<number> {
  return meanSquaredError(await networkOutputs(contextNetwork(g, table, chosen), calib, opts), reference);
}

/** One refinement round around the plan `chosen` (see the file comment). */
export async function refineRound(
  g: Graph, calib: CalibrationImages, table: DistortionTable, instance: KnapsackInstance, chosen: readonly Int32Array[], reference: Float32Array,
  opts: ChannelMeasureOptions & { log?: (line: string) => void },
): Promise<RefineRound> {
  const context = contextNetwork(g, table, chosen);
  const measured = meanSquaredError(await networkOutputs(context, calib, opts), reference);
  // each group's neighbours of its chosen option, by layer and channel
  const neighbours = table.layers.map((l) => Array.from({ length: l.shape[1] }, () => [] as number[]));
  instance.candidateOf.forEach((options, i) => {
    const li = instance.layerOf[i], c = instance.channelOf[i];
    // the knapsack options next below and next above the chosen one's cost
    const costs = table.layers[li].costs, mine = costs[chosen[li][c]];
    const cheaper = [...options].filter((j) => costs[j] < mine).pop();
    const dearer = [...options].find((j) => costs[j] > mine);
    for (const j of [cheaper, dearer]) if (j !== undefined) neighbours[li][c].push(j);
  });
  const layers: DistortionLayer[] = [];
  for (const [li, l] of table.layers.entries()) {
    const k = l.candidates.length;
    const options = neighbours[li].map((js) => js.map((j): ChannelBlock => l.candidates[j]));
    const mse = await measureChannels(context, l.name, calib, reference, options, opts);
    const distortion = Float64Array.from(l.distortion);
    neighbours[li].forEach((js, c) => {
      const anchor = l.distortion[c * k + chosen[li][c]];
      js.forEach((j, m) => (distortion[c * k + j] = Math.max(0, anchor + mse[c][m] - measured)));
    });
    layers.push({ ...l, distortion });
    opts.log?.(`refine: layer ${li + 1}/${table.layers.length} ${l.name}`);
  }
  return { table: { ...table, layers }, measured };
}

/** `g` with every table layer's channels on their chosen blocks. */
function contextNetwork(g: Graph, table: DistortionTable, chosen: readonly Int32Array[]): Graph {
  return withBlockRelus(g, new Map(table.layers.map((l, li) => [l.name, Array.from(chosen[li], (j) => l.candidates[j])])));
}
