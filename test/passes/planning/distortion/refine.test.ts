// One --refine round against a direct computation: around a plan, each channel's neighbouring
// options are re-measured with every other channel as planned (the whole planned network, run by
// the interpreter with that channel changed), and the table's entries become
// d(j*) + MSE(plan with c := j) − MSE(plan); the plan's own measured distortion is the MSE of
// the whole planned network (support.ts's directMse: the interpreter, image by image).
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { driveModel } from '../../../../compiler/driver.js';
import { buildZooModel } from '../../../../examples/zoo/index.js';
import { type CalibrationImages, networkOutputs } from '../../../../passes/planning/distortion/channel-measure.js';
import { measureExactDistortion } from '../../../../passes/planning/distortion/exact.js';
import { withBlockRelus } from '../../../../passes/planning/distortion/network-cut.js';
import { refineRound } from '../../../../passes/planning/distortion/refine.js';
import { interpreterRunner } from '../../../../passes/planning/distortion/runner.js';
import { knapsackInstance } from '../../../../passes/planning/knapsack-plan.js';
import type { ChannelBlock } from '../../../../passes/planning/plan-file.js';
import { suiteTempDir } from '../../../temp-dir.js';
import { directMse, expectClose, layerRequests } from './support.js';

describe('planning/distortion: a --refine round', function () {
  this.timeout(120000);
  const temp = suiteTempDir('mpcc-refine-');

  it('re-measures each channel\'s neighbours in the context of the plan, as the whole planned network gives them', async () => {
    const file = join(temp(), 'tiny-cnn.onnx');
    writeFileSync(file, buildZooModel('tiny-cnn'));
    const g = driveModel(file, { target: 'float' }).graph;
    const data = Float32Array.from({ length: 2 * 768 }, (_, i) => Math.cos(0.21 * i) + 0.2);
    const calib: CalibrationImages = { data, shape: [2, 3, 16, 16] };
    const table = await measureExactDistortion(g, calib, layerRequests(g, 'square:4,identity'), { runner: interpreterRunner, modelSha256: 'm', calibSha256: 'c' });
    const instance = knapsackInstance(table);
    // a plan: per channel its second-cheapest knapsack option (so both neighbours exist, mostly)
    const chosen = table.layers.map((l) => new Int32Array(l.shape[1]));
    instance.candidateOf.forEach((opts, i) => (chosen[instance.layerOf[i]][instance.channelOf[i]] = opts[Math.min(1, opts.length - 1)]));
    const reference = await networkOutputs(g, calib, { runner: interpreterRunner });
    const round = await refineRound(g, calib, table, instance, chosen, reference, { runner: interpreterRunner });
    const blocksOf = (override?: { layer: number; c: number; j: number }) =>
      new Map(table.layers.map((l, li) => [l.name, Array.from(chosen[li], (j, c): ChannelBlock => l.candidates[override && override.layer === li && override.c === c ? override.j : j])]));
    const planMse = directMse(g, withBlockRelus(g, blocksOf()), calib);
    expectClose(round.measured, planMse, 'the plan\'s distortion');
    let checked = 0;
    instance.candidateOf.forEach((opts, i) => {
      const li = instance.layerOf[i], c = instance.channelOf[i];
      if (c % 4 !== 1) return; // every fourth channel keeps the test short
      const k = table.layers[li].candidates.length;
      const at = opts.indexOf(chosen[li][c]);
      for (const n of [at - 1, at + 1]) {
        if (n < 0 || n >= opts.length) continue;
        const j = opts[n];
        const expected = Math.max(0, table.layers[li].distortion[c * k + chosen[li][c]] + directMse(g, withBlockRelus(g, blocksOf({ layer: li, c, j })), calib) - planMse);
        expectClose(round.table.layers[li].distortion[c * k + j], expected, `layer ${li} channel ${c} option ${j}`, 1e-3);
        checked++;
      }
      // the other options are unchanged
      table.layers[li].candidates.forEach((_, j) => {
        if (Math.abs(opts.indexOf(j) - at) !== 1) expect(round.table.layers[li].distortion[c * k + j]).to.equal(table.layers[li].distortion[c * k + j]);
      });
    });
    expect(checked).to.be.above(4);
  });
});
