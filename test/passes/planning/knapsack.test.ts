// The multiple-choice knapsack (passes/planning/knapsack/): every solver against a brute force
// written here (recursion over all combinations) on tiny random instances; the scalable solver
// against the exact DP on mid-size ones (within 0.1%, also with a deliberately small core);
// the LP bound below the optimum; budgets met or under; degenerate inputs; and each coded error.
import { expect } from 'chai';
import { DP_MEMORY_CAP, type KnapsackGroup, type KnapsackSolution, solveKnapsack } from '../../../passes/planning/knapsack/index.js';
import { errorOf, rng } from '../util.js';

/** The optimal weight by trying every combination (Infinity when none fits). */
function bruteOptimum(groups: readonly KnapsackGroup[], budget: number): number {
  const go = (g: number, left: number): number => {
    if (g === groups.length) return 0;
    let best = Infinity;
    for (let j = 0; j < groups[g].costs.length; j++) {
      if (groups[g].costs[j] <= left) best = Math.min(best, groups[g].weights[j] + go(g + 1, left - groups[g].costs[j]));
    }
    return best;
  };
  return go(0, budget);
}

/** Random groups: `options` picks a count per group, costs in [0, maxCost], weights decreasing
 * with cost plus noise, rounded to quarters so that ties occur. */
function randomGroups(seed: number, count: number, options: () => number, maxCost: number): KnapsackGroup[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const n = options();
    const costs = Array.from({ length: n }, () => Math.floor(r() * (maxCost + 1)));
    const scale = 1 + 9 * r();
    const weights = costs.map((c) => Math.round(4 * scale * Math.max(0, maxCost - c + 4 * (r() - 0.3))) / 4);
    return { costs, weights };
  });
}

/** Checks a solution against its instance by recomputing cost and weight from the choice. */
function expectConsistent(groups: readonly KnapsackGroup[], budget: number, s: KnapsackSolution): void {
  let cost = 0;
  let weight = 0;
  groups.forEach((g, i) => {
    expect(s.choice[i]).to.be.within(0, g.costs.length - 1);
    cost += g.costs[s.choice[i]];
    weight += g.weights[s.choice[i]];
  });
  expect(s.cost).to.equal(cost);
  expect(s.weight).to.be.closeTo(weight, 1e-9 * (1 + weight));
  expect(cost).to.be.at.most(budget);
}

const sum = (xs: ArrayLike<unknown>, f: (g: number) => number): number => Array.from({ length: xs.length }, (_, i) => f(i)).reduce((a, b) => a + b, 0);

describe('knapsack solver', () => {
  it('every method reaches the brute-force optimum on tiny random instances (DP exactly, scalable within 0.1%)', () => {
    const r = rng(7);
    for (let t = 0; t < 300; t++) {
      const groups = randomGroups(1000 + t, 1 + Math.floor(r() * 5), () => 1 + Math.floor(r() * 5), 6);
      const min = sum(groups, (i) => Math.min(...Array.from(groups[i].costs)));
      const max = sum(groups, (i) => Math.max(...Array.from(groups[i].costs)));
      const budget = min + Math.floor(r() * (max - min + 3));
      const optimum = bruteOptimum(groups, budget);
      for (const method of ['auto', 'dp', 'scalable'] as const) {
        const s = solveKnapsack(groups, budget, { method });
        expectConsistent(groups, budget, s);
        if (method === 'scalable') expect(s.weight).to.be.at.most(optimum * 1.001 + 1e-12);
        else expect(s.weight).to.be.closeTo(optimum, 1e-9);
        expect(s.lowerBound).to.be.at.most(optimum + 1e-9);
      }
      expect(solveKnapsack(groups, budget).method).to.equal('brute');
    }
  });

  it('the scalable solver is within 0.1% of the exact DP on mid-size random instances, even with a small core', () => {
    const r = rng(11);
    for (let t = 0; t < 12; t++) {
      const groups = randomGroups(2000 + t, 150 + Math.floor(r() * 250), () => 2 + Math.floor(r() * 19), 40);
      const min = sum(groups, (i) => Math.min(...Array.from(groups[i].costs)));
      const budget = min + 500 + Math.floor(r() * 3000);
      const exact = solveKnapsack(groups, budget, { method: 'dp' });
      expect(exact.method).to.equal('dp');
      expect(solveKnapsack(groups, budget).method).to.equal('dp');
      expectConsistent(groups, budget, exact);
      for (const tuning of [undefined, { coreGroups: 8 }]) {
        const s = solveKnapsack(groups, budget, { method: 'scalable', tuning });
        expect(s.method).to.equal('scalable');
        expectConsistent(groups, budget, s);
        expect(s.weight).to.be.at.least(exact.weight - 1e-9);
        expect(s.weight, `instance ${t}, core ${tuning?.coreGroups ?? 'default'}`).to.be.at.most(exact.weight * 1.001 + 1e-12);
        expect(s.lowerBound).to.be.at.most(exact.weight + 1e-9);
      }
    }
  });

  it('the repair matters: LP rounding alone is further from the DP optimum than the repaired solution', () => {
    const groups = randomGroups(31, 300, () => 12, 40);
    const budget = sum(groups, (i) => Math.min(...Array.from(groups[i].costs))) + 1777;
    const exact = solveKnapsack(groups, budget, { method: 'dp' });
    const rounded = solveKnapsack(groups, budget, { method: 'scalable', tuning: { coreGroups: 0, fill: false } });
    const repaired = solveKnapsack(groups, budget, { method: 'scalable' });
    expect(rounded.weight).to.be.greaterThan(repaired.weight);
    expect(repaired.weight - exact.weight).to.be.lessThan(rounded.weight - exact.weight);
  });

  it('at a large scale the scalable solver proves itself within 0.1% of optimal by the LP bound', () => {
    const groups = randomGroups(41, 6000, () => 30, 200);
    const budget = Math.round(0.3 * sum(groups, (i) => Math.max(...Array.from(groups[i].costs))));
    let calls = 0;
    let last = [0, 0];
    const s = solveKnapsack(groups, budget, { onProgress: (done, total) => ((last = [done, total]), calls++) });
    expect(s.method).to.equal('scalable'); // 6,000 groups × ~350,000 budget states: past the DP's cap
    expectConsistent(groups, budget, s);
    expect(s.weight).to.be.at.most(s.lowerBound * 1.001);
    expect(calls).to.be.greaterThan(0);
    expect(last[0]).to.equal(last[1]);
  });

  it('budget 0 takes every group\'s zero-cost option; the whole budget its least distorting one', () => {
    const groups = randomGroups(51, 40, () => 6, 30).map((g, i) => ({ costs: [0, ...Array.from(g.costs, (c) => c + 1)], weights: [1000 + i, ...Array.from(g.weights)] }));
    for (const method of ['auto', 'dp', 'scalable'] as const) {
      const zero = solveKnapsack(groups, 0, { method });
      expect(Array.from(zero.choice)).to.deep.equal(groups.map(() => 0));
      expect(zero.cost).to.equal(0);
      const all = sum(groups, (i) => Math.max(...Array.from(groups[i].costs)));
      const full = solveKnapsack(groups, all, { method });
      expect(full.weight).to.be.closeTo(sum(groups, (i) => Math.min(...Array.from(groups[i].weights))), 1e-9);
      expectConsistent(groups, all, full);
    }
  });

  it('meets a budget exactly when the optimum needs all of it, and handles one-option groups and ties', () => {
    // Two groups, costs 0/3/5 and 0/2: budget 5 is best spent as 3 + 2.
    const groups: KnapsackGroup[] = [{ costs: [0, 3, 5], weights: [10, 4, 3] }, { costs: [0, 2], weights: [6, 0] }, { costs: [4], weights: [2] }];
    for (const method of ['auto', 'dp', 'scalable'] as const) {
      const s = solveKnapsack(groups, 9, { method });
      expect([s.cost, s.weight]).to.deep.equal([9, 6]);
      expect(Array.from(s.choice)).to.deep.equal([1, 1, 0]);
    }
    const ties: KnapsackGroup[] = Array.from({ length: 30 }, () => ({ costs: [0, 1, 1, 2], weights: [3, 1, 1, 1] }));
    for (const method of ['auto', 'dp', 'scalable'] as const) {
      const s = solveKnapsack(ties, 17, { method });
      expect(s.weight).to.equal(17 * 1 + 13 * 3);
      expect(s.cost).to.equal(17);
    }
    const single = solveKnapsack([{ costs: [7], weights: [0.5] }], 7, { method: 'scalable' });
    expect([single.choice[0], single.cost, single.weight]).to.deep.equal([0, 7, 0.5]);
  });

  it('rejects bad groups, bad budgets, an infeasible budget and a DP past its cap with coded errors', () => {
    const ok = { costs: [0, 2], weights: [1, 0] };
    expect(errorOf(() => solveKnapsack([ok, { costs: [1.5], weights: [0] }], 5)).code).to.equal('MPCC4020');
    expect(errorOf(() => solveKnapsack([{ costs: [-1], weights: [0] }], 5)).message).to.match(/group 0, option 0: cost -1/);
    expect(errorOf(() => solveKnapsack([ok, { costs: [1, 2], weights: [0, NaN] }], 5)).message).to.match(/group 1, option 1: weight NaN/);
    expect(errorOf(() => solveKnapsack([{ costs: [1, 2], weights: [0] }], 5)).code).to.equal('MPCC4020');
    const empty = errorOf(() => solveKnapsack([ok, { costs: [], weights: [] }], 5));
    expect([empty.code, empty.message]).to.deep.equal(['MPCC4021', 'knapsack: group 1 has no options; every group needs at least one']);
    const infeasible = errorOf(() => solveKnapsack([{ costs: [3, 5], weights: [1, 0] }, { costs: [4], weights: [0] }], 6));
    expect(infeasible.code).to.equal('MPCC4022');
    expect(infeasible.message).to.match(/budget of 6 DReLUs is below the minimum achievable cost of 7 DReLUs/);
    for (const budget of [-1, 2.5, NaN, Infinity]) expect(errorOf(() => solveKnapsack([ok], budget)).code).to.equal('MPCC4023');
    const big = Array.from({ length: 3000 }, () => ({ costs: [0, 50, 100], weights: [2, 1, 0] }));
    expect(3000 * 100001).to.be.greaterThan(DP_MEMORY_CAP);
    const e = errorOf(() => solveKnapsack(big, 100000, { method: 'dp' }));
    expect(e.code).to.equal('MPCC4024');
    expect(e.message).to.match(/3000 groups x 100001 budget states/);
    const auto = solveKnapsack(big, 100000);
    expect([auto.method, auto.cost, auto.weight]).to.deep.equal(['scalable', 100000, 4000]);
  });
});
