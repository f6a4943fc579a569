// torchvision ResNet18 for ImageNet: 7×7 stride-2 stem, 3×3 max-pool, BasicBlocks [2, 2, 2, 2].
import { Net, type NetOptions } from './net.js';
import { basicBlock, classifierHead, stage } from './resnet-blocks.js';

/** Builds resnet18: input [1, 3, 224, 224] → logits [1, 1000]. */
export function buildResnet18(options: NetOptions = {}): Net {
  const net = new Net('resnet18', options);
  let x = net.input('input', [1, 3, 224, 224]);
  x = net.convBn(x, { conv: 'conv1', bn: 'bn1', act: 'relu' }, { out: 64, kernel: 7, stride: 2, pad: 3 }, 'relu');
  x = net.maxPool(x, 'maxpool', 3, 2, 1);
  x = stage(net, x, 'layer1', basicBlock, 64, 2, { stride: 1 });
  x = stage(net, x, 'layer2', basicBlock, 128, 2, { stride: 2 });
  x = stage(net, x, 'layer3', basicBlock, 256, 2, { stride: 2 });
  x = stage(net, x, 'layer4', basicBlock, 512, 2, { stride: 2 });
  classifierHead(net, x, 1000);
  return net;
}
