// `npm run bench -- passes [--json] [--runs N] [--models a,b]`: the canonicalize pipeline on zoo
// models (built in memory). Baselines from the same run: canonicalization time beside ONNX
// import time, and one interpreter run of the canonicalized graph beside one of the imported
// graph (folding batch-norms removes a pass over every conv output). Each canonicalized graph
// is checked against the imported one (max relative error of the output) before it is reported.
import { loadavg } from 'node:os';
import { importOnnx } from '../compiler/onnx/import.js';
import { buildZooModel, zooEntry } from '../examples/zoo/index.js';
import type { Graph } from '../ir/graph.js';
import { runGraph } from '../ir/interp/index.js';
import { Tensor } from '../ir/tensor.js';
import { type PassReport, runPipeline } from '../passes/index.js';
import { benchInput } from './inputs.js';

/** One row of the table / JSON output (times in ms). */
interface Row {
  model: string;
  importMs: number;
  canonicalizeMs: number;
  /** Median milliseconds of each pass of the pipeline, by pass. */
  passMs: Record<string, number>;
  nodesBefore: number;
  nodesAfter: number;
  batchNormsFolded: number;
  interpBeforeMs: number;
  interpAfterMs: number;
  maxRelError: number;
  /** 1-minute load average after the model (the machine has 2 cores). */
  load1: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e6];
}

/** A reproducible input (test data, not secrets). */
function benchTensor(shape: number[]): Tensor {
  return new Tensor('float32', shape, benchInput(shape.reduce((a, b) => a * b, 1), 54321, 2));
}

function measure(name: string, runs: number): Row {
  const entry = zooEntry(name);
  const bytes = buildZooModel(name);
  const importTimes: number[] = [], canonTimes: number[] = [];
  const passTimes = new Map<string, number[]>();
  let graph: Graph | undefined, canonical: Graph | undefined, reports: readonly PassReport[] = [];
  for (let i = 0; i < runs; i++) {
    const [g, ti] = timed(() => importOnnx(bytes));
    const [r, tc] = timed(() => runPipeline(g, 'canonicalize'));
    importTimes.push(ti);
    canonTimes.push(tc);
    for (const rep of r.reports) passTimes.set(rep.step, [...(passTimes.get(rep.step) ?? []), rep.millis]);
    [graph, canonical, reports] = [g, r.graph, r.reports];
  }
  const feeds = { [graph!.inputs[0]]: benchTensor([...entry.inputShape]) };
  runGraph(graph!, feeds); // warm-up of both graphs' kernels
  runGraph(canonical!, feeds);
  const [before, interpBeforeMs] = timed(() => runGraph(graph!, feeds).get(graph!.outputs[0])!);
  const [after, interpAfterMs] = timed(() => runGraph(canonical!, feeds).get(graph!.outputs[0])!);
  let scale = 0, err = 0;
  for (let i = 0; i < before.size; i++) {
    scale = Math.max(scale, Math.abs(before.data[i]));
    err = Math.max(err, Math.abs(after.data[i] - before.data[i]));
  }
  return {
    model: name,
    importMs: median(importTimes),
    canonicalizeMs: median(canonTimes),
    passMs: Object.fromEntries([...passTimes].map(([step, ms]) => [step, median(ms)])),
    nodesBefore: graph!.nodes.length,
    nodesAfter: canonical!.nodes.length,
    batchNormsFolded: reports.reduce((s, r) => s + (r.stats.get('batch-norms folded into Conv') ?? 0) + (r.stats.get('batch-norms folded into Gemm') ?? 0), 0),
    interpBeforeMs,
    interpAfterMs,
    maxRelError: scale ? err / scale : err,
    load1: loadavg()[0],
  };
}

/** Runs the benchmark; prints a table, or a JSON array with --json. */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const runs = Number(at('--runs') ?? 3);
  const models = (at('--models') ?? 'resnet18-cifar,mobilenetv2,deeplabv3,resnet50').split(',');
  const rows: Row[] = [];
  for (const m of models) {
    if (!json) process.stderr.write(`passes bench: ${m}…\n`);
    rows.push(measure(m, runs));
  }
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  const head = ['model', 'import ms', 'canonicalize ms', 'fold-batchnorm ms', 'nodes', 'BNs folded', 'interp before ms', 'interp after ms', 'max rel err', 'load'];
  const lines = rows.map((r) => [
    r.model, r.importMs.toFixed(0), r.canonicalizeMs.toFixed(0), (r.passMs['fold-batchnorm'] ?? 0).toFixed(0),
    `${r.nodesBefore} → ${r.nodesAfter}`, String(r.batchNormsFolded), r.interpBeforeMs.toFixed(0), r.interpAfterMs.toFixed(0),
    r.maxRelError.toExponential(1), r.load1.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write([fmt(head), ...lines.map(fmt)].join('\n') + '\n');
}
