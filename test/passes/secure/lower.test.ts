// The lower pass: which ops become which secure ops, with what sizes, fusions and reveals,
// and its coded errors for graphs secure inference cannot run.
import { expect } from 'chai';
import { GraphBuilder } from '../../../ir/builder.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { printGraph } from '../../../ir/print.js';
import { parseMir } from '../../../ir/parse.js';
import { makeContext, runPipeline } from '../../../passes/index.js';
import { verify } from '../../../ir/verify.js';
import { chainGraph, clipGraph, conv, maxPoolGraph, residualGraph, FRAC } from './secure-graphs.js';
import { errorOf, expectSameOutputs, randomTensor, rng } from '../util.js';
import { poolBeforeActivation } from '../../../passes/secure/lower-reorder.js';

// (local truncation: the bytes and rounds below are worked out by hand for it; the exact form's
// are tested in test/runtime/protocols/truncate-exact.test.ts and test/e2e/exact-truncation.test.ts)
const lowered = (g: Graph) => runPipeline(g, 'lower{truncation=local}').graph;
const byName = (g: Graph, name: string): Node => {
  const n = g.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in ${g.nodes.map((x) => x.name).join(', ')}`);
  return n;
};

describe('lower', () => {
  it('turns a conv-relu-conv chain into input, product, fused relu+product and reveal', () => {
    const g = lowered(chainGraph());
    expect(g.nodes.map((n) => n.op)).to.deep.equal(['SecureInput', 'SecureWeights', 'Truncate', 'SecureReluWeights', 'Truncate', 'SecureReveal']);
    const fused = byName(g, 'relu1+conv2');
    expect(fused.outputs).to.deep.equal(['relu1_out', 'conv2_out']);
    expect(fused.inputs).to.deep.equal(['conv1.trunc_out', 'conv2.weight', 'conv2.bias']);
    expect(fused.attrs).to.include({ protocol: 'reluThenWeights', rounds: 3, drelus: 4 * 36, window_lo: 0, window_k: 64, kind: 'conv' });
    expect(byName(g, 'conv1').attrs).to.include({ protocol: 'applyWeights', rounds: 1, drelus: 0 });
    expect(byName(g, 'conv1').attrs.flows).to.deep.equal(['0 0->1 online weights.activation 576', '0 2->1 preprocessing weights.correction 1152', '0 1->0 oneTime weights.mask 576']);
    // The output keeps its name: the reveal defines it, the product's result becomes a share.
    expect(g.outputs).to.deep.equal(['conv2.trunc_out']);
    const reveal = g.nodes[g.nodes.length - 1];
    expect(reveal.inputs).to.deep.equal(['conv2.trunc_out_share']);
    expect(reveal.attrs).to.include({ frac: FRAC, protocol: 'revealToClient', rounds: 1 });
    expect(byName(g, 'input.fixed').attrs).to.include({ frac: FRAC, protocol: 'shareInput', rounds: 0 });
  });

  it('prints and parses back', () => {
    const g = lowered(residualGraph());
    const text = printGraph(g, { summaries: false });
    expect(printGraph(parseMir(text, { weights: 'zeros' }), { summaries: false })).to.equal(text);
  });

  it('fuses a ReLU read by two convs with the main path, not the shortcut, whatever the order', () => {
    for (const shortcutFirst of [false, true]) {
      const g = lowered(residualGraph(shortcutFirst));
      expect(g.nodes.map((n) => n.name).filter((n) => n.includes('+'))).to.deep.equal(['relu0+convA', 'reluA+convB']);
      expect(byName(g, 'convS').op).to.equal('SecureWeights');
      expect(byName(g, 'convS').inputs[0]).to.equal('relu0_out');
      expect(byName(g, 'relu2').op).to.equal('SecureRelu');
    }
  });

  it('gives a MaxPool its separable levels, padding excluded', () => {
    // 5×5 map, 3×3 windows, stride 2, pad 1, 2 channels, separable (runtime maxpool.ts): each
    // row has windows of 2, 3 and 2 real elements (1 + 1 + 1 pairs, then 1 more for the
    // three), in 5 rows: [30, 10]; then each of the 3 columns of that, 5 high, the same:
    // [18, 6]. One tree per window would take 80 comparisons in the same 4 levels.
    const pool = byName(lowered(maxPoolGraph()), 'pool');
    expect(pool.op).to.equal('SecureMaxPool');
    expect(pool.attrs).to.include({ protocol: 'maxPool', rounds: 12, drelus: 64 });
    expect(pool.attrs.levels).to.deep.equal([30, 10, 18, 6]);
    expect(byName(lowered(maxPoolGraph()), 'relu').op).to.equal('SecureRelu');
  });

  it('moves a ReLU read only by a MaxPool after it: same function, a quarter of the compares', () => {
    const before = maxPoolGraph();
    const swapped = poolBeforeActivation(before);
    expect(swapped.nodes.map((n) => n.op)).to.deep.equal(['FixedInput', 'Conv', 'Truncate', 'MaxPool', 'Relu']);
    expect(swapped.outputs).to.deep.equal(before.outputs);
    expectSameOutputs(before, swapped, 0);
    const g = lowered(before);
    expect(byName(g, 'relu').attrs.drelus).to.equal(18);
    expect(byName(g, 'relu').outputs).to.deep.equal(['pool_out_share']);
  });

  it('moves a MaxPool before a whole run of activations in one rewrite, and stacked pools before all of them', () => {
    const b = new GraphBuilder();
    let x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 2, 8, 8] })], { frac: 12 });
    x = b.op('Relu', [x], {}, 'a1');
    x = b.op('Clip', [x], { min: -1, max: 3 }, 'a2');
    x = b.op('Relu', [x], {}, 'a3');
    x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, 'p1');
    x = b.op('Relu', [x], {}, 'a4');
    b.output(b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, 'p2'));
    const before = b.build();
    const stats = new Map<string, number>();
    const after = poolBeforeActivation(before, makeContext({}, stats));
    expect(after.nodes.map((n) => n.name)).to.deep.equal(['fixedinput_0', 'p1', 'p2', 'a1', 'a2', 'a3', 'a4']);
    expect(stats.get('max-pools moved before their activation')).to.equal(2);
    // every activation now runs on the 2×2 map, and the types say so (verify checks them)
    verify(after);
    for (const n of after.nodes.slice(3)) expect(after.types.get(n.outputs[0])!.shape).to.deep.equal([1, 2, 2, 2]);
    expectSameOutputs(before, after, 0);
  });

  it('keeps a ReLU before a MaxPool when something else reads it', () => {
    const b = new GraphBuilder();
    const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 1, 4, 4] })], { frac: 12 });
    const r = b.op('Relu', [x], {}, 'relu');
    b.output(b.op('MaxPool', [r], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool'), r);
    expect(poolBeforeActivation(b.build()).nodes.map((n) => n.op)).to.deep.equal(['FixedInput', 'Relu', 'MaxPool']);
  });

  it('resolves ceil_mode into end padding (same windows)', () => {
    // 5×5, 2×2 windows, stride 2, ceil (one pad row and column at the end), 2 channels,
    // separable: per row windows of 2, 2 and 1 (2 pairs) in 5 rows, [20]; then per column of
    // that (3 columns, 5 high) 2 pairs, [12] — the same 32 comparisons as one tree per window.
    const pool = byName(lowered(maxPoolGraph(true)), 'pool');
    expect(pool.attrs.pads).to.deep.equal([0, 0, 1, 1]);
    expect(pool.attrs.levels).to.deep.equal([20, 12]);
    expect(pool.attrs.ceil_mode).to.equal(undefined);
  });

  it('lowers Clip with its window, folds Gemm into a matmul and reveals before the client tail', () => {
    const g = lowered(clipGraph());
    expect(g.nodes.map((n) => n.op)).to.deep.equal(['SecureInput', 'SecureWeights', 'Truncate', 'SecureClip', 'Flatten', 'SecureWeights', 'Truncate', 'SecureReveal', 'Softmax', 'ArgMax']);
    expect(byName(g, 'relu6').attrs).to.include({ min: 0, max: 6, window_k: 32, drelus: 64, protocol: 'clip' });
    const fc = byName(g, 'fc');
    expect(fc.attrs.kind).to.equal('matmul');
    const before = clipGraph();
    const w = before.constants.get('fc.weight')!, wf = g.constants.get(fc.inputs[1])!;
    const bias = before.constants.get('fc.bias')!, bf = g.constants.get(fc.inputs[2])!;
    expect(wf.shape).to.deep.equal([32, 5]);
    for (let i = 0; i < 5; i++) {
      expect(bf.data[i]).to.be.closeTo(2 * bias.data[i], 1e-6);
      for (let j = 0; j < 32; j++) expect(wf.data[j * 5 + i]).to.be.closeTo(0.5 * w.data[i * 32 + j], 1e-6);
    }
    // One reveal serves both client ops; they read the revealed value under its old name.
    expect(g.nodes.filter((n) => n.op === 'SecureReveal')).to.have.length(1);
    expect(byName(g, 'softmax').inputs).to.deep.equal(['fc.trunc_out']);
    expect(g.outputs).to.deep.equal(['softmax_out', 'argmax_out']);
  });

  describe('errors', () => {
    it('MPCC6021 for a graph that is not quantized', () => {
      const b = new GraphBuilder();
      const x = b.input('input', { dtype: 'float32', shape: [1, 1, 4, 4] });
      b.output(b.op('Relu', [x]));
      expect(errorOf(() => lowered(b.build())).format()).to.equal(
        "error MPCC6021: lower needs a quantized graph: input 'input' is read by node 'relu_0' (Relu), not by FixedInput (run quantize first)",
      );
    });

    it('MPCC6001 for an op without a secure form', () => {
      const b = new GraphBuilder();
      const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 4] })], { frac: 12 });
      b.output(b.op('Cast', [b.op('Cast', [x], { to: 'int32' }, 'cv')], { to: 'float32' }, 'back'));
      expect(errorOf(() => lowered(b.build())).format()).to.equal("error MPCC6001: node 'cv' (Cast) is not supported in secure inference: no secure protocol for this op");
    });

    it('MPCC6001 for a Softmax that is not at the end', () => {
      const b = new GraphBuilder();
      const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 2, 4, 4] })], { frac: 12 });
      b.output(conv(b, b.op('Softmax', [x], { axis: 1 }, 'sm'), 'conv', 2, 2, 1, 0, 1));
      expect(errorOf(() => lowered(b.build())).format()).to.equal(
        "error MPCC6001: node 'sm' (Softmax) is not supported in secure inference: only supported as the last op, run by the client on the revealed output",
      );
    });

    it('MPCC6022 for a product of two secret values', () => {
      const b = new GraphBuilder();
      const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [4, 4] })], { frac: 12 });
      b.output(b.op('MatMul', [x, x], {}, 'mm'));
      expect(errorOf(() => lowered(b.build())).format()).to.equal(
        "error MPCC6022: node 'mm' (MatMul): operand 'fixedinput_0_out' must be a constant (P1's weights); products of two secret values are not supported",
      );
    });

    it('MPCC6001 for a dilated MaxPool', () => {
      const b = new GraphBuilder();
      const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 1, 6, 6] })], { frac: 12 });
      b.output(b.op('MaxPool', [x], { kernel_shape: [2, 2], dilations: [2, 2] }, 'mp'));
      expect(errorOf(() => lowered(b.build())).format()).to.equal("error MPCC6001: node 'mp' (MaxPool) is not supported in secure inference: dilated pooling is not supported");
    });

    it('MPCC6002 for a Gemm with a transposed activation, as quantize', () => {
      const b = new GraphBuilder();
      const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [4, 1] })], { frac: 12 });
      const w = b.constant('w', randomTensor(rng(1), [4, 3]));
      b.output(b.op('Gemm', [x, w], { transA: 1 }, 'fc'));
      expect(errorOf(() => lowered(b.build())).code).to.equal('MPCC6002');
    });
  });
});
