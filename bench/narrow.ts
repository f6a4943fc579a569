// `npm run bench -- narrow [--json] [--images N] [--zoo-images M] [--quick] [--test-images F --test-labels F]`:
// narrowed comparison windows (issue 18) on the trained Fashion-MNIST fixture
// (examples/fashion-mnist, 1×1×28×28, calib-images.npy as calibration, its 500 test images for
// top-1 and the measured sign errors, or --test-images/--test-labels, e.g. Debian's 10,000; the
// first N with --images) and the zoo's resnet18-cifar (random weights; 8 standard-normal images
// as calibration, M other ones for top-1 agreement with the float network, default 16), each
// all-ReLU and at 6% plans: `mpcc plan --uniform-drelus 0.06` for both, and the knapsack's
// `mpcc plan --budget 0.06 --calib` (its default mode) for the fixture. Windows: 64-bit (the
// baseline, same run), the paper's (16 bits, lo 5) and auto windows (--max-sign-error 1e-4, the
// default, and 2e-4). Per row: bytes per inference and per DReLU (cost.json, which the parties'
// counters equal), rounds, the wall time of one secure inference in process, top-1 (fixture:
// `mpcc eval --fixed --plan`, the windows simulated with lost carries) and its difference to the
// 64-bit row of the same plan, or top-1 agreement with float (zoo). Then, for the fixture's auto
// windows at 6%, per layer the sign-error rate measured on the test images (the interpreter's
// windowed signs against the true signs, lost carries drawn; how many lay past the range) beside
// the prediction from calibration (and its overflow share), and against the float network's signs
// of the same values (quantization included). Everything runs at the scale the compile chose.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../compiler/commands/compile.js';
import { runEval } from '../compiler/commands/eval.js';
import { runBudgetPlanCommand, runPlanCommand } from '../compiler/commands/plan.js';
import { runSecure } from '../compiler/commands/run.js';
import { driveModel } from '../compiler/driver.js';
import { measureSignErrors } from '../compiler/narrow.js';
import { encodeNpy, readNpy } from '../compiler/npy.js';
import { buildZooModel } from '../examples/zoo/index.js';
import { runGraph } from '../ir/interp/index.js';
import { Tensor } from '../ir/tensor.js';
import { readPlan } from '../passes/planning/plan-file.js';
import { WeightRng } from '../examples/zoo/random.js';
import { flag } from './flags.js';

const FMNIST = 'examples/fashion-mnist';

interface Row {
  model: string;
  plan: string;
  windows: string;
  bytesPerInference: number;
  bytesPerDrelu: number | null;
  drelus: number;
  rounds: number;
  secureSeconds: number;
  top1: number | null;
  /** top1 minus the 64-bit row's of the same plan (points). */
  top1VsFull: number | null;
  agreement: number | null;
}

interface SignRow {
  plan: string;
  windows: string;
  layer: string;
  op: string;
  lo: number;
  k: number;
  compared: number;
  errors: number;
  overflows: number;
  measured: number;
  predicted: number | null;
  predictedOverflow: number | null;
  vsFloat: number | null;
}

const WINDOWS: [string, Record<string, string>][] = [
  ['64-bit', {}],
  ['16 bits, lo 5', { compareBits: '16', dropLsb: '5' }],
  ['auto', { compareBits: 'auto' }],
  ['auto, max sign error 2e-4', { compareBits: 'auto', maxSignError: '2e-4' }],
];

/** Standard-normal images (deterministic). */
function normalImages(count: number, shape: number[], seed: number): Float32Array {
  const rng = new WeightRng(seed);
  return Float32Array.from({ length: count * shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

function argmaxRows(data: ArrayLike<number>, classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * classes < data.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (data[r * classes + c] > data[r * classes + best]) best = c;
    out.push(best);
  }
  return out;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const number = (name: string, dflt: number) => Number(flag(args, name) ?? dflt);
  const zooImages = number('--zoo-images', 16);
  const quick = args.includes('--quick');
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-narrow-'));
  const rows: Row[] = [];
  const signs: SignRow[] = [];
  try {
    // the fixture
    const fm = join(FMNIST, 'fmnist-resnet.onnx');
    const fmCalib = join(FMNIST, 'calib-images.npy');
    const evalData = flag(args, '--test-images') ?? join(FMNIST, 'test-images.npy');
    const evalLabels = flag(args, '--test-labels') ?? join(FMNIST, 'test-labels.npy');
    const testImages = readNpy(evalData);
    const images = Math.min(number('--images', testImages.shape[0]), testImages.shape[0]);
    const fmInput = join(dir, 'fm-x.npy');
    writeFileSync(fmInput, encodeNpy([1, 1, 28, 28], testImages.data.subarray(0, 784)));
    const fmUniform = join(dir, 'fm-uniform.json');
    runPlanCommand(fm, { uniformDrelus: 0.06, output: fmUniform, inputShape: '1,1,28,28' });
    const fmKnapsack = join(dir, 'fm-knapsack.json');
    await runBudgetPlanCommand(fm, { budget: 0.06, calib: fmCalib, output: fmKnapsack, inputShape: '1,1,28,28', cacheDir: join(dir, 'cache') });
    // the zoo model
    const r18 = join(dir, 'resnet18-cifar.onnx');
    writeFileSync(r18, buildZooModel('resnet18-cifar'));
    const r18Calib = join(dir, 'r18-calib.npy');
    writeFileSync(r18Calib, encodeNpy([8, 3, 32, 32], normalImages(8, [3, 32, 32], 1)));
    const r18Test = normalImages(zooImages, [3, 32, 32], 2);
    const r18Input = join(dir, 'r18-x.npy');
    writeFileSync(r18Input, encodeNpy([1, 3, 32, 32], r18Test.subarray(0, 3 * 32 * 32)));
    const r18Plan = join(dir, 'r18-plan.json');
    runPlanCommand(r18, { uniformDrelus: 0.06, output: r18Plan });
    const r18Float = quick ? [] : argmaxRows(floatLogits(r18, r18Test, zooImages), 100);

    const models = quick ? ['fixture'] : ['fixture', 'resnet18-cifar'];
    for (const model of models) {
      const fixture = model === 'fixture';
      const plans: [string, string | undefined][] = fixture ? [['all-ReLU', undefined], ['6% (uniform)', fmUniform], ['6% (knapsack)', fmKnapsack]] : [['all-ReLU', undefined], ['6% (uniform)', r18Plan]];
      for (const [planName, planFile] of plans) {
        let full: number | null = null;
        for (const [windows, flags] of WINDOWS) {
          const out = join(dir, `${model}-${planName.replace(/\W+/g, '')}-${windows.replace(/\W+/g, '')}`);
          const { cost } = runCompile(fixture ? fm : r18, {
            // the classic mode in every row (a planned compile would choose its mode otherwise)
            output: out, ...flags, ...(planFile ? { plan: planFile, clientOffline: 'off' } : {}), ...(fixture ? { inputShape: '1,1,28,28' } : {}),
            calib: fixture ? fmCalib : r18Calib,
          });
          const frac = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { frac: number }).frac;
          const { summary } = await runSecure(out, { input: fixture ? fmInput : r18Input, transport: 'inproc' });
          let top1: number | null = null, agreement: number | null = null;
          if (fixture) {
            top1 = (await runEval(fm, { data: evalData, labels: evalLabels, fixed: true, plan: planOf(out), fracBits: String(frac), inputShape: '1,1,28,28' })).report.top1!;
            if (windows === '64-bit') full = top1;
          } else {
            const { outputs } = measureSignErrors(driveModel(r18, { target: 'float', planFile: planOf(out) }).graph, frac, r18Test, [zooImages, 3, 32, 32]);
            const fixed = outputs.flatMap((o) => argmaxRows(o.values().next().value!.data as ArrayLike<number>, 100));
            agreement = fixed.filter((c, i) => c === r18Float[i]).length / zooImages;
          }
          const top1VsFull = top1 !== null && full !== null ? 100 * (top1 - full) : null;
          rows.push({ model, plan: planName, windows, bytesPerInference: cost.bytes.total, bytesPerDrelu: cost.bytesPerDrelu, drelus: cost.drelus, rounds: cost.rounds, secureSeconds: summary.wallSeconds, top1, top1VsFull, agreement });
          if (fixture && planFile && windows.startsWith('auto')) signs.push(...signErrors(fm, join(out, 'plan.json'), frac, testImages.data.subarray(0, images * 784), images).map((r) => ({ ...r, plan: planName, windows })));
          if (!json) process.stderr.write(`narrow: ${model}, ${planName}, ${windows} done\n`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) {
    process.stdout.write(JSON.stringify({ rows, signErrors: signs }, null, 2) + '\n');
    return;
  }
  const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
  const pts = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`);
  const lines = ['| model | plan | windows | bytes/inference | B/DReLU | DReLUs | rounds | secure run | top-1 | vs 64-bit | top-1 = float |', '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.model} | ${r.plan} | ${r.windows} | ${(r.bytesPerInference / 1e6).toFixed(3)} MB | ${r.bytesPerDrelu?.toFixed(1) ?? '—'} | ${r.drelus.toLocaleString('en-US')} | ${r.rounds} | ${r.secureSeconds.toFixed(2)} s | ${pct(r.top1)} | ${r.windows === '64-bit' ? '—' : pts(r.top1VsFull)} | ${pct(r.agreement)} |`);
  lines.push('', '| plan | windows | layer | op | lo | k | errors / compared | measured | predicted | ratio | within 2× | past range (predicted) | vs float signs |', '|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|');
  const e = (x: number | null) => (x === null ? '—' : x.toExponential(2));
  for (const s of signs) {
    const ok = s.predicted === null ? '—' : (s.measured < 1e-5 && s.predicted < 1e-5) || (s.measured <= 2 * s.predicted && s.measured >= s.predicted / 2) ? 'yes' : 'no';
    lines.push(`| ${s.plan} | ${s.windows} | ${s.layer} | ${s.op} | ${s.lo} | ${s.k} | ${s.errors} / ${s.compared.toLocaleString('en-US')} | ${e(s.measured)} | ${e(s.predicted)} | ${s.predicted ? (s.measured / s.predicted).toFixed(2) : '—'} | ${ok} | ${s.overflows} (${e(s.predictedOverflow)}) | ${e(s.vsFloat)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

/** OUT/plan.json when the compile wrote one (a plan or windows), else undefined. */
function planOf(out: string): string | undefined {
  return existsSync(join(out, 'plan.json')) ? join(out, 'plan.json') : undefined;
}

/** Float logits of `count` images through `model`. */
function floatLogits(model: string, data: Float32Array, count: number): Float64Array {
  const g = driveModel(model, { target: 'float' }).graph;
  const per = data.length / count;
  const out = new Float64Array(count * 100);
  for (let i = 0; i < count; i++) {
    const y = runGraph(g, { [g.inputs[0]]: new Tensor('float32', [1, 3, 32, 32], data.subarray(i * per, (i + 1) * per)) }, { precision: 'float64' }).get(g.outputs[0])!;
    out.set(y.data as Float64Array, i * 100);
  }
  return out;
}

/** Measured (on the test images) and predicted sign-error rates of a plan's windows, at the
 * scale the windows were chosen for. */
function signErrors(model: string, planFile: string, frac: number, data: Float32Array, count: number): Omit<SignRow, 'plan' | 'windows'>[] {
  const g = driveModel(model, { target: 'float', planFile, inputShape: [1, 1, 28, 28] }).graph;
  const byName = new Map((readPlan(planFile).compare?.windows ?? []).map((w) => [w.name, w]));
  const { layers } = measureSignErrors(g, frac, data, [count, 1, 28, 28]);
  return layers.map((l) => ({
    layer: l.name, op: l.op, lo: l.lo, k: l.k, compared: l.compared, errors: l.errors, overflows: l.overflows, measured: l.rate,
    predicted: byName.get(l.name)?.predictedSignError ?? null, predictedOverflow: byName.get(l.name)?.predictedOverflow ?? null, vsFloat: l.rateVsFloat,
  }));
}
