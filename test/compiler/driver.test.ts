// The compile driver (compiler/driver.ts): the stage of a float ONNX model and of quantized,
// lowered and scheduled .mir files made by `mpcc ir --stage`, the passes it chooses for each
// and target stage, the --passes rules, and that compile, cost and infer --fixed run the same
// pipeline (read from their progress lines) and reach the same graph from any stage.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { runCost } from '../../compiler/commands/cost.js';
import { runInfer } from '../../compiler/commands/infer.js';
import { runIr } from '../../compiler/commands/ir.js';
import { driveModel, formatPlan, planPasses } from '../../compiler/driver.js';
import { loadGraphFile } from '../../compiler/load-model.js';
import { encodeNpy } from '../../compiler/npy.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import { printGraph } from '../../ir/print.js';
import { type Stage, stageOf } from '../../ir/stage.js';
import { errorOf } from '../passes/util.js';

describe('compiler/driver', function () {
  this.timeout(60000);
  let dir = '';
  const file = (name: string) => join(dir, name);
  const silent = { stdout: () => undefined, stderr: () => undefined };
  /** The pass steps a command ran, read from its progress lines ("pass 3/7 fold-batchnorm: 1 ms"). */
  const passLines = (lines: string[]) => lines.flatMap((l) => /^pass \d+\/\d+ (\S+): \d+ ms$/.exec(l)?.[1] ?? []);
  /** Runs `fn` with a progress sink and returns the passes it reported. */
  const passesOf = (fn: (sink: (line: string) => void) => unknown) => {
    const lines: string[] = [];
    fn((line) => lines.push(line));
    return passLines(lines);
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-driver-'));
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    writeFileSync(file('x.npy'), encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.sin(i / 9))));
    // One .mir per stage, the way a user makes them.
    for (const stage of ['quantized', 'lowered', 'scheduled'] as const) runIr(file('tiny.onnx'), { stage, output: file(`${stage}.mir`) }, silent);
    runIr(file('tiny.onnx'), { output: file('float.mir') }, silent);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const MODELS: [string, Stage, string, string][] = [
    // model, its stage, the passes to `scheduled` (compile, cost), to `quantized` (infer --fixed)
    ['tiny.onnx', 'float', 'canonicalize,quantize,lower,schedule-rounds', 'canonicalize,quantize'],
    ['float.mir', 'float', 'canonicalize,quantize,lower,schedule-rounds', 'canonicalize,quantize'],
    ['quantized.mir', 'quantized', 'lower,schedule-rounds', ''],
    ['lowered.mir', 'lowered', 'schedule-rounds', ''],
    ['scheduled.mir', 'scheduled', '', ''],
  ];

  for (const [model, stage, toScheduled, toQuantized] of MODELS) {
    it(`${model}: stage ${stage}; to scheduled: '${toScheduled}'; to quantized: '${toQuantized}'`, () => {
      const g = loadGraphFile(file(model));
      expect(stageOf(g)).to.equal(stage);
      expect(formatPlan(planPasses(g, { target: 'scheduled' }))).to.equal(toScheduled);
      expect(formatPlan(planPasses(g, { target: 'quantized' }))).to.equal(toQuantized);
      expect(planPasses(g, { target: 'scheduled' }).to).to.equal('scheduled');
    });
  }

  it('reaches the same scheduled graph from every stage', () => {
    const want = printGraph(driveModel(file('tiny.onnx'), { target: 'scheduled' }).graph);
    expect(want).to.equal(printGraph(loadGraphFile(file('scheduled.mir'))));
    for (const [model] of MODELS) expect(printGraph(driveModel(file(model), { target: 'scheduled' }).graph), model).to.equal(want);
  });

  it('without a target goes as far as --passes names (mpcc ir)', () => {
    const g = loadGraphFile(file('tiny.onnx'));
    expect(formatPlan(planPasses(g, {}))).to.equal('canonicalize');
    expect(formatPlan(planPasses(g, { passes: '' }))).to.equal('');
    expect(formatPlan(planPasses(g, { passes: 'canonicalize,lower' }))).to.equal('canonicalize,quantize,lower');
    expect(formatPlan(planPasses(loadGraphFile(file('quantized.mir')), { passes: 'lower' }))).to.equal('lower');
  });

  it('--passes: float-level passes first, the tail in order, nothing past the target, a model past float takes none', () => {
    const g = loadGraphFile(file('tiny.onnx'));
    const q = loadGraphFile(file('quantized.mir'));
    expect(formatPlan(planPasses(g, { passes: 'relu6-to-relu,quantize{frac-bits=9}', target: 'scheduled' }))).to.equal('relu6-to-relu,quantize{frac-bits=9},lower,schedule-rounds');
    const cases: [() => unknown, RegExp][] = [
      [() => planPasses(g, { passes: 'quantize,relu6-to-relu' }), /float-level pass 'relu6-to-relu' must come before quantize/],
      [() => planPasses(g, { passes: 'lower,quantize' }), /'quantize' must come before lower/],
      [() => planPasses(g, { passes: 'canonicalize,quantize,lower', target: 'quantized' }), /'lower' goes past the quantized stage/],
      [() => planPasses(q, { passes: 'canonicalize,maxpool-to-avgpool', target: 'scheduled' }), /already quantized; float-level passes \(drop-identity, .*maxpool-to-avgpool\) run only on a float model/],
    ];
    for (const [fn, message] of cases) {
      const e = errorOf(fn);
      expect(e.code).to.equal('MPCC0004');
      expect(e.message).to.include('for flag --passes').and.match(message);
    }
    // The tail passes a model already has are skipped (it "has" them), the default canonicalize too.
    expect(formatPlan(planPasses(q, { passes: 'quantize,lower', target: 'scheduled' }))).to.equal('lower,schedule-rounds');
  });

  it('--frac-bits: sets quantize, must agree with quantize{frac-bits} and with a quantized model\'s own', () => {
    const g = loadGraphFile(file('tiny.onnx'));
    expect(formatPlan(planPasses(g, { fracBits: 10, target: 'scheduled' }))).to.equal('canonicalize,quantize{frac-bits=10},lower,schedule-rounds');
    expect(formatPlan(planPasses(g, { passes: 'quantize{frac-bits=10}', fracBits: 10, target: 'scheduled' }))).to.equal('quantize{frac-bits=10},lower,schedule-rounds');
    const clash = errorOf(() => planPasses(g, { passes: 'quantize{frac-bits=9}', fracBits: 10 }));
    expect(clash.message).to.equal("invalid value '10' for flag --frac-bits: --passes sets quantize{frac-bits=9}");
    for (const model of ['quantized.mir', 'lowered.mir']) {
      const e = errorOf(() => planPasses(loadGraphFile(file(model)), { fracBits: 10, target: 'scheduled' }));
      // (quantized by the driver with the scale it chose for tiny-cnn: 16 bits)
      expect(e.message).to.equal("invalid value '10' for flag --frac-bits: the model is quantized with 16 fractional bits");
      expect(planPasses(loadGraphFile(file(model)), { fracBits: 16, target: 'scheduled' }).steps.length).to.be.above(0);
    }
  });

  it('compile, cost and infer --fixed run the same pipeline (infer stops at quantize) and agree on the cost', () => {
    for (const [passes, fracBits] of [[undefined, undefined], ['canonicalize,maxpool-to-avgpool', '10']] as const) {
      const compiled = passesOf((sink) => runCompile(file('tiny.onnx'), { output: file('out'), passes, fracBits }, sink));
      const costed = passesOf((sink) => runCost(file('tiny.onnx'), { passes, fracBits }, sink));
      const inferred = passesOf((sink) => runInfer(file('tiny.onnx'), { input: file('x.npy'), fixed: true, passes, fracBits }, sink));
      // without --frac-bits the driver chooses the scale (16 bits for tiny-cnn) and runs quantize with it
      const quantize = `quantize{frac-bits=${fracBits ?? 16}}`;
      const float = ['drop-identity', 'fold-constants', 'fold-batchnorm', 'remove-dead-nodes', ...(passes ? ['maxpool-to-avgpool'] : [])];
      expect(compiled).to.deep.equal([...float, quantize, 'lower', 'schedule-rounds']);
      expect(costed).to.deep.equal(compiled);
      expect(inferred).to.deep.equal([...float, quantize]);
      // `mpcc cost` on the model and on the compiled folder: the same report as cost.json.
      const written = JSON.parse(readFileSync(file('out/cost.json'), 'utf8')) as unknown;
      expect(runCost(file('tiny.onnx'), { passes, fracBits }).report).to.deep.equal(written);
      expect(runCost(file('out'), {}).report).to.deep.equal(written);
    }
    // From a quantized .mir: lower and schedule-rounds for compile and cost, nothing for infer.
    expect(passesOf((sink) => runCompile(file('quantized.mir'), { output: file('outq') }, sink))).to.deep.equal(['lower', 'schedule-rounds']);
    expect(passesOf((sink) => runCost(file('quantized.mir'), {}, sink))).to.deep.equal(['lower', 'schedule-rounds']);
    expect(passesOf((sink) => runInfer(file('quantized.mir'), { input: file('x.npy'), fixed: true }, sink))).to.deep.equal([]);
  });

  it('infer refuses a lowered model (the interpreters run float or quantized ones)', () => {
    const e = errorOf(() => runInfer(file('lowered.mir'), { input: file('x.npy'), fixed: true }));
    expect(e.code).to.equal('MPCC3004');
    expect(e.message).to.include('the model is already lowered');
  });

  it('writes the IR after every pass with --dump-ir', () => {
    const dump = file('dump');
    driveModel(file('quantized.mir'), { target: 'scheduled', dumpIr: dump });
    expect(readFileSync(join(dump, '02-schedule-rounds.mir'), 'utf8')).to.contain('SecureReveal');
  });
});
