// The onnxruntime runner against the interpreter: exact distortions of single channels of every
// layer of the trained fixture (against the direct whole-network computation of the exact-mode
// test), and a context network with BlockRelu layers (as --refine runs), exported as standard
// ONNX, giving the interpreter's outputs.
import { expect } from 'chai';
import { ortRunner } from '../../../compiler/planning/ort-runner.js';
import { driveModel } from '../../../compiler/driver.js';
import type { Graph } from '../../../ir/graph.js';
import { measureChannels, networkOutputs } from '../../../passes/planning/distortion/channel-measure.js';
import { withBlockRelus } from '../../../passes/planning/distortion/network-cut.js';
import { interpreterRunner } from '../../../passes/planning/distortion/runner.js';
import type { ChannelBlock } from '../../../passes/planning/plan-file.js';
import { plannableLayers } from '../../../passes/planning/uniform.js';
import { FIXTURE, directDistortion, expectClose, fixtureCalib } from '../../passes/planning/distortion/support.js';

describe('planning: the onnxruntime runner', function () {
  this.timeout(120000);
  let fixture: Graph;
  before(() => {
    fixture = driveModel(FIXTURE, { inputShape: [1, 1, 28, 28], target: 'float' }).graph;
  });

  it('measures single channels of every layer as the direct whole-network computation gives them', async () => {
    const calib = fixtureCalib(4);
    const reference = await networkOutputs(fixture, calib, { runner: ortRunner });
    const interpReference = await networkOutputs(fixture, calib, { runner: interpreterRunner });
    for (let i = 0; i < reference.length; i++) expect(reference[i]).to.be.closeTo(interpReference[i], 1e-4 * (1 + Math.abs(interpReference[i])));
    for (const layer of plannableLayers(fixture)) {
      const [, channels, h, w] = layer.shape;
      const tried: ChannelBlock[] = [[2, 2], [1, 3], [Math.ceil(h / 2), Math.ceil(w / 2)], 'identity'];
      const options = Array.from({ length: channels }, (_, c) => (c === 2 ? tried : []));
      const rows = await measureChannels(fixture, layer.name, calib, reference, options, { runner: ortRunner, maxBatchValues: 200000 });
      tried.forEach((b, k) => expectClose(rows[2][k], directDistortion(fixture, layer.name, 2, b, calib), `${layer.name} channel 2 ${String(b)}`, 1e-3));
    }
  });

  it('runs a network with BlockRelu layers (several blocks per layer) as the interpreter does', async () => {
    const calib = fixtureCalib(4);
    const blocks = new Map(plannableLayers(fixture).map((l) => [l.name, Array.from({ length: l.shape[1] }, (_, c): ChannelBlock => (c % 3 === 0 ? 'identity' : c % 3 === 1 ? [2, 3] : [l.shape[2], 1]))]));
    const planned = withBlockRelus(fixture, blocks);
    expect(planned.nodes.filter((n) => n.op === 'BlockRelu')).to.have.length(5);
    const [a, b] = [await networkOutputs(planned, calib, { runner: ortRunner }), await networkOutputs(planned, calib, { runner: interpreterRunner })];
    for (let i = 0; i < a.length; i++) expect(a[i]).to.be.closeTo(b[i], 1e-4 * (1 + Math.abs(b[i])));
  });
});
