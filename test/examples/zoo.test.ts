// The model zoo: every model loads in onnxruntime-node (the independent reference), the small
// ones run on random inputs with finite, input-dependent outputs of the declared shapes, the
// bytes are deterministic, and `mpcc zoo` writes files and rejects unknown names.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { ZOO, ZOO_OPSETS, buildZooModel, buildZooNet, zooEntry, type ZooBuildOptions, type ZooEntry } from '../../examples/zoo/index.js';
import { runZoo, zooListing } from '../../compiler/commands/zoo.js';
import { MpccError } from '../../runtime/diagnostics.js';
import { IMPORT_OPERATORS } from '../../examples/zoo/all-ops.js';

/** A reproducible input in [-2, 2) (a tiny LCG; these are test data, not secrets). */
function randomInput(shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 4294967296) * 4 - 2;
  }
  return x;
}

async function run(session: ort.InferenceSession, entry: ZooEntry, seed: number): Promise<Record<string, ort.Tensor>> {
  const input = new ort.Tensor('float32', randomInput(entry.inputShape, seed), [...entry.inputShape]);
  return session.run({ input });
}

function numbers(t: ort.Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

function range(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

describe('model zoo', function () {
  this.timeout(60000);

  for (const entry of ZOO.filter((e) => e.small)) {
    it(`${entry.name} runs in onnxruntime with finite, input-dependent outputs`, async () => {
      const session = await ort.InferenceSession.create(buildZooModel(entry.name));
      expect(session.inputNames).to.deep.equal(['input']);
      expect(session.outputNames).to.deep.equal(Object.keys(entry.outputs));
      const a = await run(session, entry, 1);
      const b = await run(session, entry, 2);
      for (const [name, shape] of Object.entries(entry.outputs)) {
        expect(a[name].dims, name).to.deep.equal(shape);
        const va = numbers(a[name]);
        const vb = numbers(b[name]);
        expect(va.every(Number.isFinite), `${name} finite`).to.equal(true);
        if (a[name].type !== 'float32') continue;
        const [lo, hi] = range(va);
        expect(hi - lo, `${name} not constant`).to.be.greaterThan(1e-3);
        expect(Math.max(-lo, hi), `${name} O(1)`).to.be.lessThan(1e3);
        expect(va, `${name} depends on the input`).to.not.deep.equal(vb);
      }
      if ('argmax' in entry.outputs) {
        // softmax preserves order, so the argmax output must index the largest probability
        for (const result of [a, b]) {
          const probs = numbers(result.output);
          expect(numbers(result.argmax)).to.deep.equal([probs.indexOf(Math.max(...probs))]);
        }
      }
    });
  }

  for (const entry of ZOO.filter((e) => !e.small)) {
    it(`${entry.name} loads and runs once in onnxruntime`, async () => {
      const session = await ort.InferenceSession.create(buildZooModel(entry.name));
      const out = await run(session, entry, 3);
      for (const [name, shape] of Object.entries(entry.outputs)) {
        expect(out[name].dims, name).to.deep.equal(shape);
        expect(numbers(out[name]).every(Number.isFinite), `${name} finite`).to.equal(true);
      }
    });
  }

  /** Runs zoo model `name` written with `options` on the seed-7 input; its float outputs. */
  async function outputsOf(name: string, options: ZooBuildOptions): Promise<Record<string, number[]>> {
    const entry = zooEntry(name);
    const session = await ort.InferenceSession.create(buildZooModel(name, options));
    const out = await run(session, entry, 7);
    return Object.fromEntries(Object.keys(entry.outputs).map((k) => [k, numbers(out[k])]));
  }

  /** max |a − b| / max |b| over all outputs. */
  function relativeError(a: Record<string, number[]>, b: Record<string, number[]>): number {
    let worst = 0;
    for (const k of Object.keys(b)) {
      let diff = 0;
      let scale = 1e-12;
      b[k].forEach((v, i) => {
        diff = Math.max(diff, Math.abs(a[k][i] - v));
        scale = Math.max(scale, Math.abs(v));
      });
      worst = Math.max(worst, diff / scale);
    }
    return worst;
  }

  for (const name of ['tiny-cnn', 'all-ops', 'deeplabv3', 'legacy-ops']) {
    it(`${name} with batch-norm folded computes the same function`, async () => {
      const plain = await outputsOf(name, {});
      const folded = await outputsOf(name, { foldBatchNorm: true });
      expect(relativeError(folded, plain)).to.be.lessThan(1e-4);
    });
  }

  it('folding removes every BatchNormalization node', () => {
    expect(buildZooNet('all-ops', { foldBatchNorm: true }).onnx.opTypes()).to.not.include('BatchNormalization');
    expect(buildZooNet('all-ops').onnx.opTypes()).to.include('BatchNormalization');
  });

  it('all-ops, tiny-cnn and deeplabv3 compute the same function in every opset 11 to 18', async () => {
    for (const name of ['all-ops', 'tiny-cnn', 'deeplabv3']) {
      const reference = await outputsOf(name, { opset: 13 });
      const opsets = name === 'deeplabv3' ? [11, 18] : ZOO_OPSETS;
      for (const opset of opsets) expect(relativeError(await outputsOf(name, { opset }), reference), `${name} opset ${opset}`).to.be.lessThan(1e-5);
    }
  });

  it('typed tensor fields give the same function as raw_data', async () => {
    for (const name of ['tiny-cnn', 'all-ops']) {
      const typed = buildZooModel(name, { typedTensors: true });
      expect(Buffer.from(typed).equals(Buffer.from(buildZooModel(name)))).to.equal(false);
      expect(relativeError(await outputsOf(name, { typedTensors: true }), await outputsOf(name, {}))).to.equal(0);
    }
  });

  it('a dynamic batch runs two images at once, each as alone', async () => {
    const entry = zooEntry('tiny-cnn');
    const session = await ort.InferenceSession.create(buildZooModel('tiny-cnn', { dynamicBatch: true }));
    const single = await ort.InferenceSession.create(buildZooModel('tiny-cnn'));
    const a = randomInput(entry.inputShape, 11);
    const b = randomInput(entry.inputShape, 12);
    const both = new Float32Array(a.length * 2);
    both.set(a);
    both.set(b, a.length);
    const out = await session.run({ input: new ort.Tensor('float32', both, [2, 3, 16, 16]) });
    expect(out.output.dims).to.deep.equal([2, 10]);
    const alone = await Promise.all([a, b].map((x) => single.run({ input: new ort.Tensor('float32', x, [1, 3, 16, 16]) })));
    const expected = [...numbers(alone[0].output), ...numbers(alone[1].output)];
    numbers(out.output).forEach((v, i) => expect(v).to.be.closeTo(expected[i], 1e-5));
  });

  it('rejects an opset a model cannot be written in', () => {
    expect(() => buildZooModel('tiny-cnn', { opset: 10 })).to.throw(MpccError).with.property('code', 'MPCC0004');
    expect(() => buildZooModel('legacy-ops', { opset: 13 })).to.throw(MpccError).with.property('code', 'MPCC0004');
    expect(() => runZoo('tiny-cnn', { opset: 'x', output: '/nonexistent/never.onnx' })).to.throw(MpccError).with.property('code', 'MPCC0004');
  });

  it('all-ops uses every operator of the import list', () => {
    const used = new Set(buildZooNet('all-ops').onnx.opTypes());
    expect(IMPORT_OPERATORS.filter((op) => !used.has(op))).to.deep.equal([]);
  });

  it('is deterministic: building twice gives identical bytes', () => {
    for (const name of ['tiny-cnn', 'all-ops', 'deeplabv3', 'legacy-ops']) {
      expect(Buffer.from(buildZooModel(name)).equals(Buffer.from(buildZooModel(name))), name).to.equal(true);
    }
  });

  it('rejects an unknown name with MPCC0005 listing the known ones', () => {
    expect(() => zooEntry('resnet1000')).to.throw(MpccError).with.property('code', 'MPCC0005');
    let message = '';
    try {
      buildZooModel('resnet1000');
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of ZOO.map((e) => e.name)) expect(message).to.contain(name);
  });
});

describe('mpcc zoo', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-zoo-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the model to -o', () => {
    const file = join(dir, 'tiny.onnx');
    expect(runZoo('tiny-cnn', { output: file })).to.equal('');
    expect(Buffer.from(readFileSync(file)).equals(Buffer.from(buildZooModel('tiny-cnn')))).to.equal(true);
  });

  it('writes initializers to FILE.onnx.data with --external-data', async () => {
    const file = join(dir, 'ext.onnx');
    runZoo('tiny-cnn', { output: file, externalData: true });
    const inline = buildZooModel('tiny-cnn');
    const model = readFileSync(file).length;
    const data = readFileSync(`${file}.data`).length;
    expect(data).to.be.greaterThan(inline.length / 2);
    expect(Math.abs(model + data - inline.length)).to.be.lessThan(1000);
    const entry = zooEntry('tiny-cnn');
    const [external, reference] = await Promise.all([ort.InferenceSession.create(file), ort.InferenceSession.create(inline)]);
    const [x, y] = await Promise.all([run(external, entry, 5), run(reference, entry, 5)]);
    expect(numbers(x.output)).to.deep.equal(numbers(y.output));
    rmSync(`${file}.data`);
    let failed = false;
    await ort.InferenceSession.create(file).catch(() => (failed = true));
    expect(failed, 'the model really depends on its data file').to.equal(true);
  });

  it('lists every model with a description', () => {
    const lines = zooListing().trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).to.deep.equal(ZOO.map((e) => e.name));
    expect(runZoo(undefined, { list: true })).to.equal(zooListing());
  });

  it('fails on an unknown name with one line, exit code 2 and no file', () => {
    const file = join(dir, 'nope.onnx');
    const cli = new URL('../../../bin/mpcc.js', import.meta.url);
    const result = spawnSync(process.execPath, [cli.pathname, 'zoo', 'nope', '-o', file], { encoding: 'utf8' });
    expect(result.status).to.equal(2);
    expect(result.stderr.trim().split('\n')).to.have.length(1);
    expect(result.stderr).to.match(/MPCC0005.*'nope'.*tiny-cnn/);
    expect(existsSync(file)).to.equal(false);
  });

  it('writes a file through the CLI', () => {
    const file = join(dir, 'cli.onnx');
    const result = spawnSync(process.execPath, [new URL('../../../bin/mpcc.js', import.meta.url).pathname, 'zoo', 'tiny-cnn', '-o', file], { encoding: 'utf8' });
    expect(result.status, result.stderr).to.equal(0);
    expect(existsSync(file)).to.equal(true);
  });
});
