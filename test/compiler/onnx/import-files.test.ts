// ONNX files in every storage form (raw_data, typed fields with Long int64s, external data next
// to the model) and the bad inputs the importer must reject with one clear diagnostic.
import { expect } from 'chai';
import { encodeNpy } from '../../../compiler/npy.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { importOnnx, loadOnnxFile } from '../../../compiler/onnx/import.js';
import { initializersToExternalData, initializersToTypedFields } from '../../../compiler/onnx/storage.js';
import { OnnxBuilder, float } from '../../../compiler/onnx/writer.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import type { Graph } from '../../../ir/graph.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { testValues } from './harness.js';

/** Constants of a graph as plain arrays, for comparing two imports. */
function constantValues(g: Graph): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of g.constants) out[k] = t.toArray();
  return out;
}

/** Expects `fn` to throw the MpccError `code` with a message matching `re`. */
function expectDiag(fn: () => unknown, code: string, re: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(MpccError);
    expect((err as MpccError).code).to.equal(code);
    expect((err as MpccError).message).to.match(re);
    return;
  }
  expect.fail(`expected ${code}`);
}

function model(opset: number, build: (b: OnnxBuilder) => void): Uint8Array {
  const b = new OnnxBuilder({ opset });
  build(b);
  return b.toBytes();
}

describe('ONNX import: storage forms', function () {
  this.timeout(30000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'mpcc-import-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads initializers from typed fields (float_data, int64_data as Long) like raw_data', async () => {
    const raw = buildZooModel('all-ops');
    const typed = initializersToTypedFields(raw);
    expect(typed.length).to.not.equal(raw.length);
    const a = importOnnx(raw), b = importOnnx(typed);
    expect(constantValues(b)).to.deep.equal(constantValues(a));
    // onnxruntime agrees the typed file holds the same model
    const x = new ort.Tensor('float32', testValues([1, 3, 16, 16]), [1, 3, 16, 16]);
    const [ra, rb] = await Promise.all([raw, typed].map(async (m) => (await ort.InferenceSession.create(m)).run({ input: x })));
    expect(Array.from(rb.output.data as Float32Array)).to.deep.equal(Array.from(ra.output.data as Float32Array));
  });

  it('reads external data files next to the model (location, offset, length)', async () => {
    const raw = buildZooModel('tiny-cnn');
    const { model: ext, data } = initializersToExternalData(raw, 'tiny.weights', 64);
    const path = join(dir, 'tiny.onnx');
    writeFileSync(path, ext);
    writeFileSync(join(dir, 'tiny.weights'), data);
    const g = loadOnnxFile(path);
    expect(constantValues(g)).to.deep.equal(constantValues(importOnnx(raw)));
    // onnxruntime loads the same file pair
    const session = await ort.InferenceSession.create(path);
    expect(session.outputNames).to.deep.equal(['output']);
  });

  it('missing external data file → MPCC1005 naming file and tensor', () => {
    const { model: ext } = initializersToExternalData(buildZooModel('tiny-cnn'), 'gone.bin', 64);
    const path = join(dir, 'orphan.onnx');
    writeFileSync(path, ext);
    expectDiag(() => loadOnnxFile(path), 'MPCC1005', /external data file 'gone\.bin' for tensor '.+' is missing/);
  });
});

describe('ONNX import: bad input', () => {
  const tiny = buildZooModel('tiny-cnn');

  it('truncated file → MPCC1002', () => {
    expectDiag(() => importOnnx(tiny.subarray(0, Math.floor(tiny.length / 2)), { path: 'cut.onnx' }), 'MPCC1002', /'cut\.onnx' is not a valid ONNX model: .*the file may be truncated$/);
  });

  it('another kind of file given as the model → MPCC1002 saying which kind', () => {
    const kinds: [Uint8Array, RegExp][] = [
      [encodeNpy([1, 3, 4, 4], new Float32Array(48)), /it is a NumPy \.npy array, not a model$/],
      [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff, 0xff]), /it is a PNG image, not a model$/],
      [Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), /it is a zip archive \(a PyTorch \.pt\/\.pth checkpoint\?\), not an ONNX model/],
      [new TextEncoder().encode('hello world this is text, not a model at all\n'), /it is text \(it begins 'hello world this is text…'\), not an ONNX model$/],
    ];
    for (const [bytes, says] of kinds) expectDiag(() => importOnnx(bytes, { path: 'm.onnx' }), 'MPCC1002', says);
  });

  it('random bytes and text → MPCC1002', () => {
    expectDiag(() => importOnnx(testValues([4096], 99).map((v) => v * 64) as unknown as Uint8Array), 'MPCC1002', /not a valid ONNX model/);
    const bytes = new Uint8Array(testValues([4096], 5).buffer);
    expectDiag(() => importOnnx(bytes), 'MPCC1002', /not a valid ONNX model/);
    expectDiag(() => importOnnx(new TextEncoder().encode('hello, this is not a model\n')), 'MPCC1002', /not a valid ONNX model/);
    expectDiag(() => importOnnx(new Uint8Array(0)), 'MPCC1002', /not a valid ONNX model/);
  });

  it('unsupported operator → MPCC1001 naming operator, opset and node', () => {
    const m = model(13, (b) => { b.input('x', [2, 3]); b.node('Einsum', ['x'], ['y'], { equation: 'ij->ji' }, 'transposer'); b.output('y'); });
    expectDiag(() => importOnnx(m), 'MPCC1001', /ONNX operator 'Einsum' \(opset 13\) at node 'transposer' is not supported/);
    const unnamed = model(13, (b) => { b.input('x', [2, 3]); b.node('Relu', ['x'], ['r']); b.node('Erf', ['r'], ['y'], {}, ''); b.output('y'); });
    expectDiag(() => importOnnx(unnamed), 'MPCC1001', /'Erf' \(opset 13\) at node 'Erf_1'/);
    const old = model(11, (b) => { b.input('x', [1, 1, 2, 2]); b.node('Upsample', ['x', 's'], ['y'], { mode: 'nearest' }, 'up'); b.initializer('s', [1, 1, 2, 2], [4]); b.output('y'); });
    expectDiag(() => importOnnx(old), 'MPCC1001', /'Upsample' \(opset 11\) at node 'up'/);
  });

  it('unsupported opset → MPCC1003', () => {
    const m = model(6, (b) => { b.input('x', [2]); b.node('Relu', ['x'], ['y']); b.output('y'); });
    expectDiag(() => importOnnx(m, { path: 'old.onnx' }), 'MPCC1003', /ONNX opset 6 of 'old\.onnx' is not supported \(supported: 7 to 20\)/);
  });

  it('symbolic dimension without --input-shape → MPCC1004; with it the model imports', () => {
    const m = model(13, (b) => { b.input('x', ['batch', 3, 'h', 'w']); b.node('Relu', ['x'], ['y']); b.output('y'); });
    expectDiag(() => importOnnx(m), 'MPCC1004', /input 'x' has symbolic dimension 'batch'; fix it with --input-shape/);
    expect(importOnnx(m, { inputShape: [1, 3, 8, 8] }).types.get('y')!.shape).to.deep.equal([1, 3, 8, 8]);
    expectDiag(() => importOnnx(m, { inputShape: [1, 3, 8] }), 'MPCC1008', /has rank 4, not 3/);
    expectDiag(() => importOnnx(m, { inputShape: [2, 4, 8, 8] }), 'MPCC1008', /dimension 1 of input 'x' is fixed to 3/);
  });

  it('operator forms mpcc cannot represent → MPCC1006 at the node', () => {
    const soft = model(11, (b) => { b.input('x', [2, 3, 4]); b.node('Softmax', ['x'], ['y'], { axis: 1 }, 'sm'); b.output('y'); });
    expectDiag(() => importOnnx(soft), 'MPCC1006', /node 'sm' \(Softmax\): opset 11 Softmax over the flattened axes 1\.\.2/);
    const reflect = model(13, (b) => { b.input('x', [1, 1, 3, 3]); b.int64Initializer('p', [0, 0, 1, 1, 0, 0, 1, 1]); b.node('Pad', ['x', 'p'], ['y'], { mode: 'reflect' }, 'pad'); b.output('y'); });
    expectDiag(() => importOnnx(reflect), 'MPCC1006', /node 'pad' \(Pad\): mode 'reflect' is not supported/);
    const dynamic = model(13, (b) => { b.input('x', [2, 3]); b.input('s', [2], 'int64'); b.node('Reshape', ['x', 's'], ['y'], {}, 'rs'); b.output('y'); });
    expectDiag(() => importOnnx(dynamic), 'MPCC1006', /node 'rs' \(Reshape\): shape \(input 1, 's'\) must be a constant/);
    const cubic = model(13, (b) => { b.input('x', [1, 1, 3, 3]); b.initializer('sc', [1, 1, 2, 2], [4]); b.node('Resize', ['x', '', 'sc'], ['y'], { mode: 'cubic' }, 'rz'); b.output('y'); });
    expectDiag(() => importOnnx(cubic), 'MPCC1006', /mode 'cubic' is not supported/);
    const bn = model(13, (b) => {
      b.input('x', [1, 2, 2, 2]);
      for (const n of ['s', 'bb', 'm', 'v']) b.initializer(n, [1, 1], [2]);
      b.node('BatchNormalization', ['x', 's', 'bb', 'm', 'v'], ['y', 'rm', 'rv'], { epsilon: float(1e-5) }, 'bn');
      b.node('Add', ['y', 'rm'], ['z']);
      b.output('z');
    });
    expectDiag(() => importOnnx(bn), 'MPCC1006', /the training statistics output 'rm' is not supported/);
  });

  it('undefined value → MPCC1009', () => {
    const m = model(13, (b) => { b.input('x', [2]); b.node('Add', ['x', 'ghost'], ['y'], {}, 'add'); b.output('y'); });
    expectDiag(() => importOnnx(m), 'MPCC1009', /value 'ghost' used by node 'add' is not defined/);
  });
});
