// `mpcc infer --fixed`: quantizes and runs the fixed-point interpreter; its output is close to
// onnxruntime's float output, bad --frac-bits values are coded flag errors.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runInfer } from '../../../compiler/commands/infer.js';
import { encodeNpy, readNpy } from '../../../compiler/npy.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { errorOf, rng } from '../../passes/util.js';

describe('mpcc infer --fixed', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-infer-fixed-'));
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    const rand = rng(9);
    writeFileSync(file('x.npy'), encodeNpy([1, 3, 16, 16], Float32Array.from({ length: 768 }, () => rand() * 2 - 1)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an output within 1% of the range of onnxruntime\'s, with the same top class, for frac 12 and 20', async () => {
    const session = await ort.InferenceSession.create(file('tiny.onnx'));
    const x = readNpy(file('x.npy'));
    const want = (await session.run({ input: new ort.Tensor('float32', x.data, x.shape) })).output.data as Float32Array;
    const range = Math.max(...want) - Math.min(...want);
    const errors: number[] = [];
    for (const fracBits of ['12', '20']) {
      const out = file(`y${fracBits}.npy`);
      runInfer(file('tiny.onnx'), { input: file('x.npy'), output: out, fixed: true, fracBits });
      const y = readNpy(out).data;
      const err = Math.max(...Array.from(y, (v, i) => Math.abs(v - want[i])));
      expect(err, `frac ${fracBits}`).to.be.at.most(0.01 * range);
      expect(y.indexOf(Math.max(...y))).to.equal(want.indexOf(Math.max(...want)));
      errors.push(err);
    }
    expect(errors[1], 'more fractional bits, smaller error').to.be.below(errors[0]);
  });

  it('prints the top classes without -o', () => {
    const { report } = runInfer(file('tiny.onnx'), { input: file('x.npy'), fixed: true });
    expect(report).to.match(/^output: float64\[1,10\]\n {2}top-1: class \d+/);
  });

  it('--layers prints one row per node result, differences small beside magnitudes', () => {
    const { report } = runInfer(file('tiny.onnx'), { input: file('x.npy'), fixed: true, layers: true });
    const rows = report.split('\n').filter((l) => /^\S+\s+(FixedInput|Conv|Truncate|Relu|MaxPool|AveragePool|Flatten|Gemm)\s/.test(l));
    // tiny-cnn after quantize: FixedInput, 3 products each with a Truncate, 2 Relu, MaxPool, AveragePool, Flatten.
    expect(rows).to.have.length(12);
    for (const row of rows) {
      const [diff, mag] = row.trim().split(/\s+/).slice(-2).map(Number);
      expect(diff, row).to.be.at.most(0.01 * Math.max(mag, 1));
    }
    expect(errorOf(() => runInfer(file('tiny.onnx'), { input: file('x.npy'), layers: true })).code).to.equal('MPCC0004');
  });

  it('rejects --frac-bits outside 4..28 with MPCC0004', () => {
    for (const bad of ['3', '29', 'x', '12.5']) {
      const e = errorOf(() => runInfer(file('tiny.onnx'), { input: file('x.npy'), fixed: true, fracBits: bad }));
      expect(e.code, bad).to.equal('MPCC0004');
    }
  });
});
