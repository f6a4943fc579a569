// `--mode fast` (passes/planning/distortion/fast.ts) against exact distortions computed here
// by brute force: the whole network run in the float interpreter with one channel of one ReLU
// replaced by its block-ReLU (tiles of bh×bw from the top-left, a tile kept when its sum is
// ≥ 0), mean squared error of the output against the clean run, averaged over the samples.
import { expect } from 'chai';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGraphFile } from '../../../compiler/load-model.js';
import { readNpy } from '../../../compiler/npy.js';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { GraphBuilder } from '../../../ir/builder.js';
import type { Graph } from '../../../ir/graph.js';
import { runGraph } from '../../../ir/interp/index.js';
import { Tensor } from '../../../ir/tensor.js';
import { numel } from '../../../ir/types.js';
import { runPipeline } from '../../../passes/index.js';
import { type FastLayerSpec, type FastOptions, measureFastDistortion } from '../../../passes/planning/distortion/fast.js';
import type { ChannelBlock } from '../../../passes/planning/plan-file.js';
import { errorOf, rejectionOf, rng } from '../util.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'examples', 'fashion-mnist');
const OPTS: FastOptions = { modelSha256: 'model', calibSha256: 'calib' };

/** A planned layer spec for the Relu `name` of `g`. */
function layerOf(g: Graph, name: string, candidates: ChannelBlock[]): FastLayerSpec {
  const node = g.nodes.find((n) => n.name === name)!;
  const s = g.types.get(node.outputs[0])!.shape as [number, number, number, number];
  const costs = candidates.map((b) => (b === 'identity' ? 0 : Math.ceil(s[2] / b[0]) * Math.ceil(s[3] / b[1])));
  return { name, shape: s, candidates, costs };
}

/** The output of `g` on one image, with channel `c` of Relu `layer` block-ReLU'd by `block` (none: clean). */
function outputWith(g: Graph, image: Float32Array, layer?: string, c?: number, block?: ChannelBlock): Float64Array {
  const input = g.inputs[0], shape = g.types.get(input)!.shape;
  const res = runGraph(g, { [input]: new Tensor('float32', shape, image) }, {
    precision: 'float64',
    onNode: (node, _i, results) => {
      if (node.name !== layer || block === undefined) return;
      // Recompute the channel from the Relu's input (kept: it is read by this node).
      const [, , h, w] = results[0].shape, off = c! * h * w, out = results[0].data as Float64Array;
      const pre = preActivation.get(node.inputs[0])!;
      for (let i = 0; i < h * w; i++) out[off + i] = pre[off + i];
      if (block === 'identity') return;
      for (let y0 = 0; y0 < h; y0 += block[0])
        for (let x0 = 0; x0 < w; x0 += block[1]) {
          const cells: number[] = [];
          for (let y = y0; y < Math.min(h, y0 + block[0]); y++) for (let x = x0; x < Math.min(w, x0 + block[1]); x++) cells.push(off + y * w + x);
          if (cells.reduce((s, k) => s + pre[k], 0) < 0) for (const k of cells) out[k] = 0;
        }
    },
  });
  return res.get(g.outputs[0])!.data as Float64Array;
}
/** Pre-activations seen by the onNode hook: filled by a clean run's keep. */
const preActivation = new Map<string, ArrayLike<number>>();

/** Exact distortions (channels × candidates) of one layer over `samples` images of `data`. */
function exactLayer(g: Graph, data: Float32Array, samples: number, spec: FastLayerSpec): Float64Array {
  const input = g.inputs[0], shape = g.types.get(input)!.shape, size = numel(shape);
  const pre = g.nodes.find((n) => n.name === spec.name)!.inputs[0];
  const J = spec.candidates.length, out = new Float64Array(spec.shape[1] * J);
  for (let s = 0; s < samples; s++) {
    const image = data.subarray(s * size, (s + 1) * size);
    preActivation.set(pre, runGraph(g, { [input]: new Tensor('float32', shape, image) }, { precision: 'float64', keep: [pre] }).get(pre)!.data);
    const clean = outputWith(g, image);
    for (let c = 0; c < spec.shape[1]; c++)
      spec.candidates.forEach((b, j) => {
        const y = outputWith(g, image, spec.name, c, b);
        out[c * J + j] += y.reduce((t, v, i) => t + (v - clean[i]) ** 2, 0) / y.length / samples;
      });
  }
  return out;
}

/** Spearman's rank correlation: Pearson's correlation of the (tie-averaged) ranks. */
function rankCorrelation(a: readonly number[], b: readonly number[]): number {
  const rank = (v: readonly number[]): number[] => v.map((x) => {
    const below = v.filter((y) => y < x).length, equal = v.filter((y) => y === x).length;
    return below + (equal - 1) / 2;
  });
  const [ra, rb] = [rank(a), rank(b)];
  const mean = (r: number[]): number => r.reduce((s, x) => s + x, 0) / r.length;
  const [ma, mb] = [mean(ra), mean(rb)];
  const cov = ra.reduce((s, x, i) => s + (x - ma) * (rb[i] - mb), 0);
  return cov / Math.sqrt(ra.reduce((s, x) => s + (x - ma) ** 2, 0) * rb.reduce((s, x) => s + (x - mb) ** 2, 0));
}

/** x[1,2,6,6] → Conv → Relu 'r' → Conv → [1,3,6,6]: nothing but linear maps after the planned layer. */
function linearSuffix(): Graph {
  const rand = rng(7);
  const b = new GraphBuilder();
  const w = (name: string, shape: number[]) => b.constant(name, new Tensor('float32', shape, Float32Array.from({ length: numel(shape) }, () => rand() * 2 - 1)));
  const x = b.input('x', { dtype: 'float32', shape: [1, 2, 6, 6] });
  const r = b.op('Relu', [b.op('Conv', [x, w('w1', [4, 2, 3, 3])], { pads: [1, 1, 1, 1] })], {}, 'r');
  b.output(b.op('Conv', [r, w('w2', [3, 4, 3, 3])], { pads: [1, 1, 1, 1] }));
  return b.build();
}

/** `n` random images of `shape` [C, H, W], values in [-1, 1). */
function images(n: number, shape: number[], seed: number): { data: Float32Array; shape: [number, number, number, number] } {
  const rand = rng(seed);
  return { data: Float32Array.from({ length: n * numel(shape) }, () => rand() * 2 - 1), shape: [n, shape[0], shape[1], shape[2]] };
}

/** A seeded stand-in for the crypto generator. */
function seeded(seed: number): (n: number) => Float64Array {
  const rand = rng(seed);
  return (n) => Float64Array.from({ length: n }, rand);
}

const CANDIDATES: ChannelBlock[] = [[1, 1], [1, 2], [2, 2], [3, 3], [2, 6], [6, 6], 'identity'];

describe('passes/planning/distortion/fast: the fast distortion estimate', function () {
  this.timeout(120000);

  it('on a linear suffix, equals the exact MSE with the output\'s unit vectors (108 probes ≥ 108 outputs)', async () => {
    const g = linearSuffix(), calib = images(3, [2, 6, 6], 11), spec = layerOf(g, 'r', CANDIDATES);
    const table = await measureFastDistortion(g, calib, [spec], { ...OPTS, probes: 108 });
    const exact = exactLayer(g, calib.data, 3, spec);
    expect(table.mode).to.equal('fast');
    expect(table.samples).to.equal(3);
    expect(Math.max(...exact)).to.be.above(0.01);
    exact.forEach((e, i) => expect(table.layers[0].distortion[i], `entry ${i}`).to.be.closeTo(e, 1e-4 * Math.max(1, e)));
  });

  it('on a linear suffix, converges to the exact MSE with random projections: within 20% at 400 probes, not at 2', async () => {
    const g = linearSuffix(), calib = images(3, [2, 6, 6], 11), spec = layerOf(g, 'r', CANDIDATES);
    const exact = exactLayer(g, calib.data, 3, spec);
    const relErr = async (probes: number): Promise<number> => {
      const d = (await measureFastDistortion(g, calib, [spec], { ...OPTS, probes, random: seeded(3) })).layers[0].distortion;
      let worst = 0;
      exact.forEach((e, i) => { if (e > 1e-3) worst = Math.max(worst, Math.abs(d[i] - e) / e); });
      return worst;
    };
    // Relative standard deviation of a mean of K·S squared projections: about √(2/(K·S)) = 4% here.
    expect(await relErr(400)).to.be.below(0.2);
    expect(await relErr(2)).to.be.above(0.2);
  });

  it('gives exactly 0 for the plain ReLU [1,1] and a positive identity on a zoo model (tiny-cnn), with progress', async () => {
    const g = runPipeline(importOnnx(buildZooModel('tiny-cnn', {})), 'canonicalize').graph;
    const relus = g.nodes.filter((n) => n.op === 'Relu' && g.types.get(n.outputs[0])!.shape.length === 4);
    const specs = relus.map((n) => layerOf(g, n.name, [[1, 1], [2, 2], 'identity']));
    const seen: string[] = [];
    const table = await measureFastDistortion(g, images(2, [3, 16, 16], 5), specs, { ...OPTS, onProgress: (d, t, phase) => seen.push(`${d}/${t} ${phase}`) });
    expect(seen).to.deep.equal(['0/2 forward', '1/2 backward', '1/2 forward', '2/2 backward']);
    for (const l of table.layers) {
      expect(l.name).to.equal(specs[table.layers.indexOf(l)].name);
      for (let c = 0; c < l.shape[1]; c++) expect(l.distortion[c * 3], `${l.name} channel ${c}`).to.equal(0);
      expect(Math.max(...Array.from({ length: l.shape[1] }, (_, c) => l.distortion[c * 3 + 2]))).to.be.above(0);
      expect(Array.from(l.distortion).every((v) => Number.isFinite(v) && v >= 0)).to.equal(true);
    }
  });

  it('ranks the trained fixture\'s distortions as exact mode does (Spearman ≥ 0.95 per layer; 0.994–1.000 measured)', async () => {
    const g = runPipeline(loadGraphFile(join(FIXTURE, 'fmnist-resnet.onnx'), { inputShape: [1, 1, 28, 28] }), 'canonicalize').graph;
    const npy = readNpy(join(FIXTURE, 'calib-images.npy'));
    const calib = { data: npy.data.slice(0, 3 * 784) as Float32Array, shape: [3, 1, 28, 28] as [number, number, number, number] };
    for (const [name, side] of [['/stem/stem.2/Relu', 28], ['/stages/stages.0/Relu', 14]] as const) {
      const spec = layerOf(g, name, [[2, 2], [3, 3], [4, 4], [7, 7], [side, side], 'identity']);
      const fast = (await measureFastDistortion(g, calib, [spec], OPTS)).layers[0].distortion;
      const exact = exactLayer(g, calib.data, 3, spec);
      expect(rankCorrelation(Array.from(fast), Array.from(exact)), name).to.be.at.least(0.95);
    }
  });

  describe('bad input', () => {
    const g = linearSuffix(), spec = layerOf(g, 'r', CANDIDATES), calib = images(1, [2, 6, 6], 1);
    const line = async (fn: () => Promise<unknown>): Promise<string> => (await rejectionOf(fn)).format();

    it('MPCC4051 for calibration images of another size', async () =>
      expect(await line(() => measureFastDistortion(g, images(2, [2, 5, 6], 1), [spec], OPTS))).to.equal(
        "error MPCC4051: --mode fast: calibration data of shape [2,2,5,6] does not fit the model's input 'x' of shape [1,2,6,6]: the channels and image size must match"));

    it('MPCC4052 for a layer that is not a Relu, does not exist, or has another shape', async () => {
      const conv = g.nodes.find((n) => n.op === 'Conv')!.name;
      expect(await line(() => measureFastDistortion(g, calib, [{ ...spec, name: conv }], OPTS))).to.equal(`error MPCC4052: --mode fast: layer '${conv}': the node is a Conv, not a Relu`);
      expect(await line(() => measureFastDistortion(g, calib, [{ ...spec, name: 'nope' }], OPTS))).to.equal("error MPCC4052: --mode fast: layer 'nope': no node of the graph has this name");
      expect(await line(() => measureFastDistortion(g, calib, [{ ...spec, shape: [1, 4, 6, 7] }], OPTS))).to.equal("error MPCC4052: --mode fast: layer 'r': the activation has shape [1,4,6,6], the layer says [1,4,6,7]");
      expect(await line(() => measureFastDistortion(g, calib, [{ ...spec, candidates: [[7, 1]], costs: [6] }], OPTS))).to.equal("error MPCC4052: --mode fast: layer 'r': candidate [7,1] does not fit the 6x6 map");
    });

    it('MPCC4053 for a probe count that is not a positive integer', async () =>
      expect(await line(() => measureFastDistortion(g, calib, [spec], { ...OPTS, probes: 0 }))).to.equal('error MPCC4053: --mode fast: probes=0: must be an integer from 1 to 4096'));

    it('MPCC4054 for a model with two outputs', async () => {
      const b = new GraphBuilder();
      const x = b.input('x', { dtype: 'float32', shape: [1, 1, 2, 2] });
      b.output(b.op('Relu', [x], {}, 'r'), b.op('Sigmoid', [x]));
      expect(await line(() => measureFastDistortion(b.build(), images(1, [1, 2, 2], 1), [], OPTS))).to.equal(
        'error MPCC4054: --mode fast: the model has 1 inputs and 2 outputs; the estimate needs exactly one of each');
    });
  });
});
