// Per group, the options worth considering and the LP relaxation over their convex hulls
// (Sinha and Zoltners, 1979). An option is dominated when another one costs no more and weighs
// less (or the same for less): no optimal choice needs it, so every solver works on the
// frontier of undominated options, in increasing cost and strictly decreasing weight. The
// lower convex hull of the frontier gives segments whose efficiency (weight saved per DReLU)
// strictly decreases along a group; the LP relaxation takes segments by decreasing efficiency
// until the budget runs out, the last one fractionally. Its weight is a lower bound on the
// optimum, and its integer part (the split segment left out) a feasible solution.
import type { Instance } from './types.js';

/** The frontiers and hulls of all groups, as flat option indices into the instance's arrays. */
export interface Hulls {
  /** Group g's undominated options, by increasing cost: frontier[frontierOffset[g] ..]. */
  readonly frontierOffset: Int32Array;
  readonly frontier: Int32Array;
  /** Group g's lower-convex-hull points (a subsequence of its frontier): hull[hullOffset[g] ..]. */
  readonly hullOffset: Int32Array;
  readonly hull: Int32Array;
}

/** Frontier and lower convex hull of every group. */
export function buildHulls(inst: Instance): Hulls {
  const { groups, offset, cost, weight } = inst;
  const frontierOffset = new Int32Array(groups + 1);
  const hullOffset = new Int32Array(groups + 1);
  const frontier = new Int32Array(offset[groups]);
  const hull = new Int32Array(offset[groups]);
  let nf = 0;
  let nh = 0;
  for (let g = 0; g < groups; g++) {
    const order = Array.from({ length: offset[g + 1] - offset[g] }, (_, j) => offset[g] + j);
    order.sort((a, b) => cost[a] - cost[b] || weight[a] - weight[b] || a - b);
    const f0 = nf;
    for (const o of order) if (nf === f0 || weight[o] < weight[frontier[nf - 1]]) frontier[nf++] = o;
    frontierOffset[g + 1] = nf;
    // Monotone chain: drop the middle point b of (a, b, p) unless b lies strictly below a–p,
    // i.e. unless the efficiency of a→b exceeds that of b→p.
    const h0 = nh;
    for (let i = f0; i < nf; i++) {
      const p = frontier[i];
      while (nh - h0 >= 2) {
        const a = hull[nh - 2];
        const b = hull[nh - 1];
        if ((weight[a] - weight[b]) * (cost[p] - cost[b]) > (weight[b] - weight[p]) * (cost[b] - cost[a])) break;
        nh--;
      }
      hull[nh++] = p;
    }
    hullOffset[g + 1] = nh;
  }
  return { frontierOffset, frontier: frontier.slice(0, nf), hullOffset, hull: hull.slice(0, nh) };
}

/** Efficiency (weight saved per DReLU) of hull segment k of group g: hull point k → k+1. */
export function segmentEfficiency(inst: Instance, hulls: Hulls, g: number, k: number): number {
  const a = hulls.hull[hulls.hullOffset[g] + k];
  const b = hulls.hull[hulls.hullOffset[g] + k + 1];
  return (inst.weight[a] - inst.weight[b]) / (inst.cost[b] - inst.cost[a]);
}

/** The LP relaxation's greedy solution. */
export interface LpRelaxation {
  /** Per group, the hull point the integer part takes (0 = its cheapest option). */
  readonly position: Int32Array;
  /** The group whose next segment is taken fractionally (-1 when every segment fits). */
  readonly splitGroup: number;
  /** That segment's efficiency, the critical slope (0 when every segment fits). */
  readonly splitEfficiency: number;
  /** The LP optimum: a lower bound on the optimal weight. */
  readonly bound: number;
}

/** Solves the LP relaxation over the hulls: segments taken by decreasing efficiency while they
 * fit. The order is found by a bisection on the efficiency threshold (a group's segments above
 * a threshold are a prefix of its hull), then ties at the first threshold that overflows are
 * taken group by group until one does not fit: that one is the split. */
export function lpRelaxation(inst: Instance, hulls: Hulls): LpRelaxation {
  const { groups } = inst;
  const { hull, hullOffset } = hulls;
  const segments = hull.length - groups;
  const efficiency = new Float64Array(segments);
  const segCost = new Float64Array(segments);
  let s = 0;
  let base = 0;
  for (let g = 0; g < groups; g++) {
    base += inst.cost[hull[hullOffset[g]]];
    for (let k = 0; k < hullOffset[g + 1] - hullOffset[g] - 1; k++, s++) {
      efficiency[s] = segmentEfficiency(inst, hulls, g, k);
      segCost[s] = inst.cost[hull[hullOffset[g] + k + 1]] - inst.cost[hull[hullOffset[g] + k]];
    }
  }
  const leftover = inst.budget - base;
  const costAbove = (threshold: number): number => {
    let total = 0;
    for (let i = 0; i < segments; i++) if (efficiency[i] >= threshold) total += segCost[i];
    return total;
  };
  const position = new Int32Array(groups);
  const weightAt = (): number => {
    let w = 0;
    for (let g = 0; g < groups; g++) w += inst.weight[hull[hullOffset[g] + position[g]]];
    return w;
  };
  if (costAbove(-Infinity) <= leftover) {
    for (let g = 0; g < groups; g++) position[g] = hullOffset[g + 1] - hullOffset[g] - 1;
    const w = weightAt();
    return { position, splitGroup: -1, splitEfficiency: 0, bound: w };
  }
  // Distinct efficiencies, decreasing; find the last threshold index whose segments all fit.
  const sorted = efficiency.slice().sort().reverse();
  let lo = -1; // sorted[lo] fits (-1: none)
  let hi = segments - 1; // sorted[hi] does not fit (the smallest threshold takes every segment)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (costAbove(sorted[mid]) <= leftover) lo = mid;
    else hi = mid;
  }
  const threshold = lo >= 0 ? sorted[lo] : Infinity;
  const next = sorted[hi];
  let remaining = leftover;
  s = 0;
  for (let g = 0; g < groups; g++) {
    const n = hullOffset[g + 1] - hullOffset[g] - 1;
    let k = 0;
    while (k < n && efficiency[s + k] >= threshold) remaining -= segCost[s + k++];
    position[g] = k;
    s += n;
  }
  // Ties at `next`, group by group; the first that does not fit is the split.
  s = 0;
  let splitGroup = -1;
  for (let g = 0; g < groups && splitGroup < 0; g++) {
    const n = hullOffset[g + 1] - hullOffset[g] - 1;
    const k = position[g];
    if (k < n && efficiency[s + k] === next) {
      if (segCost[s + k] <= remaining) {
        remaining -= segCost[s + k];
        position[g] = k + 1;
      } else splitGroup = g;
    }
    s += n;
  }
  return { position, splitGroup, splitEfficiency: next, bound: weightAt() - remaining * next };
}
