// A small model that uses every operator of mpcc's ONNX import list at least once, with the
// attribute variants that change results (grouped/dilated/strided/auto_pad convs, pooling with
// count_include_pad and ceil_mode, broadcasting with tensor and constant operands, six Resize
// mode/coordinate combinations, shape subgraphs feeding Reshape, Cast, ConstantOfShape). It is
// an importer and interpreter test, not a meaningful network: 3×16×16 in, 10 scores and their
// argmax out.
import { float, f32Tensor, tensorAttr } from '../../compiler/onnx/writer.js';
import { Net, type NetOptions, type Tensor } from './net.js';

/** The operators of mpcc's ONNX import list that all-ops covers (Upsample needs opset ≤ 9). */
export const IMPORT_OPERATORS = [
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Add', 'Sub',
  'Mul', 'Div', 'Concat', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Gemm', 'MatMul', 'Pad',
  'Resize', 'Identity', 'Dropout', 'Constant', 'Shape', 'Gather', 'Slice', 'Cast', 'ConstantOfShape', 'Sigmoid',
  'HardSigmoid', 'Softmax', 'ArgMax', 'ReduceMean',
] as const;

/** Builds all-ops: input [1, 3, 16, 16] → `output` (softmax, [1, 10]) and `argmax` ([1], int64). */
export function buildAllOps(options: NetOptions = {}): Net {
  const net = new Net('all-ops', options);
  const rng = net.rng;
  const x = net.input('input', [1, 3, 16, 16]);

  // Convolutions: padded conv + BN + Relu; grouped dilated conv with bias; strided SAME_UPPER conv.
  const a = net.convBn(x, { conv: 'conv_a', bn: 'bn_a', act: 'relu_a' }, { out: 8, kernel: 3, pad: 1 }, 'relu');
  const b = net.conv(a, 'conv_grouped', { out: 8, kernel: 3, pad: 2, dilation: 2, group: 4, bias: true });
  const sameWeight = net.param('conv_same.weight', rng.normals(8 * 8 * 9, Math.sqrt(2 / 72)), [8, 8, 3, 3]);
  const c = net.op('Conv', 'conv_same', [b.name, sameWeight], [1, 8, 8, 8], { auto_pad: 'SAME_UPPER', kernel_shape: [3, 3], strides: [2, 2] });
  const clipped = net.op('Clip', 'clip', [c.name, net.floats('clip.min', [-1], []), net.floats('clip.max', [1], [])], c.shape);

  // Pooling and elementwise arithmetic with broadcasting.
  const m = net.maxPool(a, 'maxpool', 3, 2, 1);
  const d = net.add(clipped, m, 'sum_d');
  const p1 = net.op('AveragePool', 'avgpool_ceil', [d.name], [1, 8, 5, 5], { ceil_mode: 1, count_include_pad: 1, kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] });
  const p2 = net.op('AveragePool', 'avgpool_exclude', [d.name], [1, 8, 8, 8], { count_include_pad: 0, kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
  const e = net.op('Sub', 'sub', [d.name, p2.name], d.shape);
  const f = net.op('Mul', 'mul_channel', [e.name, net.param('channel_scale', rng.uniforms(8, 0.5, 2), [1, 8, 1, 1])], d.shape);
  const g = net.op('Div', 'div_scalar', [f.name, net.floats('two', [2], [])], d.shape);
  const sig = net.op('Sigmoid', 'sigmoid', [e.name], d.shape);
  const den = net.op('Add', 'one_plus', [sig.name, net.floats('one', [1], [1])], d.shape);
  const h = net.op('Div', 'div_tensor', [g.name, den.name], d.shape);
  const h2 = net.op('Add', 'add_bias', [h.name, net.param('spatial_bias', rng.normals(8, 0.1), [8, 1, 1])], d.shape);

  // Resize 5×5 → 8×8 in every mode / coordinate transformation combination the importer supports.
  const scales = net.floats('resize.scales', [1, 1, 1.6, 1.6]);
  const sizes = net.int64('resize.sizes', [1, 8, 8, 8]);
  const resizes: [string, string, string, boolean][] = [
    ['nearest', 'asymmetric', 'floor', true],
    ['nearest', 'half_pixel', 'round_prefer_floor', false],
    ['linear', 'align_corners', 'floor', false],
    ['linear', 'half_pixel', 'floor', false],
    ['linear', 'asymmetric', 'floor', true],
    ['linear', 'pytorch_half_pixel', 'floor', true],
  ];
  let q: Tensor = h2;
  resizes.forEach(([mode, coordinates, nearest, byScales], i) => {
    const r = net.resize(p1, `resize_${i}`, byScales ? { scales } : { sizes }, [1, 8, 8, 8], {
      coordinate_transformation_mode: coordinates,
      mode,
      nearest_mode: nearest,
    });
    q = net.add(q, r, `resize_${i}`);
  });

  // Constant padding, a valid conv, channel concat and a strided Slice.
  const padded = net.op('Pad', 'pad', [q.name, net.int64('pad.pads', [0, 0, 1, 1, 0, 0, 1, 1]), net.floats('pad.value', [0.5], [])], [1, 8, 10, 10], { mode: 'constant' });
  const cv = net.conv(padded, 'conv_valid', { out: 8, kernel: 3, bias: true });
  const cat = net.op('Concat', 'concat', [cv.name, q.name], [1, 16, 8, 8], { axis: 1 });
  const sl = net.op('Slice', 'slice', [cat.name, net.int64('slice.starts', [2, 0]), net.int64('slice.ends', [14, 8]), net.int64('slice.axes', [1, 3]), net.int64('slice.steps', [1, 2])], [1, 12, 8, 4]);

  // Reshape to [N, C, -1] with the target shape computed by a shape subgraph, then a matmul path.
  const shape = net.op('Shape', 'reshape', [sl.name], [4]);
  const nc = net.op('Slice', 'reshape', [shape.name, net.int64('reshape.starts', [0]), net.int64('reshape.ends', [2]), net.int64('reshape.axes', [0])], [2]);
  const target = net.op('Concat', 'reshape', [nc.name, net.int64Constant('reshape', [-1]).name], [3], { axis: 0 });
  const rs = net.op('Reshape', 'reshape', [sl.name, target.name], [1, 12, 32]);
  const tr = net.op('Transpose', 'transpose', [rs.name], [1, 32, 12], { perm: [0, 2, 1] });
  const mm = net.op('MatMul', 'matmul', [tr.name, net.param('matmul.weight', rng.normals(120, Math.sqrt(1 / 12)), [12, 10])], [1, 32, 10]);
  const mean = net.reduceMean(mm, 'reduce_mean', [1], 0, [1, 10]);
  const us = net.unsqueeze(mean, 'unsqueeze', [1], [1, 1, 10]);
  const sq = net.squeeze(us, 'squeeze', [1], [1, 10]);

  // Pooled path through Gemm (non-unit alpha/beta), HardSigmoid, Identity, Dropout.
  const flat = net.flatten(net.globalAvgPool(cat, 'gap'), 'flatten');
  const gemmWeight = net.param('gemm.weight', rng.normals(160, Math.sqrt(1 / 16)), [10, 16]);
  const gemm = net.op('Gemm', 'gemm', [flat.name, gemmWeight, net.param('gemm.bias', rng.normals(10, 0.1), [10])], [1, 10], { alpha: float(0.5), beta: float(2), transB: 1 });
  const hs = net.op('HardSigmoid', 'hard_sigmoid', [gemm.name], [1, 10], { alpha: float(0.2), beta: float(0.5) });
  const id = net.op('Identity', 'identity', [hs.name], [1, 10]);
  const dr = net.op('Dropout', 'dropout', [id.name], [1, 10]);

  // Constants from shapes: ConstantOfShape(Shape(sq)) and Cast(Gather(Shape(input), 1)) = 3.0.
  const filled = net.op('ConstantOfShape', 'constant_of_shape', [net.op('Shape', 'constant_of_shape', [sq.name], [2]).name], [1, 10], { value: tensorAttr(f32Tensor([0.25], [1])) });
  const channels = net.op('Gather', 'channels', [net.op('Shape', 'channels', [x.name], [4]).name, net.int64Constant('channels', [1]).name], [1], { axis: 0 });
  const channelsFloat = net.op('Cast', 'channels', [channels.name], [1], { to: 1 });
  const weights = net.op('Constant', 'class_weights', [], [10], { value: tensorAttr(f32Tensor(rng.uniforms(10, 0.5, 1.5), [10])) });

  let logits = net.op('Add', 'combine', [sq.name, dr.name], [1, 10]);
  logits = net.op('Add', 'combine', [logits.name, filled.name], [1, 10]);
  logits = net.op('Div', 'combine', [logits.name, channelsFloat.name], [1, 10]);
  logits = net.op('Mul', 'combine', [logits.name, weights.name], [1, 10]);
  net.output(net.op('Softmax', 'softmax', [logits.name], [1, 10], { axis: -1 }), 'output');
  const argmax = net.op('ArgMax', 'argmax', [logits.name], [1], { axis: 1, keepdims: 0 });
  net.output(argmax, 'argmax', 'int64');
  return net;
}
