// A per-pixel classifier for segmentation tests (mpcc eval, mpcc report): 3×6×7 → conv to 5
// classes (3×3, padded) → ReLU → [1, 5, 6, 7].
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { testValues } from '../onnx/harness.js';

/** The segmenter's ONNX bytes (weights from testValues, seed 4). */
export function segmenter(): Uint8Array {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('input', [1, 3, 6, 7]);
  b.initializer('w', testValues([5, 3, 3, 3], 4), [5, 3, 3, 3]);
  b.node('Conv', ['input', 'w'], ['c'], { pads: [1, 1, 1, 1] }, 'conv');
  b.node('Relu', ['c'], ['output'], {}, 'relu');
  b.output('output', [1, 5, 6, 7]);
  return b.toBytes();
}
