// A small MobileNetV3-style network, written as torchvision's MobileNetV3 exports at opset 13:
// Hardswish as x · HardSigmoid(x) (alpha 1/6, beta 1/2: a HardSigmoid and a Mul of two
// activations), squeeze-and-excitation blocks (GlobalAveragePool, 1×1 convs with bias, ReLU,
// HardSigmoid gate, the gate [N,C,1,1] times the map [N,C,H,W]), depthwise 3×3 and 5×5 convs,
// inverted residuals and a Hardswish classifier; 3×32×32 input so unit tests run it securely.
import { float } from '../../compiler/onnx/writer.js';
import { Net, type NetOptions, type Tensor } from './net.js';

/** One inverted residual: kernel, expanded width, output width, SE, activation, stride. */
interface BlockSetting {
  readonly kernel: number;
  readonly expanded: number;
  readonly out: number;
  readonly se: boolean;
  readonly act: 'RE' | 'HS';
  readonly stride: number;
}

/** torchvision's bneck rows, scaled down. */
const SETTINGS: readonly BlockSetting[] = [
  { kernel: 3, expanded: 16, out: 16, se: true, act: 'RE', stride: 1 },
  { kernel: 5, expanded: 48, out: 24, se: true, act: 'HS', stride: 2 },
  { kernel: 3, expanded: 72, out: 24, se: true, act: 'HS', stride: 1 },
  { kernel: 3, expanded: 64, out: 32, se: false, act: 'HS', stride: 2 },
];

/** torchvision's _make_divisible(v, 8). */
function divisible(v: number, by = 8): number {
  const r = Math.max(by, Math.floor((v + by / 2) / by) * by);
  return r < 0.9 * v ? r + by : r;
}

/** Hardsigmoid as torch.onnx writes it: HardSigmoid with alpha 1/6, beta 1/2. */
function hardSigmoid(net: Net, x: Tensor, scope: string): Tensor {
  return net.op('HardSigmoid', scope, [x.name], x.shape, { alpha: float(1 / 6), beta: float(0.5) });
}

/** Hardswish at opset < 14: x · HardSigmoid(x). */
export function hardSwish(net: Net, x: Tensor, scope: string): Tensor {
  const gate = hardSigmoid(net, x, scope);
  return net.op('Mul', scope, [x.name, gate.name], x.shape);
}

/** torchvision's SqueezeExcitation: pool, fc1 (1×1 conv), ReLU, fc2, Hardsigmoid, scale · input. */
function squeezeExcitation(net: Net, x: Tensor, scope: string): Tensor {
  const squeeze = divisible(x.shape[1] / 4);
  const pooled = net.globalAvgPool(x, `${scope}.avgpool`);
  const fc1 = net.relu(net.conv(pooled, `${scope}.fc1`, { out: squeeze, kernel: 1, bias: true }), `${scope}.activation`);
  const fc2 = net.conv(fc1, `${scope}.fc2`, { out: x.shape[1], kernel: 1, bias: true });
  const gate = hardSigmoid(net, fc2, `${scope}.scale_activation`);
  return net.op('Mul', scope, [gate.name, x.name], x.shape);
}

/** Conv → BN → ReLU / Hardswish / nothing. */
function convBnAct(net: Net, x: Tensor, scope: string, o: { out: number; kernel: number; stride?: number; group?: number }, act: 'RE' | 'HS' | 'none', gamma?: readonly [number, number]): Tensor {
  const pad = (o.kernel - 1) / 2;
  const y = net.convBn(x, { conv: `${scope}.0`, bn: `${scope}.1`, act: `${scope}.2` }, { ...o, pad }, act === 'RE' ? 'relu' : 'none', gamma ? { gamma } : {});
  return act === 'HS' ? hardSwish(net, y, `${scope}.2`) : y;
}

/** One InvertedResidual `features.<i>` (torchvision's MobileNetV3 block). */
function invertedResidual(net: Net, x: Tensor, scope: string, s: BlockSetting): Tensor {
  const cin = x.shape[1];
  let y = x;
  let layer = 0;
  if (s.expanded !== cin) y = convBnAct(net, y, `${scope}.block.${layer++}`, { out: s.expanded, kernel: 1 }, s.act);
  y = convBnAct(net, y, `${scope}.block.${layer++}`, { out: s.expanded, kernel: s.kernel, stride: s.stride, group: s.expanded }, s.act);
  if (s.se) y = squeezeExcitation(net, y, `${scope}.block.${layer++}`);
  const residual = s.stride === 1 && cin === s.out;
  y = convBnAct(net, y, `${scope}.block.${layer}`, { out: s.out, kernel: 1 }, 'none', residual ? [0.1, 0.3] : [0.5, 1.5]);
  return residual ? net.add(x, y, scope) : y;
}

/** Builds mobilenetv3-small: input [1, 3, 32, 32] → logits [1, 10]. */
export function buildMobilenetV3(options: NetOptions = {}): Net {
  const net = new Net('mobilenetv3-small', options);
  let x = net.input('input', [1, 3, 32, 32]);
  x = convBnAct(net, x, 'features.0', { out: 16, kernel: 3, stride: 2 }, 'HS');
  SETTINGS.forEach((s, i) => (x = invertedResidual(net, x, `features.${i + 1}`, s)));
  x = convBnAct(net, x, `features.${SETTINGS.length + 1}`, { out: 96, kernel: 1 }, 'HS');
  const pooled = net.flatten(net.globalAvgPool(x, 'avgpool'), '');
  const hidden = hardSwish(net, net.linear(pooled, 'classifier.0', 64), 'classifier.1');
  net.output(net.linear(hidden, 'classifier.3', 10), 'output');
  return net;
}
