// `mpcc plan --budget/--budget-drelus/--sweep` and `mpcc compile --budget` (the knapsack planner
// behind compiler/planning/budget-plan.ts): on the trained Fashion-MNIST fixture, at 10% and 20%
// of the DReLUs, the knapsack plan's top-1 on the 500 test images (mpcc eval) is higher than the
// uniform plan's (`--uniform-drelus`) at an equal or larger DReLU count. Kept fast: exact mode
// through onnxruntime on 16 calibration images with the reduced candidates
// `square:4,whole,identity` (6 per layer). Then the sweep (one measurement, one file per budget,
// the cache reused by a second run), compile --budget (OUT/plan.json), and every bad input as a
// coded error naming the flag or file, with nothing written.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCompileWithBudget } from '../../../compiler/commands/compile.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { runBudgetPlanCommand, runPlanCommand } from '../../../compiler/commands/plan.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { type Plan, parsePlan } from '../../../passes/planning/plan-file.js';
import { rejectionOf } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';
import { GraphBuilder } from '../../../ir/builder.js';
import { Tensor } from '../../../ir/tensor.js';
import { saveMir } from '../../../ir/weights.js';

const FOLDER = 'examples/fashion-mnist';
const MODEL = `${FOLDER}/fmnist-resnet.onnx`;
const CALIB = `${FOLDER}/calib-images.npy`;
const FIXTURE = { inputShape: '1,1,28,28', calib: CALIB, calibSamples: 16, blockSizes: 'square:4,whole,identity', mode: 'exact' } as const;

/** Top-1 of the fixture's 500 test images under `plan`. */
async function top1(planFile: string): Promise<number> {
  return (await runEval(MODEL, { data: `${FOLDER}/test-images.npy`, labels: `${FOLDER}/test-labels.npy`, plan: planFile, inputShape: '1,1,28,28' })).report.top1!;
}

describe('mpcc plan --budget and compile --budget (the knapsack planner)', function () {
  this.timeout(180000);
  const temp = suiteTempDir('mpcc-plan-budget-');

  it('beats the uniform plan at 10% and 20% of the DReLUs on the trained fixture (top-1 on 500 test images, no more DReLUs)', async () => {
    for (const ratio of [0.1, 0.2]) {
      const uniformFile = join(temp(), `uniform-${ratio}.json`);
      const uniform = runPlanCommand(MODEL, { uniformDrelus: ratio, inputShape: '1,1,28,28', output: uniformFile }).plan;
      const file = join(temp(), `knapsack-${ratio}.json`);
      const { plans } = await runBudgetPlanCommand(MODEL, { ...FIXTURE, budgetDrelus: uniform.drelus.planned, cacheDir: join(temp(), 'cache'), output: file });
      const plan = parsePlan(readFileSync(file, 'utf8'), file);
      expect(plan.drelus.planned).to.be.at.most(uniform.drelus.planned);
      expect(plans[0].plan.drelus).to.deep.equal(plan.drelus);
      const [knapsackTop1, uniformTop1] = [await top1(file), await top1(uniformFile)];
      expect(knapsackTop1, `${ratio}: knapsack ${knapsackTop1} vs uniform ${uniformTop1}`).to.be.above(uniformTop1 + 0.05);
      expect(plan.source).to.include({ method: 'knapsack', mode: 'exact', samples: 16, runner: 'onnxruntime', blockSizes: 'square:4,whole,identity' });
      expect(plan.source.calib).to.include({ kind: 'npy', path: CALIB, samples: 16 });
      expect(plan.source.predictedDistortion).to.be.a('number').and.above(0);
      expect(Object.keys(plan.source.seconds as object)).to.include.members(['calibration', 'measure', 'solve', 'check']).and.not.include('refine'); // no --refine here
    }
  });

  it('--mode fast (backward-pass estimate) also beats the uniform plan at 10% of the DReLUs; a second run reads its cache', async () => {
    const uniformFile = join(temp(), 'uniform-fast-0.1.json');
    const uniform = runPlanCommand(MODEL, { uniformDrelus: 0.1, inputShape: '1,1,28,28', output: uniformFile }).plan;
    const file = join(temp(), 'fast-0.1.json');
    const options = { ...FIXTURE, mode: 'fast', budgetDrelus: uniform.drelus.planned, cacheDir: join(temp(), 'fast-cache'), output: file };
    await runBudgetPlanCommand(MODEL, options);
    const plan = parsePlan(readFileSync(file, 'utf8'), file);
    expect(plan.source).to.include({ method: 'knapsack', mode: 'fast', samples: 16 });
    expect(plan.drelus.planned).to.be.at.most(uniform.drelus.planned);
    const [fastTop1, uniformTop1] = [await top1(file), await top1(uniformFile)];
    expect(fastTop1, `fast ${fastTop1} vs uniform ${uniformTop1}`).to.be.above(uniformTop1 + 0.05);
    const lines: string[] = [];
    await runBudgetPlanCommand(MODEL, options, (l) => lines.push(l));
    expect(lines.some((l) => l.includes('fast: 5 layers from the cache'))).to.equal(true);
    expect(parsePlan(readFileSync(file, 'utf8'), file).layers).to.deep.equal(plan.layers);
  });

  it('sweeps budgets from one measurement into one file per budget; a second sweep reads the cache', async () => {
    const out = join(temp(), 'sweep');
    const lines: string[] = [];
    const options = { ...FIXTURE, sweep: '0.05,0.2', cacheDir: join(temp(), 'sweep-cache'), output: out };
    const first = await runBudgetPlanCommand(MODEL, options, (l) => lines.push(l));
    expect(readdirSync(out).sort()).to.deep.equal(['budget-0.05.json', 'budget-0.2.json']);
    expect(first.plans.map((p) => p.plan.drelus.planned)).to.satisfy((d: number[]) => d[0] <= 1568 && d[1] <= 6272 && d[0] < d[1]);
    expect(first.text).to.contain('predicted distortion').and.contain('time: calibration');
    lines.length = 0;
    const second = await runBudgetPlanCommand(MODEL, options, (l) => lines.push(l));
    expect(lines.some((l) => l.includes('5 of 5 layers from the cache'))).to.equal(true);
    expect(second.plans.map((p) => p.plan.layers)).to.deep.equal(first.plans.map((p) => p.plan.layers));
  });

  it('compile --budget plans, then compiles; OUT/plan.json is the plan', async () => {
    const model = join(temp(), 'tiny-cnn.onnx');
    writeFileSync(model, buildZooModel('tiny-cnn'));
    const calib = join(temp(), 'tiny-calib.npy');
    writeFileSync(calib, encodeNpy([4, 3, 16, 16], Float32Array.from({ length: 4 * 768 }, (_, i) => Math.sin(0.31 * i))));
    const out = join(temp(), 'out');
    const summary = await runCompileWithBudget(model, { budget: 0.25, calib, blockSizes: 'square:4,identity', mode: 'exact', runner: 'interpreter', cacheDir: join(temp(), 'c2'), output: out });
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as Plan;
    expect(plan.source).to.include({ method: 'knapsack', tool: 'mpcc compile', runner: 'interpreter' });
    expect(plan.drelus.planned).to.be.at.most(Math.floor(0.25 * plan.drelus.baseline));
    expect(summary.cost.rounds).to.be.above(0);
    expect(readdirSync(out)).to.include.members(['party0', 'party1', 'party2', 'manifest.json', 'cost.json']);
    // mpcc plan on the same model, samples and flags reads what compile --budget measured
    const lines: string[] = [];
    const again = await runBudgetPlanCommand(model, { budget: 0.25, calib, blockSizes: 'square:4,identity', mode: 'exact', runner: 'interpreter', cacheDir: join(temp(), 'c2'), output: join(temp(), 'again.json') }, (l) => lines.push(l));
    expect(lines.some((l) => /(\d+) of \1 layers from the cache/.test(l)), lines.join('\n')).to.equal(true);
    expect(again.plans[0].plan.layers).to.deep.equal(plan.layers);
  });

  /** `mpcc plan MODEL --budget 0.1` on `samples` calibration images in `mode`, stopped by SIGINT
   * once its stderr matches `when`: its exit code, stderr, the ms from the signal to the exit,
   * and whether the plan file exists. */
  async function stoppedPlan(name: string, mode: string, samples: number, when: RegExp) {
    const out = join(temp(), `${name}.json`);
    const mpcc = fileURLToPath(new URL('../../../../bin/mpcc.js', import.meta.url));
    const child = spawn(process.execPath, [mpcc, 'plan', MODEL, '--input-shape', '1,1,28,28', '--budget', '0.1', '--calib', CALIB, '--calib-samples', String(samples), '--mode', mode, '--cache-dir', join(temp(), `${name}-cache`), '-o', out, '--progress'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    while (!when.test(err)) await new Promise((r) => setTimeout(r, 20));
    const sent = Date.now();
    child.kill('SIGINT');
    const code = await exit;
    return { code, err, ms: Date.now() - sent, written: existsSync(out) };
  }

  it('SIGINT while measuring: MPCC0008 on stderr, exit 130, no plan written (it exited silently)', async () => {
    const r = await stoppedPlan('stopped', 'exact', 64, /calibration: \d+ samples/);
    expect(r.code).to.equal(130);
    expect(r.err).to.match(/mpcc: error MPCC0008: stopped \(SIGINT\): the work in progress is abandoned/);
    expect(r.written).to.equal(false);
  });

  it('SIGINT during a fast-mode estimate (synchronous work per sample) stops within a sample, not at its end', async () => {
    // 500 samples: about a minute of estimate on this machine
    const r = await stoppedPlan('stopped-fast', 'fast', 500, /fast: backward [1-9]\d*\/500 samples/);
    expect(r.code).to.equal(130);
    expect(r.ms, 'stopped within a few samples of the 500').to.be.below(10000);
    expect(r.err).to.match(/MPCC0008: stopped \(SIGINT\)/);
    expect(r.err).to.not.match(/fast: \d+ layers estimated/);
    expect(r.written).to.equal(false);
  });

  describe('bad input: a coded error naming the flag or file, nothing written', () => {
    const cases: [string, Record<string, unknown>, string, string][] = [
      ['a budget of 0', { budget: 0 }, 'MPCC4040', '--budget'],
      ['a budget above 1', { budget: 1.5 }, 'MPCC4040', '--budget'],
      ['more DReLUs than the model has', { budgetDrelus: 31361 }, 'MPCC4040', '31,360 DReLUs'],
      ['a bad sweep list', { sweep: '0.1,x' }, 'MPCC4040', '--sweep'],
      ['a sweep listing a budget twice', { sweep: '0.1,0.1' }, 'MPCC4040', 'twice'],
      ['bad --block-sizes', { budget: 0.1, blockSizes: 'square:4,4y4' }, 'MPCC4044', '4y4'],
      ['no --calib', { budget: 0.1, calib: undefined }, 'MPCC0004', '--calib'],
      ['--budget with --uniform', { budget: 0.1, uniform: '4x4' }, 'MPCC0004', '--uniform'],
      ['a negative --refine', { budget: 0.1, refine: '-1' }, 'MPCC0004', '--refine'],
      ['an unknown --runner', { budget: 0.1, runner: 'gpu' }, 'MPCC0004', '--runner'],
      ['an unknown --mode', { budget: 0.1, mode: 'slow' }, 'MPCC0004', '--mode'],
    ];
    for (const [what, flags, code, named] of cases) {
      it(what, async () => {
        const out = join(temp(), `bad-${code}-${what.replace(/\W+/g, '-')}.json`);
        const e = await rejectionOf(() => runBudgetPlanCommand(MODEL, { ...FIXTURE, cacheDir: join(temp(), 'cache'), output: out, ...flags }));
        expect(e.code).to.equal(code);
        expect(e.message).to.contain(named);
        expect(existsSync(out)).to.equal(false);
      });
    }

    it('calibration images of another shape (MPCC0010 naming the file)', async () => {
      const calib = join(temp(), 'rgb.npy');
      writeFileSync(calib, encodeNpy([2, 3, 28, 28], new Float32Array(2 * 3 * 784)));
      const out = join(temp(), 'rgb-plan.json');
      const e = await rejectionOf(() => runBudgetPlanCommand(MODEL, { ...FIXTURE, calib, budget: 0.1, output: out }));
      expect(e.code).to.equal('MPCC0010');
      expect(e.message).to.contain(calib).and.contain('2,3,28,28');
      expect(existsSync(out)).to.equal(false);
    });

    it('a ReLU6 network (no ReLU layer): MPCC4047 naming its Clips and relu6-to-relu, nothing written; with the pass, a plan', async () => {
      const b = new GraphBuilder('relu6');
      const x = b.input('x', { dtype: 'float32', shape: [1, 1, 28, 28] });
      const c = b.op('Conv', [x, b.constant('w', new Tensor('float32', [4, 1, 3, 3], Float32Array.from({ length: 36 }, (_, i) => Math.sin(i))))], { pads: [1, 1, 1, 1] }, 'conv');
      const r = b.op('Clip', [c], { min: 0, max: 6 }, 'relu6');
      b.node('Clip', [b.op('Conv', [r, b.constant('w2', new Tensor('float32', [2, 4, 1, 1], Float32Array.from([0.5, -0.2, 0.1, 0.3, -0.4, 0.2, 0.6, -0.1])))], {}, 'conv2')], { min: 0, max: 6 }, { name: 'relu6b', outputs: ['y'] });
      b.output('y');
      const model = saveMir(b.build(), join(temp(), 'relu6.mir')).mir;
      const cases: [string, () => Promise<unknown>, string][] = [
        ['plan --budget', () => runBudgetPlanCommand(model, { ...FIXTURE, budget: 0.1, output: join(temp(), 'relu6-plan.json') }), join(temp(), 'relu6-plan.json')],
        ['compile --budget', () => runCompileWithBudget(model, { ...FIXTURE, budget: 0.1, output: join(temp(), 'relu6-out') }), join(temp(), 'relu6-out')],
        ['plan --uniform', async () => runPlanCommand(model, { uniform: '2x2', output: join(temp(), 'relu6-uniform.json') }), join(temp(), 'relu6-uniform.json')],
      ];
      for (const [what, fn, out] of cases) {
        const e = await rejectionOf(fn);
        expect(e.code, what).to.equal('MPCC4047');
        expect(e.message, what).to.contain("has no ReLU layer").and.contain('its 2 Clip layers (ReLU6)').and.contain('--passes canonicalize,relu6-to-relu');
        expect(existsSync(out), what).to.equal(false);
      }
      const { plan } = runPlanCommand(model, { uniform: '2x2', passes: 'canonicalize,relu6-to-relu', output: join(temp(), 'relu6-relu.json') });
      expect(plan.layers.map((l) => l.name)).to.deep.equal(['relu6', 'relu6b']);
    });

    it('compile with both --plan and --budget; OUT not written', async () => {
      const out = join(temp(), 'both');
      const e = await rejectionOf(() => runCompileWithBudget(MODEL, { ...FIXTURE, budget: 0.1, plan: 'p.json', output: out }));
      expect(e.code).to.equal('MPCC0004');
      expect(e.message).to.contain('--plan');
      expect(existsSync(out)).to.equal(false);
    });
  });
});
