// The ONNX writer: attribute types, little-endian raw data, opset/IR versions, and a model
// built with it runs in onnxruntime-node with the hand-computed result.
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { OnnxBuilder, float, floats, i64Tensor, tensorAttr } from '../../../compiler/onnx/writer.js';

describe('ONNX writer', () => {
  it('gives every attribute its ONNX type', () => {
    const b = new OnnxBuilder({ opset: 13 });
    b.input('x', [2, 3]);
    b.node('Foo', ['x'], ['y'], { i: 3, f: 0.5, one: float(1), is: [1, 2], fs: floats([1, 2]), s: 'half_pixel', t: tensorAttr(i64Tensor([7], [1])) });
    const attrs = Object.fromEntries(b.toModel().graph!.node![0].attribute!.map((a) => [a.name, a]));
    // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7
    expect(attrs.i.type).to.equal(2);
    expect(Number(attrs.i.i)).to.equal(3);
    expect(attrs.f.type).to.equal(1);
    expect(attrs.one.type).to.equal(1);
    expect(attrs.one.f).to.equal(1);
    expect(attrs.is.type).to.equal(7);
    expect(attrs.fs.type).to.equal(6);
    expect(attrs.s.type).to.equal(3);
    expect(new TextDecoder().decode(attrs.s.s!)).to.equal('half_pixel');
    expect(attrs.t.type).to.equal(4);
    expect(attrs.t.t!.dataType).to.equal(7);
  });

  it('writes raw data little-endian and pairs opset with IR version', () => {
    const b = new OnnxBuilder({ opset: 13 });
    b.initializer('w', Float32Array.of(1), [1]);
    b.int64Initializer('s', [-1, 258]);
    const m = b.toModel();
    expect(Number(m.irVersion)).to.equal(7);
    expect(Number(m.opsetImport[0].version)).to.equal(13);
    expect(Array.from(m.graph!.initializer![0].rawData!)).to.deep.equal([0, 0, 0x80, 0x3f]);
    expect(Array.from(m.graph!.initializer![1].rawData!)).to.deep.equal([255, 255, 255, 255, 255, 255, 255, 255, 2, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('renames a node output together with its uses', async () => {
    const b = new OnnxBuilder({ opset: 13 });
    b.input('x', [2]);
    b.node('Relu', ['x'], ['r']);
    b.node('Neg', ['r'], ['n']);
    b.renameValue('r', 'relu_out');
    b.renameValue('n', 'y');
    b.output('y', [2]);
    expect(() => b.renameValue('x', 'z')).to.throw(/not a node output/);
    const session = await ort.InferenceSession.create(b.toBytes());
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 2), [2]) });
    expect(Array.from(out.y.data as Float32Array)).to.deep.equal([-0, -2]);
  });

  it('rejects a value defined twice', () => {
    const b = new OnnxBuilder({ opset: 13 });
    b.input('x', [1]);
    expect(() => b.node('Relu', ['x'], ['x'])).to.throw(/defined twice/);
  });

  it('builds a model onnxruntime runs: Gemm(alpha=1), Reshape and Slice by int64 initializers, raw or typed', async () => {
    const b = new OnnxBuilder({ opset: 13 });
    b.input('x', [1, 2]);
    b.initializer('w', Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]);
    b.initializer('c', Float32Array.of(0.5, 0, -0.5), [3]);
    b.int64Initializer('shape', [3, 1]);
    b.node('Gemm', ['x', 'w', 'c'], ['g'], { alpha: float(1), beta: float(1), transB: 1 });
    b.node('Reshape', ['g', 'shape'], ['r']);
    // ends = INT64_MAX (as torch writes open slices) must survive both encodings exactly
    b.int64Initializer('starts', [1]);
    b.int64Initializer('ends', BigInt64Array.of(9223372036854775807n));
    b.node('Slice', ['r', 'starts', 'ends'], ['y']);
    b.output('y', [2, 1]);
    for (const tensorEncoding of ['raw', 'typed'] as const) {
      const session = await ort.InferenceSession.create(b.serialize({ tensorEncoding }).model);
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, -1), [1, 2]) });
      // rows of w dotted with (1, -1): -1, -1, -1; plus c; then rows 1.. of the [3, 1] reshape
      expect(Array.from(out.y.data as Float32Array), tensorEncoding).to.deep.equal([-1, -1.5]);
      expect(out.y.dims).to.deep.equal([2, 1]);
    }
  });
});
