// An opset-9 model for the operator forms that later opsets removed or changed: Clip with
// min/max attributes, Upsample (nearest and linear), Pad/Slice/Squeeze/Unsqueeze with
// attributes instead of inputs, Dropout with a ratio attribute. Old exporters still write them.
import { float } from '../../compiler/onnx/writer.js';
import { Net } from './net.js';

/** The opset legacy-ops is written in. */
export const LEGACY_OPSET = 9;

/** Builds legacy-ops: input [1, 3, 16, 16] → softmax scores [1, 10]. */
export function buildLegacyOps(options: { foldBatchNorm?: boolean } = {}): Net {
  const net = new Net('legacy-ops', { ...options, opset: LEGACY_OPSET });
  const x = net.input('input', [1, 3, 16, 16]);
  const a = net.convBn(x, { conv: 'conv1', bn: 'bn1' }, { out: 8, kernel: 3, pad: 1 }, 'none');
  const relu6 = net.op('Clip', 'relu6', [a.name], a.shape, { max: float(6), min: float(0) });
  const pooled = net.maxPool(relu6, 'pool', 2, 2, 0);
  const scales = net.floats('upsample.scales', [1, 1, 2, 2]);
  const nearest = net.op('Upsample', 'upsample_nearest', [pooled.name, scales], [1, 8, 16, 16], { mode: 'nearest' });
  const linear = net.op('Upsample', 'upsample_linear', [pooled.name, scales], [1, 8, 16, 16], { mode: 'linear' });
  const sum = net.add(nearest, linear, 'sum');
  const padded = net.op('Pad', 'pad', [sum.name], [1, 8, 18, 18], { mode: 'constant', pads: [0, 0, 1, 1, 0, 0, 1, 1], value: float(0.25) });
  const conv = net.conv(padded, 'conv2', { out: 8, kernel: 3, bias: true });
  const sliced = net.op('Slice', 'slice', [conv.name], [1, 8, 12, 16], { axes: [2], ends: [14], starts: [2] });
  const gap = net.globalAvgPool(sliced, 'gap');
  const squeezed = net.squeeze(gap, 'squeeze', [2, 3], [1, 8]);
  const unsqueezed = net.unsqueeze(squeezed, 'unsqueeze', [1], [1, 1, 8]);
  const flat = net.flatten(unsqueezed, 'flatten');
  const logits = net.linear(flat, 'fc', 10);
  const dropped = net.op('Dropout', 'dropout', [logits.name], [1, 10], { ratio: float(0.5) });
  net.output(net.op('Softmax', 'softmax', [dropped.name], [1, 10], { axis: 1 }), 'output');
  return net;
}
