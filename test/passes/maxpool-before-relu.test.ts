// maxpool-before-relu: the swap happens only where the ReLU feeds nothing but the pool, and
// the graph computes exactly what it did (the interpreter on random inputs, including
// negative values and padded borders).
import { expect } from 'chai';
import { GraphBuilder } from '../../ir/index.js';
import { runPipeline } from '../../passes/index.js';
import { expectSameOutputs, randomTensor, rng } from './util.js';

const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });

describe('maxpool-before-relu', () => {
  it('swaps Relu → MaxPool (padded, strided) and keeps the function', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([1, 2, 9, 9]));
    const c = b.op('Conv', [x, b.constant('w', randomTensor(rng(3), [4, 2, 3, 3]))], { pads: [1, 1, 1, 1] }, 'conv');
    const r = b.op('Relu', [c], { window_k: 32 }, 'relu');
    const p = b.op('MaxPool', [r], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 'pool');
    b.output(p);
    const before = b.build();
    const { graph, reports } = runPipeline(before, 'maxpool-before-relu');
    expect(graph.nodes.map((n) => n.op)).to.deep.equal(['Conv', 'MaxPool', 'Relu']);
    expect(graph.nodes[2].attrs.window_k).to.equal(32);
    expect(graph.types.get(graph.nodes[2].inputs[0])!.shape).to.deep.equal([1, 4, 5, 5]);
    expect(reports[0].stats.get('relus moved after their max-pool')).to.equal(1);
    expectSameOutputs(before, graph);
  });

  it('leaves a ReLU that something else reads', () => {
    const b = new GraphBuilder('g');
    const r = b.op('Relu', [b.input('x', f32([1, 1, 4, 4]))], {}, 'relu');
    const p = b.op('MaxPool', [r], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
    b.output(p, r);
    const g = b.build();
    expect(runPipeline(g, 'maxpool-before-relu').graph).to.equal(g);
  });
});
