// TensorProto decoding of every storage field the importer reads, with values written by hand.
import { expect } from 'chai';
import { readTensor } from '../../../compiler/onnx/reader.js';
import { MpccError } from '../../../runtime/diagnostics.js';

/** Mimics protobufjs's Long (what int64 fields decode to when the long package is present). */
const long = (v: number) => ({ toNumber: () => v });
const le = (fill: (v: DataView) => void, bytes: number) => { const b = new Uint8Array(bytes); fill(new DataView(b.buffer)); return b; };

describe('ONNX TensorProto decoding', () => {
  it('typed fields: double_data, int32_data, int64_data (Long), float_data', () => {
    const d = readTensor({ name: 'd', dims: [long(2)], dataType: 11, doubleData: [1.5, -2.25] }, '.');
    expect([d.dtype, d.shape, d.toArray()]).to.deep.equal(['float64', [2], [1.5, -2.25]]);
    const i = readTensor({ name: 'i', dims: [3], dataType: 6, int32Data: [7, -8, 9] }, '.');
    expect([i.dtype, i.toArray()]).to.deep.equal(['int32', [7, -8, 9]]);
    const l = readTensor({ name: 'l', dims: [2], dataType: 7, int64Data: [long(-3), long(2 ** 40)] } as never, '.');
    expect([l.dtype, l.toArray()]).to.deep.equal(['int64', [-3, 2 ** 40]]);
    const f = readTensor({ name: 'f', dims: [], dataType: 1, floatData: [0.5] }, '.');
    expect([f.shape, f.toArray()]).to.deep.equal([[], [0.5]]);
  });

  it('raw_data little endian: float, int64, float16, bool, uint8', () => {
    const f = readTensor({ name: 'f', dims: [2], dataType: 1, rawData: le((v) => { v.setFloat32(0, 1.25, true); v.setFloat32(4, -3, true); }, 8) }, '.');
    expect(f.toArray()).to.deep.equal([1.25, -3]);
    const l = readTensor({ name: 'l', dims: [1], dataType: 7, rawData: le((v) => v.setBigInt64(0, -5n, true), 8) }, '.');
    expect(l.toArray()).to.deep.equal([-5]);
    // float16: 0x3c00 = 1, 0xc000 = -2, 0x3555 ≈ 0.333251953125
    const h = readTensor({ name: 'h', dims: [3], dataType: 10, rawData: le((v) => { v.setUint16(0, 0x3c00, true); v.setUint16(2, 0xc000, true); v.setUint16(4, 0x3555, true); }, 6) }, '.');
    expect([h.dtype, h.toArray()]).to.deep.equal(['float32', [1, -2, 0.333251953125]]);
    const b = readTensor({ name: 'b', dims: [3], dataType: 9, rawData: Uint8Array.of(1, 0, 1) }, '.');
    expect([b.dtype, b.toArray()]).to.deep.equal(['bool', [1, 0, 1]]);
    const u = readTensor({ name: 'u', dims: [2], dataType: 2, rawData: Uint8Array.of(255, 3) }, '.');
    expect([u.dtype, u.toArray()]).to.deep.equal(['int32', [255, 3]]);
  });

  it('rejects wrong sizes and unsupported element types', () => {
    expect(() => readTensor({ name: 'f', dims: [3], dataType: 1, rawData: new Uint8Array(8) }, '.')).to.throw(MpccError, /tensor 'f' has 8 data bytes, expected 12/);
    expect(() => readTensor({ name: 'g', dims: [3], dataType: 1, floatData: [1] }, '.')).to.throw(MpccError, /tensor 'g' has 1 values for shape \[3\]/);
    expect(() => readTensor({ name: 's', dims: [1], dataType: 8 }, '.')).to.throw(MpccError, /MPCC1007|tensor 's' has unsupported data type STRING/);
  });
});
