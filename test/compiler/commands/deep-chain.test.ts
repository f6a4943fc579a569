// Compile time linear in depth: a chain of 20,000 ReLUs compiles (it did not finish in 60 s when
// the rewrite driver rebuilt the graph after every rewrite), a chain of 2,000
// Conv-BatchNormalization-ReLU blocks has every batch-norm folded, and 10,000-node chains of
// every shape of `examples/zoo/chains.ts` compile to the DReLUs and rounds counted by hand. The
// times are in BENCHMARKS.md (`npm run bench -- depth`); a test does not time them.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { type ChainShape, CHAIN_BLOCK_NODES, chainModel } from '../../../examples/zoo/chains.js';
import { runPipeline } from '../../../passes/index.js';
import { suiteTempDir } from '../../temp-dir.js';

describe('deep chains compile', function () {
  this.timeout(300000);
  const dir = suiteTempDir('mpcc-deep-');

  it('20,000 chained ReLUs: 3 rounds each and 1 to reveal the output, by the cost report', () => {
    const b = new OnnxBuilder({ opset: 13 });
    let x = b.input('x', [1, 2, 2, 2]);
    for (let i = 0; i < 20000; i++) x = b.node('Relu', [x], [b.fresh('r')])[0];
    b.output(x);
    const model = join(dir(), 'relu.onnx');
    writeFileSync(model, b.toBytes());
    runCompile(model, { output: join(dir(), 'relu.out') });
    const cost = JSON.parse(readFileSync(join(dir(), 'relu.out', 'cost.json'), 'utf8')) as { rounds: number };
    expect(cost.rounds).to.equal(3 * 20000 + 1);
  });

  it('2,000 Conv-BatchNormalization-ReLU blocks: fold-batchnorm folds all 2,000', () => {
    const b = new OnnxBuilder({ opset: 13 });
    let x = b.input('x', [1, 2, 2, 2]);
    for (let i = 0; i < 2000; i++) {
      const w = b.initializer(b.fresh('w'), [1, 0.5, -0.5, 1], [2, 2, 1, 1]);
      x = b.node('Conv', [x, w], [b.fresh('c')])[0];
      const stats = [[1, 2], [0, 0.25], [0, 0], [1, 1]].map((v, j) => b.initializer(b.fresh(`bn${j}`), v, [2]));
      x = b.node('BatchNormalization', [x, ...stats], [b.fresh('bn')])[0];
      x = b.node('Relu', [x], [b.fresh('r')])[0];
    }
    b.output(x);
    const { graph, reports } = runPipeline(importOnnx(b.toBytes()), 'canonicalize');
    expect(graph.nodes.filter((n) => n.op === 'BatchNormalization')).to.have.length(0);
    expect(graph.nodes).to.have.length(4000);
    expect(reports.reduce((s, r) => s + (r.stats.get('batch-norms folded into Conv') ?? 0), 0)).to.equal(2000);
  });

  // per shape, 10,000 nodes on a 1×4×8×8 map (256 elements): the DReLUs (one per element of
  // each ReLU; a 1×1 MaxPool compares nothing) and, where no product fuses, the rounds (3 per
  // ReLU, 1 to reveal)
  const expected: Record<Exclude<ChainShape, 'relu'>, { drelus: number; rounds?: number }> = {
    'relu-maxpool': { drelus: 5000 * 256, rounds: 3 * 5000 + 1 },
    'conv-relu': { drelus: 5000 * 256 },
    'conv-bn-relu': { drelus: 3333 * 256 },
    residual: { drelus: 2 * 2000 * 256 },
    add: { drelus: 0, rounds: 1 },
  };
  for (const [shape, want] of Object.entries(expected) as [Exclude<ChainShape, 'relu'>, { drelus: number; rounds?: number }][]) {
    it(`a 10,000-node chain of ${shape} blocks: ${want.drelus.toLocaleString('en-US')} DReLUs by the cost report`, () => {
      const { bytes, nodes } = chainModel(shape, Math.round(10000 / CHAIN_BLOCK_NODES[shape]));
      expect(Math.abs(nodes - 10000)).to.be.at.most(1);
      const model = join(dir(), `${shape}.onnx`);
      writeFileSync(model, bytes);
      runCompile(model, { output: join(dir(), `${shape}.out`) });
      const cost = JSON.parse(readFileSync(join(dir(), `${shape}.out`, 'cost.json'), 'utf8')) as { rounds: number; drelus: number };
      expect(cost.drelus).to.equal(want.drelus);
      if (want.rounds !== undefined) expect(cost.rounds).to.equal(want.rounds);
    });
  }
});
