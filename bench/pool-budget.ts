// `npm run bench -- pool-budget --model r50.onnx --calib calib.npy [--budget 0.06] [--restrict 2x1,2x2,4x4] [--bits 16] [--json]`:
// what keeping a knapsack plan's stem MaxPool from being its largest layer would cost in accuracy
// (issue 21 point 2). The model is planned as `mpcc plan --passes canonicalize,maxpool-to-relu-tree
// --budget R --mode fast` plans it (the distortion table from the on-disk cache when there), once
// freely (the baseline, in the same run) and once per restriction A×B, where the MaxPool trees'
// levels may only take blocks of at least A·B cells (no identity) and the knapsack spends the
// rest of the budget elsewhere. Per plan: the planner's measured distortion (mean squared
// error of the outputs against the clean network over the calibration samples, the knapsack's own
// objective), top-1 agreement with the clean network on those samples, the MaxPool's share of the
// DReLUs, and from the cost report at `--bits`-bit comparison windows (fixed windows: no
// calibration pass), per mode (classic, client-offline): bytes per inference, the MaxPool's
// largest level and the largest other layer.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBudgetFlags, floatModel } from '../compiler/commands/budget-flags.js';
import { loadCalibration } from '../compiler/calibration/load.js';
import { driveWithWindows } from '../compiler/narrow.js';
import { makeBudgetPlans } from '../compiler/planning/budget-plan.js';
import type { Graph } from '../ir/graph.js';
import { networkOutputs } from '../passes/planning/distortion/channel-measure.js';
import { withBlockRelus } from '../passes/planning/distortion/network-cut.js';
import { meanSquaredError } from '../passes/planning/distortion/refine.js';
import type { DistortionTable } from '../passes/planning/distortion-table.js';
import { knapsackInstance, knapsackPlan } from '../passes/planning/knapsack-plan.js';
import { planJson, type Plan } from '../passes/planning/plan-file.js';
import { costReport, type CostReport, type LayerCost } from '../passes/secure/cost-model.js';
import { flag } from './flags.js';

const TREE = 'canonicalize,maxpool-to-relu-tree';
const isPoolLayer = (name: string) => /maxpool/i.test(name) && !/relu\/Relu/.test(name);
const layerMB = (l: LayerCost) => (l.bytes.online + l.bytes.preprocessing) / 1e6;

interface ModeFigures {
  gb: number;
  largestPoolLevelMB: number;
  largestOther: string;
  largestOtherMB: number;
}

interface Row {
  restriction: string;
  measuredDistortion: number;
  top1Agreement: number;
  poolDrelus: number;
  drelus: number;
  classic: ModeFigures;
  clientOffline: ModeFigures;
}

/** The table with every MaxPool tree level's blocks of fewer than `cells` cells (and identity) ruled out. */
function restricted(table: DistortionTable, cells: number): DistortionTable {
  return {
    ...table,
    layers: table.layers.map((l) => {
      if (!isPoolLayer(l.name)) return l;
      const k = l.candidates.length;
      const distortion = Float64Array.from(l.distortion);
      l.candidates.forEach((b, j) => {
        if (b === 'identity' || b[0] * b[1] < cells) for (let c = 0; c < l.shape[1]; c++) distortion[c * k + j] = Number.MAX_VALUE;
      });
      return { ...l, distortion };
    }),
  };
}

function figures(cost: CostReport): ModeFigures {
  const pool = cost.layers.filter((l) => isPoolLayer(l.name));
  const other = cost.layers.filter((l) => !isPoolLayer(l.name)).sort((a, b) => layerMB(b) - layerMB(a))[0];
  return { gb: cost.bytes.total / 1e9, largestPoolLevelMB: Math.max(0, ...pool.map(layerMB)), largestOther: other.name, largestOtherMB: layerMB(other) };
}

function top1(a: Float32Array, b: Float32Array, samples: number): number {
  const per = a.length / samples;
  const argmax = (v: Float32Array, at: number) => {
    let best = at;
    for (let i = at; i < at + per; i++) if (v[i] > v[best]) best = i;
    return best - at;
  };
  let same = 0;
  for (let s = 0; s < samples; s++) if (argmax(a, s * per) === argmax(b, s * per)) same++;
  return same / samples;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const model = flag(args, '--model');
  const calibPath = flag(args, '--calib');
  if (!model || !calibPath) throw new Error('pool-budget: give --model FILE.onnx and --calib DATA (a resnet50 and its calibration images, as mpcc plan takes them)');
  const budget = flag(args, '--budget') ?? '0.06';
  const bits = Number(flag(args, '--bits') ?? 16);
  const restrictions = (flag(args, '--restrict') ?? '2x1,2x2,4x4').split(',');
  const say = (s: string) => json || process.stderr.write(`pool-budget: ${s}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-pool-budget-'));
  try {
    const flags = checkBudgetFlags({ budget, calib: calibPath, mode: 'fast' });
    const { graph, modelSha256, source } = floatModel(model, { passes: TREE }, () => undefined, { tool: 'bench pool-budget', mpccVersion: '0' });
    const calib = loadCalibration(flags.calib, graph.types.get(graph.inputs[0])!.shape);
    say(`the distortion table (fast mode, ${calib.shape[0]} samples)`);
    const made = await makeBudgetPlans({ graph, modelSha256, calib, budgets: [{ fraction: Number(budget) }], mode: 'fast', blockSizes: flags.blockSizes, refine: 0, cacheDir: flags.cacheDir, runner: flags.runner, source, log: () => undefined, warn: say });
    const drelus = (made.plans[0].plan.source.budget as { drelus: number }).drelus;
    const clean = await networkOutputs(graph, calib, { runner: flags.runner });
    const rows: Row[] = [];
    const measure = async (restriction: string, plan: Plan, g: Graph) => {
      say(`${restriction}: measuring and costing`);
      const planned = await networkOutputs(withBlockRelus(g, new Map(plan.layers.map((l) => [l.name, l.blocks]))), calib, { runner: flags.runner });
      const file = join(dir, `${rows.length}.json`);
      writeFileSync(file, planJson(plan));
      const cost = (clientOffline: boolean) => costReport(driveWithWindows(model, { target: 'scheduled', passes: TREE, planFile: file, clientOffline }, { mode: 'fixed', k: bits, lo: 0 }, undefined).graph);
      rows.push({
        restriction,
        measuredDistortion: meanSquaredError(planned, clean),
        top1Agreement: top1(planned, clean, calib.shape[0]),
        poolDrelus: plan.layers.filter((l) => isPoolLayer(l.name)).reduce((t, l) => t + l.drelus.planned, 0),
        drelus: plan.drelus.planned,
        classic: figures(cost(false)),
        clientOffline: figures(cost(true)),
      });
    };
    await measure('none (the knapsack plan)', made.plans[0].plan, graph);
    for (const r of restrictions) {
      const [bh, bw] = r.split('x').map(Number);
      const table = restricted(made.table, bh * bw);
      await measure(`pool blocks ≥ ${bh * bw} cells`, knapsackPlan(graph, table, drelus, source, knapsackInstance(table)).plan, graph);
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
      return;
    }
    const mb = (x: number) => x.toFixed(1);
    process.stdout.write(`knapsack ${budget} on ${calib.shape[0]} calibration samples, ${bits}-bit windows\n`);
    process.stdout.write('| pool levels | measured distortion | top-1 = clean | pool DReLUs | classic GB | classic: largest pool level MB / largest other MB | client-offline GB | client-offline: largest pool level MB / largest other MB |\n|---|---|---|---|---|---|---|---|\n');
    for (const r of rows) {
      const share = `${r.poolDrelus.toLocaleString('en-US')} (${((100 * r.poolDrelus) / r.drelus).toFixed(0)}%)`;
      const m = (f: ModeFigures) => `${mb(f.largestPoolLevelMB)} / ${mb(f.largestOtherMB)} (${f.largestOther})`;
      process.stdout.write(`| ${r.restriction} | ${r.measuredDistortion.toFixed(3)} | ${Math.round(r.top1Agreement * calib.shape[0])}/${calib.shape[0]} | ${share} | ${r.classic.gb.toFixed(4)} | ${m(r.classic)} | ${r.clientOffline.gb.toFixed(4)} | ${m(r.clientOffline)} |\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
