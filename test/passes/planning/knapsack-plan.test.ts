// From a distortion table to a plan: the options kept per channel (Pareto, equal costs reduced
// to the least distorting) against brute force, the budget flags' checks (MPCC4040), and the
// plan of a small random table against the brute-force optimum over every choice of blocks.
import { expect } from 'chai';
import type { DistortionTable } from '../../../passes/planning/distortion-table.js';
import { budgetDrelus, knapsackInstance, knapsackPlan, paretoOptions } from '../../../passes/planning/knapsack-plan.js';
import { type ChannelBlock, makePlan } from '../../../passes/planning/plan-file.js';
import { makeGraph, makeNode } from '../../../ir/graph.js';
import { errorOf, rng } from '../util.js';

describe('planning: knapsack plan from a distortion table', () => {
  it('keeps per channel exactly the options no other option beats on both cost and distortion (brute force), one per cost', () => {
    const rand = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 8);
      const costs = Array.from({ length: n }, () => Math.floor(rand() * 5));
      const distortion = Array.from({ length: n }, () => Math.floor(rand() * 6));
      const kept = paretoOptions(costs, distortion);
      // brute force: j is kept iff no other option is at most as dear and at most as distorting,
      // with a strict inequality or (a tie on both) a lower index
      const expected = costs.map((_, j) => j).filter((j) => !costs.some((_, i) => i !== j && costs[i] <= costs[j] && distortion[i] <= distortion[j] && (costs[i] < costs[j] || distortion[i] < distortion[j] || i < j)));
      expect([...kept].sort((a, b) => a - b), `costs ${costs} distortion ${distortion}`).to.deep.equal(expected);
      for (let k = 1; k < kept.length; k++) {
        expect(costs[kept[k]]).to.be.above(costs[kept[k - 1]]);
        expect(distortion[kept[k]]).to.be.below(distortion[kept[k - 1]]);
      }
    }
  });

  it('reads --budget as a fraction in (0, 1] and --budget-drelus up to the baseline (MPCC4040 naming the flag)', () => {
    expect(budgetDrelus(1000, { fraction: 0.06 })).to.equal(60);
    expect(budgetDrelus(1000, { fraction: 1 })).to.equal(1000);
    expect(budgetDrelus(1000, { drelus: 1000 })).to.equal(1000);
    for (const f of [0, -0.1, 1.5, Number.NaN]) {
      const e = errorOf(() => budgetDrelus(1000, { fraction: f }));
      expect(e.code).to.equal('MPCC4040');
      expect(e.message).to.contain('--budget');
    }
    const e = errorOf(() => budgetDrelus(1000, { drelus: 1001 }));
    expect(e.code).to.equal('MPCC4040');
    expect(e.message).to.contain('--budget-drelus').and.contain('1,000 DReLUs');
  });

  it('plans a small random table as well as the brute-force optimum, within the budget', () => {
    const rand = rng(11);
    const candidates: ChannelBlock[] = [[1, 1], [2, 2], [4, 4], 'identity'];
    const costs = [16, 4, 1, 0];
    for (let trial = 0; trial < 20; trial++) {
      const channels = 2 + Math.floor(rand() * 3);
      const distortion = new Float64Array(channels * 4);
      for (let c = 0; c < channels; c++) {
        // falling with the cost, as measured tables do, with ties and inversions now and then
        const base = [0, rand() * 2, rand() * 4, rand() * 8].map((v) => Math.round(v * 4) / 4);
        distortion.set(base, c * 4);
      }
      const table: DistortionTable = { mode: 'exact', modelSha256: 'f'.repeat(64), calibSha256: 'e'.repeat(64), samples: 4, layers: [{ name: 'r', shape: [1, channels, 4, 4], candidates, costs, distortion }] };
      const graph = makeGraph({ name: 'g', inputs: ['x'], outputs: ['y'], nodes: [makeNode('Relu', 'r', ['x'], ['y'])], types: new Map([['x', { dtype: 'float32', shape: [1, channels, 4, 4] }], ['y', { dtype: 'float32', shape: [1, channels, 4, 4] }]]), constants: new Map() });
      const budget = Math.floor(rand() * 16 * channels);
      const result = knapsackPlan(graph, table, budget, { tool: 'test' });
      let best = Infinity;
      for (let code = 0; code < 4 ** channels; code++) {
        let cost = 0, d = 0;
        for (let c = 0, k = code; c < channels; c++, k = Math.floor(k / 4)) {
          cost += costs[k % 4];
          d += distortion[c * 4 + (k % 4)];
        }
        if (cost <= budget) best = Math.min(best, d);
      }
      expect(result.plan.drelus.planned).to.be.at.most(budget);
      expect(result.predicted).to.be.closeTo(best, 1e-9 + 1e-3 * best);
      const again = makePlan(result.plan.model, result.plan.layers, result.plan.source, true);
      expect(again.drelus).to.deep.equal(result.plan.drelus);
      expect(result.plan.source).to.include({ method: 'knapsack', mode: 'exact', samples: 4, predictedDistortion: result.predicted });
      expect(knapsackInstance(table).baseline).to.equal(channels * 16);
    }
  });
});
