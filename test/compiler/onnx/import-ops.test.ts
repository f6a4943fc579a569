// Single-operator ONNX models (built with the ONNX writer) imported and run in the interpreter
// against onnxruntime-node, for every operator and attribute variant of IR-OPS.md, across
// opsets 7–18. A case whose IR ops have no interpreter kernel fails (it is never skipped):
// an op the importer produces must also run.
import { expect } from 'chai';
import { OnnxBuilder, float, floats, f32Tensor, i64Tensor, tensorAttr, type AttrValue } from '../../../compiler/onnx/writer.js';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { compareWithOrt, missingKernels, testValues } from './harness.js';

/** One test model. */
interface Case {
  name: string;
  opset: number;
  build(b: OnnxBuilder): void;
}

const cases: Case[] = [];
const big = 9223372036854775807n;

/** A model with one node `op` on input x of `shape` (plus float initializers `w*` of the given shapes). */
function single(name: string, opset: number, op: string, shape: number[], attrs: Record<string, AttrValue> = {}, extra: (b: OnnxBuilder) => string[] = () => [], outType: 'float32' | 'int64' = 'float32'): void {
  cases.push({
    name: `${op} ${name} (opset ${opset})`, opset,
    build: (b) => {
      b.input('x', shape);
      b.node(op, ['x', ...extra(b)], ['y'], attrs);
      b.output('y', undefined, outType);
    },
  });
}
const w = (name: string, shape: number[], seed = 3) => (b: OnnxBuilder) => b.initializer(name, testValues(shape, seed), shape);
const i64 = (name: string, values: (number | bigint)[]) => (b: OnnxBuilder) => b.int64Initializer(name, BigInt64Array.from(values.map((v) => BigInt(v))));
const f32 = (name: string, values: number[], shape: number[] = [values.length]) => (b: OnnxBuilder) => b.initializer(name, values, shape);
const all = (...fs: ((b: OnnxBuilder) => string)[]) => (b: OnnxBuilder) => fs.map((f) => f(b));
const none = () => '';

// Conv: padding, strides, dilations, groups, bias, auto_pad
for (const opset of [11, 18]) {
  single('3x3 pads 1', opset, 'Conv', [1, 3, 8, 8], { pads: [1, 1, 1, 1] }, all(w('w', [4, 3, 3, 3])));
  single('stride 2 asym pads, bias', opset, 'Conv', [1, 3, 9, 8], { pads: [0, 1, 2, 0], strides: [2, 2] }, all(w('w', [4, 3, 3, 3]), w('b', [4])));
}
single('group 2 dilation 2', 13, 'Conv', [1, 4, 9, 9], { group: 2, dilations: [2, 2], pads: [2, 2, 2, 2] }, all(w('w', [6, 2, 3, 3])));
single('depthwise stride 2', 13, 'Conv', [1, 4, 9, 9], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }, all(w('w', [4, 1, 3, 3]), w('b', [4])));
for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
  single(`auto_pad ${autoPad} stride 2`, 13, 'Conv', [1, 2, 8, 7], { auto_pad: autoPad, strides: [2, 2], kernel_shape: [4, 3] }, all(w('w', [3, 2, 4, 3])));
}
// BatchNormalization
for (const opset of [9, 14, 15]) {
  single('epsilon 1e-3', opset, 'BatchNormalization', [2, 3, 4, 4], { epsilon: float(1e-3) },
    all(w('scale', [3], 4), w('bias', [3], 5), w('mean', [3], 6), f32('var', [0.5, 1.5, 2.5])));
}
// activations
for (const op of ['Relu', 'Sigmoid']) single('', 13, op, [2, 3, 4]);
single('defaults', 13, 'HardSigmoid', [2, 3, 4]);
single('alpha beta', 13, 'HardSigmoid', [2, 3, 4], { alpha: float(1 / 6), beta: float(0.5) });
single('as x · HardSigmoid(x)', 14, 'HardSwish', [2, 3, 4]);
single('attributes', 9, 'Clip', [2, 3, 4], { min: float(-0.5), max: float(1) });
single('max attribute only', 9, 'Clip', [2, 3, 4], { max: float(0.25) });
single('min and max inputs', 11, 'Clip', [2, 3, 4], {}, all(f32('lo', [0], []), f32('hi', [6], [])));
single('max input only', 13, 'Clip', [2, 3, 4], {}, all(none, f32('hi', [0.5], [])));
single('min input only', 13, 'Clip', [2, 3, 4], {}, all(f32('lo', [-0.3], [])));
single('', 13, 'Identity', [2, 3]);
single('ratio attribute', 11, 'Dropout', [2, 3], { ratio: float(0.3) });
single('ratio input', 13, 'Dropout', [2, 3], {}, all(f32('r', [0.3], [])));
// pooling
for (const opset of [11, 18]) {
  single('3x3 s2 p1', opset, 'MaxPool', [1, 2, 9, 9], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  single('ceil_mode', opset, 'MaxPool', [1, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
  single('ceil_mode pads count_include_pad', opset, 'AveragePool', [1, 2, 5, 5], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 });
  single('ceil_mode pads exclude pad', opset, 'AveragePool', [1, 2, 6, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 });
}
single('dilations', 13, 'MaxPool', [1, 2, 9, 9], { kernel_shape: [2, 2], dilations: [2, 2] });
single('SAME_UPPER', 13, 'MaxPool', [1, 2, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' });
single('SAME_LOWER count_include_pad', 13, 'AveragePool', [1, 2, 6, 6], { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER', count_include_pad: 1 });
single('asymmetric pads', 13, 'AveragePool', [1, 2, 6, 6], { kernel_shape: [3, 3], pads: [0, 1, 2, 1] });
single('', 13, 'GlobalAveragePool', [2, 3, 5, 4]);
// broadcasting arithmetic with tensor and constant operands
for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
  cases.push({
    name: `${op} two runtime tensors broadcast (opset 13)`, opset: 13,
    build: (b) => { b.input('x', [2, 3, 4]); b.input('z', [3, 1]); b.node(op, ['x', 'z'], ['y']); b.output('y'); },
  });
  single('channel constant', 13, op, [1, 3, 2, 2], {}, all(f32('c', [0.5, -2, 4], [3, 1, 1])));
  cases.push({
    name: `${op} scalar constant first (opset 11)`, opset: 11,
    build: (b) => { b.input('x', [2, 3]); f32('c', [3], [])(b); b.node(op, ['c', 'x'], ['y']); b.output('y'); },
  });
}
// shape and data movement
single('axis -1 with a constant', 13, 'Concat', [2, 3], { axis: -1 }, (b) => [f32('c', [1, 2, 3, 4], [2, 2])(b), 'x']);
for (const axis of [0, 2, -1]) single(`axis ${axis}`, 13, 'Flatten', [2, 3, 4], { axis });
single('0 and -1', 13, 'Reshape', [2, 3, 4], {}, all(i64('s', [0, -1, 2])));
single('allowzero', 14, 'Reshape', [2, 3, 4], { allowzero: 1 }, all(i64('s', [4, 6])));
single('default perm', 13, 'Transpose', [2, 3, 4]);
single('perm', 13, 'Transpose', [2, 3, 4, 5], { perm: [0, 2, 3, 1] });
single('axes attribute', 11, 'Squeeze', [1, 3, 1, 2], { axes: [0, -2] });
single('axes input', 13, 'Squeeze', [1, 3, 1, 2], {}, all(i64('a', [2])));
single('no axes', 13, 'Squeeze', [1, 3, 1, 2]);
single('axes attribute', 11, 'Unsqueeze', [3, 2], { axes: [0, -1] });
single('axes input', 13, 'Unsqueeze', [3, 2], {}, all(i64('a', [1, 3])));
single('axis 1, negative and repeated indices', 13, 'Gather', [3, 4, 2], { axis: 1 }, all(i64('i', [-1, 0, 0])));
cases.push({
  name: 'Gather scalar index, matrix indices (opset 13)', opset: 13,
  build: (b) => {
    b.input('x', [3, 4]);
    b.int64Initializer('s', [2], []);
    b.int64Initializer('m', [0, 2, 1, -1], [2, 2]);
    b.node('Gather', ['x', 's'], ['y1']);
    b.node('Gather', ['x', 'm'], ['y2'], { axis: 1 });
    b.output('y1'); b.output('y2');
  },
});
single('attributes', 9, 'Slice', [4, 6], { starts: [1, -4], ends: [3, 100], axes: [0, 1] });
single('inputs, no steps', 10, 'Slice', [4, 6], {}, all(i64('s', [1]), i64('e', [-1]), i64('a', [1])));
single('negative steps, INT64_MAX ends', 13, 'Slice', [4, 6, 5], {}, all(i64('s', [-1, 0, 1]), i64('e', [-big, big, 5]), i64('a', [-1, 1, 0]), i64('st', [-2, 3, 2])));
single('to int64', 13, 'Cast', [2, 3], { to: 7 }, () => [], 'int64');
cases.push({
  name: 'Cast to double and back (opset 13)', opset: 13,
  build: (b) => { b.input('x', [2, 3]); b.node('Cast', ['x'], ['d'], { to: 11 }); b.node('Cast', ['d'], ['y'], { to: 1 }); b.output('y'); },
});
// linear algebra
single('transB, C [N]', 13, 'Gemm', [2, 3], { transB: 1 }, all(w('B', [4, 3]), w('C', [4])));
single('transA alpha beta, C [M,N]', 11, 'Gemm', [3, 2], { transA: 1, alpha: float(0.5), beta: float(2) }, all(w('B', [3, 4]), w('C', [2, 4])));
single('no C', 13, 'Gemm', [2, 3], {}, all(w('B', [3, 5])));
single('2-D', 13, 'MatMul', [2, 3], {}, all(w('B', [3, 4])));
single('batched broadcast', 13, 'MatMul', [2, 1, 3, 4], {}, all(w('B', [5, 4, 2])));
single('1-D right operand', 13, 'MatMul', [2, 3], {}, all(w('B', [3])));
// Pad
single('attributes', 9, 'Pad', [1, 2, 3, 3], { pads: [0, 0, 1, 2, 0, 0, 2, 1], value: float(0.5) });
single('pads and value inputs', 11, 'Pad', [1, 2, 3, 3], {}, all(i64('p', [0, 1, 1, 0, 0, 0, 2, 3]), f32('v', [-1], [])));
single('axes input', 18, 'Pad', [1, 2, 3, 3], {}, all(i64('p', [1, 2, 3, 0]), none, i64('a', [-1, 2])));
// Resize / Upsample
const resizeModes: [string, string, string][] = [
  ['nearest', 'asymmetric', 'floor'], ['nearest', 'half_pixel', 'round_prefer_floor'], ['nearest', 'align_corners', 'round_prefer_ceil'],
  // (tf_half_pixel_for_nearest is left out: onnxruntime 1.30 no longer runs it, so there is no reference)
  ['nearest', 'pytorch_half_pixel', 'ceil'],
  ['linear', 'half_pixel', 'round_prefer_floor'], ['linear', 'align_corners', 'round_prefer_floor'], ['linear', 'asymmetric', 'round_prefer_floor'], ['linear', 'pytorch_half_pixel', 'round_prefer_floor'],
];
for (const [mode, coord, nearest] of resizeModes) {
  const a = { mode, coordinate_transformation_mode: coord, nearest_mode: nearest };
  single(`${mode} ${coord} ${nearest} scales ×1.6`, 13, 'Resize', [1, 2, 5, 5], a, all(none, f32('sc', [1, 1, 1.6, 1.6])));
  single(`${mode} ${coord} ${nearest} sizes 3×7`, 11, 'Resize', [1, 2, 5, 5], a, all(f32('roi', [], [0]), f32('sc', [], [0]), i64('sz', [1, 2, 3, 7])));
}
single('linear half_pixel sizes with axes out of order', 18, 'Resize', [1, 2, 5, 5], { mode: 'linear', axes: [3, -2] }, all(none, none, i64('sz', [8, 4])));
single('nearest downscale 0.5', 18, 'Resize', [1, 1, 8, 6], { mode: 'nearest' }, all(none, f32('sc', [1, 1, 0.5, 0.5])));
single('opset 10 scales', 10, 'Resize', [1, 2, 3, 4], { mode: 'nearest' }, all(f32('sc', [1, 1, 2, 1.5])));
single('opset 10 linear', 10, 'Resize', [1, 2, 3, 4], { mode: 'linear' }, all(f32('sc', [1, 1, 2, 2])));
single('nearest scales input', 9, 'Upsample', [1, 2, 3, 4], { mode: 'nearest' }, all(f32('sc', [1, 1, 2, 3])));
single('linear scales input', 9, 'Upsample', [1, 2, 3, 4], { mode: 'linear' }, all(f32('sc', [1, 1, 2, 2])));
single('scales attribute', 7, 'Upsample', [1, 2, 3, 4], { mode: 'nearest', scales: floats([1, 1, 2, 2]) });
// reductions
single('axis 1 of [N,C] (opset < 13 flattening)', 11, 'Softmax', [2, 5], { axis: 1 });
single('default axis on [N,C,1,1]', 11, 'Softmax', [2, 5, 1, 1]);
single('axis -1', 13, 'Softmax', [2, 3, 4], { axis: -1 });
single('axis 1', 13, 'Softmax', [2, 3, 4], { axis: 1 });
single('axis 1 keepdims 0', 13, 'ArgMax', [2, 5, 3], { axis: 1, keepdims: 0 }, () => [], 'int64');
single('axis -1 keepdims 1', 11, 'ArgMax', [2, 5, 3], { axis: -1 }, () => [], 'int64');
single('random values', 11, 'Round', [2, 3, 4]);
single('axes [2,3]', 13, 'ReduceMean', [2, 3, 4, 5], { axes: [2, 3] });
single('axes [-1] keepdims 0', 11, 'ReduceMean', [2, 3, 4], { axes: [-1], keepdims: 0 });
single('all axes', 13, 'ReduceMean', [2, 3, 4]);
single('axes input', 18, 'ReduceMean', [2, 3, 4, 5], { keepdims: 0 }, all(i64('a', [1, -1])));
// constants and folded shape subgraphs
cases.push({
  name: 'Constant value / value_float / value_floats / value_ints (opset 13)', opset: 13,
  build: (b) => {
    b.input('x', [2, 3]);
    b.node('Constant', [], ['c1'], { value: tensorAttr(f32Tensor([1, 2, 3], [3])) });
    b.node('Constant', [], ['c2'], { value_float: float(0.5) });
    b.node('Constant', [], ['c3'], { value_floats: floats([1, -1, 2]) });
    b.node('Constant', [], ['s'], { value_ints: [3, 2] });
    b.node('Add', ['x', 'c1'], ['a']);
    b.node('Mul', ['a', 'c2'], ['m']);
    b.node('Sub', ['m', 'c3'], ['d']);
    b.node('Reshape', ['d', 's'], ['y']);
    b.output('y');
  },
});
cases.push({
  name: 'Shape → Gather → Unsqueeze → Concat → Resize sizes, as DeepLabV3 exports (opset 13)', opset: 13,
  build: (b) => {
    b.input('x', [1, 2, 4, 6]);
    b.input('big', [1, 1, 8, 12]);
    b.node('Shape', ['big'], ['shp']);
    b.int64Initializer('i2', [2], []);
    b.int64Initializer('i3', [3], []);
    b.node('Gather', ['shp', 'i2'], ['h'], { axis: 0 });
    b.node('Gather', ['shp', 'i3'], ['wd'], { axis: 0 });
    b.int64Initializer('ax0', [0]);
    b.node('Unsqueeze', ['h', 'ax0'], ['h1']);
    b.node('Unsqueeze', ['wd', 'ax0'], ['w1']);
    b.node('Shape', ['x'], ['xs']);
    b.node('Slice', ['xs', 'st', 'en'], ['nc']);
    b.int64Initializer('st', [0]); b.int64Initializer('en', [2]);
    b.node('Concat', ['nc', 'h1', 'w1'], ['sizes'], { axis: 0 });
    b.node('Resize', ['x', '', '', 'sizes'], ['y'], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' });
    b.output('y');
  },
});
cases.push({
  name: 'Shape start/end, ConstantOfShape, Cast of a constant (opset 15)', opset: 15,
  build: (b) => {
    b.input('x', [2, 3, 4]);
    b.node('Shape', ['x'], ['tail'], { start: -2 });
    b.node('ConstantOfShape', ['tail'], ['ones'], { value: tensorAttr(f32Tensor([1.5], [1])) });
    b.int64Initializer('k', [2], []);
    b.node('Cast', ['k'], ['kf'], { to: 1 });
    b.node('Mul', ['ones', 'kf'], ['three']);
    b.node('Add', ['x', 'three'], ['y']);
    b.output('y');
  },
});

describe('ONNX import: single operators against onnxruntime', function () {
  this.timeout(30000);
  for (const c of cases) {
    it(c.name, async () => {
      const b = new OnnxBuilder({ opset: c.opset });
      c.build(b);
      const bytes = b.toBytes();
      const graph = importOnnx(bytes);
      expect(missingKernels(graph), 'IR ops without an interpreter kernel').to.deep.equal([]);
      const { error } = await compareWithOrt(bytes, graph);
      expect(error, 'relative error vs onnxruntime').to.be.at.most(1e-4);
    });
  }

  it('folds shape subgraphs completely: Resize gets static sizes, no Shape/Gather/Concat nodes remain', () => {
    const c = cases.find((k) => k.name.startsWith('Shape → Gather'))!;
    const b = new OnnxBuilder({ opset: c.opset });
    c.build(b);
    const g = importOnnx(b.toBytes());
    expect(g.nodes.map((n) => n.op)).to.deep.equal(['Resize']);
    expect(g.nodes[0].attrs.sizes).to.deep.equal([1, 2, 8, 12]);
    expect(g.types.get('y')).to.deep.equal({ dtype: 'float32', shape: [1, 2, 8, 12] });
  });
});
