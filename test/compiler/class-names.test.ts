// Class names for printed classes (compiler/class-names.ts): the file formats by hand, the count
// against the model's classes, the compile's record in every party's manifest, and what `mpcc run`,
// `mpcc infer` and a --reveal argmax run print: the class the plaintext network ranks first
// (onnxruntime on the same input), with its name from the file.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { checkClassCount, readClassNames } from '../../compiler/class-names.js';
import { runCompile } from '../../compiler/commands/compile.js';
import { encodeNpy } from '../../compiler/npy.js';
import { OnnxBuilder } from '../../compiler/onnx/writer.js';
import { buildZooFiles } from '../../examples/zoo/index.js';
import { loadPartyArtifacts } from '../../runtime/program/index.js';
import { MpccError } from '../../runtime/diagnostics.js';
import { errorOf } from '../passes/util.js';
import { suiteTempDir } from '../temp-dir.js';

const CLI = new URL('../../../bin/mpcc.js', import.meta.url).pathname;
const NAMES = ['tench', 'goldfish', 'great white shark', 'tiger shark', 'hammerhead', 'electric ray', 'stingray', 'cock', 'hen', 'ostrich'];

describe('class names (--classes)', function () {
  this.timeout(120000);
  const tmp = suiteTempDir('mpcc-classes-');
  const file = (name: string) => join(tmp(), name);
  const write = (name: string, text: string) => {
    writeFileSync(file(name), text);
    return file(name);
  };
  const code = (f: () => unknown, c: string, text: RegExp) => {
    const e = errorOf(f);
    expect(e, String(e)).to.be.instanceOf(MpccError);
    expect([e.code, e.message]).to.satisfy(([k, m]: string[]) => k === c && text.test(m), `${e.code}: ${e.message}`);
  };

  it('reads one name per line, a JSON list, or {"0": [id, name]} as Keras and torchvision write it', () => {
    expect(readClassNames(write('a.txt', '\uFEFFtench\r\ngoldfish \n great white shark\n\n\n'))).to.deep.equal(['tench', 'goldfish', 'great white shark']);
    expect(readClassNames(write('b.json', '["tench", "goldfish"]'))).to.deep.equal(['tench', 'goldfish']);
    expect(readClassNames(write('c.json', '{"1": ["n01443537", "goldfish"], "0": ["n01440764", "tench"]}'))).to.deep.equal(['tench', 'goldfish']);
    expect(readClassNames(write('d.json', '{"0": "tench", "1": "goldfish"}'))).to.deep.equal(['tench', 'goldfish']);
  });

  it('MPCC0004 naming --classes: a blank line inside, a bad JSON entry or key, a count that is not the classes; MPCC0002 unreadable', () => {
    code(() => readClassNames(write('e.txt', 'tench\n\ngoldfish\n')), 'MPCC0004', /--classes: line 2 is blank/);
    code(() => readClassNames(write('f.json', '["tench", 3]')), 'MPCC0004', /entry 1 is not a class name/);
    code(() => readClassNames(write('g.json', '{"0": "tench", "2": "goldfish"}')), 'MPCC0004', /key '2': the keys must be the class indices 0\.\.1/);
    code(() => readClassNames(write('h.json', '[1, 2')), 'MPCC0004', /not valid JSON/);
    code(() => readClassNames(write('i.txt', '\n\n')), 'MPCC0004', /no class name/);
    code(() => checkClassCount(['a', 'b'], 'n.txt', 10, 'output'), 'MPCC0004', /holds 2 class name\(s\) but output 'output' has 10 classes/);
    code(() => readClassNames(file('missing.txt')), 'MPCC0002', /missing\.txt/);
  });

  describe('compile, run and infer', () => {
    let top = -1;
    before(async () => {
      const model = buildZooFiles('tiny-cnn').model;
      writeFileSync(file('tiny.onnx'), model);
      const x = Float32Array.from({ length: 768 }, (_, i) => Math.sin(i) * 0.5 + 0.5);
      writeFileSync(file('x.npy'), encodeNpy([1, 3, 16, 16], x));
      const session = await ort.InferenceSession.create(model);
      const y = Array.from((await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, 16, 16]) }))[session.outputNames[0]].data as Float32Array);
      top = y.indexOf(Math.max(...y));
      write('names.txt', NAMES.join('\n') + '\n');
    });

    it('compile --classes records them in every party\'s manifest; run and infer print the top class with its name', async () => {
      runCompile(file('tiny.onnx'), { output: file('out'), classes: file('names.txt') });
      for (const id of [0, 1, 2] as const) expect((await loadPartyArtifacts(file('out'), id)).manifest.classes).to.deep.equal(NAMES);
      const run = spawnSync(process.execPath, [CLI, 'run', file('out'), '--input', file('x.npy'), '--transport', 'inproc'], { encoding: 'utf8' });
      expect(run.status, run.stderr).to.equal(0);
      expect(run.stdout).to.include(`  top-1: class ${top} (${NAMES[top]})  `);
      // --classes on run replaces the recorded names
      write('upper.txt', NAMES.map((n) => n.toUpperCase()).join('\n'));
      const upper = spawnSync(process.execPath, [CLI, 'run', file('out'), '--input', file('x.npy'), '--transport', 'inproc', '--classes', file('upper.txt')], { encoding: 'utf8' });
      expect(upper.stdout).to.include(`  top-1: class ${top} (${NAMES[top].toUpperCase()})  `);
      const infer = spawnSync(process.execPath, [CLI, 'infer', file('tiny.onnx'), '--input', file('x.npy'), '--classes', file('names.txt')], { encoding: 'utf8' });
      expect(infer.stdout).to.include(`  top-1: class ${top} (${NAMES[top]})  `);
    });

    it('infer on a model ending in ArgMax: its one class with the name, the count checked against the scores before it', () => {
      const b = new OnnxBuilder({ opset: 13 });
      b.input('x', [1, 10]);
      b.node('ArgMax', ['x'], ['y'], { axis: 1, keepdims: 0 });
      b.output('y', undefined, 'int64');
      writeFileSync(file('argmax.onnx'), b.toBytes());
      const x = [0.1, -2, 0.3, 5, 0.2, 0, 1, 2, 3, 4.5];
      writeFileSync(file('s.npy'), encodeNpy([1, 10], x));
      const infer = spawnSync(process.execPath, [CLI, 'infer', file('argmax.onnx'), '--input', file('s.npy'), '--classes', file('names.txt')], { encoding: 'utf8' });
      expect(infer.stdout, infer.stderr).to.include(`  class 3 (${NAMES[3]})`);
      write('nine.txt', NAMES.slice(0, 9).join('\n'));
      const bad = spawnSync(process.execPath, [CLI, 'infer', file('argmax.onnx'), '--input', file('s.npy'), '--classes', file('nine.txt')], { encoding: 'utf8' });
      expect(bad.stderr).to.include("it holds 9 class name(s) but output 'y' has 10 classes");
    });

    it('--reveal argmax: the client prints its one class with the name', () => {
      runCompile(file('tiny.onnx'), { output: file('out-argmax'), classes: file('names.txt'), reveal: 'argmax' });
      const run = spawnSync(process.execPath, [CLI, 'run', file('out-argmax'), '--input', file('x.npy'), '--transport', 'inproc'], { encoding: 'utf8' });
      expect(run.stdout.split('\n')[0]).to.equal(`output: class ${top} (${NAMES[top]})`);
    });

    it('a count other than the classes is MPCC0004 and writes nothing; a corrupt record is MPCC5220', async () => {
      write('three.txt', NAMES.slice(0, 3).join('\n'));
      code(() => runCompile(file('tiny.onnx'), { output: file('out-three'), classes: file('three.txt') }), 'MPCC0004', /holds 3 class name\(s\) but output 'output' has 10 classes/);
      expect(() => readFileSync(join(file('out-three'), 'manifest.json'))).to.throw();
      const bad = spawnSync(process.execPath, [CLI, 'run', file('out'), '--input', file('x.npy'), '--classes', file('three.txt')], { encoding: 'utf8' });
      expect([bad.status, bad.stderr.trim()]).to.deep.equal([2, `mpcc: error MPCC0004: invalid value '${file('three.txt')}' for flag --classes: it holds 3 class name(s) but output 'output' has 10 classes`]);
      const path = join(file('out'), 'party0', 'manifest.json');
      const m = JSON.parse(readFileSync(path, 'utf8'));
      writeFileSync(path, JSON.stringify({ ...m, classes: ['tench', 7] }));
      expect(await loadPartyArtifacts(file('out'), 0).then(() => null, (e) => e.code)).to.equal('MPCC5220');
    });
  });
});
