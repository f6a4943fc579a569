// torchvision MobileNetV2 for ImageNet: inverted residual blocks (1×1 expand, 3×3 depthwise,
// linear 1×1 projection) with ReLU6 exported as Clip(min, max) inputs (opset ≥ 11).
import { Net, type NetOptions, type Tensor } from './net.js';
import { classifierHead } from './resnet-blocks.js';

/** torchvision's inverted residual settings: expansion t, channels c, repeats n, stride s. */
const SETTINGS: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** One InvertedResidual `features.<i>`; the shortcut Add only when stride 1 and same width. */
function invertedResidual(net: Net, x: Tensor, scope: string, out: number, stride: number, expand: number): Tensor {
  const cin = x.shape[1];
  const hidden = cin * expand;
  const residual = stride === 1 && cin === out;
  let y = x;
  let layer = 0;
  if (expand !== 1) {
    y = net.convBn(y, { conv: `${scope}.conv.0.0`, bn: `${scope}.conv.0.1`, act: `${scope}.conv.0.2` }, { out: hidden, kernel: 1 }, 'relu6');
    layer = 1;
  }
  const dw = `${scope}.conv.${layer}`;
  y = net.convBn(y, { conv: `${dw}.0`, bn: `${dw}.1`, act: `${dw}.2` }, { out: hidden, kernel: 3, stride, pad: 1, group: hidden }, 'relu6');
  const gamma: readonly [number, number] = residual ? [0.1, 0.3] : [0.5, 1.5];
  y = net.convBn(y, { conv: `${scope}.conv.${layer + 1}`, bn: `${scope}.conv.${layer + 2}` }, { out, kernel: 1 }, 'none', { gamma });
  return residual ? net.add(x, y, scope) : y;
}

/** Builds mobilenetv2: input [1, 3, 224, 224] → logits [1, 1000]. */
export function buildMobilenetV2(options: NetOptions = {}): Net {
  const net = new Net('mobilenetv2', options);
  let x = net.input('input', [1, 3, 224, 224]);
  x = net.convBn(x, { conv: 'features.0.0', bn: 'features.0.1', act: 'features.0.2' }, { out: 32, kernel: 3, stride: 2, pad: 1 }, 'relu6');
  let index = 1;
  for (const [t, c, n, s] of SETTINGS) {
    for (let i = 0; i < n; i++) x = invertedResidual(net, x, `features.${index++}`, c, i === 0 ? s : 1, t);
  }
  const last = `features.${index}`;
  x = net.convBn(x, { conv: `${last}.0`, bn: `${last}.1`, act: `${last}.2` }, { out: 1280, kernel: 1 }, 'relu6');
  classifierHead(net, x, 1000, 'classifier.1');
  return net;
}
