// Builder-based tests of the canonicalization and opt-in passes: structure after the pass, and
// numerics (the folded graph computes what the original did, on random inputs, or what a
// hand-written reference computes for ops the original cannot run yet).
import { expect } from 'chai';
import { GraphBuilder, type Graph, makeGraph, makeNode, tensorOf, verify } from '../../ir/index.js';
import { runGraph } from '../../ir/interp/index.js';
import { Tensor } from '../../ir/tensor.js';
import { runPipeline } from '../../passes/index.js';
import { expectSameOutputs, randomInputs, randomTensor, relativeError, rng } from './util.js';

const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });

describe('drop-identity', () => {
  it('removes Identity and Dropout and keeps the output name', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([1, 2, 4, 4]));
    const c = b.op('Conv', [x, b.constant('w', randomTensor(rng(1), [3, 2, 3, 3]))], { pads: [1, 1, 1, 1] }, 'conv');
    const i = b.op('Identity', [c], {}, 'id');
    const r = b.op('Relu', [i], {}, 'relu');
    const d = b.op('Dropout', [r], { ratio: 0.1 }, 'drop');
    b.output(d);
    const before = b.build();
    const { graph, reports } = runPipeline(before, 'drop-identity');
    expect(graph.nodes.map((n) => `${n.op}(${n.inputs.join(',')})->${n.outputs.join(',')}`)).to.deep.equal(['Conv(x,w)->conv_out', 'Relu(conv_out)->drop_out']);
    expect(graph.types.has('id_out')).to.equal(false);
    expect(graph.types.has('relu_out')).to.equal(false);
    expect(reports[0].stats.get('identities dropped')).to.equal(2);
    expectSameOutputs(before, graph);
  });

  it('keeps a copy where an output aliases a graph input, and copies a constant output', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([2]));
    const y = b.op('Identity', [x], {}, 'pass_through');
    const k = b.op('Identity', [b.constant('k', tensorOf('float32', [2], [3, 4]))], {}, 'const_out');
    b.output(y, k);
    const { graph } = runPipeline(b.build(), 'drop-identity');
    expect(graph.nodes.map((n) => n.name)).to.deep.equal(['pass_through']);
    expect(Array.from(graph.constants.get('const_out_out')!.data)).to.deep.equal([3, 4]);
    expect(graph.constants.has('k')).to.equal(false);
  });

  it('keeps both names when the operand is itself an output', () => {
    const b = new GraphBuilder('g');
    const r = b.op('Relu', [b.input('x', f32([2]))], {}, 'r');
    b.output(r, b.op('Identity', [r], {}, 'copy'));
    const g = b.build();
    expect(runPipeline(g, 'drop-identity').graph).to.equal(g);
  });
});

describe('fold-constants', () => {
  function constantArithmetic() {
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([1, 4]));
    const s = b.op('Mul', [b.constant('a', tensorOf('float32', [4], [1, 2, 3, 4])), b.constant('two', tensorOf('float32', [1], [2]))], {}, 'scale');
    const t = b.op('Sub', [s, b.constant('one', tensorOf('float32', [1], [1]))], {}, 'shift');
    b.output(b.op('Add', [x, b.op('Relu', [t], {}, 'relu')], {}, 'sum'));
    return b.build();
  }

  it('evaluates chains of constant nodes and drops their operands', () => {
    const before = constantArithmetic();
    const { graph, reports } = runPipeline(before, 'fold-constants');
    expect(graph.nodes.map((n) => n.op)).to.deep.equal(['Add']);
    // (a·2 − 1) clipped at 0, computed by hand
    expect(Array.from(graph.constants.get('relu_out')!.data)).to.deep.equal([1, 3, 5, 7]);
    expect([...graph.constants.keys()]).to.deep.equal(['relu_out']);
    expect(reports[0].stats.get('nodes folded')).to.equal(3);
    expectSameOutputs(before, graph);
  });

  it('does not grow the constants past max-size', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([100, 100]));
    const outer = b.op('Mul', [b.constant('col', randomTensor(rng(2), [100, 1])), b.constant('row', randomTensor(rng(3), [1, 100]))], {}, 'outer');
    b.output(b.op('Add', [x, outer], {}, 'sum'));
    const g = b.build();
    expect(runPipeline(g, 'fold-constants{max-size=1000}').graph).to.equal(g);
    const folded = runPipeline(g, 'fold-constants').graph;
    expect(folded.nodes.length).to.equal(1);
    expectSameOutputs(g, folded);
  });

  it('folds a graph output that is constant', () => {
    const b = new GraphBuilder('g');
    b.input('x', f32([1]));
    b.output(b.op('Add', [b.constant('p', tensorOf('float32', [1], [2])), b.constant('q', tensorOf('float32', [1], [3]))], {}, 'five'));
    const { graph } = runPipeline(b.build(), 'canonicalize');
    expect(graph.nodes).to.deep.equal([]);
    expect(Array.from(runGraph(graph, randomInputs(graph, 1)).get('five_out')!.data)).to.deep.equal([5]);
  });
});

/** x → Conv(w, bias?) → BatchNormalization → (Relu) ; built by hand until the op table has
 * BatchNormalization. Returns the graph and a reference function computing its output. */
function convBatchNorm(opts: { bias: boolean; extraUser?: boolean; seed: number }) {
  const rand = rng(opts.seed);
  const b = new GraphBuilder('cbn');
  const x = b.input('x', f32([2, 3, 6, 6]));
  const w = b.constant('conv.weight', randomTensor(rand, [4, 3, 3, 3]));
  const inputs = [x, w];
  if (opts.bias) inputs.push(b.constant('conv.bias', randomTensor(rand, [4])));
  const c = b.op('Conv', inputs, { pads: [1, 1, 1, 1], strides: [2, 1] }, 'conv');
  if (opts.extraUser) b.output(b.op('Relu', [c], {}, 'side'));
  b.output(c);
  const convOnly = b.build();
  const params = {
    'bn.weight': randomTensor(rand, [4], 0.5, 2),
    'bn.bias': randomTensor(rand, [4]),
    'bn.running_mean': randomTensor(rand, [4]),
    'bn.running_var': randomTensor(rand, [4], 0.1, 3),
  };
  const eps = 1e-3;
  const bn = makeNode('BatchNormalization', 'bn', [c, ...Object.keys(params)], ['bn_out'], { epsilon: eps });
  const types = new Map(convOnly.types);
  const constants = new Map(convOnly.constants);
  for (const [k, t] of Object.entries(params)) { types.set(k, f32([4])); constants.set(k, t); }
  types.set('bn_out', convOnly.types.get(c)!);
  const outputs = [...convOnly.outputs.filter((o) => o !== c), 'bn_out'];
  const graph = makeGraph({ ...convOnly, nodes: [...convOnly.nodes, bn], outputs, types, constants });
  // Reference: the conv in the interpreter, then y = γ(x − μ)/√(σ² + ε) + β by hand.
  const reference = (inputs: Map<string, Tensor>): Tensor => {
    const y = runGraph(convOnly, inputs, { precision: 'float64' }).get(c)!;
    const out = new Float64Array(y.size);
    const hw = y.shape[2] * y.shape[3];
    for (let i = 0; i < y.size; i++) {
      const ch = Math.floor(i / hw) % 4;
      const [g, be, mu, v] = Object.values(params).map((t) => t.data[ch]);
      out[i] = (g * (y.data[i] - mu)) / Math.sqrt(v + eps) + be;
    }
    return new Tensor('float64', y.shape, out);
  };
  return { graph, reference };
}

describe('fold-batchnorm', () => {
  for (const bias of [false, true]) {
    it(`folds BatchNormalization into a Conv ${bias ? 'with' : 'without'} bias`, () => {
      const { graph, reference } = convBatchNorm({ bias, seed: bias ? 7 : 8 });
      const { graph: folded, reports } = runPipeline(graph, 'fold-batchnorm', { verify: false });
      verify(folded);
      expect(folded.nodes.map((n) => `${n.op}(${n.inputs.join(',')})->${n.outputs.join(',')}`)).to.deep.equal([`Conv(x,conv.weight,${bias ? 'conv.bias' : 'bn.bias'})->bn_out`]);
      expect([...folded.constants.keys()].sort()).to.deep.equal(['conv.weight', bias ? 'conv.bias' : 'bn.bias'].sort());
      expect(reports[0].stats.get('batch-norms folded into Conv')).to.equal(1);
      for (const seed of [1, 2]) {
        const inputs = randomInputs(folded, seed);
        const got = runGraph(folded, inputs, { precision: 'float64' }).get('bn_out')!;
        expect(relativeError(got, reference(inputs))).to.be.at.most(1e-5);
      }
    });
  }

  it('leaves a BatchNormalization whose Conv has another user', () => {
    const { graph } = convBatchNorm({ bias: true, extraUser: true, seed: 9 });
    const { graph: after, reports } = runPipeline(graph, 'fold-batchnorm', { verify: false });
    expect(after).to.equal(graph);
    expect(reports[0].stats.get('batch-norms kept')).to.equal(1);
  });
});

describe('relu6-to-relu', () => {
  function clips(): Graph {
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([1, 8]));
    const r6 = b.op('Clip', [x], { min: 0, max: 6 }, 'relu6');
    b.output(b.op('Clip', [r6], { min: 0, max: 4 }, 'relu4'));
    return b.build();
  }

  it('replaces Clip{0,6} by Relu and leaves other clips', () => {
    const { graph, reports } = runPipeline(clips(), 'relu6-to-relu');
    expect(graph.nodes.map((n) => `${n.name}:${n.op}`)).to.deep.equal(['relu6:Relu', 'relu4:Clip']);
    expect(graph.nodes[0].attrs).to.deep.equal({});
    expect(reports[0].stats.get('relu6 replaced by relu')).to.equal(1);
    expect(runPipeline(clips(), 'relu6-to-relu{max=4}').graph.nodes.map((n) => n.op)).to.deep.equal(['Clip', 'Relu']);
  });

  it('computes ReLU: the same below the cap, uncapped above it, as documented', () => {
    const b = new GraphBuilder('g');
    b.output(b.op('Clip', [b.input('x', f32([1, 8]))], { min: 0, max: 6 }, 'relu6'));
    const { graph } = runPipeline(b.build(), 'relu6-to-relu');
    const xs = [-3, 0, 2, 4, 5, 6, 7, 9];
    const got = Array.from(runGraph(graph, { x: tensorOf('float32', [1, 8], xs) }).get('relu6_out')!.data);
    expect(got).to.deep.equal(xs.map((v) => Math.max(v, 0)));
    // the original ReLU6 by hand: equal up to 6, capped above
    expect(got.map((v, i) => v === Math.min(Math.max(xs[i], 0), 6))).to.deep.equal([true, true, true, true, true, true, false, false]);
  });
});

describe('maxpool-to-avgpool', () => {
  // Built by hand (no verifier) until the op table has MaxPool; checks the rewrite's attributes.
  function pool(attrs: Record<string, number[] | number>): Graph {
    const node = makeNode('MaxPool', 'pool', ['x'], ['y'], attrs);
    return makeGraph({ name: 'g', inputs: ['x'], outputs: ['y'], nodes: [node], types: new Map([['x', f32([1, 1, 5, 5])], ['y', f32([1, 1, 3, 3])]]), constants: new Map() });
  }

  it('keeps kernel, strides, pads and ceil_mode and chooses count_include_pad', () => {
    const g = pool({ kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    const { graph, reports } = runPipeline(g, 'maxpool-to-avgpool', { verify: false });
    expect(graph.nodes[0].op).to.equal('AveragePool');
    expect(graph.nodes[0].attrs).to.deep.equal({ kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 0, count_include_pad: 0 });
    expect(reports[0].stats.get('max-pools replaced by average-pools')).to.equal(1);
    const withPad = runPipeline(g, 'maxpool-to-avgpool{count-include-pad=true}', { verify: false }).graph;
    expect(withPad.nodes[0].attrs.count_include_pad).to.equal(1);
  });

  it('leaves a dilated MaxPool', () => {
    const g = pool({ kernel_shape: [2, 2], dilations: [2, 2] });
    const { graph, reports } = runPipeline(g, 'maxpool-to-avgpool', { verify: false });
    expect(graph).to.equal(g);
    expect(reports[0].stats.get('dilated max-pools kept')).to.equal(1);
  });
});
