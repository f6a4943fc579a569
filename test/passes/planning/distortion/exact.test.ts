// Exact distortion against a direct computation: the WHOLE network run by the interpreter, one
// image at a time, with one channel of one layer replaced by its block-ReLU (a BlockRelu node
// built here, [1, 1] on every other channel), its logits' MSE against the unmodified network.
// On the trained fixture (a residual network: the cut carries the shortcut) through the
// channel measure, and on the zoo's tiny-cnn through the whole exact measurement (every channel
// and candidate). Then the cache: a second measurement reads it (a runner that fails proves no
// run), a corrupt file is reported (MPCC4043) and measured again, an interrupted run resumes.
import { expect } from 'chai';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { driveModel } from '../../../../compiler/driver.js';
import { buildZooModel } from '../../../../examples/zoo/index.js';
import type { Graph } from '../../../../ir/graph.js';
import { distortionOf } from '../../../../passes/planning/distortion-table.js';
import { DistortionCache } from '../../../../passes/planning/distortion/cache.js';
import { type CalibrationImages, measureChannels, networkOutputs } from '../../../../passes/planning/distortion/channel-measure.js';
import { estimateExactSeconds, measureExactDistortion } from '../../../../passes/planning/distortion/exact.js';
import { type ForwardRunner, interpreterRunner } from '../../../../passes/planning/distortion/runner.js';
import type { ChannelBlock } from '../../../../passes/planning/plan-file.js';
import { plannableLayers } from '../../../../passes/planning/uniform.js';
import { suiteTempDir } from '../../../temp-dir.js';
import { FIXTURE, directDistortion, expectClose, fixtureCalib, layerRequests } from './support.js';

describe('planning/distortion: exact mode against a direct computation', function () {
  this.timeout(120000);
  const temp = suiteTempDir('mpcc-exact-');
  let fixture: Graph;
  let tiny: Graph;
  let tinyCalib: CalibrationImages;

  before(() => {
    fixture = driveModel(FIXTURE, { inputShape: [1, 1, 28, 28], target: 'float' }).graph;
    const file = join(temp(), 'tiny-cnn.onnx');
    writeFileSync(file, buildZooModel('tiny-cnn'));
    tiny = driveModel(file, { target: 'float' }).graph;
    // deterministic images for the tiny CNN (its weights are the zoo's, not trained)
    const data = new Float32Array(3 * 3 * 16 * 16);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(0.37 * i) + 0.3 * Math.cos(1.3 * i);
    tinyCalib = { data, shape: [3, 3, 16, 16] };
  });

  it('measures single channels of every layer of the residual fixture as the whole changed network gives them', async () => {
    const calib = fixtureCalib(3);
    const reference = await networkOutputs(fixture, calib, { runner: interpreterRunner });
    for (const layer of plannableLayers(fixture)) {
      const [, channels, h, w] = layer.shape;
      const tried: ChannelBlock[] = [[2, 2], [3, 1], [h, w], 'identity'];
      const options = Array.from({ length: channels }, (_, c) => (c === 1 || c === channels - 1 ? tried : []));
      // a small batch cap: several runs per layer, the last one padded
      const rows = await measureChannels(fixture, layer.name, calib, reference, options, { runner: interpreterRunner, maxBatchValues: 60000 });
      for (const c of [1, channels - 1]) tried.forEach((b, k) => expectClose(rows[c][k], directDistortion(fixture, layer.name, c, b, calib), `${layer.name} channel ${c} ${String(b)}`));
    }
  });

  it('fills the whole table of tiny-cnn, [1, 1] exactly 0, every entry as the direct computation gives it', async () => {
    const layers = layerRequests(tiny, 'square:3,whole,identity');
    const table = await measureExactDistortion(tiny, tinyCalib, layers, { runner: interpreterRunner, modelSha256: 'm', calibSha256: 'c' });
    expect(table.mode).to.equal('exact');
    expect(table.samples).to.equal(3);
    for (const [li, layer] of table.layers.entries()) {
      expect(layer.candidates).to.deep.equal(layers[li].candidates);
      expect(layer.distortion.length).to.equal(layer.shape[1] * layer.candidates.length);
      for (let c = 0; c < layer.shape[1]; c++) {
        expect(distortionOf(layer, c, 0), 'the plain ReLU').to.equal(0);
        if (c % 3 !== 0) continue; // the direct computation on every third channel keeps the test short
        layer.candidates.forEach((b, j) => expectClose(distortionOf(layer, c, j), directDistortion(tiny, layer.name, c, b, tinyCalib), `${layer.name} channel ${c} ${String(b)}`));
      }
    }
    // something changes: identity on a channel of the first layer distorts
    expect(Math.max(...Array.from({ length: 8 }, (_, c) => distortionOf(table.layers[0], c, table.layers[0].candidates.length - 1)))).to.be.above(0);
  });

  it('estimates its own run time (timed batch × channels × candidates)', async () => {
    const layers = layerRequests(tiny, 'square:3,whole,identity');
    const estimate = await estimateExactSeconds(tiny, tinyCalib, layers, { runner: interpreterRunner });
    expect(estimate).to.be.above(0).and.below(60);
  });

  describe('the on-disk cache', () => {
    const layers = () => layerRequests(tiny, 'square:2,identity');
    const key = () => ({ modelSha256: 'a'.repeat(64), calibSha256: 'b'.repeat(64), mode: 'exact', samples: 3, layers: layers() });
    const failing: ForwardRunner = { name: 'failing', prepare: () => Promise.reject(new Error('the cache should have answered')) };

    it('answers a second measurement without a run, reports a corrupt file (MPCC4043) and measures its layer again, resumes an interrupted run', async () => {
      const dir = join(temp(), 'cache');
      const warnings: string[] = [];
      const cache = () => new DistortionCache(dir, key(), (line) => warnings.push(line));
      const first = await measureExactDistortion(tiny, tinyCalib, layers(), { runner: interpreterRunner, modelSha256: 'm', calibSha256: 'c', cache: cache() });
      const folder = cache().folder;
      expect(readdirSync(folder).sort()).to.deep.equal(['layer-0000.json', 'layer-0001.json']);
      const again = await measureExactDistortion(tiny, tinyCalib, layers(), { runner: failing, modelSha256: 'm', calibSha256: 'c', cache: cache() });
      again.layers.forEach((l, i) => expect(Array.from(l.distortion)).to.deep.equal(Array.from(first.layers[i].distortion)));

      // a corrupt file: a warning naming it, the layer measured again, the file rewritten
      writeFileSync(join(folder, 'layer-0001.json'), '{"format": "mpcc-distortion-cache", "vers');
      const lines: string[] = [];
      const repaired = await measureExactDistortion(tiny, tinyCalib, layers(), { runner: interpreterRunner, modelSha256: 'm', calibSha256: 'c', cache: cache(), log: (l) => lines.push(l) });
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain('MPCC4043').and.contain(join(folder, 'layer-0001.json'));
      expect(lines[0]).to.contain('1 of 2 layers from the cache');
      expect(Array.from(repaired.layers[1].distortion)).to.deep.equal(Array.from(first.layers[1].distortion));
      expect(existsSync(join(folder, 'layer-0001.json'))).to.equal(true);

      // interrupted after the first layer: the second run measures only the second
      rmSync(join(folder, 'layer-0001.json'));
      lines.length = 0;
      await measureExactDistortion(tiny, tinyCalib, layers(), { runner: interpreterRunner, modelSha256: 'm', calibSha256: 'c', cache: cache(), log: (l) => lines.push(l) });
      expect(lines[0]).to.contain('1 of 2 layers from the cache');
      // another key (more samples) is another entry
      expect(new DistortionCache(dir, { ...key(), samples: 4 }, () => undefined).folder).to.not.equal(folder);
    });
  });
});
