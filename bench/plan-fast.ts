// `npm run bench -- plan-fast [--json] [--models fixture,resnet18-cifar,resnet50] [--samples N]
// [--probes K] [--exact-samples N]`: the fast distortion estimate (passes/planning/distortion/fast.ts).
// On the trained Fashion-MNIST fixture it is checked against exact distortions computed here by
// brute force (the network resumed at the layer from the clean activations, one channel's ReLU
// replaced by its block-ReLU, float64 MSE of the logits against the clean ones, over the same
// samples), on every channel of every ReLU layer with a reduced candidate list: Spearman rank
// correlation per layer. On zoo models (random He-scaled weights, images from bench/inputs.ts)
// it reports time and peak memory with the full candidate list.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGraphFile } from '../compiler/load-model.js';
import { readNpy } from '../compiler/npy.js';
import { buildZooModel } from '../examples/zoo/index.js';
import type { Graph, Node } from '../ir/graph.js';
import { runGraph } from '../ir/interp/index.js';
import { Tensor } from '../ir/tensor.js';
import { numel } from '../ir/types.js';
import { runPipeline } from '../passes/index.js';
import { DEFAULT_PROBES, type FastLayerSpec, measureFastDistortion } from '../passes/planning/distortion/fast.js';
import type { ChannelBlock } from '../passes/planning/plan-file.js';
import { importOnnx } from '../compiler/onnx/import.js';
import { benchInput } from './inputs.js';
import { flag } from './flags.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'fashion-mnist');

/** The reduced candidate list of the fixture's exact comparison. */
export function reducedCandidates(h: number, w: number): ChannelBlock[] {
  const sizes: [number, number][] = [[1, 2], [2, 1], [2, 2], [2, 4], [4, 2], [3, 3], [4, 4], [7, 7], [h, w]];
  const seen = new Set<string>();
  const out: ChannelBlock[] = [[1, 1]];
  for (const [bh, bw] of sizes) {
    const b: [number, number] = [Math.min(bh, h), Math.min(bw, w)];
    if (seen.has(b.join()) || (b[0] === 1 && b[1] === 1)) continue;
    seen.add(b.join());
    out.push(b);
  }
  return [...out, 'identity'];
}

/** The candidate list: every (bh, bw) up to min(16, side), half and whole maps, identity. */
export function fullCandidates(h: number, w: number): ChannelBlock[] {
  const hs = new Set<number>(), ws = new Set<number>();
  for (let b = 1; b <= Math.min(16, h); b++) hs.add(b);
  for (let b = 1; b <= Math.min(16, w); b++) ws.add(b);
  for (const v of [Math.ceil(h / 2), h]) hs.add(v);
  for (const v of [Math.ceil(w / 2), w]) ws.add(v);
  const out: ChannelBlock[] = [];
  for (const bh of hs) for (const bw of ws) out.push([bh, bw]);
  return [...out, 'identity'];
}

/** Every 4-D Relu of the graph as a planned layer with `candidates(h, w)`. */
export function reluLayers(g: Graph, candidates: (h: number, w: number) => ChannelBlock[]): FastLayerSpec[] {
  return g.nodes.flatMap((n) => {
    const s = g.types.get(n.outputs[0])!.shape;
    if (n.op !== 'Relu' || s.length !== 4) return [];
    const cands = candidates(s[2], s[3]);
    const costs = cands.map((b) => (b === 'identity' ? 0 : Math.ceil(s[2] / b[0]) * Math.ceil(s[3] / b[1])));
    return [{ name: n.name, shape: [s[0], s[1], s[2], s[3]] as [number, number, number, number], candidates: cands, costs }];
  });
}

/** The nodes downstream of `node` and the values they read from before it, as a graph of their own. */
function suffixGraph(g: Graph, node: Node): Graph {
  const start = g.nodes.indexOf(node);
  const made = new Set(node.outputs);
  const nodes: Node[] = [];
  for (const n of g.nodes.slice(start + 1)) if (n.inputs.some((v) => v && made.has(v))) { nodes.push(n); n.outputs.forEach((o) => made.add(o)); }
  const inputs = new Set<string>(node.outputs);
  for (const n of nodes) for (const v of n.inputs) if (v && !made.has(v) && !g.constants.has(v)) inputs.add(v);
  return { ...g, inputs: [...inputs], nodes };
}

/** Block-ReLU of one channel (plane at `off`) by its definition: a tile passes when its sum is ≥ 0. */
function blockReluChannel(pre: ArrayLike<number>, out: Float64Array, off: number, h: number, w: number, b: ChannelBlock): void {
  for (let i = 0; i < h * w; i++) out[off + i] = pre[off + i];
  if (b === 'identity') return;
  for (let y0 = 0; y0 < h; y0 += b[0])
    for (let x0 = 0; x0 < w; x0 += b[1]) {
      let s = 0;
      for (let y = y0; y < Math.min(h, y0 + b[0]); y++) for (let x = x0; x < Math.min(w, x0 + b[1]); x++) s += pre[off + y * w + x];
      if (s < 0) for (let y = y0; y < Math.min(h, y0 + b[0]); y++) for (let x = x0; x < Math.min(w, x0 + b[1]); x++) out[off + y * w + x] = 0;
    }
}

/** Exact distortions (C × candidates) of `layers` by brute force over `samples` images. */
export function bruteForceDistortion(g: Graph, images: Float32Array, samples: number, layers: readonly FastLayerSpec[]): Float64Array[] {
  const input = g.inputs[0], output = g.outputs[0], inShape = g.types.get(input)!.shape, size = numel(inShape);
  const keep = [input, ...g.nodes.flatMap((n) => n.outputs)];
  const result = layers.map((l) => new Float64Array(l.shape[1] * l.candidates.length));
  for (let s = 0; s < samples; s++) {
    const env = runGraph(g, { [input]: new Tensor('float32', inShape, images.subarray(s * size, (s + 1) * size)) }, { keep });
    layers.forEach((l, li) => {
      const node = g.nodes.find((n) => n.name === l.name)!;
      const sub = suffixGraph(g, node);
      const feeds = new Map(sub.inputs.map((v) => [v, env.get(v)!]));
      const [, c, h, w] = l.shape;
      const pre = env.get(node.inputs[0])!.data;
      const relu = Float64Array.from(pre, (v) => (v > 0 ? v : 0));
      const clean = runGraph(sub, feeds, { precision: 'float64' }).get(output)!.data;
      for (let ch = 0; ch < c; ch++)
        l.candidates.forEach((b, j) => {
          if (b !== 'identity' && b[0] === 1 && b[1] === 1) return;
          const act = relu.slice();
          blockReluChannel(pre, act, ch * h * w, h, w, b);
          feeds.set(node.outputs[0], new Tensor('float64', l.shape, act));
          const y = runGraph(sub, feeds, { precision: 'float64' }).get(output)!.data;
          let e = 0;
          for (let i = 0; i < y.length; i++) e += (y[i] - clean[i]) ** 2;
          result[li][ch * l.candidates.length + j] += e / y.length / samples;
        });
    });
  }
  return result;
}

/** Spearman rank correlation (average ranks for ties). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a), rb = ranks(b), n = ra.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n, mb = rb.reduce((s, v) => s + v, 0) / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) ** 2; db += (rb[i] - mb) ** 2; }
  return num / Math.sqrt(da * db);
}

function ranks(v: ArrayLike<number>): number[] {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((i, j) => v[i] - v[j]);
  const r = new Array<number>(v.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}

/** The (channel, candidate) entries of a layer other than the plain ReLU [1, 1]. */
export function nonTrivial(l: FastLayerSpec, d: Float64Array): number[] {
  const J = l.candidates.length, out: number[] = [];
  for (let i = 0; i < d.length; i++) {
    const b = l.candidates[i % J];
    if (b === 'identity' || b[0] !== 1 || b[1] !== 1) out.push(d[i]);
  }
  return out;
}

/** The fixture's canonicalized float graph at batch 1. */
export function fixtureGraph(): Graph {
  return runPipeline(loadGraphFile(join(FIXTURE, 'fmnist-resnet.onnx'), { inputShape: [1, 1, 28, 28] }), 'canonicalize').graph;
}

/** The first `n` calibration images of the fixture. */
export function fixtureCalib(n: number): { data: Float32Array; shape: [number, number, number, number] } {
  const a = readNpy(join(FIXTURE, 'calib-images.npy'));
  return { data: a.data.slice(0, n * 784) as Float32Array, shape: [n, 1, 28, 28] };
}

interface Row { model: string; samples: number; probes: number; layers: number; channels: number; candidates: number; fastSeconds: number; fastCpuSeconds: number; perSampleSeconds: number; peakRssMB: number; exactSeconds?: number; spearman?: number[]; spearmanAll?: number; byProbes?: Record<string, { seconds: number; spearman: number[] }> }

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const models = (flag(args, '--models') ?? 'fixture,resnet18-cifar').split(',');
  const probes = flag(args, '--probes') ? Number(flag(args, '--probes')) : undefined;
  const rows: Row[] = [];
  for (const model of models) {
    let g: Graph, calib: { data: Float32Array; shape: [number, number, number, number] }, layers: FastLayerSpec[];
    const defaults: Record<string, number> = { fixture: 64, 'resnet18-cifar': 64, resnet50: 16 };
    const samples = Number(flag(args, '--samples') ?? defaults[model] ?? 16);
    if (model === 'fixture') {
      g = fixtureGraph();
      calib = fixtureCalib(samples);
      layers = reluLayers(g, reducedCandidates);
    } else {
      g = runPipeline(importOnnx(buildZooModel(model, {})), 'canonicalize').graph;
      const s = g.types.get(g.inputs[0])!.shape;
      calib = { data: benchInput(samples * numel(s)), shape: [samples, s[1], s[2], s[3]] };
      layers = reluLayers(g, fullCandidates);
    }
    const t0 = process.hrtime.bigint(), cpu0 = process.cpuUsage();
    const table = await measureFastDistortion(g, calib, layers, {
      probes, modelSha256: model, calibSha256: 'bench',
      onProgress: (done, total, phase) => process.stderr.write(`\r${model}: ${phase} ${done}/${total}   `),
    });
    const fastSeconds = seconds(t0), cpu = process.cpuUsage(cpu0), fastCpuSeconds = (cpu.user + cpu.system) / 1e6;
    process.stderr.write('\n');
    const row: Row = {
      model, samples, probes: probes ?? DEFAULT_PROBES, layers: layers.length, channels: layers.reduce((s, l) => s + l.shape[1], 0),
      candidates: layers.reduce((s, l) => s + l.candidates.length, 0), fastSeconds, fastCpuSeconds, perSampleSeconds: fastSeconds / samples,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    };
    if (model === 'fixture') {
      const exactSamples = Number(flag(args, '--exact-samples') ?? samples);
      const t1 = process.hrtime.bigint();
      const exact = bruteForceDistortion(g, calib.data, exactSamples, layers);
      row.exactSeconds = seconds(t1);
      row.spearman = layers.map((l, i) => spearman(nonTrivial(l, table.layers[i].distortion), nonTrivial(l, exact[i])));
      row.spearmanAll = spearman(layers.flatMap((l, i) => nonTrivial(l, table.layers[i].distortion)), layers.flatMap((l, i) => nonTrivial(l, exact[i])));
      // Other probe counts against the same exact table (fewer than the 10 logits: random projections).
      for (const k of (flag(args, '--probe-list') ?? '').split(',').filter((v) => v).map(Number)) {
        const t2 = process.hrtime.bigint();
        const other = await measureFastDistortion(g, calib, layers, { probes: k, modelSha256: model, calibSha256: 'bench' });
        const secs = seconds(t2);
        row.byProbes = { ...row.byProbes, [k]: { seconds: secs, spearman: layers.map((l, i) => spearman(nonTrivial(l, other.layers[i].distortion), nonTrivial(l, exact[i]))) } };
      }
      if (args.includes('--ratios'))
        layers.forEach((l, i) => {
          const f = nonTrivial(l, table.layers[i].distortion), e = nonTrivial(l, exact[i]);
          const r = f.map((v, k) => e[k] / v).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
          process.stderr.write(`${l.name}: exact/fast median ${r[r.length >> 1].toFixed(3)}, p10 ${r[Math.floor(r.length * 0.1)].toFixed(3)}, p90 ${r[Math.floor(r.length * 0.9)].toFixed(3)}; sums ${(e.reduce((a, b) => a + b, 0) / f.reduce((a, b) => a + b, 0)).toFixed(3)}\n`);
        });
    }
    rows.push(row);
  }
  if (args.includes('--json')) { process.stdout.write(JSON.stringify(rows, null, 2) + '\n'); return; }
  for (const r of rows) {
    if (r.spearmanAll !== undefined) process.stdout.write(`${r.model}: Spearman over all layers pooled ${r.spearmanAll.toFixed(3)}\n`);
    for (const [k, v] of Object.entries(r.byProbes ?? {})) process.stdout.write(`${r.model}: ${k} probes: ${v.seconds.toFixed(1)} s, Spearman per layer ${v.spearman.map((x) => x.toFixed(3)).join(', ')}\n`);
  }
  process.stdout.write('model | samples | probes | layers | channels | candidates | fast s | CPU s (all threads) | s/sample | peak MB | exact s | Spearman per layer\n');
  for (const r of rows)
    process.stdout.write(`${r.model} | ${r.samples} | ${r.probes} | ${r.layers} | ${r.channels} | ${r.candidates} | ${r.fastSeconds.toFixed(1)} | ${r.fastCpuSeconds.toFixed(1)} | ${r.perSampleSeconds.toFixed(2)} | ${r.peakRssMB.toFixed(0)} | ${r.exactSeconds?.toFixed(1) ?? '—'} | ${r.spearman?.map((v) => v.toFixed(3)).join(', ') ?? '—'}\n`);
}
