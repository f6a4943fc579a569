// Rebatching for `mpcc eval` (compiler/eval-batch.ts): a batched graph computes, image by image,
// what the model computes on each image alone (the interpreter on both), a Reshape spelling the
// batch gets the new one, and graphs that mix the batch axis are refused rather than rebatched.
import { expect } from 'chai';
import { withBatch } from '../../compiler/eval-batch.js';
import { importOnnx } from '../../compiler/onnx/import.js';
import { OnnxBuilder } from '../../compiler/onnx/writer.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import { runGraph } from '../../ir/interp/index.js';
import { Tensor } from '../../ir/tensor.js';
import { testValues } from './onnx/harness.js';

/** input [1, 2, 3, 3] → `op` → Reshape to [1, 18] → output. */
function model(op: (b: OnnxBuilder) => void): Uint8Array {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('input', [1, 2, 3, 3]);
  op(b);
  b.int64Initializer('shape', [1, 18]);
  b.node('Reshape', ['y', 'shape'], ['output'], {}, 'reshape');
  b.output('output');
  return b.toBytes();
}

describe('eval batching', () => {
  it('a batch of 3 equals three single-image runs (tiny-cnn, and a Reshape spelling the batch)', () => {
    const relu = importOnnx(model((b) => b.node('Relu', ['input'], ['y'], {}, 'relu')));
    for (const g of [importOnnx(buildZooModel('tiny-cnn')), relu]) {
      const shape = g.types.get(g.inputs[0])!.shape;
      const per = shape.slice(1).reduce((a, b) => a * b, 1);
      const x = testValues([3 * per], 4);
      const batched = withBatch(g, 3)!;
      expect(batched.types.get(g.inputs[0])!.shape).to.deep.equal([3, ...shape.slice(1)]);
      const all = runGraph(batched, { [g.inputs[0]]: new Tensor('float32', [3, ...shape.slice(1)], x) }).get(g.outputs[0])!;
      const singles = [0, 1, 2].flatMap((i) => Array.from(runGraph(g, { [g.inputs[0]]: new Tensor('float32', shape, x.slice(i * per, (i + 1) * per)) }).get(g.outputs[0])!.data as Float32Array));
      expect(Array.from(all.data as Float32Array)).to.deep.equal(singles);
    }
    expect(withBatch(relu, 3)!.constants.get('shape@batch3')!.toArray()).to.deep.equal([3, 18]);
  });

  it('refuses graphs that work along the batch axis', () => {
    const softmax0 = importOnnx(model((b) => b.node('Softmax', ['input'], ['y'], { axis: 0 }, 'softmax')));
    expect(withBatch(softmax0, 4)).to.equal(undefined);
    const transposed = importOnnx(model((b) => b.node('Transpose', ['input'], ['y'], { perm: [1, 0, 2, 3] }, 'transpose')));
    expect(withBatch(transposed, 4)).to.equal(undefined);
    expect(withBatch(softmax0, 1)).to.equal(softmax0); // its own batch size: the same graph
  });
});
