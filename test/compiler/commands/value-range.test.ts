// Values outside what the fixed-point ring holds are refused, never turned into plausible
// numbers: the client's input (NaN, ±Inf, |x| ≥ 2^(63 − 2·frac)) by `mpcc run` and `mpcc party`
// before any party connects and by `mpcc infer`; the server's constants at compile, by quantize,
// with the tensor's name. Nothing is written on refusal.
import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runInfer } from '../../../compiler/commands/infer.js';
import { runParty } from '../../../compiler/commands/party.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { firstOutOfRange, valueRangeExponent } from '../../../passes/quantize/value-range.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { suiteTempDir } from '../../temp-dir.js';

/** x[1,4] · W[4,3] + b → Relu: a model small enough to build with any constant. */
function linearModel(w: readonly number[], b: readonly number[] = [0.5, -0.25, 0.125]): Uint8Array {
  const m = new OnnxBuilder({ opset: 13 });
  const x = m.input('x', [1, 4]);
  const wn = m.initializer('fc.weight', w, [4, 3]);
  const bn = m.initializer('fc.bias', b, [3]);
  const [p] = m.node('MatMul', [x, wn], ['p'], {}, 'fc');
  const [s] = m.node('Add', [p, bn], ['s'], {}, 'fc.add');
  m.node('Relu', [s], ['y'], {}, 'act');
  m.output('y', [1, 3]);
  return m.toBytes();
}

const W = [0.5, -1, 0.25, 1, 0.75, -0.5, -0.25, 0.125, 1.5, 2, -2, 0.0625];

/** The MpccError `fn` fails with. */
async function failure(fn: () => unknown): Promise<MpccError> {
  try {
    await fn();
  } catch (e) {
    expect(e).to.be.instanceOf(MpccError);
    return e as MpccError;
  }
  throw new Error('no error');
}

describe('value ranges: the bound', () => {
  it('is 2^(63 − 2·frac): 2^39 at 12 fractional bits, the largest float32 below it passes', () => {
    expect(valueRangeExponent(12)).to.equal(39);
    expect(firstOutOfRange(new Float32Array([0, 2 ** 39 - 2 ** 15, -(2 ** 39) + 2 ** 15]), 12)).to.equal(undefined);
    expect(firstOutOfRange(new Float32Array([1, -(2 ** 39)]), 12)).to.deep.equal({ index: 1, value: -(2 ** 39) });
    expect(firstOutOfRange([1, 2, NaN])).to.deep.include({ index: 2 });
    expect(firstOutOfRange([1e30, -Infinity])).to.deep.equal({ index: 1, value: -Infinity });
  });
});

describe('value ranges: the client input', () => {
  const dir = suiteTempDir('mpcc-range-');
  const file = (name: string) => join(dir(), name);
  let out = '';

  before(function () {
    this.timeout(120000);
    writeFileSync(file('lin.onnx'), linearModel(W));
    out = file('lin.out');
    runCompile(file('lin.onnx'), { fracBits: 12, output: out });
    writeFileSync(file('ok.npy'), encodeNpy([1, 4], [1, -2, 0.5, 3]));
    writeFileSync(file('nan.npy'), encodeNpy([1, 4], [1, -2, NaN, 3]));
    writeFileSync(file('inf.npy'), encodeNpy([1, 4], [1, -Infinity, 0, 3]));
    writeFileSync(file('huge.npy'), encodeNpy([1, 4], [1, 2, 3, 1e12]));
  });

  it('mpcc run refuses NaN, -Inf and 1e12 with MPCC3010 naming the file and the first bad index, writing nothing', async () => {
    const cases: [string, RegExp][] = [
      ['nan.npy', /holds NaN at index \[0,2\]: the model takes only finite values of magnitude below 2\^39 \(fixed point with 12 fractional bits\)/],
      ['inf.npy', /holds -Infinity at index \[0,1\]/],
      ['huge.npy', /holds 999999995904 at index \[0,3\]/],
    ];
    for (const [name, re] of cases) {
      const y = file(`${name}.y.npy`);
      const e = await failure(() => runSecure(out, { input: file(name), output: y, transport: 'inproc' }));
      expect(e.code).to.equal('MPCC3010');
      expect(e.message).to.contain(`input file '${file(name)}'`).and.to.match(re);
      expect(existsSync(y)).to.equal(false);
    }
  });

  it('mpcc party 0 refuses before connecting (no peer listens, yet no connect error)', async () => {
    const e = await failure(() => runParty(out, { id: '0', peers: '127.0.0.1:9,127.0.0.1:9,127.0.0.1:9', input: file('nan.npy'), output: file('p.npy'), connectTimeout: '60000' }));
    expect(e.code).to.equal('MPCC3010');
    expect(existsSync(file('p.npy'))).to.equal(false);
  });

  it('a good input still runs and matches the float interpreter', async () => {
    const secure = await runSecure(out, { input: file('ok.npy'), transport: 'inproc' });
    const plain = runInfer(file('lin.onnx'), { input: file('ok.npy') }).outputs.get('y')!.toArray();
    // by hand: y[0] = 1·0.5 − 2·1 + 0.5·(−0.25) + 3·2 + 0.5
    expect(plain[0]).to.be.closeTo(4.875, 1e-6);
    secure.outputs.y.forEach((v, i) => expect(v).to.be.closeTo(plain[i], 2 ** -8));
  });

  it('mpcc infer refuses NaN and ±Inf (float), and beyond the range too with --fixed', async () => {
    let e = await failure(() => runInfer(file('lin.onnx'), { input: file('nan.npy'), output: file('i.npy') }));
    expect(e.code).to.equal('MPCC3010');
    expect(e.message).to.equal(`input file '${file('nan.npy')}' holds NaN at index [0,2]: the model takes only finite values`);
    e = await failure(() => runInfer(file('lin.onnx'), { input: file('inf.npy'), fixed: true, fracBits: 12 }));
    expect(e.message).to.match(/holds -Infinity at index \[0,1\]/);
    e = await failure(() => runInfer(file('lin.onnx'), { input: file('huge.npy'), fixed: true, fracBits: 12, output: file('i.npy') }));
    expect(e.message).to.match(/holds 999999995904 at index \[0,3\]: .* below 2\^39/);
    expect(existsSync(file('i.npy'))).to.equal(false);
    // float infer takes 1e12: it is finite, and float has no ring to wrap in
    // y[0] = 1·0.5 + 2·1 + 3·(−0.25) + 999999995904·2 + 0.5, by hand
    expect(runInfer(file('lin.onnx'), { input: file('huge.npy') }).outputs.get('y')!.toArray()[0]).to.be.closeTo(2 * 999999995904 + 2.25, 2 ** 20);
  });
});

describe('value ranges: the server constants', () => {
  const dir = suiteTempDir('mpcc-range-w-');

  /** The coded error compiling the model with weights `w` and bias `b` fails with; no output. */
  async function refusedAtCompile(name: string, w: readonly number[], b?: readonly number[]): Promise<MpccError> {
    const model = join(dir(), `${name}.onnx`);
    writeFileSync(model, linearModel(w, b));
    const out = join(dir(), `${name}.out`);
    const e = await failure(() => runCompile(model, { fracBits: 12, output: out }));
    expect(existsSync(out)).to.equal(false);
    return e;
  }

  it('MPCC6006 names the tensor, its reader and the first bad index: 1e30, NaN, Inf, 2^39', async () => {
    const big = [...W];
    big[7] = 1e30;
    let e = await refusedAtCompile('big', big);
    expect(e.format()).to.equal("error MPCC6006: constant 'fc.weight' read by node 'fc' holds 1.0000000150474662e+30 at index [2,1]: secure inference takes only finite constants of magnitude below 2^39 (12 fractional bits)");
    const nan = [...W];
    nan[0] = NaN;
    e = await refusedAtCompile('nan', nan);
    expect(e.message).to.match(/constant 'fc.weight' read by node 'fc' holds NaN at index \[0,0\]/);
    e = await refusedAtCompile('inf-bias', W, [0, Infinity, 0]);
    expect(e.code).to.equal('MPCC6006');
    expect(e.message).to.match(/constant 'fc.bias' read by node 'fc.add' holds Infinity at index \[1\]/);
    e = await refusedAtCompile('edge', W, [0, 0, -(2 ** 39)]);
    expect(e.message).to.match(/holds -549755813888 at index \[2\]/);
  });

  it('a bias just inside the bound compiles', () => {
    const model = join(dir(), 'inside.onnx');
    writeFileSync(model, linearModel(W, [0, 0, 2 ** 39 - 2 ** 15]));
    expect(() => runCompile(model, { fracBits: 12, output: join(dir(), 'inside.out') })).not.to.throw();
  });
});
