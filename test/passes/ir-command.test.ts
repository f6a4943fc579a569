// `mpcc ir`: called as a function (no subprocess) on zoo models, plus one CLI run for the exit
// code. Canonicalized models must compute what the imported ones compute.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IrOptions, runIr } from '../../compiler/commands/ir.js';
import { loadOnnxFile } from '../../compiler/onnx/import.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import { printGraph } from '../../ir/print.js';
import { loadMir } from '../../ir/weights.js';
import { expectSameOutputs } from './util.js';
import { errorOf } from './util.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('mpcc ir', () => {
  let dir: string;
  let tiny: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-ir-'));
    tiny = join(dir, 'tiny.onnx');
    writeFileSync(tiny, buildZooModel('tiny-cnn'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function run(model: string, options: IrOptions) {
    let stdout = '', stderr = '';
    const graph = runIr(model, options, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { graph, stdout, stderr };
  }

  it('canonicalizes an ONNX model and prints it, with statistics on stderr', () => {
    const { graph, stdout, stderr } = run(tiny, { stats: true });
    expect(stdout).to.equal(printGraph(graph));
    expect(stdout.startsWith('mir 1\n')).to.equal(true);
    expect(graph.nodes.some((n) => n.op === 'BatchNormalization')).to.equal(false);
    expect(stderr).to.match(/^fold-batchnorm\s+\d+\.\d ms {2}batch-norms folded into Conv: 2$/m);
    expect(stderr).to.match(/^total\s+\d+\.\d ms$/m);
    expectSameOutputs(loadOnnxFile(tiny), graph);
  });

  it('writes FILE.mir and its weights file, which load back into the same graph', () => {
    const out = join(dir, 'tiny.mir');
    const { graph, stdout } = run(tiny, { output: out, passes: 'canonicalize,maxpool-to-avgpool' });
    expect(stdout).to.equal('');
    expect(existsSync(join(dir, 'tiny.weights'))).to.equal(true);
    const back = loadMir(out);
    expect(printGraph(back)).to.equal(readFileSync(out, 'utf8').replace(/^weights .*\n/m, ''));
    expect(back.nodes.map((n) => n.op)).to.not.include('MaxPool');
    expectSameOutputs(graph, back, 0);
    // a .mir input with no pass prints what it read
    expect(run(out, { passes: '' }).stdout).to.equal(printGraph(back));
  });

  it('prints the IR after every pass with a header naming it (stderr, or stdout with -o)', () => {
    const { stderr, stdout } = run(tiny, { printAfterAll: true, passes: 'canonicalize,relu6-to-relu' });
    const headers = stderr.split('\n').filter((l) => l.startsWith('// -----'));
    expect(headers).to.deep.equal([
      '// ----- IR after drop-identity (canonicalize) -----',
      '// ----- IR after fold-constants (canonicalize) -----',
      '// ----- IR after fold-batchnorm (canonicalize) -----',
      '// ----- IR after remove-dead-nodes (canonicalize) -----',
      '// ----- IR after relu6-to-relu -----',
    ]);
    expect(stdout.includes('// -----')).to.equal(false);
    const withFile = run(tiny, { printAfterAll: true, passes: 'drop-identity', output: join(dir, 'p.mir') });
    expect(withFile.stdout.split('\n')[0]).to.equal('// ----- IR after drop-identity -----');
  });

  it('reports bad flags and files with their diagnostic and writes nothing', () => {
    const out = join(dir, 'never.mir');
    const cases: [IrOptions & { model?: string }, string, RegExp][] = [
      [{ passes: 'canonicalize,fold-everything', output: out }, 'MPCC4001', /unknown pass 'fold-everything'/],
      [{ passes: 'fold-constants{max-size=x}', output: out }, 'MPCC4003', /invalid option max-size=x/],
      [{ inputShape: '1,3,a', output: out }, 'MPCC1008', /invalid --input-shape '1,3,a'/],
      [{ output: join(dir, 'never.txt') }, 'MPCC0004', /must end in \.mir/],
      [{ model: join(dir, 'model.txt'), output: out }, 'MPCC0006', /unsupported file type/],
      [{ model: join(dir, 'missing.onnx'), output: out }, 'MPCC0002', /cannot read file/],
      [{ stage: 'secure', output: out }, 'MPCC0004', /flag --stage: expected one of float, quantized, lowered, scheduled/],
      [{ stage: 'quantized', passes: 'canonicalize,lower', output: out }, 'MPCC0004', /flag --passes: 'lower' goes past the quantized stage/],
    ];
    for (const [opts, code, message] of cases) {
      const err = errorOf(() => run(opts.model ?? tiny, opts));
      expect(err.code, JSON.stringify(opts)).to.equal(code);
      expect(err.message).to.match(message);
    }
    run(tiny, { output: join(dir, 'ok.mir') });
    // a .mir file's input shape is fixed: the flag may only repeat it
    expect(run(join(dir, 'ok.mir'), { inputShape: '1,3,16,16' }).graph.inputs).to.have.length(1);
    expect(errorOf(() => run(join(dir, 'ok.mir'), { inputShape: '1,3,32,32' })).code).to.equal('MPCC1008');
    // -o a folder named FILE.mir, or the model itself: refused before the work, no FILE.weights beside it
    mkdirSync(join(dir, 'folder.mir'));
    expect(errorOf(() => run(tiny, { output: join(dir, 'folder.mir') })).message).to.match(/folder\.mir': it is a folder/);
    expect(existsSync(join(dir, 'folder.weights'))).to.equal(false);
    expect(errorOf(() => run(join(dir, 'ok.mir'), { output: join(dir, 'ok.mir') })).message).to.match(/it is this command's input/);
    // a binary file named .mir (here an ONNX model): one line saying so, not a syntax error at "\b"
    writeFileSync(join(dir, 'onnx.mir'), readFileSync(tiny));
    expect(errorOf(() => run(join(dir, 'onnx.mir'), {})).message).to.match(/^syntax error: not \.mir text: the file is binary \(an ONNX model goes in a \.onnx file/);
    // a lowered .mir cannot go back to an earlier stage (it was printed unchanged, exit 0)
    run(tiny, { stage: 'lowered', output: join(dir, 'low.mir') });
    expect(errorOf(() => run(join(dir, 'low.mir'), { stage: 'float', output: out })).message).to.match(/flag --stage: the model is already lowered \(passes only take a model forward\)/);
    expect(run(join(dir, 'low.mir'), { stage: 'lowered' }).graph.nodes.some((n) => n.op.startsWith('Secure'))).to.equal(true);
    expect(existsSync(out)).to.equal(false);
    expect(existsSync(join(dir, 'never.weights'))).to.equal(false);
  });

  it('--stage drives the model to a stage with the passes it still needs (compiler/driver.ts)', () => {
    const quantized = run(tiny, { stage: 'quantized', output: join(dir, 'q.mir') }).graph;
    expect(quantized.nodes.some((n) => n.op === 'FixedInput')).to.equal(true);
    const { graph, stderr } = run(join(dir, 'q.mir'), { stage: 'scheduled', stats: true });
    expect(stderr.split('\n').slice(0, 2).map((l) => l.split(' ')[0])).to.deep.equal(['lower', 'schedule-rounds']);
    expect(graph.nodes.filter((n) => n.op.startsWith('Secure')).every((n) => typeof n.attrs.round === 'number')).to.equal(true);
  });

  it('flags that act past the float IR take it to their stage without --stage, and are refused before it', () => {
    // without --stage the default passes stop at float: --frac-bits, --ring and --client-offline would do nothing
    const fixed = run(tiny, { fracBits: '10' });
    expect(fixed.graph.nodes.filter((n) => n.op === 'FixedInput').map((n) => n.attrs.frac)).to.deep.equal([10]);
    expect(fixed.stderr).to.match(/note: --frac-bits acts when quantizing: the IR shown is the quantized one/);
    const offline = run(tiny, { clientOffline: true, ring: '40' });
    const input = offline.graph.nodes.find((n) => n.op === 'SecureInput')!;
    expect(input.attrs.ring).to.equal(40);
    expect(offline.graph.nodes.some((n) => n.op === 'SecureHelperSelect')).to.equal(true);
    expect(offline.stderr).to.match(/note: --ring and --client-offline act when lowering: the IR shown is the lowered one/);
    // the same as naming the stage, which prints no note
    const named = run(tiny, { clientOffline: true, ring: '40', stage: 'lowered' });
    expect(printGraph(named.graph)).to.equal(printGraph(offline.graph));
    expect(named.stderr).to.not.match(/note:/);
    // a model already at that stage: nothing acted, no note
    run(tiny, { fracBits: '10', output: join(dir, 'q10.mir') });
    expect(run(join(dir, 'q10.mir'), { fracBits: '10' }).stderr).to.not.match(/note:/);
    // passes that go further are kept (no note: the flags did not move the stage)
    expect(run(tiny, { fracBits: '10', passes: 'canonicalize,quantize,lower' }).stderr).to.not.match(/note:/);
    // a --stage before a flag's stage: the flag is refused, naming both
    expect(errorOf(() => run(tiny, { stage: 'float', fracBits: '9' })).message).to.match(/--frac-bits.*acts at the quantized stage, past --stage float/);
    expect(errorOf(() => run(tiny, { stage: 'quantized', ring: '48', clientOffline: true })).message).to.match(/--ring.*acts at the lowered stage, past --stage quantized/);
    // --client-offline keeps its float-level effect there: the MaxPool trees
    expect(run(tiny, { stage: 'float', clientOffline: true }).graph.nodes.some((n) => n.op === 'MaxPool')).to.equal(false);
  });

  it('exits with code 2 and one line on a user error (CLI)', () => {
    const res = spawnSync(process.execPath, [join(ROOT, 'bin/mpcc.js'), 'ir', tiny, '--passes', 'nope'], { encoding: 'utf8' });
    expect(res.status).to.equal(2);
    expect(res.stdout).to.equal('');
    expect(res.stderr).to.match(/^mpcc: error MPCC4001: unknown pass 'nope' \(known: [^\n]*\)\n$/);
  });

  it('turns every ReLU6 of MobileNetV2 into Relu and folds all its batch-norms', () => {
    const path = join(dir, 'mobilenetv2.onnx');
    writeFileSync(path, buildZooModel('mobilenetv2'));
    const imported = loadOnnxFile(path);
    const relu6 = imported.nodes.filter((n) => n.op === 'Clip' && n.attrs.min === 0 && n.attrs.max === 6).length;
    const bns = imported.nodes.filter((n) => n.op === 'BatchNormalization').length;
    expect(relu6).to.be.greaterThan(30);
    const { graph, stderr } = run(path, { passes: 'canonicalize,relu6-to-relu', stats: true });
    expect(graph.nodes.filter((n) => n.op === 'Clip' || n.op === 'BatchNormalization')).to.deep.equal([]);
    expect(graph.nodes.filter((n) => n.op === 'Relu').length).to.equal(relu6 + imported.nodes.filter((n) => n.op === 'Relu').length);
    expect(stderr).to.include(`relu6 replaced by relu: ${relu6}`);
    expect(stderr).to.include(`batch-norms folded into Conv: ${bns}`);
  });

  for (const name of ['all-ops', 'legacy-ops', 'resnet18-cifar']) {
    it(`canonicalize keeps the outputs of zoo model ${name} and leaves no batch-norm, Identity or Dropout`, () => {
      const path = join(dir, `${name}.onnx`);
      writeFileSync(path, buildZooModel(name));
      const imported = loadOnnxFile(path);
      const { graph } = run(path, {});
      expect(graph.nodes.filter((n) => ['BatchNormalization', 'Identity', 'Dropout', 'Shape'].includes(n.op)).map((n) => n.name)).to.deep.equal([]);
      expectSameOutputs(imported, graph, 1e-5, [1]);
    });
  }
});
