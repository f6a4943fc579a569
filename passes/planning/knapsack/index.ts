// The multiple-choice knapsack of block-ReLU planning: one group per channel, one option per
// candidate block (its DReLU cost and its distortion), exactly one option per group, the summed
// cost within the budget, the summed distortion as small as possible. `auto` solves tiny
// instances by brute force, those whose DP fits (dp.ts: DP_MEMORY_CAP of back-pointers,
// DP_WORK_CAP of work) exactly, and the rest by the scalable solver (scalable.ts); every
// solution carries the LP relaxation's lower bound, so its gap to the optimum is known.
import { BRUTE_MAX, DP_MEMORY_CAP, DP_WORK_CAP, dpSize, solveBrute, solveDp } from './dp.js';
import { buildHulls, lpRelaxation } from './hull.js';
import { type ScalableTuning, solveScalable } from './scalable.js';
import { type KnapsackGroup, type KnapsackOptions, type KnapsackSolution, checkInstance, solutionOf } from './types.js';

export type { KnapsackGroup, KnapsackOptions, KnapsackSolution } from './types.js';
export type { ScalableTuning } from './scalable.js';
export { DP_MEMORY_CAP, DP_WORK_CAP } from './dp.js';

/** Picks one option per group, total cost <= budget, least total weight (coded errors
 * MPCC4020–4024 for bad input, an infeasible budget, or a forced DP that does not fit). */
export function solveKnapsack(groups: readonly KnapsackGroup[], budget: number, opts: KnapsackOptions & { tuning?: ScalableTuning } = {}): KnapsackSolution {
  const inst = checkInstance(groups, budget);
  const hulls = buildHulls(inst);
  const method = opts.method ?? 'auto';
  if (method === 'scalable') {
    const { choice, lowerBound } = solveScalable(inst, hulls, opts.tuning, opts.onProgress);
    return solutionOf(inst, choice, 'scalable', lowerBound);
  }
  const lowerBound = lpRelaxation(inst, hulls).bound;
  if (method === 'auto' && combinations(groups) <= BRUTE_MAX) return solutionOf(inst, solveBrute(inst), 'brute', lowerBound);
  const size = dpSize(inst, hulls);
  if (method === 'dp' || (size.bytes <= DP_MEMORY_CAP && size.work <= DP_WORK_CAP)) return solutionOf(inst, solveDp(inst, hulls, opts.onProgress), 'dp', lowerBound);
  const { choice } = solveScalable(inst, hulls, opts.tuning, opts.onProgress);
  return solutionOf(inst, choice, 'scalable', lowerBound);
}

/** The number of combinations of options (capped once past BRUTE_MAX). */
function combinations(groups: readonly KnapsackGroup[]): number {
  let n = 1;
  for (const g of groups) if ((n *= g.costs.length) > BRUTE_MAX) return n;
  return n;
}
