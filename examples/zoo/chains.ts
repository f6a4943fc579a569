// Deep chains of small blocks, as ONNX bytes: the depth benchmark (`bench/depth.ts`) and the
// deep-chain tests compile them to check that compile time grows linearly with depth. The maps
// are tiny (1×4×8×8) so that the time is the compiler's per-node work, not arithmetic; the
// weights are fixed small fractions (test data, not a trained model).
import { OnnxBuilder } from '../../compiler/onnx/writer.js';

/** The shapes of chain. */
export const CHAIN_SHAPES = ['relu', 'relu-maxpool', 'conv-relu', 'conv-bn-relu', 'residual', 'add'] as const;

/** One shape of chain. */
export type ChainShape = (typeof CHAIN_SHAPES)[number];

/** ONNX nodes per block of each shape. */
export const CHAIN_BLOCK_NODES: Readonly<Record<ChainShape, number>> = {
  relu: 1,
  'relu-maxpool': 2,
  'conv-relu': 2,
  'conv-bn-relu': 3,
  residual: 5,
  add: 1,
};

/** A chain of `blocks` blocks of `shape` on a 1×4×8×8 input, as ONNX bytes and its node count.
 * relu: Relu. relu-maxpool: Relu, MaxPool 1×1 (lower moves every pool before its ReLU).
 * conv-relu: Conv 1×1, Relu. conv-bn-relu: Conv 1×1, BatchNormalization, Relu. residual: Conv,
 * Relu, Conv, Add of the block's input, Relu. add: x_{i+1} = x_i + x_{i−1}. */
export function chainModel(shape: ChainShape, blocks: number): { bytes: Uint8Array; nodes: number } {
  const b = new OnnxBuilder({ opset: 13 });
  let x = b.input('x', [1, 4, 8, 8]);
  let prev = x;
  const conv = (from: string, i: number): string => {
    const w = b.initializer(b.fresh('w'), Array.from({ length: 16 }, (_, k) => (((k * 7 + i) % 5) - 2) / 8), [4, 4, 1, 1]);
    return b.node('Conv', [from, w], [b.fresh('c')])[0];
  };
  const relu = (from: string): string => b.node('Relu', [from], [b.fresh('r')])[0];
  for (let i = 0; i < blocks; i++) {
    switch (shape) {
      case 'relu':
        x = relu(x);
        break;
      case 'relu-maxpool':
        x = b.node('MaxPool', [relu(x)], [b.fresh('p')], { kernel_shape: [1, 1] })[0];
        break;
      case 'conv-relu':
        x = relu(conv(x, i));
        break;
      case 'conv-bn-relu': {
        const c = conv(x, i);
        const stats = ['s', 'b', 'm', 'v'].map((p, j) => b.initializer(b.fresh(p), [[1, 0.5, 1, 0.5], [0, 0.1, 0, 0.1], [0, 0, 0, 0], [1, 1, 1, 1]][j], [4]));
        x = relu(b.node('BatchNormalization', [c, ...stats], [b.fresh('bn')])[0]);
        break;
      }
      case 'residual':
        x = relu(b.node('Add', [conv(relu(conv(x, i)), i + 1), x], [b.fresh('a')])[0]);
        break;
      case 'add': {
        const next = b.node('Add', [x, prev], [b.fresh('a')])[0];
        prev = x;
        x = next;
        break;
      }
    }
  }
  b.output(x);
  return { bytes: b.toBytes(), nodes: b.opTypes().length };
}
