// From a distortion table to a plan: one knapsack group per channel over all layers, its
// options the layer's candidate blocks with cost = DReLUs per inference and weight = distortion,
// reduced first (options of equal DReLU cost in a channel keep only the least distorting one,
// and an option that costs at least as much as a cheaper one and distorts at least as much is
// dropped: what is left has strictly rising cost and strictly falling distortion); the solver
// (knapsack/index.ts) picks one option per group under the budget minimizing the summed
// distortion, and the choice becomes a complete plan (makePlan) whose `source` records how.
import type { Graph } from '../../ir/graph.js';
import { diag } from '../../runtime/diagnostics.js';
import { type DistortionTable } from './distortion-table.js';
import { type KnapsackSolution, solveKnapsack } from './knapsack/index.js';
import { type ChannelBlock, type Plan, makePlan, reluLayerNames } from './plan-file.js';

/** The knapsack groups of a table and how each group's options map back to candidates. */
export interface KnapsackInstance {
  readonly groups: { costs: Float64Array; weights: Float64Array }[];
  /** Per group: its layer's index in the table, its channel, and each option's candidate index. */
  readonly layerOf: Int32Array;
  readonly channelOf: Int32Array;
  readonly candidateOf: Int32Array[];
  /** DReLUs per inference with every channel a ReLU: the budget's 100%. */
  readonly baseline: number;
}

/** The Pareto options of one channel: candidate indices with strictly rising cost and strictly
 * falling distortion (the cheapest of equal-cost options, or the least distorting one). */
export function paretoOptions(costs: readonly number[], distortion: ArrayLike<number>): number[] {
  const order = costs.map((_, j) => j).sort((a, b) => costs[a] - costs[b] || distortion[a] - distortion[b] || a - b);
  const kept: number[] = [];
  let best = Infinity;
  for (const j of order) {
    if (distortion[j] < best && (kept.length === 0 || costs[j] > costs[kept[kept.length - 1]])) {
      kept.push(j);
      best = distortion[j];
    }
  }
  return kept;
}

/** The knapsack instance of `table`: one group per channel of every layer, in table order. */
export function knapsackInstance(table: DistortionTable): KnapsackInstance {
  const groups: KnapsackInstance['groups'] = [];
  const layerOf: number[] = [], channelOf: number[] = [], candidateOf: Int32Array[] = [];
  let baseline = 0;
  table.layers.forEach((layer, li) => {
    const [n, channels, h, w] = layer.shape;
    baseline += n * channels * h * w;
    const k = layer.candidates.length;
    for (let c = 0; c < channels; c++) {
      const row = layer.distortion.subarray(c * k, (c + 1) * k);
      const kept = paretoOptions(layer.costs, row);
      groups.push({ costs: Float64Array.from(kept, (j) => n * layer.costs[j]), weights: Float64Array.from(kept, (j) => row[j]) });
      layerOf.push(li);
      channelOf.push(c);
      candidateOf.push(Int32Array.from(kept));
    }
  });
  return { groups, layerOf: Int32Array.from(layerOf), channelOf: Int32Array.from(channelOf), candidateOf, baseline };
}

/** A knapsack plan and what the solver says of it. */
export interface KnapsackPlan {
  readonly plan: Plan;
  /** The summed distortions of the chosen options (the table's prediction of the plan's MSE). */
  readonly predicted: number;
  readonly solver: KnapsackSolution;
  /** Per table layer, per channel: the chosen candidate index. */
  readonly chosen: Int32Array[];
}

/** The budget in DReLUs per inference from `--budget R` (a fraction) or `--budget-drelus N`
 * (MPCC4040 naming the flag when outside (0, 1] or above the baseline). */
export function budgetDrelus(baseline: number, budget: { fraction?: number; drelus?: number }): number {
  if (budget.fraction !== undefined) {
    if (!(budget.fraction > 0 && budget.fraction <= 1)) throw diag('MPCC4040', ['--budget', String(budget.fraction), 'expected a fraction of the DReLUs, 0 < R <= 1 (e.g. 0.06)']);
    return Math.floor(budget.fraction * baseline);
  }
  const n = budget.drelus!;
  if (!Number.isInteger(n) || n < 0) throw diag('MPCC4040', ['--budget-drelus', String(n), 'expected a whole number of DReLUs']);
  if (n > baseline) throw diag('MPCC4040', ['--budget-drelus', String(n), `the model has only ${baseline.toLocaleString('en-US')} DReLUs per inference`]);
  return n;
}

/** The plan of `table` under `budget` DReLUs per inference: the solver's choice as a complete plan
 * of `graph`'s ReLU layers; `source` is recorded with the predicted distortion added. */
export function knapsackPlan(graph: Graph, table: DistortionTable, budget: number, source: Record<string, unknown>, instance = knapsackInstance(table)): KnapsackPlan {
  const solver = solveKnapsack(instance.groups, budget);
  const chosen = table.layers.map((l) => new Int32Array(l.shape[1]));
  let predicted = 0;
  instance.groups.forEach((g, i) => {
    const option = solver.choice[i];
    chosen[instance.layerOf[i]][instance.channelOf[i]] = instance.candidateOf[i][option];
    predicted += g.weights[option];
  });
  const layers = table.layers.map((l, li) => ({ name: l.name, shape: l.shape, blocks: Array.from(chosen[li], (j): ChannelBlock => l.candidates[j]) }));
  const plan = makePlan({ sha256: table.modelSha256, reluLayers: reluLayerNames(graph) }, layers, {
    ...source,
    method: 'knapsack',
    mode: table.mode,
    samples: table.samples,
    budget: { drelus: budget, fraction: budget / instance.baseline },
    predictedDistortion: predicted,
    solver: { method: solver.method, lowerBound: solver.lowerBound },
  }, true);
  return { plan, predicted, solver, chosen };
}
