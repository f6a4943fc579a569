// `npm run bench -- fixed [--json] [--models a,b] [--fracs 8,12,16]`: the quantize pass and the
// fixed-point interpreter on zoo models. Baselines from the same run: the fixed-point run's time
// beside the float64 interpreter's on the unquantized graph, and its output beside that float
// output (max abs error as a share of the output range, top-1 agreement) per fractional width.
import { importOnnx } from '../compiler/onnx/import.js';
import { buildZooModel, zooEntry } from '../examples/zoo/index.js';
import { runGraph } from '../ir/interp/index.js';
import { runGraphFixed } from '../ir/interp/fixed/index.js';
import { Tensor } from '../ir/tensor.js';
import { runPipeline } from '../passes/index.js';
import { benchInput } from './inputs.js';

/** One row: one model at one fractional width (times in ms). */
interface Row {
  model: string;
  frac: number;
  quantizeMs: number;
  floatMs: number;
  fixedMs: number;
  /** max |fixed − float| / (max − min of the float output), in percent. */
  errorPctOfRange: number;
  /** Share of top-1 classes that agree (per pixel for a [1, C, H, W] map), in percent. */
  top1AgreePct: number;
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e6];
}

/** A reproducible input (test data, not secrets). */
function benchTensor(shape: readonly number[]): Tensor {
  return new Tensor('float32', shape, benchInput(shape.reduce((a, b) => a * b, 1), 2024, 1));
}

/** Per position of a [1, C, …] output, the class with the largest value. */
function classes(v: ArrayLike<number>, shape: readonly number[]): Int32Array {
  const c = shape[1], plane = v.length / c;
  const best = new Int32Array(plane);
  for (let p = 0; p < plane; p++) for (let k = 1; k < c; k++) if (v[k * plane + p] > v[best[p] * plane + p]) best[p] = k;
  return best;
}

function measure(name: string, fracs: number[]): Row[] {
  const g = runPipeline(importOnnx(buildZooModel(name)), 'canonicalize').graph;
  const feeds = { [g.inputs[0]]: benchTensor(zooEntry(name).inputShape) };
  const [want, floatMs] = timed(() => runGraph(g, feeds, { precision: 'float64' }).get(g.outputs[0])!.data);
  const shape = g.types.get(g.outputs[0])!.shape;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < want.length; i++) [lo, hi] = [Math.min(lo, want[i]), Math.max(hi, want[i])];
  const wantClasses = classes(want, shape);
  return fracs.map((frac) => {
    const [q, quantizeMs] = timed(() => runPipeline(g, `quantize{frac-bits=${frac}}`).graph);
    const [got, fixedMs] = timed(() => runGraphFixed(q, feeds, { frac, keep: 'outputs' }).outputs.get(g.outputs[0])!.data);
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    const gotClasses = classes(got, shape);
    const agree = gotClasses.filter((k, p) => k === wantClasses[p]).length;
    return { model: name, frac, quantizeMs, floatMs, fixedMs, errorPctOfRange: (100 * err) / (hi - lo), top1AgreePct: (100 * agree) / gotClasses.length };
  });
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const opt = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const models = (opt('--models') ?? 'tiny-cnn,secure-ops,resnet18-cifar,deeplabv3,mobilenetv2,resnet50').split(',');
  const fracs = (opt('--fracs') ?? '8,12,16').split(',').map(Number);
  const rows = models.flatMap((m) => measure(m, fracs));
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  const table = [['model', 'frac', 'quantize ms', 'float64 interp ms', 'fixed interp ms', 'max err % of range', 'top-1 agree %']];
  for (const r of rows) table.push([r.model, String(r.frac), r.quantizeMs.toFixed(1), r.floatMs.toFixed(0), r.fixedMs.toFixed(0), r.errorPctOfRange.toFixed(3), r.top1AgreePct.toFixed(1)]);
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  process.stdout.write(table.map((r) => r.map((cell, c) => (c ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n');
}
