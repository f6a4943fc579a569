// ONNX external data confined to the model's folder: a hostile model may name any path as the
// location of a tensor's bytes; every escape is a coded error naming the tensor and the model,
// saying nothing of the file outside (no size, no content), and `mpcc compile` writes nothing.
import { expect } from 'chai';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { loadOnnxFile } from '../../../compiler/onnx/import.js';
import { editModel, initializersToExternalData } from '../../../compiler/onnx/storage.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { suiteTempDir } from '../../temp-dir.js';

/** A secret outside the model's folder: its size (4242 bytes) and content must never show. */
const SECRET = 'TOPSECRET'.repeat(471) + 'xyz';

describe('ONNX external data stays in the model folder', () => {
  const root = suiteTempDir('mpcc-extdata-');
  let modelDir = '';
  let outside = '';
  let base: { model: Uint8Array; data: Uint8Array };
  let tensor = '';

  before(() => {
    modelDir = join(root(), 'model');
    mkdirSync(modelDir);
    outside = join(root(), 'secret.bin');
    writeFileSync(outside, SECRET);
    base = initializersToExternalData(buildZooModel('tiny-cnn'), 'weights.bin', 64);
    writeFileSync(join(modelDir, 'weights.bin'), base.data);
    editModel(base.model, (m) => {
      tensor = m.graph!.initializer!.find((t) => (t.externalData ?? []).length > 0)!.name ?? '';
    });
  });

  /** Writes the model with the first external tensor's entries changed; returns its path. */
  function model(file: string, entries: Record<string, string>): string {
    const bytes = editModel(base.model, (m) => {
      const t = m.graph!.initializer!.find((x) => x.name === tensor)!;
      for (const e of t.externalData ?? []) if (e.key! in entries) e.value = entries[e.key!];
    });
    const path = join(modelDir, file);
    writeFileSync(path, bytes);
    return path;
  }

  /** The coded error importing `path` fails with; checks what it must and must not say. */
  function refused(path: string, code: string, why: RegExp): MpccError {
    let err: unknown;
    try {
      loadOnnxFile(path);
    } catch (e) {
      err = e;
    }
    expect(err, 'import fails').to.be.instanceOf(MpccError);
    const e = err as MpccError;
    expect(e.code).to.equal(code);
    expect(e.message).to.contain(`tensor '${tensor}'`);
    expect(e.message).to.contain(path);
    expect(e.message).to.match(why);
    expect(e.message).not.to.match(/4242|TOPSECRET/);
    // and compile writes no output folder
    const out = join(root(), 'out-' + Math.random().toString(36).slice(2));
    expect(() => runCompile(path, { output: out })).to.throw(MpccError);
    expect(existsSync(out)).to.equal(false);
    return e;
  }

  it('the well-formed pair imports', () => {
    expect(loadOnnxFile(model('ok.onnx', {})).constants.size).to.be.greaterThan(0);
  });

  it('MPCC1011 for an absolute location', () => {
    refused(model('abs.onnx', { location: outside }), 'MPCC1011', /is an absolute path/);
    refused(model('etc.onnx', { location: '/etc/passwd' }), 'MPCC1011', /'\/etc\/passwd' is an absolute path/);
  });

  it('MPCC1011 for a location climbing out with ..', () => {
    refused(model('dotdot.onnx', { location: '../secret.bin' }), 'MPCC1011', /leads outside the model's folder/);
    refused(model('dotdot2.onnx', { location: 'sub/../../secret.bin' }), 'MPCC1011', /leads outside the model's folder/);
  });

  it('MPCC1011 for a symlink leading outside, and the same words for a dangling one', () => {
    symlinkSync(outside, join(modelDir, 'link.bin'));
    symlinkSync(join(root(), 'no-such-file'), join(modelDir, 'dangling.bin'));
    const a = refused(model('link.onnx', { location: 'link.bin' }), 'MPCC1011', /'link\.bin' leads outside the model's folder/);
    const b = refused(model('dangling.onnx', { location: 'dangling.bin' }), 'MPCC1011', /'dangling\.bin' leads outside the model's folder/);
    expect(a.message.replace('link', 'X').replace(/link|dangling/g, 'X')).to.equal(b.message.replace(/link|dangling/g, 'X'));
  });

  it('MPCC1011 for a directory', () => {
    mkdirSync(join(modelDir, 'adir'));
    refused(model('dir.onnx', { location: 'adir' }), 'MPCC1011', /'adir' is not a regular file/);
    refused(model('dot.onnx', { location: '.' }), 'MPCC1011', /'\.' is not a regular file/);
  });

  it('MPCC1005 for a missing file, naming the model', () => {
    refused(model('missing.onnx', { location: 'gone.bin' }), 'MPCC1005', /external data file 'gone\.bin' for tensor '.+' of '.+missing\.onnx' is missing/);
  });

  it('MPCC1011 for an offset or length beyond the file, or not a byte count', () => {
    refused(model('far.onnx', { offset: '1000000' }), 'MPCC1011', /offset 1000000 and length \d+ lie beyond the end of 'weights\.bin'/);
    refused(model('long.onnx', { length: '99999999999' }), 'MPCC1011', /lie beyond the end of 'weights\.bin'/);
    refused(model('neg.onnx', { offset: '-16' }), 'MPCC1011', /offset '-16' is not a byte count/);
    refused(model('nan.onnx', { length: 'lots' }), 'MPCC1011', /length 'lots' is not a byte count/);
  });
});
