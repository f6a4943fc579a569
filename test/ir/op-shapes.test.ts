// Shape rules of the op table against hand-computed shapes, and their error messages.
import { expect } from 'chai';
import { GraphBuilder, MpccError, int64Vector, makeGraph, makeNode, verify, tensorOf, type DType, type Shape } from '../../ir/index.js';
import { normalizeSlice, sliceCount } from '../../ir/ops/shape.js';
import type { AttrValue } from '../../ir/graph.js';

/** Inferred type of one node applied to inputs of the given shapes (constants where given). */
function infer(op: string, operands: (Shape | { dtype?: DType; shape: Shape; value?: number[] })[], attrs: Record<string, AttrValue> = {}) {
  const b = new GraphBuilder();
  const names = operands.map((o, i) => {
    if (Array.isArray(o)) return b.input(`x${i}`, { dtype: 'float32', shape: o as Shape });
    const spec = o as { dtype?: DType; shape: Shape; value?: number[] };
    if (spec.value) return b.constant(`c${i}`, tensorOf(spec.dtype ?? 'int64', spec.shape, spec.value));
    return b.input(`x${i}`, { dtype: spec.dtype ?? 'float32', shape: spec.shape });
  });
  const out = b.op(op, names, attrs, 'n');
  b.output(out);
  b.build(); // the verifier checks attribute kinds, ranges and oneOf
  return b.typeOf(out);
}
const shapeOf = (...args: Parameters<typeof infer>) => infer(...args).shape;
const fails = (re: RegExp, ...args: Parameters<typeof infer>) => expect(() => infer(...args)).to.throw(MpccError, re);

describe('op table shape rules', () => {
  it('MaxPool/AveragePool: floor and ceil mode, with the drop of windows starting in the padding', () => {
    expect(shapeOf('MaxPool', [[1, 2, 5, 5]], { kernel_shape: [2, 2], strides: [2, 2] })).to.deep.equal([1, 2, 2, 2]);
    expect(shapeOf('MaxPool', [[1, 2, 5, 5]], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 })).to.deep.equal([1, 2, 3, 3]);
    // 6 + 2 pads, k 3, s 2: floor(5/2)+1 = 3, ceil = 4 (last window starts at 6 < 6+1: kept)
    expect(shapeOf('MaxPool', [[1, 1, 6, 6]], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 })).to.deep.equal([1, 1, 4, 4]);
    // 5 + 2 pads, k 2, s 2: ceil gives 4 but window 4 would start at 6 ≥ 5+1 (in the end pad): dropped → 3
    expect(shapeOf('AveragePool', [[1, 1, 5, 5]], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 })).to.deep.equal([1, 1, 3, 3]);
    expect(shapeOf('AveragePool', [[1, 3, 7, 9]], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 })).to.deep.equal([1, 3, 7, 9]);
    expect(shapeOf('MaxPool', [[1, 1, 9, 9]], { kernel_shape: [3, 3], dilations: [2, 2] })).to.deep.equal([1, 1, 5, 5]);
    fails(/does not fit/, 'MaxPool', [[1, 1, 2, 2]], { kernel_shape: [3, 3] });
    fails(/4-D NCHW/, 'MaxPool', [[1, 4, 4]], { kernel_shape: [2, 2] });
    const g = makeGraph({ name: 'g', inputs: ['x'], outputs: ['y'], nodes: [makeNode('MaxPool', 'p', ['x'], ['y'])], types: new Map([['x', { dtype: 'float32', shape: [1, 1, 4, 4] }], ['y', { dtype: 'float32', shape: [1, 1, 4, 4] }]]), constants: new Map() });
    expect(() => verify(g)).to.throw(MpccError, /attribute 'kernel_shape' is required/);
    fails(/must be smaller than the window/, 'MaxPool', [[1, 1, 4, 4]], { kernel_shape: [2, 2], pads: [2, 0, 0, 0] });
  });

  it('GlobalAveragePool, ReduceMean, ArgMax, Softmax', () => {
    expect(shapeOf('GlobalAveragePool', [[2, 8, 7, 5]])).to.deep.equal([2, 8, 1, 1]);
    expect(shapeOf('ReduceMean', [[1, 3, 4, 4]], { axes: [2, 3] })).to.deep.equal([1, 3, 1, 1]);
    expect(shapeOf('ReduceMean', [[1, 3, 4, 4]], { axes: [1, 3], keepdims: 0 })).to.deep.equal([1, 4]);
    expect(shapeOf('ReduceMean', [[1, 3, 4, 4]], { keepdims: 0 })).to.deep.equal([]);
    fails(/sorted and distinct/, 'ReduceMean', [[1, 3, 4, 4]], { axes: [3, 2] });
    const am = infer('ArgMax', [[2, 10]], { axis: 1, keepdims: 0 });
    expect(am).to.deep.equal({ dtype: 'int64', shape: [2] });
    expect(shapeOf('ArgMax', [[2, 10, 3]], { axis: 1 })).to.deep.equal([2, 1, 3]);
    expect(shapeOf('Softmax', [[2, 10]], { axis: 1 })).to.deep.equal([2, 10]);
    fails(/axis 2 is out of range for rank 2/, 'Softmax', [[2, 10]], { axis: 2 });
  });

  it('Gemm, MatMul and BatchNormalization', () => {
    expect(shapeOf('Gemm', [[2, 3], { shape: [4, 3] }, { shape: [4] }], { transB: 1 })).to.deep.equal([2, 4]);
    expect(shapeOf('Gemm', [[3, 2], [3, 5]], { transA: 1 })).to.deep.equal([2, 5]);
    fails(/inner dimensions differ/, 'Gemm', [[2, 3], [4, 3]]);
    fails(/does not broadcast to \[2,4\]/, 'Gemm', [[2, 3], [3, 4], [3]]);
    expect(shapeOf('MatMul', [[2, 1, 3, 4], [5, 4, 6]])).to.deep.equal([2, 5, 3, 6]);
    expect(shapeOf('MatMul', [[4], [4, 6]])).to.deep.equal([6]);
    expect(shapeOf('MatMul', [[3, 4], [4]])).to.deep.equal([3]);
    expect(shapeOf('MatMul', [[4], [4]])).to.deep.equal([]);
    fails(/batch dimensions/, 'MatMul', [[2, 3, 4], [3, 4, 5]]);
    expect(shapeOf('BatchNormalization', [[1, 3, 4, 4], [3], [3], [3], [3]])).to.deep.equal([1, 3, 4, 4]);
    fails(/mean must have shape \[3\]/, 'BatchNormalization', [[1, 3, 4, 4], [3], [3], [4], [3]]);
  });

  it('Resize and Pad', () => {
    expect(shapeOf('Resize', [[1, 3, 5, 6]], { sizes: [1, 3, 10, 12], scales: [1, 1, 2, 2], mode: 'linear' })).to.deep.equal([1, 3, 10, 12]);
    expect(shapeOf('Resize', [[1, 3, 5, 6]], { sizes: [1, 3, 3, 4], scales: [1, 1, 0.6, 0.66] })).to.deep.equal([1, 3, 3, 4]);
    fails(/sizes has 2 entries but the input has rank 4/, 'Resize', [[1, 3, 5, 6]], { sizes: [10, 12], scales: [2, 2] });
    fails(/'cubic' is not one of nearest, linear/, 'Resize', [[1, 3, 5, 6]], { sizes: [1, 3, 5, 6], scales: [1, 1, 1, 1], mode: 'cubic' });
    expect(shapeOf('Pad', [[1, 3, 5, 6]], { pads: [0, 0, 1, 2, 0, 0, 3, 4] })).to.deep.equal([1, 3, 9, 12]);
    fails(/expected 2×rank = 8/, 'Pad', [[1, 3, 5, 6]], { pads: [1, 1, 1, 1] });
  });

  it('Reshape (0 and -1), Flatten, Transpose, Squeeze, Unsqueeze, Concat', () => {
    expect(shapeOf('Reshape', [[2, 3, 4], { shape: [2], value: [0, -1] }])).to.deep.equal([2, 12]);
    expect(shapeOf('Reshape', [[2, 3, 4], { shape: [1], value: [-1] }])).to.deep.equal([24]);
    expect(shapeOf('Reshape', [[2, 0, 4], { shape: [2], value: [0, 4] }], { allowzero: 1 })).to.deep.equal([0, 4]);
    fails(/cannot reshape \[2,3,4\]/, 'Reshape', [[2, 3, 4], { shape: [2], value: [5, -1] }]);
    fails(/more than one -1/, 'Reshape', [[2, 3, 4], { shape: [2], value: [-1, -1] }]);
    fails(/must be a constant/, 'Reshape', [[2, 3, 4], { dtype: 'int64', shape: [2] }]);
    expect(shapeOf('Flatten', [[2, 3, 4]])).to.deep.equal([2, 12]);
    expect(shapeOf('Flatten', [[2, 3, 4]], { axis: 0 })).to.deep.equal([1, 24]);
    expect(shapeOf('Flatten', [[2, 3, 4]], { axis: 3 })).to.deep.equal([24, 1]);
    expect(shapeOf('Transpose', [[2, 3, 4]], { perm: [2, 0, 1] })).to.deep.equal([4, 2, 3]);
    fails(/not a permutation of 3 axes/, 'Transpose', [[2, 3, 4]], { perm: [0, 0, 1] });
    expect(shapeOf('Squeeze', [[1, 3, 1, 4]], { axes: [0, 2] })).to.deep.equal([3, 4]);
    fails(/axis 1 of \[1,3,1,4\] has size 3, not 1/, 'Squeeze', [[1, 3, 1, 4]], { axes: [1] });
    expect(shapeOf('Unsqueeze', [[3, 4]], { axes: [0, 3] })).to.deep.equal([1, 3, 4, 1]);
    expect(shapeOf('Unsqueeze', [{ dtype: 'int64', shape: [] }], { axes: [0] })).to.deep.equal([1]);
    fails(/out of range for rank 3/, 'Unsqueeze', [[3, 4]], { axes: [3] });
    expect(shapeOf('Concat', [[1, 2, 4], [1, 5, 4], [1, 1, 4]], { axis: 1 })).to.deep.equal([1, 8, 4]);
    fails(/operand 1 \[1,5,3\] does not match/, 'Concat', [[1, 2, 4], [1, 5, 3]], { axis: 1 });
  });

  it('Shape, Gather (scalar, matrix and negative indices), Cast', () => {
    expect(infer('Shape', [[1, 3, 8, 8]])).to.deep.equal({ dtype: 'int64', shape: [4] });
    expect(shapeOf('Shape', [[1, 3, 8, 8]], { start: 2, end: 4 })).to.deep.equal([2]);
    expect(shapeOf('Gather', [[3, 4, 5], { shape: [], value: [2] }])).to.deep.equal([4, 5]);
    expect(shapeOf('Gather', [[3, 4, 5], { shape: [2, 2], value: [0, 1, -1, -4] }], { axis: 1 })).to.deep.equal([3, 2, 2, 5]);
    expect(shapeOf('Gather', [[3, 4, 5], { dtype: 'int32', shape: [6] }], { axis: 2 })).to.deep.equal([3, 4, 6]);
    fails(/index -5 is out of range for axis 1 of size 4/, 'Gather', [[3, 4, 5], { shape: [1], value: [-5] }], { axis: 1 });
    fails(/index 3 is out of range/, 'Gather', [[3, 4, 5], { shape: [1], value: [3] }]);
    fails(/indices must be int64 or int32/, 'Gather', [[3, 4, 5], [2]]);
    expect(infer('Cast', [[2, 3]], { to: 'int64' })).to.deep.equal({ dtype: 'int64', shape: [2, 3] });
    fails(/'int8' is not one of/, 'Cast', [[2, 3]], { to: 'int8' });
  });

  it('Slice: normalization of negative, huge and reversed bounds', () => {
    const big = 9223372036854775807;
    expect(normalizeSlice([10], [-3], [big])).to.deep.equal({ starts: [7], ends: [10], axes: [0], steps: [1] });
    const rev = normalizeSlice([10], [-1], [-big], [0], [-1]);
    expect(rev).to.deep.equal({ starts: [9], ends: [-1], axes: [0], steps: [-1] });
    expect(sliceCount(9, -1, -1)).to.equal(10);
    expect(sliceCount(1, 10, 3)).to.equal(3);
    expect(sliceCount(5, 2, 1)).to.equal(0);
    expect(sliceCount(8, 0, -3)).to.equal(3); // 8, 5, 2
    expect(normalizeSlice([4, 6], [1], [-1], [-1], [2])).to.deep.equal({ starts: [1], ends: [5], axes: [1], steps: [2] });
    expect(() => normalizeSlice([4, 6], [0, 0], [1, 1], [1, -1])).to.throw(/axis 1 appears twice/);
    expect(shapeOf('Slice', [[4, 6, 8]], { starts: [1, 7], ends: [5, -1], axes: [1, 2], steps: [2, -2] })).to.deep.equal([4, 2, 4]);
    expect(shapeOf('Slice', [[4, 6]], { starts: [3], ends: [1], axes: [0], steps: [1] })).to.deep.equal([0, 6]);
    fails(/slice -2:4:1 on axis 0 \(size 4\) is not normalized/, 'Slice', [[4, 6]], { starts: [-2], ends: [4], axes: [0], steps: [1] });
    expect(int64Vector([1, 2]).shape).to.deep.equal([2]);
  });
});
