// The core of the exact measures: for one ReLU layer of a context network, the output's mean
// squared error against a reference when exactly one channel of the layer takes another block
// and everything else stays as the context has it. The layer's input and the carried values
// (residual branches) are computed once by the prefix; the changed channel's block-ReLU output
// is computed in closed form from the layer's input (the interpreter's BlockRelu semantics:
// tiles from the top-left, edge tiles partial, a tile passes when its sum is ≥ 0); only the
// suffix runs, on (channel, block) pairs × samples batched into one run.
import type { Graph } from '../../../ir/graph.js';
import { blockSizesOf } from '../../../ir/ops/block-relu.js';
import { numel } from '../../../ir/types.js';
import type { ChannelBlock } from '../plan-file.js';
import { runImages } from './batched.js';
import { layerCut, prefixOf, suffixOf } from './network-cut.js';
import { withBatchSize } from './rebatch.js';
import type { ForwardRunner } from './runner.js';

/** Calibration images: N×C×H×W float32, image-major. */
export interface CalibrationImages {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

/** What one layer measurement needs besides the graph. */
export interface ChannelMeasureOptions {
  readonly runner: ForwardRunner;
  /** Input and output floats of one batched run at most (default 2^23). */
  readonly maxBatchValues?: number;
  /** Called after every batched run with the (channel, block) pairs measured so far. */
  readonly onPairs?: (done: number, total: number) => void;
}

/** Default cap on one batched run's input and output floats (32 MB each way). */
export const DEFAULT_BATCH_VALUES = 1 << 23;

/** Block-ReLU of one H×W plane `src` into `dst` (offsets in elements) under `block`. */
export function blockReluPlane(src: Float32Array, srcAt: number, dst: Float32Array, dstAt: number, h: number, w: number, block: ChannelBlock): void {
  if (block === 'identity') {
    dst.set(src.subarray(srcAt, srcAt + h * w), dstAt);
    return;
  }
  const [bh, bw] = block;
  for (let ty = 0; ty < h; ty += bh) {
    for (let tx = 0; tx < w; tx += bw) {
      const yEnd = Math.min(h, ty + bh), xEnd = Math.min(w, tx + bw);
      let sum = 0; // float64 whatever the data, as the interpreter's kernel sums
      for (let y = ty; y < yEnd; y++) for (let x = tx; x < xEnd; x++) sum += src[srcAt + y * w + x];
      const keep = sum >= 0;
      for (let y = ty; y < yEnd; y++) for (let x = tx; x < xEnd; x++) dst[dstAt + y * w + x] = keep ? src[srcAt + y * w + x] : 0;
    }
  }
}

/** The layer's blocks in the context network: a Relu is [1, 1] everywhere, a BlockRelu its own. */
export function contextBlocks(g: Graph, layer: string, channels: number): ChannelBlock[] {
  const node = g.nodes.find((n) => n.name === layer)!;
  return node.op === 'BlockRelu' ? blockSizesOf(node) : Array.from({ length: channels }, () => [1, 1] as const);
}

/** The network's outputs on the calibration images (all outputs flattened, image-major). */
export async function networkOutputs(g: Graph, calib: CalibrationImages, opts: ChannelMeasureOptions): Promise<Float32Array> {
  const out = await runImages(opts.runner, g, [calib.data], calib.shape[0], opts.maxBatchValues ?? DEFAULT_BATCH_VALUES);
  return concatPerImage(out, calib.shape[0]);
}

/** For layer `layer` of context network `g` (batch 1 or the model's), the MSE of the outputs
 * against `reference` (networkOutputs of the unmodified network) over the calibration images,
 * for every channel c and every block of `options[c]` (only channel c changed): result[c][k]. */
export async function measureChannels(
  g: Graph, layer: string, calib: CalibrationImages, reference: Float32Array, options: readonly (readonly ChannelBlock[])[], opts: ChannelMeasureOptions,
): Promise<Float64Array[]> {
  const samples = calib.shape[0];
  const maxValues = opts.maxBatchValues ?? DEFAULT_BATCH_VALUES;
  const cut = layerCut(g, layer);
  const [, channels, h, w] = g.types.get(cut.output)!.shape;
  const plane = h * w;
  const blocks = contextBlocks(g, layer, channels);
  // the prefix: the layer's input and the carried values, for every sample
  const prefix = prefixOf(g, cut);
  const prefixOut = await runImages(opts.runner, prefix.graph, [calib.data], samples, maxValues);
  const valueOf = (name: string) => (name === g.inputs[0] ? calib.data : prefixOut[prefix.values.indexOf(name)]);
  const x = valueOf(cut.input);
  const perImage = channels * plane;
  // the layer's output in the context, from its input
  const clean = new Float32Array(samples * perImage);
  for (let s = 0; s < samples; s++) for (let c = 0; c < channels; c++) blockReluPlane(x, (s * channels + c) * plane, clean, (s * channels + c) * plane, h, w, blocks[c]);

  const pairs: { c: number; k: number }[] = [];
  options.forEach((list, c) => list.forEach((_, k) => pairs.push({ c, k })));
  const results = options.map((list) => new Float64Array(list.length));
  if (pairs.length === 0) return results;
  const suffix = suffixOf(g, cut);
  const carried = cut.carried.map(valueOf);
  const carriedPer = cut.carried.map((v) => numel(g.types.get(v)!.shape.slice(1)));
  const outPer = reference.length / samples;
  const pairValues = samples * (perImage + carriedPer.reduce((a, b) => a + b, 0) + outPer);
  const pairsPerRun = Math.max(1, Math.min(pairs.length, Math.floor(maxValues / pairValues)));
  const batch = pairsPerRun * samples;
  // the batched inputs: every pair's rows start as the clean activations; a pair overwrites its
  // channel, and puts it back after the run
  const y = new Float32Array(batch * perImage);
  for (let p = 0; p < pairsPerRun; p++) y.set(clean, p * samples * perImage);
  const carriedBatch = carried.map((data) => {
    const buf = new Float32Array(pairsPerRun * data.length);
    for (let p = 0; p < pairsPerRun; p++) buf.set(data, p * data.length);
    return buf;
  });
  const net = await opts.runner.prepare(withBatchSize(suffix, batch));
  try {
    for (let first = 0; first < pairs.length; first += pairsPerRun) {
      const chunk = pairs.slice(first, first + pairsPerRun);
      chunk.forEach(({ c, k }, p) => {
        for (let s = 0; s < samples; s++) {
          const at = (s * channels + c) * plane;
          blockReluPlane(x, at, y, p * samples * perImage + at, h, w, options[c][k]);
        }
      });
      const out = concatPerImage(await net.run([y, ...carriedBatch]), batch);
      chunk.forEach(({ c, k }, p) => {
        let sum = 0;
        const base = p * samples * outPer;
        for (let i = 0; i < samples * outPer; i++) {
          const d = out[base + i] - reference[i];
          sum += d * d;
        }
        results[c][k] = sum / (samples * outPer);
        for (let s = 0; s < samples; s++) {
          const at = (s * channels + c) * plane;
          y.set(clean.subarray(at, at + plane), p * samples * perImage + at);
        }
      });
      opts.onPairs?.(Math.min(pairs.length, first + pairsPerRun), pairs.length);
    }
  } finally {
    await net.dispose();
  }
  return results;
}

/** Several outputs of `count` images as one image-major array (each image's outputs in order). */
function concatPerImage(outputs: readonly Float32Array[], count: number): Float32Array {
  if (outputs.length === 1) return outputs[0];
  const per = outputs.map((o) => o.length / count);
  const total = per.reduce((a, b) => a + b, 0);
  const out = new Float32Array(count * total);
  let offset = 0;
  outputs.forEach((o, i) => {
    for (let s = 0; s < count; s++) out.set(o.subarray(s * per[i], (s + 1) * per[i]), s * total + offset);
    offset += per[i];
  });
  return out;
}
