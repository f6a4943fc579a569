// The multiple-choice knapsack's contract and its one input check. A group is one channel of a
// planned ReLU layer, an option one candidate block of it: an integer DReLU cost and a
// distortion (weight) to minimize. Exactly one option per group; the summed cost stays within
// the budget. The check flattens the groups into typed arrays every solver reads, so a solver
// never sees a malformed instance.
import { diag } from '../../../runtime/diagnostics.js';

/** One group (one channel): option j costs costs[j] DReLUs (an integer >= 0) and weighs
 * weights[j] (its distortion, >= 0, to minimize). */
export interface KnapsackGroup {
  readonly costs: ArrayLike<number>;
  readonly weights: ArrayLike<number>;
}

/** A solution: the option chosen per group, its total cost and weight, the solver that made it,
 * and the LP relaxation's bound on the optimal weight (optimum >= lowerBound). */
export interface KnapsackSolution {
  readonly choice: Int32Array;
  readonly cost: number;
  readonly weight: number;
  readonly method: 'brute' | 'dp' | 'scalable';
  readonly lowerBound: number;
}

/** Options of `solveKnapsack`: the solver ('auto' picks brute force, DP or scalable by size) and
 * a progress callback (units of work done out of total). */
export interface KnapsackOptions {
  readonly method?: 'auto' | 'dp' | 'scalable';
  readonly onProgress?: (done: number, total: number) => void;
}

/** A checked instance, flattened: group g's options are offset[g] .. offset[g+1]-1. */
export interface Instance {
  readonly groups: number;
  readonly offset: Int32Array;
  readonly cost: Float64Array;
  readonly weight: Float64Array;
  readonly budget: number;
  /** Σ over groups of the cheapest option's cost, and of the dearest one's. */
  readonly minCost: number;
  readonly maxCost: number;
}

/** Checks the groups and the budget (coded errors MPCC4020–4023) and flattens them. */
export function checkInstance(groups: readonly KnapsackGroup[], budget: number): Instance {
  if (!Number.isSafeInteger(budget) || budget < 0) throw diag('MPCC4023', [budget]);
  const offset = new Int32Array(groups.length + 1);
  for (let g = 0; g < groups.length; g++) {
    const { costs, weights } = groups[g];
    if (costs.length !== weights.length) throw diag('MPCC4020', [g, '*', `${costs.length} costs but ${weights.length} weights`]);
    if (costs.length === 0) throw diag('MPCC4021', [g]);
    offset[g + 1] = offset[g] + costs.length;
  }
  const cost = new Float64Array(offset[groups.length]);
  const weight = new Float64Array(offset[groups.length]);
  let minCost = 0;
  let maxCost = 0;
  for (let g = 0; g < groups.length; g++) {
    const { costs, weights } = groups[g];
    let lo = Infinity;
    let hi = 0;
    for (let j = 0; j < costs.length; j++) {
      const c = costs[j];
      const w = weights[j];
      if (!Number.isSafeInteger(c) || c < 0) throw diag('MPCC4020', [g, j, `cost ${c} is not a whole number of DReLUs >= 0`]);
      if (!Number.isFinite(w) || w < 0) throw diag('MPCC4020', [g, j, `weight ${w} is not a finite distortion >= 0`]);
      cost[offset[g] + j] = c;
      weight[offset[g] + j] = w;
      lo = Math.min(lo, c);
      hi = Math.max(hi, c);
    }
    minCost += lo;
    maxCost += hi;
  }
  if (minCost > budget) throw diag('MPCC4022', [minCost, budget]);
  return { groups: groups.length, offset, cost, weight, budget, minCost, maxCost };
}

/** The solution record of a choice: its summed cost and weight (recomputed, not trusted). */
export function solutionOf(inst: Instance, choice: Int32Array, method: KnapsackSolution['method'], lowerBound: number): KnapsackSolution {
  let cost = 0;
  let weight = 0;
  for (let g = 0; g < inst.groups; g++) {
    cost += inst.cost[inst.offset[g] + choice[g]];
    weight += inst.weight[inst.offset[g] + choice[g]];
  }
  return { choice, cost, weight, method, lowerBound };
}
