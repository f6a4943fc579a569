// The exact solvers: a dynamic program over (group, budget) for instances whose back-pointers
// fit in memory, and brute force for tiny ones. The DP keeps best[b], the least weight of the
// groups so far at cost <= b, one row at a time; per state it stores which option of the group
// won, in one byte when the group has at most 256 undominated options (two otherwise), so
// memory is groups × (budget + 1) bytes. Only undominated options (hull.ts) enter: replacing a
// dominated option by the one dominating it never costs more nor weighs more.
import { diag } from '../../../runtime/diagnostics.js';
import type { Hulls } from './hull.js';
import type { Instance } from './types.js';

/** Back-pointer memory the DP may take (bytes); beyond it `auto` picks the scalable solver and
 * a forced `dp` is refused (MPCC4024). */
export const DP_MEMORY_CAP = 256 * 1024 * 1024;
/** Work (undominated options × budget states) beyond which `auto` prefers the scalable solver:
 * about 10 s on one core. */
export const DP_WORK_CAP = 4e9;

/** The DP's budget states: the budget, capped where every group already takes its dearest option. */
function statesOf(inst: Instance): number {
  return Math.min(inst.budget, inst.maxCost) + 1;
}

/** Bytes per back-pointer: one when every group has at most 256 undominated options. */
function pointerBytes(hulls: Hulls): 1 | 2 | 4 {
  let most = 0;
  for (let g = 0; g + 1 < hulls.frontierOffset.length; g++) most = Math.max(most, hulls.frontierOffset[g + 1] - hulls.frontierOffset[g]);
  return most <= 256 ? 1 : most <= 65536 ? 2 : 4;
}

/** The DP's back-pointer bytes and its work (option × state updates). */
export function dpSize(inst: Instance, hulls: Hulls): { bytes: number; work: number } {
  const states = statesOf(inst);
  return { bytes: inst.groups * states * pointerBytes(hulls), work: hulls.frontier.length * states };
}

/** The optimal choice (local option index per group) by the DP; MPCC4024 beyond the memory cap. */
export function solveDp(inst: Instance, hulls: Hulls, onProgress?: (done: number, total: number) => void): Int32Array {
  const { groups, offset, cost, weight } = inst;
  const { frontier, frontierOffset } = hulls;
  const states = statesOf(inst);
  const bytes = pointerBytes(hulls);
  const mb = (groups * states * bytes) / (1024 * 1024);
  if (groups * states * bytes > DP_MEMORY_CAP) throw diag('MPCC4024', [mb.toFixed(0), groups, states, DP_MEMORY_CAP / (1024 * 1024)]);
  const back = bytes === 1 ? new Uint8Array(groups * states) : bytes === 2 ? new Uint16Array(groups * states) : new Uint32Array(groups * states);
  let prev = new Float64Array(states); // no group yet: weight 0 at any budget
  let next = new Float64Array(states);
  for (let g = 0; g < groups; g++) {
    next.fill(Infinity);
    const row = g * states;
    for (let i = frontierOffset[g]; i < frontierOffset[g + 1]; i++) {
      const c = cost[frontier[i]];
      const w = weight[frontier[i]];
      const j = i - frontierOffset[g];
      for (let b = c; b < states; b++) {
        const v = prev[b - c] + w;
        if (v < next[b]) {
          next[b] = v;
          back[row + b] = j;
        }
      }
    }
    [prev, next] = [next, prev];
    onProgress?.(g + 1, groups);
  }
  const choice = new Int32Array(groups);
  let b = states - 1;
  for (let g = groups - 1; g >= 0; g--) {
    const o = frontier[frontierOffset[g] + back[g * states + b]];
    choice[g] = o - offset[g];
    b -= cost[o];
  }
  return choice;
}

/** Combinations brute force enumerates at most in `auto`. */
export const BRUTE_MAX = 4096;

/** The optimal choice by trying every combination (least weight, then least cost). */
export function solveBrute(inst: Instance): Int32Array {
  const { groups, offset, cost, weight, budget } = inst;
  const pick = new Int32Array(groups);
  let best = new Int32Array(groups);
  let bestWeight = Infinity;
  let bestCost = Infinity;
  for (;;) {
    let c = 0;
    let w = 0;
    for (let g = 0; g < groups; g++) {
      c += cost[offset[g] + pick[g]];
      w += weight[offset[g] + pick[g]];
    }
    if (c <= budget && (w < bestWeight || (w === bestWeight && c < bestCost))) {
      best = pick.slice();
      bestWeight = w;
      bestCost = c;
    }
    let g = 0;
    while (g < groups && ++pick[g] === offset[g + 1] - offset[g]) pick[g++] = 0;
    if (g === groups) return best;
  }
}
