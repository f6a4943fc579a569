// lower and schedule-rounds on zoo models: the golden secure IR of tiny-cnn (regenerate with
// MPCC_UPDATE_GOLDEN=1, e.g. after a protocol's PROTOCOL_COSTS change; read the diff), and
// ResNet18-CIFAR's rounds and DReLUs against hand counts.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { printGraph } from '../../../ir/print.js';
import type { Graph } from '../../../ir/graph.js';
import { makeNode, producers, replaceGraph } from '../../../ir/graph.js';
import { costReport } from '../../../passes/secure/cost-model.js';
import { SECURE_OPS } from '../../../passes/secure/secure-costs.js';
import { runPipeline } from '../../../passes/index.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../../../test/passes/golden-zoo/', import.meta.url));
const UPDATE = process.env.MPCC_UPDATE_GOLDEN === '1' || process.argv.includes('--update');
const SECURE = 'canonicalize,quantize,lower,schedule-rounds';

/** Checks the schedule from its definition: a communicating node starts right after the last
 * round of its latest communicating ancestor (reached through local nodes), or in round 1. */
function expectAsap(g: Graph): void {
  const made = producers(g);
  const lastRound = new Map<string, number>();
  const readyOf = (v: string): number => {
    const p = made.get(v);
    if (!p) return 0;
    const depth = (p.attrs.rounds as number | undefined) ?? 0;
    if (SECURE_OPS.has(p.op) && depth > 0) return (p.attrs.round as number) + depth - 1;
    if (!lastRound.has(v)) lastRound.set(v, Math.max(0, ...p.inputs.filter(Boolean).map(readyOf)));
    return lastRound.get(v)!;
  };
  for (const n of g.nodes) {
    if (!SECURE_OPS.has(n.op)) continue;
    const depth = n.attrs.rounds as number;
    expect(n.attrs.round, n.name).to.equal(depth === 0 ? 0 : 1 + Math.max(0, ...n.inputs.filter(Boolean).map(readyOf)));
  }
}

describe('lower and schedule-rounds on zoo models', function () {
  this.timeout(60000);

  it('secure-ops, mobilenetv3-small and tiny-cnn in the client-offline mode: every supported operator lowers, every secure op appears, the schedule is ASAP', () => {
    // The MobileNetV3-style model holds the products of activations, HardSigmoid and its gates
    // (run securely by test/e2e/mobilenetv3.test.ts); secure-ops holds the rest of the classic
    // mode's; tiny-cnn in the client-offline mode (its MaxPool as ReLU trees) the mode's ops.
    const graphs = ['secure-ops', 'mobilenetv3-small'].map((name) => runPipeline(importOnnx(buildZooModel(name)), SECURE).graph);
    graphs.push(runPipeline(importOnnx(buildZooModel('tiny-cnn')), 'canonicalize,maxpool-to-relu-tree,quantize,lower{client-offline=true},schedule-rounds').graph);
    // and in Z_2^48 with every ReLU marked for Z_2^32 (as --ring auto marks those whose values fit):
    // the ones with no truncation folded in (the pool's tree) select there, a SecureLift after them
    const quantized = runPipeline(importOnnx(buildZooModel('tiny-cnn')), 'canonicalize,maxpool-to-relu-tree,quantize').graph;
    const marked = replaceGraph(quantized, { nodes: quantized.nodes.map((n) => (n.op === 'Relu' ? makeNode(n.op, n.name, n.inputs, n.outputs, { ...n.attrs, window_ring: 32 }) : n)) });
    graphs.push(runPipeline(marked, 'lower{client-offline=true,ring=48},schedule-rounds').graph);
    // SecureBlockRelu comes from a BlockRelu, which no ONNX operator imports as (a plan inserts
    // it): its lowering is tested on hand-written graphs, test/passes/secure/lower-block-relu.test.ts.
    // SecureSigmoid: no zoo classifier has a Sigmoid; test/e2e/mobilenetv3.test.ts runs one securely.
    for (const op of SECURE_OPS) if (op !== 'SecureBlockRelu' && op !== 'SecureSigmoid') expect(graphs.some((g) => g.nodes.some((n) => n.op === op)), op).to.equal(true);
    for (const g of graphs) {
      expectAsap(g);
      const r = costReport(g);
      expect(r.rounds).to.equal(Math.max(...g.nodes.filter((n) => SECURE_OPS.has(n.op)).map((n) => (n.attrs.round as number) + (n.attrs.rounds as number) - 1)));
    }
  });

  it('tiny-cnn: canonicalize,quantize,lower,schedule-rounds prints the golden IR', () => {
    const g = runPipeline(importOnnx(buildZooModel('tiny-cnn')), SECURE).graph;
    const text = printGraph(g, { weightsRef: 'tiny-cnn.weights' });
    const file = join(GOLDEN_DIR, 'tiny-cnn.secure.mir');
    if (UPDATE) writeFileSync(file, text);
    expect(text).to.equal(readFileSync(file, 'utf8'));
  });

  it('resnet18-cifar: every ReLU but the last fused, shortcuts beside the main path, 73 rounds (54 + the exact truncations)', () => {
    const g = runPipeline(importOnnx(buildZooModel('resnet18-cifar')), SECURE).graph;
    const count = (op: string) => g.nodes.filter((n) => n.op === op).length;
    // 17 ReLUs (stem + 2 per block × 8); each but the last feeds a conv directly.
    expect(count('SecureReluWeights')).to.equal(16);
    expect(count('SecureRelu')).to.equal(1);
    // stem conv 1 + 17 ReLUs × 3 + fc 1 + reveal 1, and one round for the exact truncation after
    // each product on the main path (the stem, 16 fused convs, the fc) and for the global average
    // pool's division: the three downsample convs and their truncations add no round.
    expectAsap(g);
    const r = costReport(g);
    expect(count('SecureTruncate')).to.equal(1 + 16 + 3 + 1 + 1);
    expect(r.rounds).to.equal(1 + 17 * 3 + 1 + 1 + 18 + 1);
    // ReLU elements: 64·32² after the stem and in layer1 (5 ReLUs), 128·16², 256·8², 512·4² (4 each).
    expect(r.drelus).to.equal(5 * 64 * 1024 + 4 * (128 * 256 + 256 * 64 + 512 * 16));
    const shortcuts = g.nodes.filter((n) => n.op === 'SecureWeights' && n.name.includes('downsample'));
    expect(shortcuts).to.have.length(3);
    for (const ds of shortcuts) {
      const main = g.nodes.find((n) => n.op === 'SecureReluWeights' && n.name.endsWith(ds.name.replace('downsample/downsample.0', 'conv2')));
      // beside the main path: no later than the block's second conv (one round earlier now that the
      // main path's first product takes its exact truncation's round)
      expect(ds.attrs.round as number, ds.name).to.be.within((main!.attrs.round as number) - 1, main!.attrs.round as number);
    }
  });
});
