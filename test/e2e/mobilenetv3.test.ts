// The zoo's MobileNetV3-style model end to end (Hardswish as x · HardSigmoid(x), squeeze-and-
// excitation with a HardSigmoid gate times the map, depthwise convs): compiled, run by the three
// parties in process, against the fixed-point interpreter (the same ring arithmetic in plaintext,
// up to the share truncations' ulps), against onnxruntime-node's float output, and with the
// bytes and rounds of cost.json. Every truncation is exact (the default), those after a product of
// two activations by a helper-dealt bit triple (truncateExactOnline). The float interpreter is held to onnxruntime on the same model.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildZooModel } from '../../examples/zoo/index.js';
import { OnnxBuilder, float } from '../../compiler/onnx/writer.js';
import { runCompile } from '../../compiler/commands/compile.js';
import { loadGraphFile } from '../../compiler/load-model.js';
import { runPipeline } from '../../passes/manager.js';
import { runGraph } from '../../ir/interp/run.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { Tensor } from '../../ir/tensor.js';
import { loadPartyArtifacts, parseProgram } from '../../runtime/program/index.js';
import { errorOf } from '../passes/util.js';
import { suiteTempDir } from '../temp-dir.js';
import { argmax, maxAbsDiff, runSecureInProcess } from './support.js';

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const SHAPE = [1, 3, 32, 32];

describe('e2e: MobileNetV3-style zoo model (HardSwish, squeeze-excitation, HardSigmoid)', function () {
  this.timeout(120000);
  const tmp = suiteTempDir('mpcc-mnv3-');

  it('secure run = fixed-point interpreter within 32 ulps; top-1 and logits within 1% of the range of onnxruntime; bytes and rounds of cost.json', async () => {
    const onnx = buildZooModel('mobilenetv3-small');
    const file = join(tmp(), 'mnv3.onnx');
    writeFileSync(file, onnx);
    const out = join(tmp(), 'out');
    const { cost, fracChoice } = runCompile(file, { output: out });
    // the default scale: one scale for activations and weights (no local truncation bounds it)
    expect(fracChoice?.weightFracs).to.equal(undefined);
    const F = fracChoice!.frac;
    const mir = readFileSync(join(out, 'party1', 'model.mir'), 'utf8');
    for (const op of ['SecureMul', 'SecureHardSigmoid']) expect(mir.includes(` = ${op} `), op).to.equal(true);
    // exact truncation everywhere (the default): no Truncate stays local; each product of two
    // activations, and each average pool's division, is truncated by the bit-triple form
    // (protocol truncateExactOnline)
    expect(mir).to.not.match(/ = Truncate /);
    const muls = (mir.match(/ = SecureMul /g) ?? []).length;
    const pools = (mir.match(/ = (Global)?AveragePool [^\n]*untruncated = 1/g) ?? []).length;
    expect(pools, 'pools divided exactly').to.be.greaterThan(0);
    expect(mir).to.not.match(/ = (Global)?AveragePool (?![^\n]*untruncated = 1)/);
    expect((mir.match(/protocol = "truncateExactOnline"/g) ?? []).length, 'online exact truncations').to.equal(muls + pools);
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const session = await ort.InferenceSession.create(onnx);
    const q = runPipeline(loadGraphFile(file), `canonicalize,quantize{frac-bits=${F}}`).graph;
    for (const seed of [3, 4]) {
      const rand = lcg(seed);
      const x = Float32Array.from({ length: 3 * 32 * 32 }, () => 2 * rand() - 1);
      const r = await runSecureInProcess(arts, x);
      const y = r[0].outputs.get('output')!;
      const fixed = runGraphFixed(q, { input: new Tensor('float32', SHAPE, x) }, { frac: F }).outputs.get('output')!.data as Float64Array;
      // Share truncation is floor or floor + 1 ulp (2^-F) per truncation; carried through the
      // layers after it (products of two activations, clips) it stays within 32 ulps here.
      expect(maxAbsDiff(y, fixed), 'secure vs fixed').to.be.at.most(32 * 2 ** -F);
      const ref = (await session.run({ input: new ort.Tensor('float32', x, SHAPE) })).output.data as Float32Array;
      expect(argmax(y)).to.equal(argmax(ref));
      const range = Math.max(...ref) - Math.min(...ref);
      expect(maxAbsDiff(y, ref), 'secure vs onnxruntime').to.be.at.most(0.01 * range);
      expect(r.reduce((t, p) => t + p.counters.sent.online + p.counters.sent.preprocessing, 0)).to.equal(cost.bytes.total);
      for (const p of r) expect(p.rounds).to.equal(cost.rounds);
    }
  });

  it('Sigmoid and products of activations in several broadcasting shapes: secure = fixed-point interpreter, and onnxruntime within the sigmoid\'s documented error', async () => {
    // x [1,4,6,6] → conv → Sigmoid (an LRASPP-style gate) → pooled [1,4,1,1] gate × map, a
    // [1,1,6,6] spatial gate × map, a row [6] × map; HardSwish (x · HardSigmoid(x)); Gemm head.
    const rand = lcg(11);
    const r = (n: number, s: number) => Array.from({ length: n }, () => (2 * rand() - 1) * s);
    const b = new OnnxBuilder({ opset: 13 });
    b.input('x', [1, 4, 6, 6]);
    b.initializer('W1', r(4 * 4 * 9, 0.6), [4, 4, 3, 3]);
    b.initializer('Ws', r(4, 0.8), [1, 4, 1, 1]);
    b.initializer('Wf', r(10 * 144, 0.3), [10, 144]);
    b.initializer('Bf', r(10, 0.1), [10]);
    b.node('Conv', ['x', 'W1'], ['c1'], { pads: [1, 1, 1, 1] });
    b.node('Sigmoid', ['c1'], ['s1']);
    b.node('GlobalAveragePool', ['s1'], ['gp']);
    b.node('Mul', ['gp', 'c1'], ['m1']);
    b.node('Conv', ['m1', 'Ws'], ['sp']);
    b.node('Sigmoid', ['sp'], ['spg']);
    b.node('Mul', ['m1', 'spg'], ['m2']);
    b.node('Slice', ['m2', 'st', 'en', 'ax'], ['row']);
    b.int64Initializer('st', [0, 0]);
    b.int64Initializer('en', [1, 1]);
    b.int64Initializer('ax', [1, 2]);
    b.node('Reshape', ['row', 'rs'], ['rowv']);
    b.int64Initializer('rs', [6]);
    b.node('Mul', ['m2', 'rowv'], ['m3']);
    b.node('HardSigmoid', ['m3'], ['hs'], { alpha: float(1 / 6), beta: float(0.5) });
    b.node('Mul', ['m3', 'hs'], ['hsw']);
    b.node('Flatten', ['hsw'], ['fl']);
    b.node('Gemm', ['fl', 'Wf', 'Bf'], ['y'], { transB: 1 });
    b.output('y');
    const onnx = b.toBytes();
    const file = join(tmp(), 'act.onnx');
    writeFileSync(file, onnx);
    const out = join(tmp(), 'act');
    const { cost, fracChoice } = runCompile(file, { output: out });
    // the default scale: one scale for activations and weights (no local truncation bounds it)
    expect(fracChoice?.weightFracs).to.equal(undefined);
    const F = fracChoice!.frac;
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const x = Float32Array.from({ length: 4 * 36 }, () => 4 * rand() - 2);
    const res = await runSecureInProcess(arts, x);
    const y = res[0].outputs.get('y')!;
    const q = runPipeline(loadGraphFile(file), `canonicalize,quantize{frac-bits=${F}}`).graph;
    const fixed = runGraphFixed(q, { x: new Tensor('float32', [1, 4, 6, 6], x) }, { frac: F }).outputs.get('y')!.data as Float64Array;
    expect(maxAbsDiff(y, fixed), 'secure vs fixed').to.be.at.most(32 * 2 ** -F);
    const session = await ort.InferenceSession.create(onnx);
    const ref = (await session.run({ x: new ort.Tensor('float32', x, [1, 4, 6, 6]) })).y.data as Float32Array;
    // The sigmoid's approximation error (SIGMOID_MAX_ERROR) carried through the products and the head.
    const range = Math.max(...ref) - Math.min(...ref);
    expect(maxAbsDiff(y, ref), 'secure vs onnxruntime').to.be.at.most(0.05 * range);
    expect(res.reduce((t, p) => t + p.counters.sent.online + p.counters.sent.preprocessing, 0)).to.equal(cost.bytes.total);
    for (const p of res) expect(p.rounds).to.equal(cost.rounds);
  });

  it('a program whose product shapes do not broadcast is refused before anything runs (MPCC5222 naming the field)', () => {
    const out = join(tmp(), 'out');
    const text = readFileSync(join(out, 'party0', 'program.json'), 'utf8');
    const program = JSON.parse(text) as { steps: { kind: string; params: Record<string, number[]> }[] };
    const step = program.steps.findIndex((st) => st.kind === 'mul');
    expect(() => parseProgram(text, 'program.json', 0)).to.not.throw();
    const bad = (edit: (p: Record<string, number[]>) => void): string => {
      const copy = JSON.parse(text) as typeof program;
      edit(copy.steps[step].params);
      return JSON.stringify(copy);
    };
    const refusal = (t: string) => errorOf(() => parseProgram(t, 'program.json', 0));
    const e1 = refusal(bad((p) => (p.yShape = [1, 7, 16, 16])));
    expect(e1.code).to.equal('MPCC5222');
    expect(e1.message).to.contain(`steps[${step}].params.yShape: [1,7,16,16] does not broadcast to`);
    expect(refusal(bad((p) => (p.outShape = [1, 16, 16, 32]))).message).to.contain(`steps[${step}].params`);
  });

  it('the float interpreter agrees with onnxruntime (HardSigmoid exact, products of activations)', async () => {
    const onnx = buildZooModel('mobilenetv3-small');
    const file = join(tmp(), 'mnv3f.onnx');
    writeFileSync(file, onnx);
    const rand = lcg(7);
    const x = Float32Array.from({ length: 3 * 32 * 32 }, () => 2 * rand() - 1);
    const g = loadGraphFile(file);
    const y = runGraph(g, { input: new Tensor('float32', SHAPE, x) }).get('output')!.data as Float32Array;
    const session = await ort.InferenceSession.create(onnx);
    const ref = (await session.run({ input: new ort.Tensor('float32', x, SHAPE) })).output.data as Float32Array;
    expect(maxAbsDiff(y, ref)).to.be.at.most(1e-4 * Math.max(1, ...Array.from(ref, Math.abs)));
  });
});
