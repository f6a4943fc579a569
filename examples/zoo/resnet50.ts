// torchvision ResNet50 (v1.5) for ImageNet: Bottlenecks [3, 4, 6, 3], 9.61 M ReLU outputs.
import { Net, type NetOptions } from './net.js';
import { bottleneck, classifierHead, stage } from './resnet-blocks.js';

/** Builds resnet50: input [1, 3, 224, 224] → logits [1, 1000]. */
export function buildResnet50(options: NetOptions = {}): Net {
  const net = new Net('resnet50', options);
  let x = net.input('input', [1, 3, 224, 224]);
  x = net.convBn(x, { conv: 'conv1', bn: 'bn1', act: 'relu' }, { out: 64, kernel: 7, stride: 2, pad: 3 }, 'relu');
  x = net.maxPool(x, 'maxpool', 3, 2, 1);
  x = stage(net, x, 'layer1', bottleneck, 64, 3, { stride: 1 });
  x = stage(net, x, 'layer2', bottleneck, 128, 4, { stride: 2 });
  x = stage(net, x, 'layer3', bottleneck, 256, 6, { stride: 2 });
  x = stage(net, x, 'layer4', bottleneck, 512, 3, { stride: 2 });
  classifierHead(net, x, 1000);
  return net;
}
