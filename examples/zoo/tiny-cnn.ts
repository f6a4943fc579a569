// A tiny CNN for fast tests: two conv-BN-ReLU layers with max- and average-pooling, a
// flattening Gemm classifier; 3×16×16 input, 10 classes, runs in microseconds.
import { Net, type NetOptions } from './net.js';

/** Builds tiny-cnn: input [1, 3, 16, 16] → logits [1, 10]. */
export function buildTinyCnn(options: NetOptions = {}): Net {
  const net = new Net('tiny-cnn', options);
  let x = net.input('input', [1, 3, 16, 16]);
  x = net.convBn(x, { conv: 'conv1', bn: 'bn1', act: 'relu1' }, { out: 8, kernel: 3, pad: 1 }, 'relu');
  x = net.maxPool(x, 'pool1', 2, 2, 0);
  x = net.convBn(x, { conv: 'conv2', bn: 'bn2', act: 'relu2' }, { out: 16, kernel: 3, pad: 1 }, 'relu');
  const [n, c, h, w] = x.shape;
  x = net.op('AveragePool', 'pool2', [x.name], [n, c, h / 2, w / 2], { kernel_shape: [2, 2], strides: [2, 2] });
  x = net.flatten(x, '');
  net.output(net.linear(x, 'fc', 10), 'output');
  return net;
}
