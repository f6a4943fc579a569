// Builder-based tests of the canonicalization and opt-in passes: structure after the pass, and
// numerics (the folded graph computes what the original did, on random inputs, or what a
// hand-written reference computes for ops the original cannot run yet).
import { expect } from 'chai';
import { GraphBuilder, type Graph, tensorOf } from '../../../ir/index.js';
import { runGraph } from '../../../ir/interp/index.js';
import { Tensor } from '../../../ir/tensor.js';
import { runPipeline } from '../../../passes/index.js';
import { expectSameOutputs, randomInputs, randomTensor, relativeError, rng } from '../util.js';

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

  it('folds shape subgraphs: Shape of a static-shaped value is a constant', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([1, 3, 4, 5]));
    const r = b.op('Relu', [x], {}, 'relu');
    const dims = b.op('Shape', [r], { start: 2 }, 'shape');
    const width = b.op('Gather', [dims, b.constant('last', tensorOf('int64', [1], [1]))], { axis: 0 }, 'width');
    const scale = b.op('Cast', [width], { to: 'float32' }, 'as_float');
    b.output(b.op('Div', [r, scale], {}, 'normalized'));
    const before = b.build();
    const { graph, reports } = runPipeline(before, 'canonicalize');
    expect(graph.nodes.map((n) => n.op)).to.deep.equal(['Relu', 'Div']);
    expect(graph.nodes[1].inputs[1]).to.equal('as_float_out');
    expect(graph.constants.get('as_float_out')!.dtype).to.equal('float32');
    expect(Array.from(graph.constants.get('as_float_out')!.data)).to.deep.equal([5]);
    expect(reports[1].stats.get('nodes folded')).to.equal(3);
    expectSameOutputs(before, graph);
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

/** x → Conv(w, bias?) → BatchNormalization (→ Relu on the conv too, when extraUser), with a
 * hand-written reference of the whole computation (the conv by the interpreter, BN by hand). */
function convBatchNorm(opts: { bias: boolean; extraUser?: boolean; seed: number }) {
  const rand = rng(opts.seed);
  const b = new GraphBuilder('cbn');
  const x = b.input('x', f32([2, 3, 6, 6]));
  const w = b.constant('conv.weight', randomTensor(rand, [4, 3, 3, 3]));
  const inputs = [x, w];
  if (opts.bias) inputs.push(b.constant('conv.bias', randomTensor(rand, [4])));
  const c = b.op('Conv', inputs, { pads: [1, 1, 1, 1], strides: [2, 1] }, 'conv');
  if (opts.extraUser) b.output(b.op('Relu', [c], {}, 'side'));
  const params = {
    'bn.weight': randomTensor(rand, [4], 0.5, 2),
    'bn.bias': randomTensor(rand, [4]),
    'bn.running_mean': randomTensor(rand, [4]),
    'bn.running_var': randomTensor(rand, [4], 0.1, 3),
  };
  const eps = 1e-3;
  const names = Object.entries(params).map(([k, t]) => b.constant(k, t));
  b.output(b.op('BatchNormalization', [c, ...names], { epsilon: eps }, 'bn'));
  const graph = b.build();
  const reference = (inputs: Map<string, Tensor>): Tensor => {
    const y = runGraph(graph, inputs, { precision: 'float64', keep: [c] }).get(c)!;
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
      const { graph: folded, reports } = runPipeline(graph, 'fold-batchnorm');
      expect(folded.nodes.map((n) => `${n.op}(${n.inputs.join(',')})->${n.outputs.join(',')}`)).to.deep.equal([`Conv(x,conv.weight,${bias ? 'conv.bias' : 'bn.bias'})->bn_out`]);
      expect([...folded.constants.keys()].sort()).to.deep.equal(['conv.weight', bias ? 'conv.bias' : 'bn.bias'].sort());
      expect(reports[0].stats.get('batch-norms folded into Conv')).to.equal(1);
      for (const seed of [1, 2]) {
        const inputs = randomInputs(folded, seed);
        const got = runGraph(folded, inputs, { precision: 'float64' }).get('bn_out')!;
        expect(relativeError(got, reference(inputs))).to.be.at.most(1e-5);
      }
      expectSameOutputs(graph, folded);
    });
  }

  it('leaves a BatchNormalization whose Conv has another user', () => {
    const { graph } = convBatchNorm({ bias: true, extraUser: true, seed: 9 });
    const { graph: after, reports } = runPipeline(graph, 'fold-batchnorm');
    expect(after).to.equal(graph);
    expect(reports[0].stats.get('batch-norms kept')).to.equal(1);
  });

  it('folds into grouped (depthwise) convs and into Gemm with transB, C and beta', () => {
    const rand = rng(11);
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([1, 4, 5, 5]));
    const bnParams = (n: number, tag: string) => [
      b.constant(`${tag}.scale`, randomTensor(rand, [n], 0.5, 2)), b.constant(`${tag}.bias`, randomTensor(rand, [n])),
      b.constant(`${tag}.mean`, randomTensor(rand, [n])), b.constant(`${tag}.var`, randomTensor(rand, [n], 0.1, 3)),
    ];
    const dw = b.op('Conv', [x, b.constant('dw.weight', randomTensor(rand, [4, 1, 3, 3]))], { group: 4 }, 'dw');
    const bn1 = b.op('BatchNormalization', [dw, ...bnParams(4, 'bn1')], {}, 'bn1');
    const flat = b.op('Flatten', [bn1], { axis: 1 }, 'flat');
    const fc = b.op('Gemm', [flat, b.constant('fc.weight', randomTensor(rand, [3, 36])), b.constant('fc.bias', randomTensor(rand, [3]))], { transB: 1, beta: 0.5, alpha: 1.5 }, 'fc');
    b.output(b.op('BatchNormalization', [fc, ...bnParams(3, 'bn2')], { epsilon: 1e-2 }, 'bn2'));
    const before = b.build();
    const { graph, reports } = runPipeline(before, 'fold-batchnorm');
    expect(graph.nodes.map((n) => n.op)).to.deep.equal(['Conv', 'Flatten', 'Gemm']);
    expect(graph.nodes[2].attrs).to.deep.equal({ transB: 1, beta: 1, alpha: 1.5 });
    expect(reports[0].stats.get('batch-norms folded into Conv')).to.equal(1);
    expect(reports[0].stats.get('batch-norms folded into Gemm')).to.equal(1);
    expectSameOutputs(before, graph);
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
  function maxPool(attrs: Record<string, number[] | number>): Graph {
    const b = new GraphBuilder('g');
    b.output(b.op('MaxPool', [b.input('x', f32([1, 2, 5, 5]))], attrs, 'pool'));
    return b.build();
  }

  /** Average of each window by hand: over the real elements, or over k·k with pads as zeros. */
  function averageByHand(x: Tensor, k: number, stride: number, pad: number, out: number, includePad: boolean): number[] {
    const res: number[] = [];
    for (let c = 0; c < 2; c++)
      for (let oy = 0; oy < out; oy++)
        for (let ox = 0; ox < out; ox++) {
          let sum = 0, count = 0;
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
              if (iy < 0 || ix < 0 || iy >= 5 || ix >= 5) continue;
              sum += x.data[(c * 5 + iy) * 5 + ix];
              count++;
            }
          res.push(sum / (includePad ? k * k : count));
        }
    return res;
  }

  it('averages the windows the MaxPool compared (count_include_pad=0), or k·k with the option', () => {
    const g = maxPool({ kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    const { graph, reports } = runPipeline(g, 'maxpool-to-avgpool');
    expect(graph.nodes[0].op).to.equal('AveragePool');
    expect(graph.nodes[0].attrs).to.deep.equal({ kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 0, count_include_pad: 0 });
    expect(graph.types.get('pool_out')).to.deep.equal(g.types.get('pool_out'));
    expect(reports[0].stats.get('max-pools replaced by average-pools')).to.equal(1);
    const x = randomTensor(rng(5), [1, 2, 5, 5]);
    const got = Array.from(runGraph(graph, { x }, { precision: 'float64' }).get('pool_out')!.data);
    averageByHand(x, 3, 2, 1, 3, false).forEach((v, i) => expect(got[i]).to.be.closeTo(v, 1e-6));
    const withPad = runPipeline(g, 'maxpool-to-avgpool{count-include-pad=true}').graph;
    expect(withPad.nodes[0].attrs.count_include_pad).to.equal(1);
    const got2 = Array.from(runGraph(withPad, { x }, { precision: 'float64' }).get('pool_out')!.data);
    averageByHand(x, 3, 2, 1, 3, true).forEach((v, i) => expect(got2[i]).to.be.closeTo(v, 1e-6));
  });

  it('keeps ceil_mode and the output shape', () => {
    const g = maxPool({ kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });
    const { graph } = runPipeline(g, 'maxpool-to-avgpool');
    expect(graph.nodes[0].attrs.ceil_mode).to.equal(1);
    expect(graph.types.get('pool_out')!.shape).to.deep.equal([1, 2, 3, 3]);
  });

  it('leaves a dilated MaxPool', () => {
    const g = maxPool({ kernel_shape: [2, 2], dilations: [2, 2] });
    const { graph, reports } = runPipeline(g, 'maxpool-to-avgpool');
    expect(graph).to.equal(g);
    expect(reports[0].stats.get('dilated max-pools kept')).to.equal(1);
  });
});
