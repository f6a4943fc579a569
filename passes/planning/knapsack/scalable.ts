// The scalable solver for instances the exact DP cannot hold (ResNet50: 22,720 groups, a budget
// of 576,522 DReLUs). Three steps:
// 1. the LP relaxation over the groups' convex hulls (hull.ts), whose integer part is feasible
//    and at most one group (the split) away from the LP optimum;
// 2. an exact repair after Pisinger's core idea: the groups whose hull segments around the
//    current choice have efficiencies nearest the critical slope are the only ones an optimal
//    solution is likely to change; they are re-optimized together by a DP over their summed
//    change of cost, kept in a window [-down, leftover + down] around the current choice while
//    the core is swept (partial sums may overshoot what later groups give back) and within
//    [-down, leftover] at the end (the current choice is inside, so the repair never makes
//    things worse);
// 3. a greedy fill of the budget still left, by the best weight saved per DReLU.
import { type Hulls, lpRelaxation, segmentEfficiency } from './hull.js';
import type { Instance } from './types.js';

/** Tuning of the repair; the defaults are what `solveKnapsack` uses. */
export interface ScalableTuning {
  /** Groups in the core at most. */
  readonly coreGroups?: number;
  /** Work of the core DP (undominated options × window states) at most. */
  readonly coreWork?: number;
  /** Whether to fill the budget left greedily (default true; false only to measure the rest). */
  readonly fill?: boolean;
}

const DEFAULT_CORE_GROUPS = 1024;
const DEFAULT_CORE_WORK = 1.5e8;
/** Back-pointers of the core DP (core groups × window states, two bytes each) at most. */
const CORE_STATES_CAP = 3e7;

/** What the scalable solver found: the choice and the LP bound. */
export interface ScalableResult {
  readonly choice: Int32Array;
  readonly lowerBound: number;
}

/** A near-optimal choice (local option index per group) and the LP lower bound. */
export function solveScalable(inst: Instance, hulls: Hulls, tuning: ScalableTuning = {}, onProgress?: (done: number, total: number) => void): ScalableResult {
  const lp = lpRelaxation(inst, hulls);
  onProgress?.(1, 3);
  // `current` holds flat option indices while the solver works.
  const current = new Int32Array(inst.groups);
  for (let g = 0; g < inst.groups; g++) current[g] = hulls.hull[hulls.hullOffset[g] + lp.position[g]];
  if (lp.splitGroup >= 0) repairCore(inst, hulls, lp.position, lp.splitEfficiency, current, tuning);
  onProgress?.(2, 3);
  if (tuning.fill !== false) greedyFill(inst, hulls, current);
  onProgress?.(3, 3);
  const choice = new Int32Array(inst.groups);
  for (let g = 0; g < inst.groups; g++) choice[g] = current[g] - inst.offset[g];
  return { choice, lowerBound: lp.bound };
}

/** Total cost of flat option indices. */
function costOf(inst: Instance, current: Int32Array): number {
  let c = 0;
  for (let g = 0; g < inst.groups; g++) c += inst.cost[current[g]];
  return c;
}

/** The core: groups ordered by how near the critical slope their hull segments into and out of
 * the current point are (log ratio of efficiencies), as many as the limits allow. */
function coreGroups(inst: Instance, hulls: Hulls, position: Int32Array, critical: number, tuning: ScalableTuning): Int32Array {
  const nearness = new Float64Array(inst.groups);
  for (let g = 0; g < inst.groups; g++) {
    const segments = hulls.hullOffset[g + 1] - hulls.hullOffset[g] - 1;
    const k = position[g];
    const into = k > 0 ? Math.abs(Math.log(segmentEfficiency(inst, hulls, g, k - 1) / critical)) : Infinity;
    const out = k < segments ? Math.abs(Math.log(segmentEfficiency(inst, hulls, g, k) / critical)) : Infinity;
    nearness[g] = Math.min(into, out);
  }
  const order = Int32Array.from({ length: inst.groups }, (_, g) => g).filter((g) => nearness[g] < Infinity);
  order.sort((a, b) => nearness[a] - nearness[b] || a - b);
  const most = tuning.coreGroups ?? DEFAULT_CORE_GROUPS;
  return order.slice(0, Math.min(most, order.length));
}

/** Re-optimizes the core groups exactly within a window of cost change; updates `current`. */
function repairCore(inst: Instance, hulls: Hulls, position: Int32Array, critical: number, current: Int32Array, tuning: ScalableTuning): void {
  const { cost, weight } = inst;
  const { frontier, frontierOffset } = hulls;
  const leftover = inst.budget - costOf(inst, current);
  const workCap = tuning.coreWork ?? DEFAULT_CORE_WORK;
  let core = coreGroups(inst, hulls, position, critical, tuning);
  if (core.length === 0) return;
  // Shrink the core until the window can at least hold the leftover and a modest way down.
  let options = 0;
  for (const g of core) options += frontierOffset[g + 1] - frontierOffset[g];
  while (core.length > 1 && (options * (2 * leftover + 1) > workCap || core.length * (2 * leftover + 1) > CORE_STATES_CAP)) {
    const g = core[core.length - 1];
    options -= frontierOffset[g + 1] - frontierOffset[g];
    core = core.subarray(0, core.length - 1);
  }
  let coreCost = 0;
  for (const g of core) coreCost += cost[current[g]];
  const room = Math.floor(Math.min(workCap / options, CORE_STATES_CAP / core.length)) - leftover - 1;
  const down = Math.max(0, Math.min(coreCost, Math.floor(room / 2)));
  const states = 2 * down + leftover + 1; // index s is a change of cost s - down
  let prev = new Float64Array(states).fill(Infinity);
  let next = new Float64Array(states);
  prev[down] = 0;
  let widest = 0;
  for (const g of core) widest = Math.max(widest, frontierOffset[g + 1] - frontierOffset[g]);
  const back = widest <= 65536 ? new Uint16Array(core.length * states) : new Uint32Array(core.length * states);
  for (let k = 0; k < core.length; k++) {
    const g = core[k];
    const c0 = cost[current[g]];
    const w0 = weight[current[g]];
    next.fill(Infinity);
    for (let i = frontierOffset[g]; i < frontierOffset[g + 1]; i++) {
      const dc = cost[frontier[i]] - c0;
      const dw = weight[frontier[i]] - w0;
      const j = i - frontierOffset[g];
      const from = Math.max(0, -dc);
      const to = Math.min(states, states - dc);
      for (let s = from; s < to; s++) {
        const v = prev[s] + dw;
        if (v < next[s + dc]) {
          next[s + dc] = v;
          back[k * states + s + dc] = j;
        }
      }
    }
    [prev, next] = [next, prev];
  }
  let best = down;
  for (let s = 0; s <= down + leftover; s++) if (prev[s] < prev[best]) best = s;
  if (!(prev[best] < 0)) return;
  let s = best;
  for (let k = core.length - 1; k >= 0; k--) {
    const g = core[k];
    const c0 = cost[current[g]];
    const o = frontier[frontierOffset[g] + back[k * states + s]];
    current[g] = o;
    s -= cost[o] - c0;
  }
}

/** Spends the budget still left on the best weight saved per DReLU, one change at a time. */
function greedyFill(inst: Instance, hulls: Hulls, current: Int32Array): void {
  const { cost, weight } = inst;
  const { frontier, frontierOffset } = hulls;
  let left = inst.budget - costOf(inst, current);
  while (left > 0) {
    let bestGroup = -1;
    let bestOption = -1;
    let bestRate = 0;
    for (let g = 0; g < inst.groups; g++) {
      const c0 = cost[current[g]];
      const w0 = weight[current[g]];
      for (let i = frontierOffset[g]; i < frontierOffset[g + 1]; i++) {
        const o = frontier[i];
        const dc = cost[o] - c0;
        if (dc <= 0) continue;
        if (dc > left) break; // the frontier is sorted by cost
        const rate = (w0 - weight[o]) / dc;
        if (rate > bestRate) {
          bestRate = rate;
          bestGroup = g;
          bestOption = o;
        }
      }
    }
    if (bestGroup < 0) return;
    left -= cost[bestOption] - cost[current[bestGroup]];
    current[bestGroup] = bestOption;
  }
}
