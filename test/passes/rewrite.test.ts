import { expect } from 'chai';
import { GraphBuilder, makeNode } from '../../ir/index.js';
import { type RewriteRule, makeContext, renameValue, rewriteToFixpoint } from '../../passes/index.js';
import { expectSameOutputs } from './util.js';

/** Relu(Relu(x)) → Relu(x) when the inner result has no other reader. */
const reluOfRelu: RewriteRule = {
  ops: ['Relu'],
  stat: 'relus merged',
  apply(node, view) {
    const inner = view.producer(node.inputs[0]);
    if (!inner || inner.op !== 'Relu' || !view.onlyUsedBy(node.inputs[0], node)) return undefined;
    return { nodes: [makeNode('Relu', node.name, inner.inputs, node.outputs)], remove: [inner] };
  },
};

function reluChain(n: number, tapAt = -1) {
  const b = new GraphBuilder('chain');
  let v = b.input('x', { dtype: 'float32', shape: [4] });
  for (let i = 0; i < n; i++) {
    v = b.op('Relu', [v], {}, `r${i}`);
    if (i === tapAt) b.output(v);
  }
  b.output(v);
  return b.build();
}

describe('pattern rewrite driver', () => {
  it('applies rules to a fixpoint and counts each rewrite', () => {
    const g = reluChain(5);
    const stats = new Map<string, number>();
    const after = rewriteToFixpoint(g, [reluOfRelu], makeContext({}, stats));
    expect(after.nodes.map((n) => `${n.name}(${n.inputs[0]})`)).to.deep.equal(['r4(x)']);
    expect(stats.get('relus merged')).to.equal(4);
    expect([...after.types.keys()].sort()).to.deep.equal(['r4_out', 'x']);
    expectSameOutputs(g, after);
  });

  it('stops at values with other readers and returns the same graph when nothing fires', () => {
    const g = reluChain(4, 1);
    const after = rewriteToFixpoint(g, [reluOfRelu]);
    expect(after.nodes.map((n) => n.name)).to.deep.equal(['r1', 'r3']);
    expect(rewriteToFixpoint(after, [reluOfRelu])).to.equal(after);
  });

  it('renames a value everywhere, keeping the target type', () => {
    const g = reluChain(2);
    const renamed = renameValue(g, 'r0_out', 'middle');
    expect(renamed.nodes.map((n) => [...n.inputs, ...n.outputs])).to.deep.equal([['x', 'middle'], ['middle', 'r1_out']]);
    expect(renamed.types.get('middle')).to.deep.equal({ dtype: 'float32', shape: [4] });
    expect(renamed.types.has('r0_out')).to.equal(false);
  });
});
