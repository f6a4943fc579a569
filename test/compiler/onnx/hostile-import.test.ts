// The importer's answers to damaged models, message by message: each names the model file and
// the tensor or node, and `mpcc compile` writes nothing. (The corpus, corrupt-corpus.test.ts,
// checks hundreds of such cases for a code; this file pins what the messages say.)
import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { type EditableModel, editModel } from '../../../compiler/onnx/storage.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { suiteTempDir } from '../../temp-dir.js';

describe('ONNX import of damaged models', () => {
  const dir = suiteTempDir('mpcc-hostile-');
  const base = buildZooModel('tiny-cnn');

  /** Compiles tiny-cnn edited by `edit`; returns the one-line error (and checks nothing was written). */
  function compileError(name: string, edit: (m: EditableModel) => void): string {
    const path = join(dir(), `${name}.onnx`);
    writeFileSync(path, editModel(base, edit));
    const out = join(dir(), `${name}.out`);
    try {
      runCompile(path, { output: out });
    } catch (e) {
      expect(e).to.be.instanceOf(MpccError);
      expect(existsSync(out), 'nothing written').to.equal(false);
      return (e as MpccError).format().replace(path, 'M.onnx');
    }
    throw new Error(`${name} compiled`);
  }
  const init = (m: EditableModel, i: number) => m.graph!.initializer![i];
  const node = (m: EditableModel, i: number) => m.graph!.node![i];

  it('MPCC1002 for a negative or huge initializer dim, before allocating anything', () => {
    expect(compileError('neg', (m) => { init(m, 0).dims = [-3, 3, 3, 3]; })).to.equal("error MPCC1002: 'M.onnx' is not a valid ONNX model: tensor 'conv1.weight' has dimension -3 in [-3,3,3,3]");
    const huge = compileError('huge', (m) => { init(m, 0).dims = [2 ** 31, 2 ** 31, 2 ** 20]; });
    expect(huge).to.match(/tensor 'conv1.weight' has 864 data bytes, expected 1.9342813113834067e\+25 for shape \[2147483648,2147483648,1048576\]/);
  });

  it('MPCC1002 for data shorter than the dims, and for two initializers of one name', () => {
    expect(compileError('short', (m) => { init(m, 0).dims = [16, 3, 3, 3]; })).to.match(/tensor 'conv1.weight' has 864 data bytes, expected 1728 for shape \[16,3,3,3\]/);
    expect(compileError('twice', (m) => { init(m, 1).name = init(m, 0).name; })).to.equal("error MPCC1002: 'M.onnx' is not a valid ONNX model: initializer 'conv1.weight' is defined twice");
  });

  it('MPCC1006 for a batch-norm variance that is negative, naming node and tensor', () => {
    expect(compileError('var', (m) => {
      const v = init(m, m.graph!.initializer!.findIndex((t) => t.name === node(m, 1).input![4]));
      const data = new Float32Array(v.rawData!.length / 4).fill(1);
      data[2] = -4;
      v.rawData = new Uint8Array(data.buffer);
    })).to.equal("error MPCC1006: node '/bn1/BatchNormalization' (BatchNormalization): variance 'bn1.running_var' holds -4 at index 2, and epsilon is 0.000009999999747378752: variance + epsilon must be positive");
  });

  it('MPCC1006 for a missing operand and for a value defined twice; MPCC1009 for a cycle', () => {
    expect(compileError('missing', (m) => { node(m, 0).input = []; })).to.equal("error MPCC1006: node '/conv1/Conv' (Conv): input 0 is missing");
    expect(compileError('dup', (m) => { node(m, 2).output = [...node(m, 0).output!]; })).to.match(/node '\/relu1\/Relu' \(Relu\): output '.+' is already defined \(an ONNX value is defined once\)/);
    expect(compileError('cycle', (m) => { node(m, 1).input![0] = node(m, 1).output![0]; })).to.match(/^error MPCC1009: value '.+' used by node '\/bn1\/BatchNormalization' is not defined$/);
  });

  it('MPCC1002 for a graph input with a negative dim', () => {
    expect(compileError('in', (m) => { m.graph!.input![0].type!.tensorType!.shape!.dim![0].dimValue = -1; })).to.equal("error MPCC1002: 'M.onnx' is not a valid ONNX model: input 'input' has dimension -1 in [-1,3,16,16]");
  });
});
