// --ring on mpcc compile, cost and ir (compiler/ring-choice.ts, lower{ring}: a client-offline
// program in Z_2^ℓ, ℓ = 32, 40, 48, 56, every ring element in ℓ/8 bytes): auto's choice against a
// brute-force measurement of the largest truncated value on the calibration samples (the float
// interpreter, written here), Z_2^64 when the margin is not there or no sample is given, the
// fallback when --client-offline auto keeps the classic mode, the refusals through the CLI, and a
// ring-40 program run by the three parties in process: its outputs as the fixed-point
// interpreter's, its counters equal to cost.json and model.mir's flows, its products' bytes 5/8
// of Z_2^64's.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCompile } from '../../../compiler/commands/compile.js';
import { readCostJson, runCost } from '../../../compiler/commands/cost.js';
import { runIr } from '../../../compiler/commands/ir.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { loadCalibration } from '../../../compiler/calibration/load.js';
import { driveModel } from '../../../compiler/driver.js';
import { loadGraphFile } from '../../../compiler/load-model.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { runGraph } from '../../../ir/interp/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/index.js';
import { Tensor, tensorOf } from '../../../ir/tensor.js';
import { GraphBuilder } from '../../../ir/builder.js';
import { RING_AUTO } from '../../../compiler/ring-choice.js';
import { makeNode, replaceGraph } from '../../../ir/graph.js';
import { saveMir } from '../../../ir/weights.js';
import { runPipeline } from '../../../passes/index.js';
import type { Program } from '../../../runtime/program/program.js';
import { maxPoolGraph } from '../../passes/secure/secure-graphs.js';
import { errorOf, randomTensor, rng } from '../../passes/util.js';
import { maxAbsDiff, runCheckedRuns } from '../../e2e/support.js';
import { suiteTempDir } from '../../temp-dir.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;
const SHAPE = [1, 3, 16, 16];
const SAMPLES = 6;

/** `SAMPLES` standard-normal images times `scale`, as an .npy file. */
function calibration(path: string, scale: number): void {
  const rand = rng(5);
  const data = Float32Array.from({ length: SAMPLES * 3 * 16 * 16 }, () => scale * Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand()));
  writeFileSync(path, encodeNpy([SAMPLES, 3, 16, 16], data));
}

/** Brute force: the largest |value| a product (Conv, Gemm) of the float network makes on the
 * samples — what each truncation takes, in real units. */
function largestTruncated(model: string, calib: string): number {
  const g = driveModel(model, { target: 'float' }).graph;
  const set = loadCalibration({ calib }, SHAPE.slice(1));
  const per = 3 * 16 * 16;
  let largest = 0;
  for (let i = 0; i < SAMPLES; i++) {
    runGraph(g, { [g.inputs[0]]: new Tensor('float32', SHAPE, set.data.subarray(i * per, (i + 1) * per)) }, {
      onNode: (node, _index, results) => {
        if (node.op === 'Conv' || node.op === 'Gemm') for (const v of results[0].data) largest = Math.max(largest, Math.abs(v));
      },
    });
  }
  return largest;
}

/** The ring auto must choose for `largest` (real units) at `frac` bits: the smallest whose
 * bound 2^(ℓ − 2) ulps at 2f bits is 8 times above it. */
const ringFor = (largest: number, frac: number): number => [32, 40, 48, 56, 64].find((l) => l === 64 || largest * 2 ** (2 * frac) * 8 < 2 ** (l - 2))!;

const programOf = (out: string, party = 0): Program => JSON.parse(readFileSync(join(out, `party${party}/program.json`), 'utf8')) as Program;

describe('--ring: client-offline programs in a smaller ring', function () {
  this.timeout(300000);
  const tmp = suiteTempDir('mpcc-ring-');
  let dir = '';
  const file = (name: string) => join(dir, name);
  before(() => {
    dir = tmp();
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    saveMir(maxPoolGraph(), file('maxpool.mir'));
    calibration(file('half.npy'), 0.5);
    calibration(file('double.npy'), 2);
    calibration(file('huge.npy'), 2 ** 20);
  });

  it('auto (the default with --calib in the client-offline mode): the smallest ring 8 times above the largest truncated value, as brute force measures it', () => {
    const chosen: number[] = [];
    for (const calib of ['half.npy', 'double.npy']) {
      const summary = runCompile(file('tiny.onnx'), { output: file(`auto-${calib}`), clientOffline: true, calib: file(calib), quiet: true });
      const frac = summary.manifest.frac;
      const largest = largestTruncated(file('tiny.onnx'), file(calib));
      const want = ringFor(largest, frac);
      // not at a boundary, so the brute force and the interpreter's ulps cannot disagree on it
      expect(Math.abs(Math.log2(largest * 2 ** (2 * frac) * 8) - (want - 2)), calib).to.be.above(0.1);
      const note = summary.notes.find((n) => n.startsWith('note: ring Z_2^'))!;
      expect(note, calib).to.match(new RegExp(`^note: ring Z_2\\^${want}: exact truncation holds while \\|v\\| < 2\\^\\(${want - 2}−2f\\) = [0-9.e+]+; calibration's largest ([0-9.e+]+) at '.*' over ${SAMPLES} samples \\(margin [0-9.]+ bits\\)(; .* selects? in .*Z_2\\^(24|32), lifted back after \\(their values' largest [0-9.e+]+\\))?(; .* masked copies( in | \\(\\d+ in ).*Z_2\\^(24|32)\\)?, lifted by the top bit \\(the selected values' largest [0-9.e+]+\\))?(; with --frac-bits (\\d+) the same margin would fit about Z_2\\^(\\d+))?$`));
      // the hint: the most fractional bits (down to auto's floor, 10) at which brute force fits a smaller ring
      const fewer = [...Array(Math.max(0, frac - RING_AUTO.minFrac)).keys()].map((i) => frac - 1 - i).find((f) => ringFor(largest, f) < want);
      const hint = new RegExp(`with --frac-bits (\\d+) the same margin would fit about Z_2\\^(\\d+)`).exec(note);
      expect(hint ? [Number(hint[1]), Number(hint[2])] : null, `${calib}: the hint`).to.deep.equal(fewer === undefined ? null : [fewer, ringFor(largest, fewer)]);
      // the largest value the interpreter saw, in real units, is the brute force's (to its quantization)
      const seen = Number(/largest ([0-9.e+]+)/.exec(note)![1]);
      expect(seen / largest, calib).to.be.closeTo(1, 0.01);
      expect(programOf(file(`auto-${calib}`)).ring, calib).to.equal(want);
      expect(readCostJson(file(`auto-${calib}/cost.json`)).ring, calib).to.equal(want);
      chosen.push(want);
    }
    expect(chosen).to.deep.equal([40, 48]);
  });

  it('auto with narrowed windows: the compared values do not count, only that every window fits below the ring (lo + bits + k ≤ ℓ, none clipped)', () => {
    for (const calib of ['half.npy', 'double.npy']) {
      const windowTops = (out: string) => programOf(out).steps.filter((st) => st.kind === 'helperSelect').map((st) => (st.params.window as { lo: number; k: number }).lo + (st.params.window as { lo: number; k: number }).k);
      runCompile(file('tiny.onnx'), { output: file(`narrow64-${calib}`), clientOffline: true, calib: file(calib), compareBits: 'auto', ring: '64', quiet: true });
      const summary = runCompile(file('tiny.onnx'), { output: file(`narrow-${calib}`), clientOffline: true, calib: file(calib), compareBits: 'auto', quiet: true });
      const frac = summary.manifest.frac;
      const tops = windowTops(file(`narrow64-${calib}`));
      expect(Math.max(...tops), `${calib}: narrowed windows`).to.be.below(64);
      const largest = largestTruncated(file('tiny.onnx'), file(calib));
      const want = [32, 40, 48, 56, 64].find((l) => l === 64 || (largest * 2 ** (2 * frac) * 8 < 2 ** (l - 2) && Math.max(...tops) <= l));
      expect(programOf(file(`narrow-${calib}`)).ring ?? 64, calib).to.equal(want);
      // no window clipped: the same windows as at Z_2^64
      expect(windowTops(file(`narrow-${calib}`)), calib).to.deep.equal(tops);
    }
  });

  it('auto stays at Z_2^64 when the margin is not there (the note says why), and without samples', () => {
    const summary = runCompile(file('tiny.onnx'), { output: file('auto-huge'), clientOffline: true, calib: file('huge.npy'), ring: 'auto', quiet: true });
    const largest = largestTruncated(file('tiny.onnx'), file('huge.npy'));
    expect(largest * 2 ** (2 * summary.manifest.frac) * 8).to.be.at.least(2 ** 54);
    expect(summary.notes.join('\n')).to.match(/note: ring Z_2\^64: calibration's largest [0-9.e+]+ at '.*' over 6 samples leaves -?[0-9.]+ bits of margin below Z_2\^56's bound \|v\| < 2\^\(54−2f\) = [0-9.e+]+, fewer than 3/);
    expect('ring' in programOf(file('auto-huge'))).to.equal(false);
    expect(summary.cost.ring).to.equal(64);
    const bare = runCompile(file('tiny.onnx'), { output: file('auto-none'), clientOffline: true, ring: 'auto', quiet: true });
    expect(bare.notes.join('\n')).to.contain("note: ring Z_2^64: no calibration samples to measure the values' range (give --calib, or --ring 32|40|48|56)");
    // no --ring and no --calib: Z_2^64 without a word; a classic compile never takes a smaller ring
    expect(runCompile(file('tiny.onnx'), { output: file('plain'), clientOffline: true, quiet: true }).notes.join('\n')).to.not.contain('ring Z_2');
    expect(runCompile(file('tiny.onnx'), { output: file('classic-calib'), calib: file('half.npy'), quiet: true }).cost.ring).to.equal(64);
  });

  it('auto stays at Z_2^64 for a model with a linear Resize (its shares truncated after the interpolation), naming it; nearest does not', () => {
    const model = (mode: string) => {
      const rand = rng(31);
      const b = new GraphBuilder('up');
      const x = b.input('x', { dtype: 'float32', shape: SHAPE });
      const c = b.op('Conv', [x, b.constant('w', randomTensor(rand, [4, 3, 3, 3], -0.3, 0.3))], { pads: [1, 1, 1, 1] }, 'conv');
      const up = b.op('Resize', [b.op('Relu', [c], {}, 'relu')], { mode, sizes: [1, 4, 32, 32], scales: [1, 1, 2, 2] }, 'up');
      b.node('Conv', [up, b.constant('w2', randomTensor(rand, [2, 4, 1, 1], -0.5, 0.5))], {}, { name: 'conv2', outputs: ['y'] });
      b.output('y');
      return saveMir(b.build(), file(`up-${mode}.mir`)).mir;
    };
    const linear = runCompile(model('linear'), { output: file('up-linear'), clientOffline: true, calib: file('half.npy'), quiet: true });
    expect(linear.cost.ring).to.equal(64);
    expect(linear.notes.join('\n')).to.contain("note: ring Z_2^64: node 'up' (Resize) keeps the program there: a linear Resize truncates each share after its interpolation");
    // asked for explicitly, the smaller ring is still the coded refusal
    expect(errorOf(() => runCompile(model('linear'), { output: file('up-linear-40'), clientOffline: true, calib: file('half.npy'), ring: '40', quiet: true })).code).to.equal('MPCC6029');
    const nearest = runCompile(model('nearest'), { output: file('up-nearest'), clientOffline: true, calib: file('half.npy'), quiet: true });
    expect(nearest.cost.ring).to.be.below(64);
  });

  it('--client-offline auto with --ring 40: Z_2^64 with a note when the classic mode wins', () => {
    const summary = runCompile(file('maxpool.mir'), { output: file('auto-mode'), clientOffline: 'auto', ring: '40', quiet: true });
    expect([summary.cost.mode, summary.cost.ring]).to.deep.equal(['classic', 64]);
    expect(summary.notes).to.include('note: --ring 40: the classic mode computes in Z_2^64 (a smaller ring needs the client-offline mode, which --client-offline auto did not choose)');
    const cost = runCost(file('maxpool.mir'), { clientOffline: 'auto', ring: '48' });
    expect(cost.report.ring).to.equal(64);
    expect(cost.text).to.contain('--ring 48: the classic mode computes in Z_2^64');
  });

  it('mpcc cost and mpcc ir show the ring', () => {
    const r = runCost(file('tiny.onnx'), { clientOffline: true, ring: '48' });
    expect(r.report.ring).to.equal(48);
    expect(r.text).to.contain('ring: Z_2^48 (6 B per ring element)');
    expect(runCost(file('tiny.onnx'), { clientOffline: true, json: true }).text).to.contain('"ring": 64');
    expect(runCost(file('tiny.onnx'), { clientOffline: true, ring: 'auto' }).text).to.contain("ring Z_2^64: no calibration samples to measure the values' range");
    let text = '';
    runIr(file('tiny.onnx'), { stage: 'lowered', clientOffline: true, ring: '56' }, { stdout: (t) => (text += t), stderr: () => undefined });
    expect(text).to.match(/SecureInput "[^"]+"\(%input\) \{[^}]*ring = 56,/);
  });

  it('refuses --ring 40 without the client-offline mode (MPCC6028) and a ring of other bits (MPCC0004), through the CLI, nothing written', () => {
    const compile = spawnSync(process.execPath, [CLI, 'compile', file('tiny.onnx'), '--ring', '40', '-o', file('refused')], { encoding: 'utf8' });
    expect(compile.status).to.not.equal(0);
    expect(compile.stderr).to.contain('error MPCC6028: --ring 40 needs --client-offline: a ring smaller than Z_2^64 is safe only where every truncation is exact');
    expect(existsSync(file('refused'))).to.equal(false);
    const cost = spawnSync(process.execPath, [CLI, 'cost', file('tiny.onnx'), '--client-offline', '--ring', '33'], { encoding: 'utf8' });
    expect(cost.status).to.not.equal(0);
    expect(cost.stderr).to.contain("error MPCC0004: invalid value '33' for flag --ring: expected 32, 40, 48, 56, 64 or auto");
    expect(errorOf(() => runCompile(file('tiny.onnx'), { output: file('refused2'), clientOffline: 'off', ring: '56' })).code).to.equal('MPCC6028');
    expect(errorOf(() => runIr(file('tiny.onnx'), { ring: '48' }, { stdout: () => undefined, stderr: () => undefined })).code).to.equal('MPCC6028');
    expect(existsSync(file('refused2'))).to.equal(false);
  });

  // Needs the runtime of programs in Z_2^ℓ (runtime/protocols/*: ring-element messages in ℓ/8
  // bytes, the truncation reading bit ℓ − 1, the reveal sign-extended).
  it('a ring-40 program runs: outputs as the fixed-point interpreter\'s, counters equal cost.json and model.mir, products at 5/8 of Z_2^64\'s bytes', async () => {
    const frac = 16;
    for (const [form, ring] of [['run40', '40'], ['run64', '64']] as const) runCompile(file('tiny.onnx'), { output: file(form), clientOffline: true, ring, fracBits: frac, quiet: true });
    const program = programOf(file('run40'), 2);
    expect(program.ring).to.equal(40);
    const [c40, c64] = [readCostJson(file('run40/cost.json')), readCostJson(file('run64/cost.json'))];
    expect([c40.ring, c64.ring, c40.mode]).to.deep.equal([40, 64, 'client-offline']);
    expect(c40.bytesByKind.products * 8).to.equal(c64.bytesByKind.products * 5);
    expect(c40.bytes.online).to.be.below(c64.bytes.online);
    expect(c40.rounds).to.equal(c64.rounds);
    const q = runPipeline(loadGraphFile(file('tiny.onnx')), `canonicalize,maxpool-to-relu-tree,quantize{frac-bits=${frac}}`).graph;
    const rand = rng(40);
    const inputs = [0, 1].map(() => Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1));
    for (const form of ['run40', 'run64']) {
      const outputs = await runCheckedRuns(file(form), inputs);
      inputs.forEach((x, i) => {
        const [name, secure] = outputs[i];
        const fixed = runGraphFixed(q, { [q.inputs[0]]: tensorOf('float32', SHAPE, x) }, { frac }).outputs.get(name)!.data;
        expect(maxAbsDiff(secure, fixed), `${form}, input ${i}`).to.be.at.most(16 * 2 ** -frac);
      });
    }
  });

  it('a ring-32 program runs at 10 fractional bits: outputs as the fixed-point interpreter\'s, counters equal cost.json, products at half of Z_2^64\'s bytes', async () => {
    const frac = 10;
    for (const [form, ring] of [['run32', '32'], ['run64f10', '64']] as const) runCompile(file('tiny.onnx'), { output: file(form), clientOffline: true, ring, fracBits: frac, quiet: true });
    const [c32, c64] = [readCostJson(file('run32/cost.json')), readCostJson(file('run64f10/cost.json'))];
    expect([c32.ring, programOf(file('run32'), 1).ring]).to.deep.equal([32, 32]);
    expect(c32.bytesByKind.products * 2).to.equal(c64.bytesByKind.products);
    const q = runPipeline(loadGraphFile(file('tiny.onnx')), `canonicalize,maxpool-to-relu-tree,quantize{frac-bits=${frac}}`).graph;
    const rand = rng(32);
    const inputs = [0, 1].map(() => Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1));
    const outputs = await runCheckedRuns(file('run32'), inputs);
    inputs.forEach((x, i) => {
      const [name, secure] = outputs[i];
      const fixed = runGraphFixed(q, { [q.inputs[0]]: tensorOf('float32', SHAPE, x) }, { frac }).outputs.get(name)!.data;
      expect(maxAbsDiff(secure, fixed), `input ${i}`).to.be.at.most(16 * 2 ** -frac);
    });
  });

  // A 7×7 global average pool (D = 49, not a power of two): its exact division multiplies the
  // window sums by round(2^b/49) before truncating by b, so at 16 bits the pool alone can need a
  // wider ring than the products. auto gives it the most bits b ≤ 16 the ring holds, never fewer
  // than ⌈log2 49⌉ + 6 = 12 (relative error ≤ 49/2^13 = 0.6%), brute-forced here from the float
  // network's values; the program divides with them and runs as the interpreter at b bits.
  it('a 7×7 global average pool: auto takes the ring of the products and gives the pool the most reciprocal bits that ring holds (brute force), said in the note; the secure run as the interpreter at those bits; an explicit --ring 32 checked on the samples', async () => {
    const frac = 10;
    const b = new GraphBuilder('gap7');
    const x = b.input('input', { dtype: 'float32', shape: [1, 3, 14, 14] });
    const rand = rng(49);
    const conv = b.op('Conv', [x, b.constant('conv.weight', randomTensor(rand, [4, 3, 3, 3], -0.5, 0.5)), b.constant('conv.bias', randomTensor(rand, [4], 2, 4))], { pads: [1, 1, 1, 1], strides: [2, 2] }, 'conv');
    const gap = b.op('GlobalAveragePool', [b.op('Relu', [conv], {}, 'relu')], {}, 'gap');
    const fc = b.op('Gemm', [b.op('Flatten', [gap], { axis: 1 }, 'flatten'), b.constant('fc.weight', randomTensor(rand, [10, 4], -0.5, 0.5)), b.constant('fc.bias', randomTensor(rand, [10]))], { transB: 1 }, 'fc');
    b.output(fc);
    saveMir(b.build(), file('gap7.mir'));
    const scale = 4;
    const data = Float32Array.from({ length: SAMPLES * 3 * 14 * 14 }, () => scale * (2 * rand() - 1));
    writeFileSync(file('gap7.npy'), encodeNpy([SAMPLES, 3, 14, 14], data));
    // brute force: the products' and the pool's largest |value| (real units) on the samples
    const g = driveModel(file('gap7.mir'), { target: 'float' }).graph;
    let products = 0;
    let pooled = 0;
    for (let i = 0; i < SAMPLES; i++) {
      runGraph(g, { [g.inputs[0]]: new Tensor('float32', [1, 3, 14, 14], data.subarray(i * 588, (i + 1) * 588)) }, {
        onNode: (node, _index, results) => {
          for (const v of results[0].data) {
            if (node.op === 'Conv' || node.op === 'Gemm') products = Math.max(products, Math.abs(v));
            if (node.op === 'GlobalAveragePool') pooled = Math.max(pooled, Math.abs(v));
          }
        },
      });
    }
    const fits = (ulps: number, l: number) => ulps * 8 < 2 ** (l - 2);
    // the ReLU compares its input on the full window: (|x| + 1)·2^f at 2f bits, as the products
    const ring = [32, 40, 48, 56, 64].find((l) => fits((products * 2 ** frac + 1) * 2 ** frac, l))!;
    const poolProduct = (bits: number) => (pooled * 2 ** frac + 1) * (2 ** bits + 49 / 2);
    const bits = [16, 15, 14, 13, 12].find((k) => fits(poolProduct(k), ring));
    // the case this test is for: Z_2^32, the pool narrowed but still fitting, 16 bits needing more
    expect([ring, bits !== undefined && bits < 16], 'the network makes the case').to.deep.equal([32, true]);
    const summary = runCompile(file('gap7.mir'), { output: file('gap7'), clientOffline: true, calib: file('gap7.npy'), fracBits: frac, quiet: true });
    expect([summary.cost.ring, programOf(file('gap7'), 1).ring]).to.deep.equal([32, 32]);
    expect(summary.notes.join('\n')).to.contain(`the average pool 'gap' divides with a ${bits}-bit reciprocal (relative error ≤ ${((100 * 49) / 2 ** (bits! + 1)).toPrecision(2)}%; 16 bits would need Z_2^40)`);
    const steps = programOf(file('gap7')).steps;
    const at = steps.findIndex((st) => st.kind === 'globalAvgPool');
    expect([steps[at].params.divideBits, steps[at].params.untruncated]).to.deep.equal([bits, true]);
    const division = steps.find((st) => st.inputs.includes(steps[at].outputs[0]))!;
    expect([division.kind, division.params.bits]).to.deep.equal(['truncateClientOffline', bits]);
    // the secure run as the fixed-point interpreter with the pool at those bits
    const q = runPipeline(loadGraphFile(file('gap7.mir')), `canonicalize,quantize{frac-bits=${frac}}`).graph;
    const qb = replaceGraph(q, { nodes: q.nodes.map((n) => (n.op === 'GlobalAveragePool' ? makeNode(n.op, n.name, n.inputs, n.outputs, { ...n.attrs, divide_bits: bits! }) : n)) });
    const inputs = [0, 1].map((i) => data.slice(i * 588, (i + 1) * 588));
    const outputs = await runCheckedRuns(file('gap7'), inputs);
    inputs.forEach((x, i) => {
      const [name, secure] = outputs[i];
      const fixed = runGraphFixed(qb, { [q.inputs[0]]: tensorOf('float32', [1, 3, 14, 14], x) }, { frac }).outputs.get(name)!.data;
      expect(maxAbsDiff(secure, fixed), `input ${i}`).to.be.at.most(16 * 2 ** -frac);
    });
    // an explicit --ring 32 with the samples: checked on them, the pool fitted as auto fits it;
    // at 13 fractional bits the values need more (brute force), which the note says, the ring kept
    const explicit = runCompile(file('gap7.mir'), { output: file('gap7-x32'), clientOffline: true, calib: file('gap7.npy'), ring: '32', fracBits: frac, quiet: true });
    expect(explicit.notes.join('\n')).to.contain(`note: --ring 32: every value fits with 3 bits of margin (calibration's largest `);
    expect(programOf(file('gap7-x32')).steps.find((st) => st.kind === 'globalAvgPool')!.params.divideBits).to.equal(bits);
    const f13 = 13;
    const need13 = [32, 40, 48, 56, 64].find((l) => fits((products * 2 ** f13 + 1) * 2 ** f13, l) && fits((pooled * 2 ** f13 + 1) * (2 ** 12 + 49 / 2), l))!;
    expect(need13, 'f = 13 needs more than Z_2^32').to.be.above(32);
    const narrow = runCompile(file('gap7.mir'), { output: file('gap7-x32f13'), clientOffline: true, calib: file('gap7.npy'), ring: '32', fracBits: f13, quiet: true });
    expect(narrow.notes.join('\n')).to.match(new RegExp(`note: --ring 32: calibration's values need Z_2\\^${need13} \\(calibration's largest [0-9.e+]+ at '.*' over ${SAMPLES} samples\\); in Z_2\\^32 exact truncation holds only while \\|v\\| < 2\\^\\(30−2f\\) = [0-9.e+]+, and a value beyond it wraps`));
    expect([narrow.cost.ring, programOf(file('gap7-x32f13')).steps.find((st) => st.kind === 'globalAvgPool')!.params.divideBits]).to.deep.equal([32, 12]);
    // past the bound itself (not only the margin): the samples' own values would wrap, so no
    // program is made (MPCC6030 naming the ring auto would take), nothing written
    const f16 = 16;
    expect((products * 2 ** f16 + 1) * 2 ** f16, 'f = 16 puts the values past Z_2^32 (brute force)').to.be.at.least(2 ** 30);
    const past = (() => {
      try {
        runCompile(file('gap7.mir'), { output: file('gap7-x32f16'), clientOffline: true, calib: file('gap7.npy'), ring: '32', fracBits: f16, quiet: true });
        return null;
      } catch (e) {
        return e as Error & { code?: string };
      }
    })();
    expect(past?.code).to.equal('MPCC6030');
    expect(past?.message).to.match(/^--ring 32: calibration's largest .* beyond Z_2\^32's bound \|v\| < 2\^\(30−2f\) = .*: such a value wraps, on these samples already, and ruins its inference's output; use --ring auto \(Z_2\^(40|48|56|64) here\)/);
    expect(existsSync(file('gap7-x32f16'))).to.equal(false);
    // without samples an explicit ring is not checked: a note says so, the pool at 16 bits
    const bare = runCompile(file('gap7.mir'), { output: file('gap7-x32bare'), clientOffline: true, ring: '32', fracBits: frac, quiet: true });
    expect(bare.notes.filter((l) => l.includes('--ring 32:'))).to.deep.equal([
      "note: --ring 32: not checked (no --calib samples): exact truncation holds only while every truncated value stays below 2^(30−2f) in real units, and a value past it wraps and ruins that inference's output; give --calib to check it, or check a run with mpcc run --verify-against-plaintext",
    ]);
    expect('divideBits' in programOf(file('gap7-x32bare')).steps.find((st) => st.kind === 'globalAvgPool')!.params).to.equal(false);
    // Z_2^64 keeps the 16 bits, and a single power-of-two divisor (tiny-cnn's 2×2 AveragePool,
    // D = 4) divides by truncating log2 4 = 2 bits, with no multiplier
    runCompile(file('gap7.mir'), { output: file('gap7-64'), clientOffline: true, ring: '64', fracBits: frac, quiet: true });
    const s64 = programOf(file('gap7-64')).steps;
    const p64 = s64.find((st) => st.kind === 'globalAvgPool')!;
    expect(['divideBits' in p64.params, s64.find((st) => st.inputs.includes(p64.outputs[0]))!.params.bits]).to.deep.equal([false, 16]);
    runCompile(file('tiny.onnx'), { output: file('tiny-pool'), clientOffline: true, ring: '64', quiet: true });
    const st = programOf(file('tiny-pool')).steps;
    const pool = st.find((x) => x.kind === 'avgPool')!;
    expect([(pool.params.pool as { kernel: number[] }).kernel, st.find((x) => x.inputs.includes(pool.outputs[0]))!.params.bits]).to.deep.equal([[2, 2], 2]);
  });

  // The trained Fashion-MNIST fixture with its real calibration images, under a 2×2 block-ReLU
  // plan (residual additions and block sums folded into the helper's selections), at 14
  // fractional bits: auto takes Z_2^40 there, and the program runs as the interpreter computes.
  it('the trained fixture under a block-ReLU plan: auto takes Z_2^40 from its calibration images; the secure run as the fixed-point interpreter, counters equal cost.json', async () => {
    const fixture = fileURLToPath(new URL('../../../../examples/fashion-mnist/', import.meta.url));
    const model = join(fixture, 'fmnist-resnet.onnx');
    const passes = 'canonicalize,maxpool-to-relu-tree';
    const frac = 14;
    runPlanCommand(model, { uniform: '2x2', passes, inputShape: '1,1,28,28', output: file('fm-plan.json'), quiet: true } as Parameters<typeof runPlanCommand>[1]);
    const summary = runCompile(model, { output: file('fm40'), inputShape: '1,1,28,28', passes, plan: file('fm-plan.json'), clientOffline: true, calib: join(fixture, 'calib-images.npy'), fracBits: frac, quiet: true });
    expect(summary.notes.join('\n')).to.match(/note: ring Z_2\^40: exact truncation holds while \|v\| < 2\^\(38−2f\) = 1\.02e\+3; calibration's largest/);
    expect([summary.cost.ring, programOf(file('fm40'), 1).ring]).to.deep.equal([40, 40]);
    expect(programOf(file('fm40')).steps.some((st) => st.kind === 'helperSelect' && Array.isArray(st.params.blocks) && st.inputs.length === 2)).to.equal(true);
    const q = runPipeline(loadGraphFile(model, { inputShape: [1, 1, 28, 28] }), `${passes},insert-block-relu{plan=${file('fm-plan.json')}},quantize{frac-bits=${frac}}`).graph;
    const images = loadCalibration({ calib: join(fixture, 'test-images.npy') }, [1, 28, 28]);
    const inputs = [0, 1, 2].map((i) => images.data.slice(i * 784, (i + 1) * 784));
    const outputs = await runCheckedRuns(file('fm40'), inputs);
    inputs.forEach((x, i) => {
      const [name, secure] = outputs[i];
      const fixed = runGraphFixed(q, { [q.inputs[0]]: tensorOf('float32', [1, 1, 28, 28], x) }, { frac }).outputs.get(name)!.data;
      // a block's sign may differ from the interpreter's within the truncation's carry: the logits stay close
      expect(maxAbsDiff(secure, fixed), `image ${i}`).to.be.at.most(64 * 2 ** -frac);
    });
  });
});
