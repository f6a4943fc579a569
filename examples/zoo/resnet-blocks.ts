// torchvision's residual blocks in their ONNX export form: BasicBlock (ResNet18/34) and
// Bottleneck (ResNet50, stride on the 3×3 conv as in torchvision v1.5), each with the 1×1
// conv + BN downsample shortcut when the shape changes. The last BN of each residual branch
// gets a smaller gamma so that the residual sums stay O(1) through deep stacks.
import type { Net, Tensor } from './net.js';

/** gamma range of the last BatchNormalization of a residual branch. */
const RESIDUAL_GAMMA: readonly [number, number] = [0.1, 0.3];

/** Dilation settings of one stage (DeepLab replaces stride by dilation in the last stages). */
export interface StageOptions {
  readonly stride: number;
  readonly dilation?: number;
}

/** torchvision BasicBlock: conv3×3-BN-ReLU-conv3×3-BN, plus the shortcut, then ReLU. */
export function basicBlock(net: Net, x: Tensor, scope: string, width: number, o: StageOptions): Tensor {
  const d = o.dilation ?? 1;
  const h = net.convBn(x, { conv: `${scope}.conv1`, bn: `${scope}.bn1`, act: `${scope}.relu` }, { out: width, kernel: 3, stride: o.stride, pad: d, dilation: d }, 'relu');
  const y = net.convBn(h, { conv: `${scope}.conv2`, bn: `${scope}.bn2` }, { out: width, kernel: 3, pad: d, dilation: d }, 'none', { gamma: RESIDUAL_GAMMA });
  const shortcut = shortcutOf(net, x, scope, width, o.stride);
  return net.relu(net.add(y, shortcut, scope), `${scope}.relu`);
}

/** torchvision Bottleneck: 1×1 reduce, 3×3 (stride, dilation), 1×1 expand ×4, shortcut, ReLU. */
export function bottleneck(net: Net, x: Tensor, scope: string, width: number, o: StageOptions): Tensor {
  const d = o.dilation ?? 1;
  const a = net.convBn(x, { conv: `${scope}.conv1`, bn: `${scope}.bn1`, act: `${scope}.relu` }, { out: width, kernel: 1 }, 'relu');
  const b = net.convBn(a, { conv: `${scope}.conv2`, bn: `${scope}.bn2`, act: `${scope}.relu` }, { out: width, kernel: 3, stride: o.stride, pad: d, dilation: d }, 'relu');
  const y = net.convBn(b, { conv: `${scope}.conv3`, bn: `${scope}.bn3` }, { out: width * 4, kernel: 1 }, 'none', { gamma: RESIDUAL_GAMMA });
  const shortcut = shortcutOf(net, x, scope, width * 4, o.stride);
  return net.relu(net.add(y, shortcut, scope), `${scope}.relu`);
}

/** The identity, or torchvision's `downsample` (1×1 conv with stride + BN) when the shape changes. */
function shortcutOf(net: Net, x: Tensor, scope: string, out: number, stride: number): Tensor {
  if (stride === 1 && x.shape[1] === out) return x;
  return net.convBn(x, { conv: `${scope}.downsample.0`, bn: `${scope}.downsample.1` }, { out, kernel: 1, stride }, 'none');
}

/** One stage `layerN` of `blocks` blocks; only the first block strides. */
export function stage(
  net: Net,
  x: Tensor,
  scope: string,
  block: typeof basicBlock,
  width: number,
  blocks: number,
  o: StageOptions,
): Tensor {
  let y = x;
  for (let i = 0; i < blocks; i++) y = block(net, y, `${scope}.${i}`, width, i === 0 ? o : { stride: 1, dilation: o.dilation });
  return y;
}

/** The classifier head: GlobalAveragePool → Flatten → Linear (Gemm), output named `output`. */
export function classifierHead(net: Net, x: Tensor, classes: number, fc = 'fc'): Tensor {
  const pooled = net.globalAvgPool(x, 'avgpool');
  return net.output(net.linear(net.flatten(pooled, ''), fc, classes), 'output');
}
