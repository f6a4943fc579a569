// secure-ops: a small model using every operator secure inference supports (everything the
// quantize pass accepts), so the fixed-point interpreter and the secure runtime are tested on
// each of them: padded, grouped/strided convs with and without bias (+ BN), ReLU, ReLU6 as Clip,
// max and average pooling, a residual Add, Concat, zero Pad, Slice, Transpose/Reshape,
// nearest and linear Resize, Mul/Add/Sub by constants, a standalone MatMul, GlobalAveragePool
// over a non-power-of-two plane, Squeeze, Flatten, a Gemm classifier and a trailing Softmax.
import { Net, type NetOptions } from './net.js';

/** Builds secure-ops: input [1, 3, 16, 16] → `output` (softmax, [1, 10]). */
export function buildSecureOps(options: NetOptions = {}): Net {
  const net = new Net('secure-ops', options);
  const rng = net.rng;
  const x = net.input('input', [1, 3, 16, 16]);

  // Padded conv + BN + ReLU; grouped strided conv with bias; ReLU6.
  const a = net.convBn(x, { conv: 'conv1', bn: 'bn1', act: 'relu1' }, { out: 8, kernel: 3, pad: 1 }, 'relu');
  const g = net.conv(a, 'conv_grouped', { out: 8, kernel: 3, pad: 1, stride: 2, group: 4, bias: true });
  const r6 = net.relu6(g, 'relu6');

  // Two pooling branches joined by Concat: max pool 3×3 (padding never wins) and a 2×2 average
  // pool brought back to 8×8 by nearest Resize.
  const mp = net.maxPool(r6, 'maxpool', 3, 1, 1);
  const ap = net.op('AveragePool', 'avgpool', [r6.name], [1, 8, 4, 4], { kernel_shape: [2, 2], strides: [2, 2] });
  const up = net.resize(ap, 'upsample', { scales: net.floats('upsample.scales', [1, 1, 2, 2]) }, [1, 8, 8, 8], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  const cat = net.op('Concat', 'concat', [mp.name, up.name], [1, 16, 8, 8], { axis: 1 });

  // 1×1 conv back to 8 channels, residual Add with the ReLU6 output, ReLU.
  const mix = net.convBn(cat, { conv: 'mix', bn: 'mix_bn' }, { out: 8, kernel: 1 }, 'none', { gamma: [0.3, 0.6] });
  const res = net.relu(net.add(mix, r6, 'residual'), 'residual_relu');

  // Zero Pad and a valid conv; per-channel Mul, Add and Sub by constants.
  const padded = net.op('Pad', 'pad', [res.name, net.int64('pad.pads', [0, 0, 1, 1, 0, 0, 1, 1])], [1, 8, 10, 10], { mode: 'constant' });
  const v = net.conv(padded, 'conv_valid', { out: 8, kernel: 3, bias: true, gain: 0.7 });
  const scaled = net.op('Mul', 'scale', [v.name, net.param('scale.weight', rng.uniforms(8, 0.5, 1.5), [1, 8, 1, 1])], v.shape);
  const shifted = net.op('Add', 'shift', [scaled.name, net.param('shift.bias', rng.normals(8, 0.2), [8, 1, 1])], v.shape);
  const centered = net.op('Sub', 'center', [shifted.name, net.floats('center.value', [0.25], [])], v.shape);

  // Slice 6×6 from the middle, linear Resize to 12×12, a layout round trip through NHWC.
  const sl = net.op('Slice', 'crop', [centered.name, net.int64('crop.starts', [1, 1]), net.int64('crop.ends', [7, 7]), net.int64('crop.axes', [2, 3])], [1, 8, 6, 6]);
  const lin = net.resize(sl, 'interp', { scales: net.floats('interp.scales', [1, 1, 2, 2]) }, [1, 8, 12, 12], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
  const nhwc = net.op('Transpose', 'to_nhwc', [lin.name], [1, 12, 12, 8], { perm: [0, 2, 3, 1] });
  const rows = net.op('Reshape', 'rows', [nhwc.name, net.int64('rows.shape', [1, 144, 8])], [1, 144, 8]);
  // A MatMul with constant weights on the channel axis (a 1×1 conv written as a matmul).
  const mm = net.op('MatMul', 'channel_mix', [rows.name, net.param('channel_mix.weight', rng.normals(64, Math.sqrt(1 / 8)), [8, 8])], [1, 144, 8]);
  const back = net.op('Transpose', 'to_nchw', [mm.name], [1, 8, 144], { perm: [0, 2, 1] });
  const map = net.op('Reshape', 'unrows', [back.name, net.int64('unrows.shape', [1, 8, 12, 12])], [1, 8, 12, 12]);
  const act = net.relu(map, 'relu_last');

  // Global average pool over 12×12 = 144 (not a power of two), Squeeze, Flatten, classifier, Softmax.
  const gap = net.globalAvgPool(act, 'gap');
  const sq = net.squeeze(gap, 'squeeze', [3], [1, 8, 1]);
  const flat = net.flatten(sq, 'flatten');
  const logits = net.linear(flat, 'fc', 10);
  net.output(net.op('Softmax', 'softmax', [logits.name], [1, 10], { axis: 1 }), 'output');
  return net;
}
