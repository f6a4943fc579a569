// lower and schedule-rounds on zoo models: the golden secure IR of tiny-cnn (regenerate with
// MPCC_UPDATE_GOLDEN=1, e.g. after a protocol's PROTOCOL_COSTS change; read the diff), and
// ResNet18-CIFAR's rounds and DReLUs against hand counts.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importOnnx } from '../../compiler/onnx/import.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import { printGraph } from '../../ir/print.js';
import { costReport } from '../../passes/cost-model.js';
import { runPipeline } from '../../passes/index.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../../test/passes/golden-zoo/', import.meta.url));
const UPDATE = process.env.MPCC_UPDATE_GOLDEN === '1' || process.argv.includes('--update');
const SECURE = 'canonicalize,quantize,lower,schedule-rounds';

describe('lower and schedule-rounds on zoo models', function () {
  this.timeout(60000);

  it('tiny-cnn: canonicalize,quantize,lower,schedule-rounds prints the golden IR', () => {
    const g = runPipeline(importOnnx(buildZooModel('tiny-cnn')), SECURE).graph;
    const text = printGraph(g, { weightsRef: 'tiny-cnn.weights' });
    const file = join(GOLDEN_DIR, 'tiny-cnn.secure.mir');
    if (UPDATE) writeFileSync(file, text);
    expect(text).to.equal(readFileSync(file, 'utf8'));
  });

  it('resnet18-cifar: every ReLU but the last fused, shortcuts beside the main path, 54 rounds', () => {
    const g = runPipeline(importOnnx(buildZooModel('resnet18-cifar')), SECURE).graph;
    const count = (op: string) => g.nodes.filter((n) => n.op === op).length;
    // 17 ReLUs (stem + 2 per block × 8); each but the last feeds a conv directly.
    expect(count('SecureReluWeights')).to.equal(16);
    expect(count('SecureRelu')).to.equal(1);
    // stem conv 1 + 17 ReLUs × 3 + fc 1 + reveal 1: the three downsample convs add no round.
    const r = costReport(g);
    expect(r.rounds).to.equal(1 + 17 * 3 + 1 + 1);
    // ReLU elements: 64·32² after the stem and in layer1 (5 ReLUs), 128·16², 256·8², 512·4² (4 each).
    expect(r.drelus).to.equal(5 * 64 * 1024 + 4 * (128 * 256 + 256 * 64 + 512 * 16));
    const shortcuts = g.nodes.filter((n) => n.op === 'SecureWeights' && n.name.includes('downsample'));
    expect(shortcuts).to.have.length(3);
    for (const ds of shortcuts) {
      const main = g.nodes.find((n) => n.op === 'SecureReluWeights' && n.name.endsWith(ds.name.replace('downsample/downsample.0', 'conv2')));
      expect(ds.attrs.round, ds.name).to.equal(main!.attrs.round);
    }
  });
});
