// `npm run bench -- ring-width [--json] [--r50 FILE --r50-plan PLAN --r50-calib NPY]`: would a
// Z_2^32 ring for activations pay (issue 21 point 4)? Measured, before deciding:
//  1. bytes: every flow of the scheduled program by label (the flows cost.json adds up, which the
//     parties' counters equal), at Z_2^64 as compiled, and as they would be at Z_2^32: ring
//     elements halve (weights.activation, weights.correction, select.*, drelu.reshare, mul.*,
//     reveal), a comparison on the full 64-bit window becomes a 32-bit one (its digits scale with
//     k), one on a narrowed window of k ≤ 32 bits is unchanged;
//  2. the share-truncation failure bound per inference, Σ n·A·2^(2f − ℓ + 1) over the truncated
//     values (passes/quantize/frac-choice.ts, ℓ the ring's bits), with the mean magnitudes A
//     measured on calibration samples, at f = 12 and 16, and the largest truncated value beside
//     the 2f-bit product's headroom 2^(ℓ − 1 − 2f).
// Models: the trained Fashion-MNIST fixture (real calibration images: realistic ranges), the
// zoo's resnet18-cifar (8 standard-normal calibration samples) and resnet50 (--r50: an ONNX file,
// default the zoo's; --r50-calib, default 8 standard-normal samples), each all-ReLU and at a 6%
// plan (`--uniform-drelus 0.06`; resnet50: --r50-plan, e.g. the knapsack plan), 64-bit windows
// and the paper's (16 bits, lo 5).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlanCommand } from '../compiler/commands/plan.js';
import { chooseFrac, driveModel } from '../compiler/driver.js';
import { loadCalibration } from '../compiler/calibration/load.js';
import { encodeNpy } from '../compiler/npy.js';
import { buildZooModel } from '../examples/zoo/index.js';
import type { Graph } from '../ir/graph.js';
import { runGraph } from '../ir/interp/index.js';
import { Tensor } from '../ir/tensor.js';
import { failureLog2 } from '../passes/quantize/frac-choice.js';
import { PROTOCOL_COSTS } from '../runtime/protocols/costs.js';
import { flag } from './flags.js';

const FMNIST = 'examples/fashion-mnist';
/** Labels whose messages are ring elements (8 bytes each at Z_2^64). */
const RING_LABELS = /^(weights\.|select\.|mul\.|reveal|drelu\.reshare)/;

interface Row {
  model: string;
  plan: string;
  windows: string;
  gb64: number;
  gb32: number;
  ringGB: number;
  compareGB: number;
  failLog2: Record<string, { ring64: number; ring32: number }>;
  largestTruncated: number;
}

/** Bytes per label of one comparison of a k-bit window. */
function compareByLabel(k: number): Map<string, number> {
  const n = 1 << 20;
  const m = new Map<string, number>();
  for (const f of PROTOCOL_COSTS.compare({ n, k }).flows) m.set(f.label, (m.get(f.label) ?? 0) + f.bytes / n);
  return m;
}

/** Bytes per inference at Z_2^64 and estimated at Z_2^32 (see the file comment). */
function ringBytes(g: Graph): { b64: number; b32: number; ring: number; compare: number } {
  const c64 = compareByLabel(64), c32 = compareByLabel(32);
  let b64 = 0, b32 = 0, ring = 0, compare = 0;
  for (const n of g.nodes) {
    const flows = n.attrs.flows as readonly string[] | undefined;
    if (!flows) continue;
    const k = (n.attrs.window_k as number | undefined) ?? 64;
    for (const text of flows) {
      const m = /^\d+ \d->\d (online|preprocessing|oneTime) (\S+) (\d+)$/.exec(text);
      if (!m || m[1] === 'oneTime') continue;
      const [label, bytes] = [m[2], Number(m[3])];
      b64 += bytes;
      if (RING_LABELS.test(label)) {
        ring += bytes;
        b32 += bytes / 2;
      } else if (label.startsWith('drelu.')) {
        compare += bytes;
        b32 += k > 32 ? (bytes * c32.get(label)!) / c64.get(label)! : bytes;
      } else b32 += bytes;
    }
  }
  return { b64, b32, ring, compare };
}

/** Failure bounds (log2 per inference) at f = 12 and 16 for ℓ = 64 and 32, and the largest
 * truncated value seen, from the calibration samples. */
function truncation(floatGraph: Graph, calib: string, shape: number[]): { fail: Row['failLog2']; largest: number } {
  const set = loadCalibration({ calib }, shape.slice(1));
  const choice = chooseFrac(floatGraph, set);
  const truncated = new Set(choice.layers.map((l) => l.node));
  let largest = 0;
  const size = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < Math.min(set.shape[0], 8); i++) {
    runGraph(floatGraph, { [floatGraph.inputs[0]]: new Tensor('float32', shape, set.data.subarray(i * size, (i + 1) * size)) }, {
      onNode: (node, _i, results) => {
        if (truncated.has(node.name)) for (let j = 0; j < results[0].size; j++) largest = Math.max(largest, Math.abs(results[0].data[j]));
      },
    });
  }
  const fail: Row['failLog2'] = {};
  for (const f of [12, 16]) fail[`f${f}`] = { ring64: failureLog2(choice.layers, f), ring32: failureLog2(choice.layers, f) + 32 };
  return { fail, largest };
}

function noiseNpy(path: string, shape: number[]): void {
  let s = 0x2545f491;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
  writeFileSync(path, encodeNpy(shape, data));
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-ring-width-'));
  const say = (s: string) => json || process.stderr.write(`ring-width: ${s}\n`);
  try {
    const r18 = join(dir, 'resnet18-cifar.onnx');
    writeFileSync(r18, buildZooModel('resnet18-cifar'));
    noiseNpy(join(dir, 'r18-calib.npy'), [8, 3, 32, 32]);
    let r50 = flag(args, '--r50');
    if (!r50) {
      r50 = join(dir, 'resnet50.onnx');
      writeFileSync(r50, buildZooModel('resnet50'));
    }
    const r50Calib = flag(args, '--r50-calib') ?? join(dir, 'r50-calib.npy');
    if (!flag(args, '--r50-calib')) noiseNpy(r50Calib, [8, 3, 224, 224]);
    const models = [
      { name: 'fixture', file: join(FMNIST, 'fmnist-resnet.onnx'), shape: [1, 1, 28, 28], calib: join(FMNIST, 'calib-images.npy'), plan: undefined as string | undefined },
      { name: 'resnet18-cifar', file: r18, shape: [1, 3, 32, 32], calib: join(dir, 'r18-calib.npy'), plan: undefined },
      { name: 'resnet50', file: r50, shape: [1, 3, 224, 224], calib: r50Calib, plan: flag(args, '--r50-plan') },
    ];
    const rows: Row[] = [];
    for (const m of models) {
      const sixPercent = m.plan ?? join(dir, `${m.name}-6.json`);
      if (!m.plan) runPlanCommand(m.file, { uniformDrelus: 0.06, output: sixPercent, inputShape: m.shape.join(',') });
      say(`${m.name}: truncation bounds`);
      const t = truncation(driveModel(m.file, { target: 'float', inputShape: m.shape }).graph, m.calib, m.shape);
      for (const [plan, planFile] of [['all-ReLU', undefined], [m.plan ? 'knapsack 6%' : '6% (uniform-drelus)', sixPercent]] as const) {
        for (const [windows, passes] of [['64 bits', 'canonicalize'], ['16 bits, lo 5', 'canonicalize,narrow-compare{bits=16,drop-lsb=5}']] as const) {
          say(`${m.name}, ${plan}, ${windows}`);
          const g = driveModel(m.file, { target: 'scheduled', passes: planFile ? passes.replace('canonicalize', `canonicalize,insert-block-relu{plan=${planFile}}`) : passes, inputShape: m.shape }).graph;
          const b = ringBytes(g);
          rows.push({ model: m.name, plan, windows, gb64: b.b64 / 1e9, gb32: b.b32 / 1e9, ringGB: b.ring / 1e9, compareGB: b.compare / 1e9, failLog2: t.fail, largestTruncated: t.largest });
        }
      }
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
      return;
    }
    const g = (x: number) => x.toFixed(4);
    const p = (x: number) => `2^${x.toFixed(1)}`;
    // The largest f whose bound at Z_2^32 stays within 2^-12: the bound grows by 4 per bit of f.
    const fMax = (r: Row) => Math.floor((-12 - (r.failLog2.f12.ring32 - 24)) / 2);
    process.stdout.write('| model | plan | windows | GB at Z_2^64 | of which ring elements | comparisons | GB at Z_2^32 (est.) | saved | failure bound per inference, f=12: Z_2^64 → Z_2^32 | f=16: Z_2^64 → Z_2^32 | largest f within 2^-12 at Z_2^32 | largest truncated value |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n');
    for (const r of rows) {
      process.stdout.write(`| ${r.model} | ${r.plan} | ${r.windows} | ${g(r.gb64)} | ${g(r.ringGB)} | ${g(r.compareGB)} | ${g(r.gb32)} | ${((1 - r.gb32 / r.gb64) * 100).toFixed(1)}% | ${p(r.failLog2.f12.ring64)} → ${p(r.failLog2.f12.ring32)} | ${p(r.failLog2.f16.ring64)} → ${p(r.failLog2.f16.ring32)} | ${fMax(r)} | ${r.largestTruncated.toFixed(1)} |\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
