// `npm run bench -- maxpool [--json] [--model FILE] [--samples N] [--knapsack STEP.json,TREE.json]`:
// what the stem MaxPool of a (planned) resnet50 costs, as the SecureMaxPool step (main's form,
// measured in the same run) and as ReLU trees a plan can budget (`--passes
// canonicalize,maxpool-to-relu-tree`, issue 21 point 2), unplanned and at a uniform 4×4 plan (and
// at the two knapsack plans given by --knapsack, made with and without the tree pass: planning
// resnet50 takes ~20 min, so it is not redone here). Per row, from the cost report (which the
// parties' counters equal, test/e2e/maxpool-tree.test.ts): bytes per inference, the MaxPool's
// bytes (its layers summed; with the tree, its largest level beside), the largest other layer,
// rounds, DReLUs; and where the function changes, how far the output moves against the row it
// replaces (the float interpreter on N standard-normal inputs: top-1 agreement and the largest
// |Δ logit| over the logit range).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlanCommand } from '../compiler/commands/plan.js';
import { driveModel } from '../compiler/driver.js';
import { buildZooModel } from '../examples/zoo/index.js';
import { runGraph } from '../ir/interp/index.js';
import { Tensor } from '../ir/tensor.js';
import { costReport, type CostReport, type LayerCost } from '../passes/secure/cost-model.js';
import { flag } from './flags.js';

const TREE = 'canonicalize,maxpool-to-relu-tree';
const AVG = 'canonicalize,maxpool-to-avgpool';

interface Row {
  row: string;
  gb: number;
  maxPoolGB: number;
  largestPoolLayerGB: number;
  largestOther: string;
  largestOtherGB: number;
  rounds: number;
  drelus: number;
  vs?: string;
  top1Agreement?: number;
  maxErrOverRange?: number;
}

const layerGB = (l: LayerCost) => (l.bytes.online + l.bytes.preprocessing) / 1e9;
const isPool = (l: LayerCost) => /maxpool/i.test(l.name) && !/relu\/Relu/.test(l.name);

function summarize(row: string, cost: CostReport): Row {
  const pool = cost.layers.filter(isPool);
  const other = cost.layers.filter((l) => !isPool(l)).sort((a, b) => layerGB(b) - layerGB(a))[0];
  return {
    row, gb: cost.bytes.total / 1e9, maxPoolGB: pool.reduce((t, l) => t + layerGB(l), 0), largestPoolLayerGB: Math.max(0, ...pool.map(layerGB)),
    largestOther: other.name, largestOtherGB: layerGB(other), rounds: cost.rounds, drelus: cost.drelus,
  };
}

/** Standard-normal samples (Box–Muller on a fixed LCG: a benchmark input, not protocol randomness). */
function samples(n: number, size: number): Float32Array[] {
  let s = 0x9e3779b9;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())));
}

function logits(model: string, passes: string, plan: string | undefined, inputs: Float32Array[], shape: number[]): Float64Array[] {
  const g = driveModel(model, { target: 'float', passes, ...(plan ? { planFile: plan } : {}) }).graph;
  return inputs.map((x) => Float64Array.from(runGraph(g, { [g.inputs[0]]: new Tensor('float32', shape, x) }, { precision: 'float64' }).get(g.outputs[0])!.data));
}

function agreement(a: Float64Array[], b: Float64Array[]): { top1Agreement: number; maxErrOverRange: number } {
  const argmax = (v: Float64Array) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
  let same = 0, err = 0;
  a.forEach((x, k) => {
    if (argmax(x) === argmax(b[k])) same++;
    const range = Math.max(...x) - Math.min(...x);
    for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(x[i] - b[k][i]) / range);
  });
  return { top1Agreement: same / a.length, maxErrOverRange: err };
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const n = Number(flag(args, '--samples') ?? 4);
  const knapsack = flag(args, '--knapsack')?.split(',');
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-maxpool-'));
  const say = (s: string) => json || process.stderr.write(`maxpool: ${s}\n`);
  try {
    let model = flag(args, '--model');
    if (!model) {
      model = join(dir, 'resnet50.onnx');
      writeFileSync(model, buildZooModel('resnet50'));
    }
    const shape = [1, 3, 224, 224];
    const cost = (passes: string, plan?: string) => costReport(driveModel(model!, { target: 'scheduled', passes, ...(plan ? { planFile: plan } : {}) }).graph);
    const uniform = (passes: string) => {
      const out = join(dir, `u44-${passes.length}.json`);
      runPlanCommand(model, { uniform: '4x4', passes, output: out });
      return out;
    };
    const xs = samples(n, shape.reduce((a, b) => a * b, 1));
    const rows: Row[] = [];
    say('all-ReLU');
    rows.push(summarize('all ReLUs, MaxPool step (main)', cost('canonicalize')));
    rows.push(summarize('all ReLUs, ReLU trees', cost(TREE)));
    const [planStep, planTree, planAvg] = [uniform('canonicalize'), uniform(TREE), uniform(AVG)];
    say('uniform 4×4');
    rows.push(summarize('4×4, MaxPool step (main)', cost('canonicalize', planStep)));
    const tree = summarize('4×4, ReLU trees (block max 4×4)', cost(TREE, planTree));
    const avg = summarize('4×4, maxpool-to-avgpool', cost(AVG, planAvg));
    say(`float outputs on ${n} inputs`);
    const ref = logits(model, 'canonicalize', planStep, xs, shape);
    rows.push({ ...tree, vs: '4×4, MaxPool step', ...agreement(ref, logits(model, TREE, planTree, xs, shape)) });
    rows.push({ ...avg, vs: '4×4, MaxPool step', ...agreement(ref, logits(model, AVG, planAvg, xs, shape)) });
    if (knapsack) {
      say('knapsack plans');
      rows.push(summarize(`knapsack (${knapsack[0]}), MaxPool step`, cost('canonicalize', knapsack[0])));
      rows.push(summarize(`knapsack (${knapsack[1]}), ReLU trees`, cost(TREE, knapsack[1])));
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
      return;
    }
    const f = (x: number) => x.toFixed(4);
    process.stdout.write('| row | GB | MaxPool GB (largest level) | largest other layer (GB) | rounds | DReLUs | against | top-1 = | max err / range |\n|---|---|---|---|---|---|---|---|---|\n');
    for (const r of rows) {
      process.stdout.write(`| ${r.row} | ${f(r.gb)} | ${f(r.maxPoolGB)} (${f(r.largestPoolLayerGB)}) | ${r.largestOther} (${f(r.largestOtherGB)}) | ${r.rounds} | ${r.drelus.toLocaleString('en-US')} | ${r.vs ?? ''} | ${r.top1Agreement === undefined ? '' : `${r.top1Agreement * n}/${n}`} | ${r.maxErrOverRange === undefined ? '' : r.maxErrOverRange.toExponential(1)} |\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
