// The planner's rebatching: every value keeps its batch on axis 0 at the new size (the fixture's
// suffix with its two inputs), and a model that works along the
// batch axis is refused with MPCC4046 naming the node.
import { expect } from 'chai';
import { driveModel } from '../../../../compiler/driver.js';
import { makeGraph, makeNode } from '../../../../ir/graph.js';
import { layerCut, suffixOf } from '../../../../passes/planning/distortion/network-cut.js';
import { withBatchSize } from '../../../../passes/planning/distortion/rebatch.js';
import { errorOf } from '../../util.js';
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
