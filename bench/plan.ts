// `npm run bench -- plan [--json] [--samples N] [--block-sizes SPEC] [--refine K]`: the knapsack
// planner on the trained Fashion-MNIST fixture (examples/fashion-mnist/, no fine-tuning). One
// exact distortion measurement (onnxruntime runner, the first N calibration images, default 32,
// default candidates upto:16,half,whole,identity), then per budget 3%, 6%, 10%, 18%: the knapsack
// plan (exact), the plan after --refine K rounds (default 2), and the uniform plan
// (`--uniform-drelus R`), each with its DReLUs and its top-1 on the 500 test images (mpcc eval,
// float), beside the full-ReLU network's top-1; planning time per phase. Then the same budgets
// from one fast-mode estimate (`--mode fast`: backward passes), plain and with --refine K.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEval } from '../compiler/commands/eval.js';
import { runPlanCommand } from '../compiler/commands/plan.js';
import { loadCalibration } from '../compiler/calibration/load.js';
import { driveModel } from '../compiler/driver.js';
import { makeBudgetPlans } from '../compiler/planning/budget-plan.js';
import { ortRunner } from '../compiler/planning/ort-runner.js';
import { writeFileAtomic } from '../compiler/cli-support.js';
import { type Plan, modelFileSha256, planJson } from '../passes/planning/plan-file.js';
import { flag } from './flags.js';

const FOLDER = 'examples/fashion-mnist';
const MODEL = `${FOLDER}/fmnist-resnet.onnx`;
const BUDGETS = [0.03, 0.06, 0.1, 0.18];

/** One budget's row. */
interface Row {
  budget: number;
  exact: { drelus: number; top1: number; predicted: number; measured: number };
  refined: { drelus: number; top1: number; measured: number };
  uniform: { drelus: number; top1: number };
  fast: { drelus: number; top1: number; predicted: number; measured: number };
  fastRefined: { drelus: number; top1: number; measured: number };
  seconds: { solve: number; refine: number; fastRefine: number };
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const samples = Number(flag(args, '--samples') ?? 32);
  const blockSizes = flag(args, '--block-sizes');
  const refine = Number(flag(args, '--refine') ?? 2);
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-plan-'));
  const top1 = async (plan?: Plan): Promise<number> => {
    let file: string | undefined;
    if (plan) writeFileAtomic((file = join(dir, 'plan.json')), planJson(plan));
    return (await runEval(MODEL, { data: `${FOLDER}/test-images.npy`, labels: `${FOLDER}/test-labels.npy`, plan: file, inputShape: '1,1,28,28' })).report.top1!;
  };
  try {
    const { graph } = driveModel(MODEL, { inputShape: [1, 1, 28, 28], target: 'float' });
    let t = performance.now();
    const calib = loadCalibration({ calib: `${FOLDER}/calib-images.npy`, calibSamples: samples }, [1, 1, 28, 28]);
    const calibSeconds = (performance.now() - t) / 1000;
    const common = { graph, modelSha256: modelFileSha256(MODEL), calib, mode: 'exact' as const, blockSizes, cacheDir: join(dir, 'cache'), runner: ortRunner, source: { tool: 'bench plan' }, log: (l: string) => process.stderr.write(`${l}\n`), warn: (l: string) => process.stderr.write(`${l}\n`) };
    t = performance.now();
    const plain = await makeBudgetPlans({ ...common, budgets: BUDGETS.map((fraction) => ({ fraction })), refine: 0 });
    const totalSeconds = (performance.now() - t) / 1000;
    const fastCommon = { ...common, mode: 'fast' as const, cacheDir: join(dir, 'fast-cache') };
    const fast = await makeBudgetPlans({ ...fastCommon, budgets: BUDGETS.map((fraction) => ({ fraction })), refine: 0 });
    const full = await top1();
    const rows: Row[] = [];
    for (const [i, budget] of BUDGETS.entries()) {
      // the refined plan reads the table from the cache the first request wrote: only its refine rounds are new work
      const r0 = performance.now();
      const refined = await makeBudgetPlans({ ...common, budgets: [{ fraction: budget }], refine });
      const refineSeconds = (performance.now() - r0) / 1000 - refined.seconds.measure;
      const uniform = runPlanCommand(MODEL, { uniformDrelus: budget, inputShape: '1,1,28,28', output: join(dir, 'uniform.json') }).plan;
      const f0 = performance.now();
      const fastRefined = await makeBudgetPlans({ ...fastCommon, budgets: [{ fraction: budget }], refine });
      const fastRefineSeconds = (performance.now() - f0) / 1000 - fastRefined.seconds.measure;
      const p = plain.plans[i];
      const f = fast.plans[i];
      rows.push({
        budget,
        exact: { drelus: p.plan.drelus.planned, top1: await top1(p.plan), predicted: p.predicted, measured: p.measured },
        refined: { drelus: refined.plans[0].plan.drelus.planned, top1: await top1(refined.plans[0].plan), measured: refined.plans[0].measured },
        uniform: { drelus: uniform.drelus.planned, top1: await top1(uniform) },
        fast: { drelus: f.plan.drelus.planned, top1: await top1(f.plan), predicted: f.predicted, measured: f.measured },
        fastRefined: { drelus: fastRefined.plans[0].plan.drelus.planned, top1: await top1(fastRefined.plans[0].plan), measured: fastRefined.plans[0].measured },
        seconds: { solve: plain.seconds.solve / BUDGETS.length, refine: refineSeconds, fastRefine: fastRefineSeconds },
      });
    }
    const summary = { model: MODEL, samples, blockSizes: blockSizes ?? 'upto:16,half,whole,identity', refine, runner: ortRunner.name, fullTop1: full, baselineDrelus: plain.plans[0].plan.drelus.baseline, seconds: { calibration: calibSeconds, measure: plain.seconds.measure, measureFast: fast.seconds.measure, solveAll: plain.seconds.solve, total: totalSeconds }, rows };
    if (json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    process.stdout.write(`trained Fashion-MNIST ResNet, ${samples} calibration images, exact mode (${ortRunner.name}), candidates ${summary.blockSizes}\n`);
    process.stdout.write(`full ReLU: ${summary.baselineDrelus.toLocaleString('en-US')} DReLUs, top-1 ${pct(full)} on 500 test images\n`);
    process.stdout.write(`planning: calibration ${calibSeconds.toFixed(2)} s, exact distortion ${plain.seconds.measure.toFixed(1)} s, fast distortion ${fast.seconds.measure.toFixed(1)} s, solve ${(plain.seconds.solve / BUDGETS.length).toFixed(3)} s per budget\n\n`);
    process.stdout.write('budget  exact DReLUs  exact top-1  MSE pred/meas  +refine top-1  refine MSE  refine s  uniform DReLUs  uniform top-1  fast top-1  fast MSE pred/meas  fast+refine top-1  fast refine s\n');
    for (const r of rows) {
      process.stdout.write(`${pct(r.budget).padStart(6)}  ${String(r.exact.drelus).padStart(12)}  ${pct(r.exact.top1).padStart(11)}  ${`${r.exact.predicted.toFixed(2)}/${r.exact.measured.toFixed(2)}`.padStart(13)}  ${pct(r.refined.top1).padStart(13)}  ${r.refined.measured.toFixed(2).padStart(10)}  ${r.seconds.refine.toFixed(1).padStart(8)}  ${String(r.uniform.drelus).padStart(14)}  ${pct(r.uniform.top1).padStart(13)}  ${pct(r.fast.top1).padStart(10)}  ${`${r.fast.predicted.toFixed(2)}/${r.fast.measured.toFixed(2)}`.padStart(18)}  ${pct(r.fastRefined.top1).padStart(17)}  ${r.seconds.fastRefine.toFixed(1).padStart(13)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
