// `npm run bench -- knapsack [--json]`: the multiple-choice knapsack at ResNet50 scale. The
// instance is synthetic but shaped like the real one: one group per channel of resnet50's 49
// ReLU layers (22,720 channels on 112², 56², 28², 14² and 7² maps), options the candidate
// blocks of issue 16 (every bh, bw <= min(16, side), whole and half map, identity) merged by
// equal cost, cost ceil(H/bh)·ceil(W/bw) DReLUs (identity 0), distortion decreasing with cost
// times a per-channel sensitivity, with noise; budget 6% of the 9,608,704 baseline DReLUs.
// Figures: the scalable solver's time, peak memory and gap to the LP lower bound, beside
// baselines from the same run: the LP rounding alone (no repair), and the exact DP on a
// scaled-down instance where it fits (its gap to the scalable solver there too).
import { candidateBlocks, candidateCosts } from '../passes/planning/candidates.js';
import { WeightRng } from '../examples/zoo/random.js';
import { type KnapsackGroup, solveKnapsack } from '../passes/planning/knapsack/index.js';

/** resnet50's ReLU layers as (channels, map side), in order. */
function resnet50Layers(): Array<[number, number]> {
  const layers: Array<[number, number]> = [[64, 112]];
  const stages: Array<[number, number, number]> = [[64, 3, 56], [128, 4, 28], [256, 6, 14], [512, 3, 7]];
  let side = 56;
  for (const [width, blocks, out] of stages) {
    for (let b = 0; b < blocks; b++) {
      layers.push([width, b === 0 ? side : out], [width, out], [width * 4, out]);
    }
    side = out;
  }
  return layers;
}

/** The candidate blocks' costs of one channel of a side×side map: the planner's default
 * candidates (passes/planning/candidates.ts), identity (0) among them. `merged` keeps one option
 * per distinct cost, as the planner does (equal-cost options keep the least distorting one). */
function channelCosts(side: number, merged: boolean): number[] {
  const costs = candidateCosts(side, side, candidateBlocks(side, side));
  return merged ? [...new Set(costs)].sort((a, b) => a - b) : costs;
}

/** The synthetic instance: groups, baseline DReLUs. `scale` < 1 keeps that fraction of each
 * layer's channels; `merged` as in channelCosts. */
export function resnet50Instance(seed: number, scale = 1, merged = true): { groups: KnapsackGroup[]; baseline: number } {
  const rng = new WeightRng(seed);
  const groups: KnapsackGroup[] = [];
  let baseline = 0;
  for (const [channels, side] of resnet50Layers()) {
    const costs = channelCosts(side, merged);
    const full = side * side;
    const layerScale = Math.exp(rng.normal());
    for (let c = 0; c < Math.max(1, Math.round(channels * scale)); c++) {
      const sensitivity = layerScale * Math.exp(1.5 * rng.normal());
      const weights = costs.map((cost) => (cost === full ? 0 : sensitivity * Math.log(full / Math.max(cost, 0.5)) ** 1.5 * Math.exp(0.3 * rng.normal())));
      groups.push({ costs, weights });
      baseline += full;
    }
  }
  return { groups, baseline };
}

/** One measured solve. */
interface Row {
  instance: string;
  groups: number;
  options: number;
  budget: number;
  solver: string;
  seconds: number;
  /** The process's resident-set high-water mark after the solve (MB; instances included), and the heap then. */
  peakRssMb: number;
  heapMb: number;
  cost: number;
  weight: number;
  lowerBound: number;
  /** (weight − LP bound) / LP bound, %. */
  gapPercent: number;
}

/** Solves and measures. */
function measure(instance: string, groups: KnapsackGroup[], budget: number, solver: string, run: () => ReturnType<typeof solveKnapsack>): Row {
  global.gc?.();
  const t0 = performance.now();
  const s = run();
  const seconds = (performance.now() - t0) / 1000;
  const options = groups.reduce((n, g) => n + g.costs.length, 0);
  return {
    instance,
    groups: groups.length,
    options,
    budget,
    solver,
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    heapMb: process.memoryUsage().heapUsed / (1024 * 1024),
    cost: s.cost,
    weight: s.weight,
    lowerBound: s.lowerBound,
    gapPercent: (100 * (s.weight - s.lowerBound)) / s.lowerBound,
  };
}

/** Runs the benchmark and prints its table (or JSON). */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const rows: Row[] = [];
  const full = resnet50Instance(50);
  const budget = Math.round(0.06 * full.baseline);
  rows.push(measure('resnet50', full.groups, budget, 'scalable', () => solveKnapsack(full.groups, budget, { method: 'scalable' })));
  rows.push(measure('resnet50', full.groups, budget, 'LP rounding (no repair)', () => solveKnapsack(full.groups, budget, { method: 'scalable', tuning: { coreGroups: 0, fill: false } })));
  const unmerged = resnet50Instance(52, 1, false);
  rows.push(measure('resnet50, unmerged options', unmerged.groups, budget, 'scalable', () => solveKnapsack(unmerged.groups, budget, { method: 'scalable' })));
  rows.push(measure('resnet50, unmerged options', unmerged.groups, budget, 'LP rounding (no repair)', () => solveKnapsack(unmerged.groups, budget, { method: 'scalable', tuning: { coreGroups: 0, fill: false } })));
  const small = resnet50Instance(51, 1 / 16);
  const smallBudget = Math.round(0.06 * small.baseline);
  rows.push(measure('resnet50 / 16', small.groups, smallBudget, 'dp (exact)', () => solveKnapsack(small.groups, smallBudget, { method: 'dp' })));
  rows.push(measure('resnet50 / 16', small.groups, smallBudget, 'scalable', () => solveKnapsack(small.groups, smallBudget, { method: 'scalable' })));
  rows.push(measure('resnet50 / 16', small.groups, smallBudget, 'LP rounding (no repair)', () => solveKnapsack(small.groups, smallBudget, { method: 'scalable', tuning: { coreGroups: 0, fill: false } })));
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  const exact = rows.find((r) => r.solver.startsWith('dp'))?.weight ?? NaN;
  process.stdout.write('| instance | groups | options | budget | solver | time (s) | process peak RSS so far (MB) | heap (MB) | cost | weight | LP bound | gap to LP (%) | vs DP optimum (%) |\n|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  for (const r of rows) {
    const vsDp = r.instance === 'resnet50 / 16' ? ((100 * (r.weight - exact)) / exact).toPrecision(2) : '–';
    process.stdout.write(`| ${r.instance} | ${r.groups} | ${r.options} | ${r.budget} | ${r.solver} | ${r.seconds.toFixed(2)} | ${r.peakRssMb.toFixed(0)} | ${r.heapMb.toFixed(0)} | ${r.cost} | ${r.weight.toFixed(2)} | ${r.lowerBound.toFixed(2)} | ${r.gapPercent.toPrecision(2)} | ${vsDp} |\n`);
  }
}
