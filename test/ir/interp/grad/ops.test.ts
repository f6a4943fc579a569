// The other backward kernels (ir/interp/grad/) against finite differences of the forward
// interpreter: products, activations, pooling, broadcasting arithmetic, data movement; and
// MPCC4050 for an op on the path that has none.
import { expect } from 'chai';
import { GraphBuilder } from '../../../../ir/builder.js';
import { runBackward } from '../../../../ir/interp/grad/index.js';
import { runGraph } from '../../../../ir/interp/index.js';
import { Tensor } from '../../../../ir/tensor.js';
import { errorOf } from '../../../passes/util.js';
import { type Build, expectGradients, randomConstant } from './check.js';

const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });

/** One node `op` on a runtime input of `shape` (and more operands from `extra`). */
function unary(op: string, shape: number[], attrs: Record<string, unknown> = {}, extra: (b: GraphBuilder, rand: () => number) => string[] = () => []): Build {
  return (b, rand) => b.output(b.op(op, [b.input('x', f32(shape)), ...extra(b, rand)], attrs as never));
}

describe('ir/interp/grad: kernels against finite differences', () => {
  describe('products', () => {
    it('Gemm with a constant B (transB, alpha, beta, bias row)', () =>
      expectGradients(unary('Gemm', [2, 5], { transB: 1, alpha: 0.5, beta: 2 }, (b, r) => [randomConstant(b, r, 'w', [3, 5]), randomConstant(b, r, 'c', [3])])));
    it('Gemm with two runtime operands and transA', () =>
      expectGradients((b) => b.output(b.op('Gemm', [b.input('a', f32([4, 2])), b.input('b', f32([4, 3])), b.input('c', f32([2, 1]))], { transA: 1 }))));
    it('MatMul with broadcast batches', () =>
      expectGradients((b) => b.output(b.op('MatMul', [b.input('a', f32([2, 1, 3, 4])), b.input('b', f32([3, 4, 2]))]))));
    it('MatMul of a vector by a matrix', () => expectGradients((b) => b.output(b.op('MatMul', [b.input('a', f32([4])), b.input('b', f32([4, 3]))]))));
  });

  describe('activations', () => {
    it('Relu', () => expectGradients(unary('Relu', [1, 3, 4, 4])));
    it('Clip (ReLU6 at a small scale)', () => expectGradients(unary('Clip', [1, 2, 5, 5], { min: 0, max: 0.5 })));
    it('Sigmoid', () => expectGradients(unary('Sigmoid', [2, 7])));
    it('HardSigmoid', () => expectGradients(unary('HardSigmoid', [2, 7], { alpha: 0.4, beta: 0.5 }), [-3, 3]));
    it('Softmax on axis 1 of a 3-D tensor', () => expectGradients(unary('Softmax', [2, 4, 3], { axis: 1 })));
    it('BatchNormalization', () =>
      expectGradients(unary('BatchNormalization', [1, 3, 2, 4], { epsilon: 1e-3 }, (b, r) => [
        randomConstant(b, r, 's', [3]), randomConstant(b, r, 'bb', [3]), randomConstant(b, r, 'mean', [3]),
        b.constant('var', new Tensor('float32', [3], Float32Array.from([0.5, 1, 2]))),
      ])));
  });

  describe('pooling', () => {
    it('MaxPool 3×3 stride 2 pad 1', () => expectGradients(unary('MaxPool', [1, 2, 7, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })));
    it('MaxPool with dilation', () => expectGradients(unary('MaxPool', [1, 1, 7, 7], { kernel_shape: [2, 2], dilations: [2, 2] })));
    it('AveragePool without and with counted pads', () => {
      expectGradients(unary('AveragePool', [1, 2, 6, 5], { kernel_shape: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1] }));
      expectGradients(unary('AveragePool', [1, 2, 6, 5], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }));
    });
    it('GlobalAveragePool', () => expectGradients(unary('GlobalAveragePool', [1, 3, 4, 5])));
  });

  describe('broadcasting arithmetic', () => {
    for (const op of ['Add', 'Sub', 'Mul', 'Div'])
      it(`${op} of [1,3,4,4] and [3,1,1], both runtime operands`, () =>
        expectGradients((b) => b.output(b.op(op, [b.input('a', f32([1, 3, 4, 4])), b.input('b', f32([3, 1, 1]))])), [0.5, 1.5]));
    it('Mul by a constant', () => expectGradients(unary('Mul', [1, 2, 3, 3], {}, (b, r) => [randomConstant(b, r, 'k', [1, 2, 1, 1])])));
  });

  describe('data movement', () => {
    it('Flatten, then Gemm', () =>
      expectGradients((b, r) => b.output(b.op('Gemm', [b.op('Flatten', [b.input('x', f32([1, 2, 3, 2]))], { axis: 1 }), randomConstant(b, r, 'w', [12, 4])]))));
    it('Reshape', () => expectGradients(unary('Reshape', [1, 2, 3, 4], {}, (b) => [b.constant('s', new Tensor('int64', [3], Float64Array.from([2, 12, 1])))])));
    it('Transpose', () => expectGradients(unary('Transpose', [1, 2, 3, 4], { perm: [0, 2, 3, 1] })));
    it('Concat on the channel axis', () =>
      expectGradients((b) => b.output(b.op('Concat', [b.input('a', f32([1, 2, 3, 3])), b.input('b', f32([1, 3, 3, 3]))], { axis: 1 }))));
    it('Slice (strided on two axes, one of them backwards)', () =>
      expectGradients(unary('Slice', [1, 2, 5, 7], { starts: [1, 6], ends: [5, -1], axes: [2, 3], steps: [2, -3] })));
    it('Pad (begins and ends of every axis)', () => expectGradients(unary('Pad', [1, 2, 3, 4], { pads: [0, 0, 1, 2, 0, 1, 0, 1], value: 0.5 })));
    it('Resize, linear up (half_pixel, both spatial axes)', () => expectGradients(unary('Resize', [1, 2, 3, 4], { mode: 'linear', sizes: [1, 2, 6, 7], scales: [1, 1, 2, 7 / 4] })));
    it('Resize, linear align_corners, down on one axis and up on the other', () =>
      expectGradients(unary('Resize', [1, 2, 5, 3], { mode: 'linear', coordinate_transformation_mode: 'align_corners', sizes: [1, 2, 3, 7], scales: [1, 1, 0.6, 7 / 3] })));
    it('Resize, nearest (asymmetric, floor): sources taken twice and not at all', () =>
      expectGradients(unary('Resize', [1, 2, 4, 6], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor', sizes: [1, 2, 7, 4], scales: [1, 1, 1.75, 4 / 6] })));
    it('a residual block: Conv → Relu → Conv, plus the input (gradients add up)', () =>
      expectGradients((b, r) => {
        const x = b.input('x', f32([1, 2, 5, 5]));
        const y = b.op('Conv', [b.op('Relu', [b.op('Conv', [x, randomConstant(b, r, 'w1', [2, 2, 3, 3])], { pads: [1, 1, 1, 1] })]), randomConstant(b, r, 'w2', [2, 2, 3, 3])], { pads: [1, 1, 1, 1] });
        b.output(b.op('Add', [y, x]));
      }));
  });

  it('MPCC4050 for a node on the path without a backward kernel, naming it and its op', () => {
    const b = new GraphBuilder();
    const x = b.input('x', f32([1, 2, 4, 4]));
    b.output(b.op('ReduceMean', [b.op('Relu', [x], {}, 'relu')], { axes: [2, 3], keepdims: 1 }, 'mean'));
    const g = b.build();
    const env = runGraph(g, { x: new Tensor('float32', [1, 2, 4, 4], new Float32Array(32)) }, { keep: ['relu'] });
    const line = errorOf(() => runBackward(g, env, new Map([[g.outputs[0], new Float32Array(2)]]), {
      probes: 1, dtype: 'float32', wanted: new Set([g.nodes[0].outputs[0]]), onGradient: () => undefined,
    })).format();
    expect(line).to.match(/^error MPCC4050: --mode fast: node 'mean' \(ReduceMean\) has no backward kernel; the fast distortion estimate supports .*Conv.*Resize.*$/);
  });
});
