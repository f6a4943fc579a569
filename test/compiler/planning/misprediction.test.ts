// The knapsack planner's warning when a plan's measured distortion is far from what its per-layer
// table predicted (compiler/planning/budget-plan.ts): MobileNetV2 with random weights, whose output
// barely depends on the input, predicted 3e-26 and measured 4e-7 in fast mode, and nothing said so.
import { expect } from 'chai';
import { MISPREDICTION_FACTOR, mispredictionWarning } from '../../../compiler/planning/budget-plan.js';

describe('knapsack planner: a prediction far from the measurement is warned about', () => {
  it('warns beyond the factor either way, names both figures and the mode; not within it, nor when nothing was measured', () => {
    const w = mispredictionWarning('fast', 2.99e-26, 4.337e-7)!;
    expect(w).to.match(/^fast mode predicted a distortion of 2\.990e-26 for the plan, measured 4\.337e-7 \(1\.5e\+19× apart\): the per-layer table does not describe this network/);
    expect(mispredictionWarning('exact', 1, 1.01 * MISPREDICTION_FACTOR)).to.match(/1\.0e\+2× apart/);
    expect(mispredictionWarning('exact', 1.01 * MISPREDICTION_FACTOR, 1)).to.match(/^exact mode predicted/);
    // the fixtures' own figures (fashion-mnist 10%: predicted 8.2, measured 6.4): no warning
    expect(mispredictionWarning('fast', 8.21, 6.418)).to.equal(undefined);
    expect(mispredictionWarning('fast', 1, MISPREDICTION_FACTOR)).to.equal(undefined);
    expect(mispredictionWarning('fast', 0, 0)).to.equal(undefined);
  });
});
