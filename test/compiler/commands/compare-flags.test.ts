// `mpcc compile --compare-bits K|auto [--drop-lsb L] [--max-sign-error R] [--calib DATA]`: bad
// flags and plans are coded errors with nothing written; the windows land in OUT/plan.json and
// compile again from it without data (the same windows, the same cost); `mpcc cost` reports
// compare bits and bytes per DReLU; `mpcc run --verify-against-plaintext` reports measured
// sign errors beside the predicted ones.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CompileOptions, runCompile } from '../../../compiler/commands/compile.js';
import { runCost } from '../../../compiler/commands/cost.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { GraphBuilder } from '../../../ir/builder.js';
import { saveMir } from '../../../ir/weights.js';
import { loadGraphFile } from '../../../compiler/load-model.js';
import { runPipeline } from '../../../passes/index.js';
import { type Plan, modelFileSha256, planJson, readPlan } from '../../../passes/planning/plan-file.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { randomTensor, rng } from '../../passes/util.js';

function saveModel(dir: string): string {
  const rand = rng(12);
  const b = new GraphBuilder('m');
  const x = b.input('x', { dtype: 'float32', shape: [1, 2, 6, 6] });
  const c = b.op('Conv', [x, b.constant('w', randomTensor(rand, [4, 2, 3, 3], -0.5, 0.5)), b.constant('b', randomTensor(rand, [4], -0.1, 0.1))], { pads: [1, 1, 1, 1] }, 'conv');
  const r = b.op('Relu', [c], {}, 'relu');
  const m = b.op('MaxPool', [r], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  const c2 = b.op('Conv', [m, b.constant('w2', randomTensor(rand, [3, 4, 1, 1], -0.5, 0.5))], {}, 'conv2');
  b.node('Relu', [c2], {}, { name: 'relu2', outputs: ['y'] });
  b.output('y');
  return saveMir(b.build(), join(dir, 'm.mir')).mir;
}

describe('mpcc compile --compare-bits', function () {
  this.timeout(60000);
  let dir = '', model = '', calib = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-compare-flags-'));
    model = saveModel(dir);
    const rand = rng(4);
    calib = join(dir, 'calib.npy');
    writeFileSync(calib, encodeNpy([32, 2, 6, 6], Float32Array.from({ length: 32 * 72 }, () => 2 * rand() - 1)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let count = 0;
  function compileError(options: Partial<CompileOptions>, modelFile = model): MpccError {
    const out = join(dir, `bad-${count++}`);
    try {
      runCompile(modelFile, { output: out, ...options });
    } catch (e) {
      expect(e).to.be.instanceOf(MpccError);
      expect(existsSync(out), 'nothing written').to.equal(false);
      return e as MpccError;
    }
    throw new Error(`compiled with ${JSON.stringify(options)}`);
  }

  it('refuses bad windows with coded errors and writes nothing', () => {
    expect(compileError({ compareBits: 'auto' }).format()).to.match(/^error MPCC4070: --compare-bits auto chooses windows from calibration data: give --calib/);
    for (const k of ['1', '65', '0', 'x', '16.5', '']) expect(compileError({ compareBits: k }).code, `K=${k}`).to.equal('MPCC4071');
    expect(compileError({ compareBits: '16', dropLsb: '16' }).format()).to.equal("error MPCC4072: --drop-lsb '16' is invalid: it must be below --compare-bits (16): a window keeps at least one bit besides the dropped ones");
    expect(compileError({ compareBits: '16', dropLsb: '20' }).code).to.equal('MPCC4072');
    expect(compileError({ compareBits: '60', dropLsb: '5' }).code).to.equal('MPCC4072');
    expect(compileError({ compareBits: '16', dropLsb: '-1' }).code).to.equal('MPCC4072');
    expect(compileError({ compareBits: 'auto', dropLsb: '3', calib }).code).to.equal('MPCC4072');
    for (const r of ['0', '1', 'abc', '-1e-4', '']) expect(compileError({ compareBits: 'auto', maxSignError: r, calib }).code, `R=${r}`).to.equal('MPCC4074');
    expect(compileError({ dropLsb: '3' }).format()).to.equal("error MPCC4075: '--drop-lsb' needs --compare-bits: it sets the low end of the window --compare-bits K gives");
    expect(compileError({ maxSignError: '1e-3' }).code).to.equal('MPCC4075');
    expect(compileError({ compareBits: '16', maxSignError: '1e-3' }).code).to.equal('MPCC4075');
    // a model already past the float stage: its comparisons were set when it was quantized
    const quantized = join(dir, 'q.mir');
    saveMir(runPipeline(loadGraphFile(model), 'quantize').graph, quantized);
    expect(compileError({ compareBits: '16' }, quantized).format()).to.match(/--compare-bits.*the model is already quantized/);
  });

  it('refuses a plan whose windows do not fit its layers (MPCC4073), nothing written', () => {
    const sha = modelFileSha256(model);
    const plan = (windows: { name: string; op: string; lo: number; k: number }[]): string => {
      const p: Plan = { format: 'mpcc-plan', version: 1, model: { sha256: sha, reluLayers: ['relu', 'relu2'] }, complete: false, source: {}, drelus: { baseline: 0, planned: 0 }, layers: [],
        compare: { mode: 'fixed', fracBits: 12, maxSignError: null, windows: windows.map((w) => ({ ...w, predictedSignError: null, maxAbs: null, samples: 0 })) } };
      const file = join(dir, `plan-${count++}.json`);
      writeFileSync(file, planJson(p));
      return file;
    };
    expect(compileError({ plan: plan([{ name: 'relu3', op: 'Relu', lo: 0, k: 16 }]) }).format()).to.match(/^error MPCC4073: plan '.*': the window of 'relu3' does not fit the model: the model has no node of this name$/);
    expect(compileError({ plan: plan([{ name: 'pool', op: 'Relu', lo: 0, k: 16 }]) }).code).to.equal('MPCC4073');
    expect(compileError({ plan: plan([{ name: 'conv', op: 'Relu', lo: 0, k: 16 }]) }).code).to.equal('MPCC4073');
  });

  it('writes the windows into OUT/plan.json; compiling from that plan needs no data and gives the same cost', () => {
    const out = join(dir, 'auto');
    const { cost, notes } = runCompile(model, { output: out, compareBits: 'auto', calib, maxSignError: '1e-3' });
    const plan = readPlan(join(out, 'plan.json'));
    // the compile reports per comparison its window and predicted rate
    const note = notes.find((n) => n.startsWith('comparison windows (auto, --max-sign-error 0.001;'))!;
    for (const w of plan.compare!.windows) expect(note).to.include(`  ${w.name} (${w.op}): bits [${w.lo}, ${w.lo + w.k}), k ${w.k}; predicted sign errors ${w.predictedSignError!.toExponential(2)}`);
    expect(plan.compare!.mode).to.equal('auto');
    expect(plan.compare!.windows.map((w) => [w.name, w.op])).to.deep.equal([['relu', 'Relu'], ['pool', 'MaxPool'], ['relu2', 'Relu']]);
    for (const w of plan.compare!.windows) {
      expect(w.k).to.be.within(2, 64 - w.lo);
      expect(w.samples).to.be.above(0);
      expect(w.predictedSignError!).to.be.at.most(1e-3);
    }
    const again = join(dir, 'again');
    // the first compile, without a plan, is classic; with --plan compile's default is auto
    const second = runCompile(model, { output: again, plan: join(out, 'plan.json'), clientOffline: 'off' });
    expect(second.cost).to.deep.equal(cost);
    expect(readFileSync(join(again, 'plan.json'), 'utf8')).to.equal(readFileSync(join(out, 'plan.json'), 'utf8'));
    expect(readFileSync(join(again, 'party1', 'model.mir'), 'utf8')).to.equal(readFileSync(join(out, 'party1', 'model.mir'), 'utf8'));
  });

  it('a plan with block-ReLUs: a note counts its patches of more than one element and the misread ones the windows predict', () => {
    const planFile = join(dir, 'plan-2x2.json');
    runPlanCommand(model, { uniform: '2x2', output: planFile });
    const { notes } = runCompile(model, { output: join(dir, 'blocks'), plan: planFile, compareBits: 'auto', calib, clientOffline: 'off' });
    const plan = readPlan(join(dir, 'blocks', 'plan.json'));
    const rate = (name: string) => plan.compare!.windows.find((w) => w.name === name)!.predictedSignError!;
    // by hand: relu, 4 channels of 6×6 in 2×2 tiles, 9 each; relu2, 3 channels of 3×3, 4 each
    const predicted = 36 * rate('relu') + 12 * rate('relu2');
    const note = notes.find((n) => n.includes('block-ReLU patches'));
    expect(note).to.include('note: 48 block-ReLU patches of more than one element per inference; ').and.include(`the windows predict ${predicted.toPrecision(2)} of them misread per inference`).and.include('under 48·R');
    // single-element blocks only: no such patch, no note
    runPlanCommand(model, { uniform: '1x1', output: join(dir, 'plan-1x1.json') });
    const ones = runCompile(model, { output: join(dir, 'ones'), plan: join(dir, 'plan-1x1.json'), compareBits: 'auto', calib, clientOffline: 'off' });
    expect(ones.notes.join('\n')).to.not.contain('block-ReLU patches');
  });

  it('mpcc cost reports compare bits, bytes per DReLU and the saving against 64 bits', () => {
    const out = join(dir, 'fixed16');
    runCompile(model, { output: out, compareBits: '16', dropLsb: '5' });
    const { report, text } = runCost(out, { json: true });
    const json = JSON.parse(text);
    for (const l of json.layers.filter((x: { drelus: number }) => x.drelus > 0)) {
      expect(l.compareBits).to.equal(16);
      // the comparison's own flows at k = 16, summed by hand from the cost table
      const flows = PROTOCOL_COSTS.compare({ n: l.drelus, k: 16 }).flows;
      expect(l.bytesPerDrelu).to.equal(flows.reduce((t, f) => t + f.bytes, 0) / l.drelus);
    }
    expect(json.drelus).to.equal(report.layers.reduce((t, l) => t + l.drelus, 0));
    expect(json.bytesPerDrelu).to.equal(report.bytesByKind.comparisons / report.drelus);
    expect(json.bytesPerDrelu).to.be.below(60); // 16-bit comparisons, against ~170 B at 64 bits
    const table = runCost(out, {}).text;
    expect(table).to.match(/cmp bits/).and.match(/16 \(lo 5\)/).and.match(/comparisons: [\d.]+ B per DReLU averaged \([\d.]+ B on 64-bit windows: [\d.]+ MB saved, [\d.]+% of the comparison bytes\)/);
    const full = runCost(join(dir, 'auto'), { json: true }).report;
    expect(full.compareBytes64 / full.drelus).to.be.above(150);
  });

  it('mpcc run --verify-against-plaintext reports measured sign errors beside the predicted ones', async () => {
    const out = join(dir, 'auto');
    const input = join(dir, 'x.npy');
    const rand = rng(6);
    writeFileSync(input, encodeNpy([1, 2, 6, 6], Float32Array.from({ length: 72 }, () => 2 * rand() - 1)));
    const { check } = await runSecure(out, { input, transport: 'inproc', verifyAgainstPlaintext: model });
    expect(check!.layers.map((l) => l.name)).to.deep.equal(['pool', 'relu', 'relu2']); // as lower runs them: the pool first
    const plan = readPlan(join(out, 'plan.json'));
    for (const l of check!.layers) {
      expect(l.compared).to.be.above(0);
      expect(l.rate).to.equal(l.errors / l.compared);
      if (l.op === 'MaxPool') expect(l.rateVsFloat).to.equal(null);
      else expect(l.rateVsFloat).to.be.within(0, 1);
      expect(l.predicted).to.equal(plan.compare!.windows.find((w) => w.name === l.name)!.predictedSignError);
      expect(l.predictedOverflow).to.equal(plan.compare!.windows.find((w) => w.name === l.name)!.predictedOverflow);
      expect(l.overflows).to.be.within(0, l.errors);
      expect([l.lo, l.k]).to.deep.equal([plan.compare!.windows.find((w) => w.name === l.name)!.lo, plan.compare!.windows.find((w) => w.name === l.name)!.k]);
    }
    expect(check!.maxDiffSimulated).to.be.below(0.01);
    expect(check!.maxDiffFloat).to.be.below(0.05);
    expect(check!.agrees).to.equal(true);
  });
});
