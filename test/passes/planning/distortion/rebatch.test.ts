// The planner's rebatching: every value keeps its batch on axis 0 at the new size (the fixture's
// suffix with its two inputs; a Resize to fixed sizes, checked against one run per sample), and a
// model that works along the
// batch axis is refused with MPCC4046 naming the node.
import { expect } from 'chai';
import { driveModel } from '../../../../compiler/driver.js';
import { makeGraph, makeNode } from '../../../../ir/graph.js';
import { layerCut, suffixOf } from '../../../../passes/planning/distortion/network-cut.js';
import { withBatchSize } from '../../../../passes/planning/distortion/rebatch.js';
import { errorOf, rng } from '../../util.js';
import { GraphBuilder } from '../../../../ir/builder.js';
import { runGraph } from '../../../../ir/interp/index.js';
import { tensorOf } from '../../../../ir/tensor.js';
import { withBatch } from '../../../../compiler/eval-batch.js';
import { FIXTURE } from './support.js';

describe('planning/distortion: rebatching', () => {
  it('puts the new batch on axis 0 of every input and value of a cut\'s suffix (residual: two inputs)', () => {
    const g = driveModel(FIXTURE, { inputShape: [1, 1, 28, 28], target: 'float' }).graph;
    const cut = layerCut(g, '/stages/stages.0/Relu');
    expect(cut.carried).to.have.length(1); // the shortcut's input, the stem's ReLU output
    const suffix = withBatchSize(suffixOf(g, cut), 6);
    expect(suffix.inputs).to.have.length(2);
    for (const [name, t] of suffix.types) if (!suffix.constants.has(name)) expect(t.shape[0], name).to.equal(6);
    expect(suffix.types.get(suffix.outputs[0])!.shape).to.deep.equal([6, 10]);
  });

  it('a Resize to fixed sizes (DeepLabV3\'s upsampling) follows the new batch; the batched run equals one run per sample', () => {
    const b = new GraphBuilder('up');
    const x = b.input('x', { dtype: 'float32', shape: [1, 2, 3, 3] });
    b.node('Resize', [b.op('Relu', [x], {}, 'relu')], { mode: 'linear', sizes: [1, 2, 6, 5], scales: [1, 1, 2, 5 / 3] }, { name: 'up', outputs: ['y'] });
    b.output('y');
    const g = b.build();
    const batched = withBatchSize(g, 3);
    expect(batched.types.get('y')!.shape).to.deep.equal([3, 2, 6, 5]);
    const rand = rng(9);
    const xs = Float32Array.from({ length: 3 * 18 }, () => 2 * rand() - 1);
    const all = runGraph(batched, { x: tensorOf('float32', [3, 2, 3, 3], xs) }).get('y')!.data;
    for (let i = 0; i < 3; i++) {
      const one = runGraph(g, { x: tensorOf('float32', [1, 2, 3, 3], xs.subarray(18 * i, 18 * (i + 1))) }).get('y')!.data;
      expect(Array.from(all.slice(60 * i, 60 * (i + 1)) as ArrayLike<number>)).to.deep.equal(Array.from(one as ArrayLike<number>));
    }
    // mpcc eval's batching too
    expect(withBatch(g, 4)!.types.get('y')!.shape).to.deep.equal([4, 2, 6, 5]);
  });

  it('refuses a node that works along the batch axis (MPCC4046 naming it)', () => {
    const t = (shape: number[]) => ({ dtype: 'float32' as const, shape });
    const g = makeGraph({
      name: 'g', inputs: ['x'], outputs: ['z'], constants: new Map(),
      nodes: [makeNode('Relu', 'r', ['x'], ['y']), makeNode('Transpose', 'swap', ['y'], ['z'], { perm: [1, 0, 2, 3] })],
      types: new Map([['x', t([1, 2, 3, 3])], ['y', t([1, 2, 3, 3])], ['z', t([2, 1, 3, 3])]]),
    });
    const e = errorOf(() => withBatchSize(g, 4));
    expect(e.code).to.equal('MPCC4046');
    expect(e.message).to.contain("'swap'");
  });
});
