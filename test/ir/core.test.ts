import { expect } from 'chai';
import { GraphBuilder, MpccError, makeGraph, makeNode, replaceNode, tensorOf, verify } from '../../ir/index.js';
import { runGraph } from '../../ir/interp/index.js';

function smallGraph() {
  const b = new GraphBuilder('t');
  const x = b.input('x', { dtype: 'float32', shape: [1, 1, 3, 3] });
  const w = b.constant('w', tensorOf('float32', [1, 1, 2, 2], [1, 0, 0, -1]));
  const y = b.op('Conv', [x, w], {}, 'conv0');
  const r = b.op('Relu', [y], {}, 'relu0');
  const s = b.op('Add', [r, b.constant('one', tensorOf('float32', [1], [1]))], {}, 'add0');
  b.output(s);
  return b.build();
}

describe('IR core', () => {
  it('infers types through the op table', () => {
    const g = smallGraph();
    expect(g.types.get('conv0_out')).to.deep.equal({ dtype: 'float32', shape: [1, 1, 2, 2] });
    expect(g.outputs).to.deep.equal(['add0_out']);
  });

  it('runs a graph against hand-computed values', () => {
    const g = smallGraph();
    const x = tensorOf('float32', [1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // conv with [[1,0],[0,-1]]: x[i][j] - x[i+1][j+1] = -4 everywhere; relu -> 0; +1 -> 1
    const out = runGraph(g, { x }).get('add0_out')!;
    expect(Array.from(out.data)).to.deep.equal([1, 1, 1, 1]);
    const x2 = tensorOf('float32', [1, 1, 3, 3], [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(Array.from(runGraph(g, { x: x2 }, { precision: 'float64' }).get('add0_out')!.data)).to.deep.equal([5, 5, 5, 5]);
  });

  it('replaceNode returns the same object when nothing changes', () => {
    const n = makeNode('Relu', 'r', ['a'], ['b']);
    expect(replaceNode(n, { op: 'Relu', inputs: ['a'] })).to.equal(n);
    expect(replaceNode(n, { inputs: ['c'] })).to.not.equal(n);
  });

  it('verifier locates use-before-definition, bad attributes and wrong types', () => {
    const g = smallGraph();
    const swapped = makeGraph({ ...g, nodes: [g.nodes[1], g.nodes[0], g.nodes[2]] });
    expect(() => verify(swapped)).to.throw(MpccError, /node 'relu0' \(Relu\).*used before it is defined/);
    const badAttr = makeGraph({ ...g, nodes: [replaceNode(g.nodes[0], { attrs: { group: 0 } }), g.nodes[1], g.nodes[2]] });
    expect(() => verify(badAttr)).to.throw(MpccError, /attribute 'group': 0 is outside/);
    const types = new Map(g.types);
    types.set('relu0_out', { dtype: 'float32', shape: [1, 1, 3, 3] });
    expect(() => verify(makeGraph({ ...g, types }))).to.throw(MpccError, /typed float32\[1,1,3,3\] but the op gives float32\[1,1,2,2\]/);
  });

  it('builder rejects operands that do not fit', () => {
    const b = new GraphBuilder();
    const x = b.input('x', { dtype: 'float32', shape: [1, 3, 8, 8] });
    const w = b.constant('w', tensorOf('float32', [4, 2, 3, 3], new Array(72).fill(0)));
    expect(() => b.op('Conv', [x, w], {}, 'c')).to.throw(MpccError, /MPCC2002|input has 3 channels/);
  });
});
