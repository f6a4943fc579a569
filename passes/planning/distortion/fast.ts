// `--mode fast`: the distortion table estimated from one forward and one backward pass per
// calibration sample instead of one forward pass per (layer, channel, block size).
//
// The change a block size makes at a planned ReLU is known in closed form from the clean
// pre-activation x: e = blockrelu(x) − relu(x), which is min(x, 0) on tiles whose sum passes
// (≥ 0) and −max(x, 0) on tiles that fail. The output's change is, to first order, J·e, with
// J the Jacobian from the layer's output to the network's output (m numbers). For probe
// vectors v_k with E[v vᵀ] = I/m (Rademacher entries ±1/√m), the gradients g_k = Jᵀ·v_k at every
// planned layer come from ONE batched backward pass (ir/interp/grad/), and
// ‖J·e‖²/m = E[(g_k·e)²] ≈ mean_k (g_k·e)². When m ≤ probes (or m ≤ 32 and no count is
// given) the probes are the m unit vectors instead, and the sum is exact (for the
// linearization). Per channel, g_k·e for every candidate comes from 2-D prefix sums:
// g·e = Σ_map g·min(x,0) − Σ_{failing tiles} g·x, so each tile costs one lookup for its sum's
// sign and one per probe. The estimate is summed over the samples and divided by their count:
// the mean squared error of the output, as exact mode measures it, linearized at the clean
// activations. No correction of the linearization is applied: BENCHMARKS.md ("Planning: fast
// distortion") gives its measured ranks and ratios against exact mode on the trained fixture.
import { webcrypto } from 'node:crypto';
import type { Graph, Node } from '../../../ir/graph.js';
import { runBackward } from '../../../ir/interp/grad/index.js';
import { interpreterThreads, runGraph, setInterpreterThreads } from '../../../ir/interp/index.js';
import type { FloatArray } from '../../../ir/interp/gemm.js';
import { Tensor } from '../../../ir/tensor.js';
import { numel } from '../../../ir/types.js';
import { diag } from '../../../runtime/diagnostics.js';
import type { DistortionLayer, DistortionTable } from '../distortion-table.js';
import type { ChannelBlock } from '../plan-file.js';

/** One planned ReLU layer to estimate: its Relu node, activation shape, candidates and their costs. */
export interface FastLayerSpec {
  readonly name: string;
  readonly shape: readonly [number, number, number, number];
  readonly candidates: readonly ChannelBlock[];
  readonly costs: readonly number[];
}

/** Options of the fast estimate. */
export interface FastOptions {
  /**
   * Random projections per sample (default DEFAULT_PROBES); an output of at most this many
   * numbers (at most BASIS_OUTPUTS without this option) uses its unit vectors instead.
   */
  readonly probes?: number;
  readonly modelSha256: string;
  readonly calibSha256: string;
  /** Called after each sample's forward pass (done = samples finished before it) and backward pass (done = samples finished). */
  readonly onProgress?: (done: number, total: number, phase: string) => void;
  /** n uniform numbers in [0, 1) (injectable for tests; default crypto-seeded). */
  readonly random?: (n: number) => Float64Array;
}

/** Probes per sample when the options name none. */
export const DEFAULT_PROBES = 8;
/** Without a probe count given, outputs of up to this many numbers use their unit vectors (exact linearization). */
export const BASIS_OUTPUTS = 32;
/** Largest accepted probe count. */
export const MAX_PROBES = 4096;

/** Uniform numbers in [0, 1) from the operating system's generator. */
function cryptoRandom(n: number): Float64Array {
  const words = new Uint32Array(n);
  for (let i = 0; i < n; i += 16384) webcrypto.getRandomValues(words.subarray(i, Math.min(n, i + 16384)));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = words[i] / 4294967296;
  return out;
}

/** The estimated distortion table (mode 'fast') of `layers` over the calibration samples `calib` (N×C×H×W). */
export async function measureFastDistortion(
  graph: Graph,
  calib: { readonly data: Float32Array; readonly shape: readonly [number, number, number, number] },
  layers: readonly FastLayerSpec[],
  opts: FastOptions,
): Promise<DistortionTable> {
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) throw diag('MPCC4054', [graph.inputs.length, graph.outputs.length]);
  const input = graph.inputs[0], output = graph.outputs[0];
  const inShape = graph.types.get(input)!.shape;
  checkCalibration(calib, input, inShape);
  const probes = opts.probes ?? DEFAULT_PROBES;
  if (!Number.isInteger(probes) || probes < 1 || probes > MAX_PROBES) throw diag('MPCC4053', [probes, `must be an integer from 1 to ${MAX_PROBES}`]);
  const planned = layers.map((spec) => plannedLayer(graph, spec));
  const m = numel(graph.types.get(output)!.shape);
  // Few outputs: the m unit vectors give the linearized MSE exactly (weight 1/m each, summed);
  // else K Rademacher probes of entries ±1/√m, averaged.
  const basis = m <= probes || (opts.probes === undefined && m <= BASIS_OUTPUTS);
  const K = basis ? m : probes;
  const weight = basis ? 1 / m : 1 / K;
  const random = opts.random ?? cryptoRandom;
  const sums = planned.map((p) => new Float64Array(p.channels * p.spec.candidates.length));
  const byOutput = new Map(planned.map((p, i) => [p.node.outputs[0], i]));
  const keep = [input, ...graph.nodes.flatMap((n) => n.outputs)];
  const samples = calib.shape[0], size = numel(inShape);
  for (let s = 0; s < samples; s++) {
    // between samples the event loop runs: a Ctrl-C (SIGINT) stops a long estimate within a sample
    if (s > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const x = new Tensor('float32', inShape, calib.data.subarray(s * size, (s + 1) * size));
    const env = forwardKeepingAll(graph, input, x, keep);
    opts.onProgress?.(s, samples, 'forward');
    runBackward(graph, env, new Map([[output, probeVectors(K, m, basis, random)]]), {
      probes: K,
      dtype: 'float32',
      wanted: new Set(byOutput.keys()),
      onGradient: (value, grad) => {
        const i = byOutput.get(value)!;
        accumulateLayer(planned[i], env.get(planned[i].node.inputs[0])!.data as FloatArray, grad, K, sums[i]);
      },
    });
    opts.onProgress?.(s + 1, samples, 'backward');
  }
  const scale = weight / samples;
  const out: DistortionLayer[] = planned.map((p, i) => {
    const d = sums[i];
    for (let k = 0; k < d.length; k++) d[k] *= scale;
    return { name: p.spec.name, shape: p.spec.shape, candidates: p.spec.candidates, costs: p.spec.costs, distortion: d };
  });
  return { mode: 'fast', modelSha256: opts.modelSha256, calibSha256: opts.calibSha256, samples, layers: out };
}

/**
 * The forward run with every value kept, on one thread: its results live until the backward
 * pass ends, and a 2-thread run would allocate them as shared buffers, which V8 frees too
 * late (the backward pass's products, ~8× the forward's work, keep both threads).
 */
function forwardKeepingAll(graph: Graph, input: string, x: Tensor, keep: readonly string[]): Map<string, Tensor> {
  const threads = interpreterThreads();
  setInterpreterThreads(1);
  try {
    return runGraph(graph, { [input]: x }, { precision: 'float32', keep });
  } finally {
    setInterpreterThreads(threads);
  }
}

/** A planned layer resolved in the graph. */
interface PlannedLayer {
  readonly spec: FastLayerSpec;
  readonly node: Node;
  readonly channels: number;
  readonly h: number;
  readonly w: number;
}

function checkCalibration(calib: { readonly data: Float32Array; readonly shape: readonly number[] }, input: string, inShape: readonly number[]): void {
  const fail = (why: string) => diag('MPCC4051', [calib.shape.join(','), input, inShape.join(','), why]);
  if (inShape.length !== 4 || inShape[0] !== 1) throw fail('the estimate needs a model declaring one NCHW image (batch 1)');
  if (calib.shape.length !== 4 || calib.shape.slice(1).some((d, i) => d !== inShape[i + 1])) throw fail('the channels and image size must match');
  if (calib.shape[0] < 1) throw fail('there are no samples');
  if (calib.data.length !== numel(calib.shape)) throw fail(`the data holds ${calib.data.length} numbers`);
}

function plannedLayer(graph: Graph, spec: FastLayerSpec): PlannedLayer {
  const node = graph.nodes.find((n) => n.name === spec.name);
  const fail = (why: string) => diag('MPCC4052', [spec.name, why]);
  if (!node) throw fail('no node of the graph has this name');
  if (node.op !== 'Relu') throw fail(`the node is a ${node.op}, not a Relu`);
  const shape = graph.types.get(node.outputs[0])!.shape;
  if (shape.length !== 4 || shape.some((d, i) => d !== spec.shape[i])) throw fail(`the activation has shape [${shape.join(',')}], the layer says [${spec.shape.join(',')}]`);
  if (shape[0] !== 1) throw fail('the activation has a batch of more than one image');
  if (spec.candidates.length !== spec.costs.length) throw fail(`${spec.candidates.length} candidates but ${spec.costs.length} costs`);
  for (const b of spec.candidates)
    if (b !== 'identity' && !(Number.isInteger(b[0]) && Number.isInteger(b[1]) && b[0] >= 1 && b[1] >= 1 && b[0] <= shape[2] && b[1] <= shape[3]))
      throw fail(`candidate [${b.join(',')}] does not fit the ${shape[2]}x${shape[3]} map`);
  return { spec, node, channels: shape[1], h: shape[2], w: shape[3] };
}

/** K probe vectors of m numbers, probe-major: unit vectors, or Rademacher entries ±1/√m. */
function probeVectors(K: number, m: number, basis: boolean, random: (n: number) => Float64Array): Float32Array {
  const v = new Float32Array(K * m);
  if (basis) {
    for (let k = 0; k < K; k++) v[k * m + k] = 1;
    return v;
  }
  const u = random(K * m), s = 1 / Math.sqrt(m);
  for (let i = 0; i < v.length; i++) v[i] = u[i] < 0.5 ? -s : s;
  return v;
}

/**
 * Adds Σ_k (g_k·e)² of every channel and candidate of one sample to `sums` (C × candidates),
 * with x the layer's pre-activation and grad the K probes' gradients at its output.
 */
function accumulateLayer(layer: PlannedLayer, x: FloatArray, grad: FloatArray, K: number, sums: Float64Array): void {
  const { channels, h, w } = layer;
  const cands = layer.spec.candidates, J = cands.length;
  const plane = h * w, W1 = w + 1, P1 = (h + 1) * W1, total = channels * plane;
  const px = new Float64Array(P1), pg = new Float64Array(K * P1);
  const neg = new Float64Array(K), d = new Float64Array(K);
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    // 2-D prefix sums of x and of g_k·x (row 0 and column 0 are zero), and Σ g_k·min(x, 0).
    neg.fill(0);
    for (let y = 0; y < h; y++) {
      let row = 0;
      for (let xx = 0; xx < w; xx++) {
        row += x[base + y * w + xx];
        px[(y + 1) * W1 + xx + 1] = px[y * W1 + xx + 1] + row;
      }
    }
    for (let k = 0; k < K; k++) {
      const gOff = k * total + base, pOff = k * P1;
      let nk = 0;
      for (let y = 0; y < h; y++) {
        let row = 0;
        for (let xx = 0; xx < w; xx++) {
          const xv = x[base + y * w + xx], gx = grad[gOff + y * w + xx] * xv;
          row += gx;
          if (xv < 0) nk += gx;
          pg[pOff + (y + 1) * W1 + xx + 1] = pg[pOff + y * W1 + xx + 1] + row;
        }
      }
      neg[k] = nk;
    }
    for (let j = 0; j < J; j++) {
      const b = cands[j];
      if (b !== 'identity' && b[0] === 1 && b[1] === 1) continue; // the plain ReLU: no change at all
      d.set(neg);
      if (b !== 'identity') {
        const [bh, bw] = b;
        for (let y0 = 0; y0 < h; y0 += bh) {
          const y1 = Math.min(h, y0 + bh);
          for (let x0 = 0; x0 < w; x0 += bw) {
            const x1 = Math.min(w, x0 + bw);
            const a = y0 * W1 + x0, bb = y0 * W1 + x1, cc = y1 * W1 + x0, dd = y1 * W1 + x1;
            if (px[dd] - px[bb] - px[cc] + px[a] >= 0) continue; // the tile passes
            for (let k = 0, o = 0; k < K; k++, o += P1) d[k] -= pg[o + dd] - pg[o + bb] - pg[o + cc] + pg[o + a];
          }
        }
      }
      let s = 0;
      for (let k = 0; k < K; k++) s += d[k] * d[k];
      sums[c * J + j] += s;
    }
  }
}
