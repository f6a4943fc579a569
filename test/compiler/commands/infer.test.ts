// `mpcc infer`: the output file matches onnxruntime on the same .npy input, the summary names
// the top classes, and every bad input gives one line with its code, exit code 2, no stack
// trace and no output file (checked through the real CLI for the file-level errors).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runInfer } from '../../../compiler/commands/infer.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { runExport } from '../../../compiler/commands/export.js';
import { decodeNpy, encodeNpy, readNpy } from '../../../compiler/npy.js';
import { initializersToExternalData } from '../../../compiler/onnx/storage.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { relativeError, testValues } from '../onnx/harness.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { saveMir } from '../../../ir/weights.js';
import { importOnnx } from '../../../compiler/onnx/import.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;

describe('mpcc infer', function () {
  this.timeout(60000);
  let dir: string;
  const file = (name: string) => join(dir, name);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-infer-'));
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    writeFileSync(file('x.npy'), encodeNpy([1, 3, 16, 16], testValues([1, 3, 16, 16], 11)));
    writeFileSync(file('wrong-shape.npy'), encodeNpy([1, 3, 8, 8], testValues([1, 3, 8, 8])));
    const ints = encodeNpy([1, 3, 16, 16], new Float32Array(768));
    writeFileSync(file('ints.npy'), Buffer.from(Buffer.from(ints).toString('latin1').replace("'<f4'", "'<i4'"), 'latin1'));
    const tiny = buildZooModel('tiny-cnn');
    writeFileSync(file('cut.onnx'), tiny.subarray(0, tiny.length >> 1));
    const sym = new OnnxBuilder({ opset: 13 });
    sym.input('input', ['N', 3, 16, 16]);
    sym.node('Relu', ['input'], ['y']);
    sym.output('y');
    writeFileSync(file('symbolic.onnx'), sym.toBytes());
    const odd = new OnnxBuilder({ opset: 13 });
    odd.input('input', [1, 3, 16, 16]);
    odd.node('Erf', ['input'], ['y'], {}, 'erf_node');
    odd.output('y');
    writeFileSync(file('erf.onnx'), odd.toBytes());
    writeFileSync(file('ext.onnx'), initializersToExternalData(tiny, 'missing.bin', 64).model);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the output .npy matching onnxruntime (float32 and float64 precision)', async () => {
    const session = await ort.InferenceSession.create(file('tiny.onnx'));
    const x = readNpy(file('x.npy'));
    const want = (await session.run({ input: new ort.Tensor('float32', x.data, x.shape) })).output.data as Float32Array;
    for (const precision of ['float32', 'float64']) {
      const out = file(`y-${precision}.npy`);
      runInfer(file('tiny.onnx'), { input: file('x.npy'), output: out, precision });
      const y = readNpy(out);
      expect(y.shape).to.deep.equal([1, 10]);
      expect(relativeError(y.data, want)).to.be.at.most(1e-4);
    }
  });

  it('--plan: the planned network, as the exported planned ONNX computes it in onnxruntime; with --fixed within a few ulps of that', async () => {
    runPlanCommand(file('tiny.onnx'), { uniform: '2x2', output: file('plan.json') });
    runExport(file('tiny.onnx'), { plan: file('plan.json'), output: file('planned.onnx') });
    const session = await ort.InferenceSession.create(file('planned.onnx'));
    const x = readNpy(file('x.npy'));
    const want = (await session.run({ input: new ort.Tensor('float32', x.data, x.shape) })).output.data as Float32Array;
    const plain = runInfer(file('tiny.onnx'), { input: file('x.npy') }).outputs.get('output')!.data;
    const planned = runInfer(file('tiny.onnx'), { input: file('x.npy'), plan: file('plan.json') }).outputs.get('output')!.data;
    expect(relativeError(planned, want)).to.be.at.most(1e-4);
    expect(relativeError(plain, want), 'the plan changes the output').to.be.above(1e-3);
    const fixed = runInfer(file('tiny.onnx'), { input: file('x.npy'), plan: file('plan.json'), fixed: true }).outputs.get('output')!.data;
    expect(relativeError(fixed, want)).to.be.at.most(1e-2);
  });

  it('prints the output type and top-5 classes without -o', () => {
    const { report, outputs } = runInfer(file('tiny.onnx'), { input: file('x.npy') });
    const scores = Array.from(outputs.get('output')!.data as Float32Array);
    const best = scores.indexOf(Math.max(...scores));
    expect(report).to.match(/^output: float32\[1,10\]\n  top-1: class \d+/);
    expect(report).to.contain(`top-1: class ${best} `);
    expect(report.match(/top-\d/g)).to.have.length(5);
    // one C×H×W image for this batch-1 model: the same output (as mpcc run takes it)
    writeFileSync(file('x-chw.npy'), encodeNpy([3, 16, 16], testValues([1, 3, 16, 16], 11)));
    expect(Array.from(runInfer(file('tiny.onnx'), { input: file('x-chw.npy') }).outputs.get('output')!.data as Float32Array)).to.deep.equal(scores);
  });

  it('runs through the CLI and exits 0', () => {
    const r = spawnSync(process.execPath, [CLI, 'infer', file('tiny.onnx'), '--input', file('x.npy'), '-o', file('cli.npy')], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(decodeNpy(readFileSync(file('cli.npy')), 'cli.npy').shape).to.deep.equal([1, 10]);
  });

  // [what, args, code, message, through the real CLI?]
  const bad: [string, string[], string, RegExp, boolean][] = [
    ['.npy of the wrong shape', ['tiny.onnx', '--input', 'wrong-shape.npy'], 'MPCC3002', /input 'input' has shape \[1,3,8,8\] but the model expects \[1,3,16,16\]/, true],
    ['.npy of the wrong dtype', ['tiny.onnx', '--input', 'ints.npy'], 'MPCC3003', /has dtype '<i4'/, false],
    ['truncated model', ['cut.onnx', '--input', 'x.npy'], 'MPCC1002', /is not a valid ONNX model/, true],
    ['random bytes as model', ['x.npy.onnx', '--input', 'x.npy'], 'MPCC1002', /is not a valid ONNX model/, false],
    ['unsupported operator', ['erf.onnx', '--input', 'x.npy'], 'MPCC1001', /'Erf' \(opset 13\) at node 'erf_node' is not supported/, true],
    ['symbolic dim without --input-shape', ['symbolic.onnx', '--input', 'x.npy'], 'MPCC1004', /symbolic dimension 'N'/, false],
    ['missing external data', ['ext.onnx', '--input', 'x.npy'], 'MPCC1005', /external data file 'missing\.bin'/, true],
    ['malformed --input-shape', ['symbolic.onnx', '--input', 'x.npy', '--input-shape', '1,three'], 'MPCC1008', /invalid --input-shape '1,three'/, false],
  ];
  for (const [what, args, code, re, viaCli] of bad) {
    it(`${what} → ${code}${viaCli ? ', exit 2, one line on stderr' : ''}, no output file`, () => {
      if (!existsSync(file('x.npy.onnx'))) writeFileSync(file('x.npy.onnx'), new Uint8Array(testValues([512], 3).buffer));
      const out = file(`never-${code}.npy`);
      if (!viaCli) {
        const opts = { input: file(args[2]), output: out, inputShape: args[4] };
        expect(() => runInfer(file(args[0]), opts)).to.throw(MpccError, re).with.property('code', code);
        expect(existsSync(out)).to.equal(false);
        return;
      }
      const r = spawnSync(process.execPath, [CLI, 'infer', ...args.map((a, i) => (i === 0 || args[i - 1] === '--input' ? file(a) : a)), '-o', out], { encoding: 'utf8' });
      expect(r.status).to.equal(2);
      expect(r.stdout).to.equal('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(new RegExp(`^mpcc: error ${code}: `));
      expect(lines[0]).to.match(re);
      expect(existsSync(out)).to.equal(false);
    });
  }

  it('runs a .mir file (with its weights file) like the ONNX model it came from', () => {
    saveMir(importOnnx(buildZooModel('tiny-cnn')), file('tiny.mir'));
    const fromMir = runInfer(file('tiny.mir'), { input: file('x.npy') }).outputs.get('output')!;
    const fromOnnx = runInfer(file('tiny.onnx'), { input: file('x.npy') }).outputs.get('output')!;
    expect(Array.from(fromMir.data as Float32Array)).to.deep.equal(Array.from(fromOnnx.data as Float32Array));
  });

  it('symbolic dim with --input-shape runs', () => {
    const { outputs } = runInfer(file('symbolic.onnx'), { input: file('x.npy'), inputShape: '1,3,16,16' });
    const y = Array.from(outputs.get('y')!.data as Float32Array);
    const x = Array.from(readNpy(file('x.npy')).data);
    expect(y).to.deep.equal(x.map((v) => Math.max(v, 0)));
  });
});

