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
import { saveMir } from '../../../ir/weights.js';
import { runPipeline } from '../../../passes/index.js';
import type { Program } from '../../../runtime/program/program.js';
import { maxPoolGraph } from '../../passes/secure/secure-graphs.js';
import { errorOf, rng } from '../../passes/util.js';
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
      expect(note, calib).to.match(new RegExp(`^note: ring Z_2\\^${want}: exact truncation holds while \\|v\\| < 2\\^\\(${want - 2}−2f\\) = [0-9.e+]+; calibration's largest ([0-9.e+]+) at '.*' over ${SAMPLES} samples \\(margin [0-9.]+ bits\\)(; with --frac-bits (\\d+) the same margin would fit about Z_2\\^(\\d+))?$`));
      // the hint: the most fractional bits (down to 12) at which brute force fits a smaller ring
      const fewer = [...Array(Math.max(0, frac - 12)).keys()].map((i) => frac - 1 - i).find((f) => ringFor(largest, f) < want);
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
