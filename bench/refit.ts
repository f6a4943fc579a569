// `npm run bench -- refit [--json] [--images N] [--budgets 0.03,0.06] [--plans DIR] [--variants A,B] [--zoo NAME]`: the
// training-free refit (passes/planning/reconstruct/) on the trained Fashion-MNIST fixture: top-1
// on its 500 test images at uniform `--uniform-drelus` budgets (default 3%, 6%, 10%, 18%), for the
// plan alone (the baseline), the refit as mpcc runs it (ridge 1e-2, a residual block's two
// convolutions fitted jointly), and its variants (ridge chosen per layer on held-out images;
// the two fitted one after the other; every layer against its own output), beside the
// full-ReLU network; N calibration images (default 256) from the training split (--calib FILE: another
// .npy of them, e.g. more of the training split by examples/fashion-mnist/fmnist_data.py). With --plans DIR
// the knapsack plans DIR/budget-R.json (`mpcc plan --sweep ... -o DIR`) are measured beside the
// uniform ones (--kinds uniform,knapsack: which); --variants names the variants to run (the first
// is the one `recovered` is of). With --zoo NAME
// (e.g. resnet18-cifar, random weights) it times the refit at 6% on N random images instead: wall
// seconds, CPU seconds (user + sys, all threads: the refit uses a worker) and peak RSS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { driveModel } from '../compiler/driver.js';
import { withBatch } from '../compiler/eval-batch.js';
import { ClassificationMetrics } from '../compiler/eval-metrics.js';
import { readNpy, readNpyIntegers } from '../compiler/npy.js';
import { buildZooModel } from '../examples/zoo/index.js';
import type { Graph } from '../ir/graph.js';
import { runGraph } from '../ir/interp/index.js';
import { Tensor } from '../ir/tensor.js';
import { applyPlan } from '../passes/planning/insert-block-relu.js';
import { type Plan, modelFileSha256, readPlan } from '../passes/planning/plan-file.js';
import { type ReconstructOptions, reconstructWeights } from '../passes/planning/reconstruct/reconstruct.js';
import { uniformDreluPlan } from '../passes/planning/uniform.js';
import { benchInput } from './inputs.js';
import { flag } from './flags.js';

const FOLDER = fileURLToPath(new URL('../../examples/fashion-mnist/', import.meta.url));

/** The refits measured: the default first. */
const VARIANTS: readonly { name: string; options: ReconstructOptions }[] = [
  { name: 'refit', options: {} },
  { name: 'no relu targets', options: { reluTargets: false } },
  { name: 'with feeders', options: { feeders: true } },
  { name: 'ridge 0.1', options: { ridge: 0.1 } },
  { name: '256 per unknown', options: { samplesPerUnknown: 256 } },
  { name: '32 per unknown', options: { samplesPerUnknown: 32 } },
  { name: '16 per unknown', options: { samplesPerUnknown: 16 } },
  { name: 'ridge 0.001', options: { ridge: 1e-3 } },
  { name: 'ridge auto', options: { ridge: 'auto' } },
  { name: 'no joint residual', options: { joint: false } },
  { name: 'plain targets', options: { residual: false } },
];

/** Top-1 of a batch-1 graph on the images, run as one batch (eval's own measure). */
function top1(g: Graph, images: Float32Array, labels: ArrayLike<number>): number {
  const n = labels.length;
  const b = withBatch(g, n)!;
  const out = runGraph(b, { [b.inputs[0]]: new Tensor('float32', [n, 1, 28, 28], images) }).get(b.outputs[0])!.data;
  const metrics = new ClassificationMetrics(10, { file: 'test-labels.npy', shape: [n] });
  metrics.add(out, labels, 0, n);
  return metrics.result().top1;
}

function print(table: string[][]): void {
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  process.stdout.write(table.map((r) => r.map((cell, c) => (c ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n');
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const images = Number(flag(args, '--images') ?? 256);
  const zoo = flag(args, '--zoo');
  if (zoo !== undefined) return timeZoo(zoo, images, args.includes('--json'));
  const budgets = (flag(args, '--budgets') ?? '0.03,0.06,0.1,0.18').split(',').map(Number);
  const model = join(FOLDER, 'fmnist-resnet.onnx');
  const { graph } = driveModel(model, { target: 'float', inputShape: [1, 1, 28, 28] });
  const sha = modelFileSha256(model);
  const test = readNpy(join(FOLDER, 'test-images.npy'));
  const labels = readNpyIntegers(join(FOLDER, 'test-labels.npy')).data;
  const all = readNpy(flag(args, '--calib') ?? join(FOLDER, 'calib-images.npy'));
  const calib = { data: all.data.subarray(0, images * 784), shape: [images, 1, 28, 28] };
  const full = top1(graph, test.data, labels);
  const plansDir = flag(args, '--plans');
  const only = flag(args, '--variants')?.split(',');
  const variants = only ? VARIANTS.filter((v) => only.includes(v.name)) : VARIANTS;
  const rows: Record<string, number | string>[] = [];
  for (const budget of budgets) {
    const wanted = flag(args, '--kinds')?.split(',') ?? ['uniform', 'knapsack'];
    const kinds: [string, Plan][] = [];
    if (wanted.includes('uniform')) kinds.push(['uniform', uniformDreluPlan(graph, sha, budget)]);
    if (plansDir !== undefined && wanted.includes('knapsack')) kinds.push(['knapsack', readPlan(join(plansDir, `budget-${budget}.json`))]);
    for (const [kind, plan] of kinds) {
      const row: Record<string, number | string> = { budget, kind, drelus: plan.drelus.planned, fullRelu: full, plan: top1(applyPlan(graph, plan, 'plan'), test.data, labels) };
      for (const v of variants) {
        const t0 = performance.now();
        const result = reconstructWeights(graph, plan, calib, v.options);
        row[`${v.name} s`] = (performance.now() - t0) / 1000;
        row[v.name] = top1(applyPlan(result.graph, plan, 'plan'), test.data, labels);
      }
      row.recovered = ((row[variants[0].name] as number) - (row.plan as number)) / (full - (row.plan as number));
      rows.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  }
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify({ images, rows }) + '\n');
    return;
  }
  const pct = (v: number | string) => `${(100 * Number(v)).toFixed(1)}%`;
  const head = ['budget', 'plan', 'DReLUs', 'full ReLU', 'plan (baseline)', ...variants.map((v) => v.name), 'recovered', 'refit s'];
  print([head, ...rows.map((r) => [pct(r.budget), String(r.kind), String(r.drelus), pct(r.fullRelu), pct(r.plan), ...variants.map((v) => pct(r[v.name])), pct(r.recovered), Number(r[`${variants[0].name} s`]).toFixed(1)])]);
  process.stdout.write(`(${images} calibration images from the training split; top-1 on the 500 test images)\n`);
}

/** Times the refit of zoo model `name` at the uniform 6% plan on `images` random images. */
async function timeZoo(name: string, images: number, json: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-refit-'));
  try {
    const model = join(dir, `${name}.onnx`);
    writeFileSync(model, buildZooModel(name));
    const { graph } = driveModel(model, { target: 'float' });
    const shape = graph.types.get(graph.inputs[0])!.shape;
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    const plan = uniformDreluPlan(graph, modelFileSha256(model), 0.06);
    const t0 = performance.now(), cpu0 = process.cpuUsage();
    const result = reconstructWeights(graph, plan, { data: benchInput(images * per, 5, 1), shape: [images, ...shape.slice(1)] }, { onProgress: (l) => process.stderr.write(`${l}\n`) });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const peak = process.resourceUsage().maxRSS / 1024 / 1024;
    if (json) process.stdout.write(JSON.stringify({ model: name, images, layers: result.layers.length, seconds, cpuSeconds, peakGB: peak }) + '\n');
    else print([['model', 'images', 'layers refit', 'wall s', 'CPU s (user + sys, all threads)', 'peak RSS GB'], [name, String(images), String(result.layers.length), seconds.toFixed(1), cpuSeconds.toFixed(1), peak.toFixed(2)]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
