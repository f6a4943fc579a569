// ResNet18 for CIFAR-100 as the seed paper uses it: 3×3 stem with stride 1 and no max-pool,
// BasicBlocks [2, 2, 2, 2] of widths 64–512, 100 classes; 557,056 ReLU outputs per image.
import { Net, type NetOptions } from './net.js';
import { basicBlock, classifierHead, stage } from './resnet-blocks.js';

/** Builds resnet18-cifar: input [1, 3, 32, 32] → logits [1, 100]. */
export function buildResnet18Cifar(options: NetOptions = {}): Net {
  const net = new Net('resnet18-cifar', options);
  let x = net.input('input', [1, 3, 32, 32]);
  x = net.convBn(x, { conv: 'conv1', bn: 'bn1', act: 'relu' }, { out: 64, kernel: 3, stride: 1, pad: 1 }, 'relu');
  x = stage(net, x, 'layer1', basicBlock, 64, 2, { stride: 1 });
  x = stage(net, x, 'layer2', basicBlock, 128, 2, { stride: 2 });
  x = stage(net, x, 'layer3', basicBlock, 256, 2, { stride: 2 });
  x = stage(net, x, 'layer4', basicBlock, 512, 2, { stride: 2 });
  classifierHead(net, x, 100);
  return net;
}
