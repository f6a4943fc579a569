// The refit (passes/planning/reconstruct/): the solver against normal equations built sample by
// sample and solved by plain Gaussian elimination, the ridge objective's gradient at the
// solution, each layer kind (grouped and depthwise Conv, Gemm with alpha/beta/transB, MatMul)
// against a least-squares fit from patches the test cuts itself, an identity plan returning
// the original weights, too few samples (a coded warning, finite weights), and the refit file.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../../ir/builder.js';
import type { Graph } from '../../../ir/graph.js';
import { runGraph } from '../../../ir/interp/index.js';
import { interpreterThreads, setInterpreterThreads } from '../../../ir/interp/parallel.js';
import { Tensor } from '../../../ir/tensor.js';
import { applyPlan } from '../../../passes/planning/insert-block-relu.js';
import { type ChannelBlock, type Plan, makePlan, planJson, reluLayerNames } from '../../../passes/planning/plan-file.js';
import { reconstructWeights } from '../../../passes/planning/reconstruct/reconstruct.js';
import { applyRefit, decodeRefit, encodeRefit, planBlocksSha256, readRefit } from '../../../passes/planning/reconstruct/refit-file.js';
import { NormalEquations } from '../../../passes/planning/reconstruct/solve.js';
import type { MpccError } from '../../../runtime/diagnostics.js';
import { sha256 } from '../../../runtime/program/artifacts.js';
import { errorOf, randomTensor, rng } from '../util.js';

/** Solves A·x = b (n × n, one right-hand side) by Gaussian elimination with partial pivoting. */
function gaussSolve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = m[r][n];
    for (let k = r + 1; k < n; k++) v -= m[r][k] * x[k];
    x[r] = v / m[r][r];
  }
  return x;
}

/**
 * The ridge fit the refit promises, by brute force: samples xs (each a feature list), targets ys
 * (each an output list), start weights w0[o] (features, then the bias when `bias`); minimizes
 * Σ‖W·x̃ − y‖² + λ‖W − W₀‖² (features) + λ_b‖b − b₀‖², λ = ridge × mean over features of Σ x_f².
 */
function bruteRidge(xs: number[][], ys: number[][], w0: number[][], bias: boolean, ridge: number): number[][] {
  const f = xs[0].length, n = f + (bias ? 1 : 0);
  const aug = xs.map((x) => (bias ? [...x, 1] : x));
  let scale = 0;
  for (const x of xs) for (const v of x) scale += v * v;
  scale /= f;
  const lambda = ridge * (scale > 0 ? scale : 1);
  const a = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => aug.reduce((s, x) => s + x[i] * x[j], 0)));
  for (let i = 0; i < n; i++) a[i][i] += i < f ? lambda : Math.max(lambda * 1e-6, 1e-12);
  return w0.map((start, o) => {
    const b = Array.from({ length: n }, (_, i) => aug.reduce((s, x, k) => s + x[i] * ys[k][o], 0) + (i < f ? lambda : Math.max(lambda * 1e-6, 1e-12)) * start[i]);
    return gaussSolve(a.map((r) => [...r]), b);
  });
}

function randomMatrix(rand: () => number, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => 2 * rand() - 1));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** The 3×3 patch (padding 1, zeros outside) at output pixel (oy, ox) of `channels` 5×5 maps, channel-major. */
function patch3x3(maps: ArrayLike<number>, channels: number, oy: number, ox: number): number[] {
  const patch: number[] = [];
  for (let c = 0; c < channels; c++)
    for (let ky = 0; ky < 3; ky++)
      for (let kx = 0; kx < 3; kx++) {
        const iy = oy + ky - 1, ix = ox + kx - 1;
        patch.push(iy >= 0 && iy < 5 && ix >= 0 && ix < 5 ? maps[(c * 5 + iy) * 5 + ix] : 0);
      }
  return patch;
}

/** A plan giving every channel of every ReLU of `g` the block `block`. */
function planFor(g: Graph, block: ChannelBlock): Plan {
  const layers = g.nodes.filter((n) => n.op === 'Relu').map((n) => {
    const shape = g.types.get(n.outputs[0])!.shape as [number, number, number, number];
    return { name: n.name, shape, blocks: Array.from({ length: shape[1] }, () => block) };
  });
  return makePlan({ sha256: '0'.repeat(64), reluLayers: reluLayerNames(g) }, layers, { method: 'test' }, true);
}

/** Calibration images for `g`'s input. */
function calibFor(g: Graph, images: number, seed: number): { data: Float32Array; shape: number[] } {
  const shape = [images, ...g.types.get(g.inputs[0])!.shape.slice(1)];
  return { data: randomTensor(rng(seed), shape).data as Float32Array, shape };
}

/** Per image, the named values of `g` run on that image alone (the graph has batch 1). */
function valuesPerImage(g: Graph, calib: { data: Float32Array; shape: number[] }, names: string[]): Map<string, Tensor>[] {
  const per = calib.data.length / calib.shape[0];
  return Array.from({ length: calib.shape[0] }, (_, i) => {
    const x = new Tensor('float32', [1, ...calib.shape.slice(1)], calib.data.slice(i * per, (i + 1) * per));
    return runGraph(g, { [g.inputs[0]]: x }, { keep: names });
  });
}

describe('reconstruct: the solver', () => {
  const defaultThreads = interpreterThreads();
  const rand = rng(7);
  const features = 6, outputs = 3, samples = 40;
  const xs = randomMatrix(rand, samples, features);
  const ys = randomMatrix(rand, samples, outputs);
  const w0 = randomMatrix(rand, outputs, features + 1);
  /** xs and ys laid out as the solver takes them (features × samples, stride `stride`). */
  const layout = (from: number, to: number, stride: number) => {
    const x = new Float64Array(features * stride), y = new Float64Array(outputs * stride);
    for (let s = from; s < to; s++) {
      xs[s].forEach((v, f) => (x[f * stride + s - from] = v));
      ys[s].forEach((v, o) => (y[o * stride + s - from] = v));
    }
    return { x, y };
  };
  const start = () => {
    const s = new Float64Array((features + 1) * outputs);
    w0.forEach((row, o) => row.forEach((v, i) => (s[i * outputs + o] = v)));
    return s;
  };

  it('solves the ridge normal equations as Gaussian elimination does, whatever the chunks', () => {
    const eq = new NormalEquations(features, outputs, true);
    // three chunks, the middle one with rows further apart than its samples
    for (const [from, to, stride] of [[0, 13, 13], [13, 30, 24], [30, 40, 10]]) {
      const { x, y } = layout(from, to, stride);
      eq.add(x, y, to - from, stride);
    }
    expect(eq.samples).to.equal(samples);
    const got = eq.solve(start(), 0.05);
    const want = bruteRidge(xs, ys, w0, true, 0.05);
    for (let o = 0; o < outputs; o++) for (let i = 0; i <= features; i++) expect(got[i * outputs + o]).to.be.closeTo(want[o][i], 1e-9);
  });

  it('zeroes the gradient of the ridge objective, and its squared error is the error recomputed from the samples', () => {
    const eq = new NormalEquations(features, outputs, true);
    const { x, y } = layout(0, samples, samples);
    eq.add(x, y, samples);
    const ridge = 0.3;
    const w = eq.solve(start(), ridge);
    let scale = 0;
    for (const row of xs) for (const v of row) scale += v * v;
    const lambda = ridge * scale / features;
    let direct = 0;
    for (let o = 0; o < outputs; o++) {
      const grad = new Array<number>(features + 1).fill(0);
      for (let s = 0; s < samples; s++) {
        let pred = w[features * outputs + o];
        for (let f = 0; f < features; f++) pred += w[f * outputs + o] * xs[s][f];
        const r = pred - ys[s][o];
        direct += r * r;
        for (let f = 0; f < features; f++) grad[f] += 2 * r * xs[s][f];
        grad[features] += 2 * r;
      }
      for (let f = 0; f <= features; f++) grad[f] += 2 * (f < features ? lambda : lambda * 1e-6) * (w[f * outputs + o] - w0[o][f]);
      for (const g of grad) expect(Math.abs(g)).to.be.below(1e-9 * samples);
    }
    expect(eq.squaredError(w)).to.be.closeTo(direct, 1e-9 * direct);
  });

  it('solves a problem of several Cholesky panels as Gaussian elimination does, bit for bit alike on one thread and two', () => {
    // 150 features and a bias: three 64-wide panels, the last partial, unknowns not a multiple of 4
    const r = rng(19), f = 150, o = 7, n = 300;
    const bx = randomMatrix(r, n, f), by = randomMatrix(r, n, o), bw = randomMatrix(r, o, f + 1);
    const x = new Float64Array(f * n), y = new Float64Array(o * n), s = new Float64Array((f + 1) * o);
    bx.forEach((row, k) => row.forEach((v, i) => (x[i * n + k] = v)));
    by.forEach((row, k) => row.forEach((v, i) => (y[i * n + k] = v)));
    bw.forEach((row, k) => row.forEach((v, i) => (s[i * o + k] = v)));
    const solveWith = (threads: number) => {
      setInterpreterThreads(threads);
      try {
        const eq = new NormalEquations(f, o, true);
        eq.add(x, y, 200, n);
        eq.add(x.subarray(200), y.subarray(200), 100, n);
        const copy = eq.solve(s, 0.02), err = eq.squaredError(copy);
        return { copy, err, ...eq.solveInPlace(s, 0.02) };
      } finally {
        setInterpreterThreads(defaultThreads);
      }
    };
    const one = solveWith(1), two = solveWith(2);
    const want = bruteRidge(bx, by, bw, true, 0.02);
    for (let k = 0; k < o; k++) for (let i = 0; i <= f; i++) expect(two.solution[i * o + k]).to.be.closeTo(want[k][i], 1e-9);
    expect([...two.solution]).to.deep.equal([...one.solution]);
    expect([...two.copy]).to.deep.equal([...two.solution]);
    expect(two.err).to.equal(one.err);
    // the error read from the solve's equations is the error from the statistics
    expect(two.squaredError).to.be.closeTo(two.err, 1e-9 * two.err);
  });

  it('returns the start weights when the inputs carry nothing (every sample zero, no bias)', () => {
    const eq = new NormalEquations(features, outputs, false);
    eq.add(new Float64Array(features * 5), new Float64Array(outputs * 5).fill(1), 5);
    const s = start().subarray(0, features * outputs);
    expect(maxAbsDiff(eq.solve(Float64Array.from(s), 1e-2), s)).to.be.below(1e-12);
  });
});

/** x → Relu "relu" → (a weight layer built by `layer`) → out. */
function oneLayer(input: number[], layer: (b: GraphBuilder, x: string, rand: () => number) => string): Graph {
  const b = new GraphBuilder();
  const rand = rng(11);
  const x = b.input('x', { dtype: 'float32', shape: input });
  const r = b.op('Relu', [x], {}, 'relu');
  b.output(layer(b, r, rand));
  return b.build();
}

describe('reconstruct: each layer kind against a least-squares fit from patches the test cuts', () => {
  const ridge = 1e-2;
  const images = 5;

  /** Checks the refit weights of conv `name` (weights W [O, Cg, kh, kw] + bias, stride 1,
   * `pad` on every side) against bruteRidge group by group. */
  function checkConv(g: Graph, group: number, pad: number): void {
    const conv = g.nodes.find((n) => n.op === 'Conv')!;
    const plan = planFor(g, [2, 2]);
    const calib = calibFor(g, images, 3);
    const result = reconstructWeights(g, plan, calib, { ridge });
    const planned = valuesPerImage(applyPlan(g, plan, 'plan'), calib, ['relu_out']);
    const clean = valuesPerImage(g, calib, [conv.outputs[0]]);
    const w = g.constants.get(conv.inputs[1])!, bias = g.constants.get(conv.inputs[2])!;
    const [o, cg, kh, kw] = w.shape;
    const [, c, h, wd] = g.types.get('relu_out')!.shape;
    const og = o / group;
    const newW = result.weights.get(conv.inputs[1])!.data, newB = result.weights.get(conv.inputs[2])!.data;
    for (let gi = 0; gi < group; gi++) {
      const xs: number[][] = [], ys: number[][] = [];
      for (let i = 0; i < images; i++) {
        const a = planned[i].get('relu_out')!.data, y = clean[i].get(conv.outputs[0])!.data;
        for (let oy = 0; oy < h + 2 * pad - kh + 1; oy++)
          for (let ox = 0; ox < wd + 2 * pad - kw + 1; ox++) {
            const patch: number[] = [];
            for (let ci = 0; ci < cg; ci++)
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy + ky - pad, ix = ox + kx - pad;
                  patch.push(iy >= 0 && iy < h && ix >= 0 && ix < wd ? a[((gi * cg + ci) * h + iy) * wd + ix] : 0);
                }
            xs.push(patch);
            const ow = wd + 2 * pad - kw + 1, oh = h + 2 * pad - kh + 1;
            ys.push(Array.from({ length: og }, (_, k) => y[((gi * og + k) * oh + oy) * ow + ox]));
          }
      }
      const w0 = Array.from({ length: og }, (_, k) => [...Array.from(w.data.subarray((gi * og + k) * cg * kh * kw, (gi * og + k + 1) * cg * kh * kw)), bias.data[gi * og + k]]);
      const want = bruteRidge(xs, ys, w0, true, ridge);
      for (let k = 0; k < og; k++) {
        const oc = gi * og + k;
        expect(maxAbsDiff(newW.subarray(oc * cg * kh * kw, (oc + 1) * cg * kh * kw), want[k].slice(0, -1)), `group ${gi} output ${k}`).to.be.below(1e-4);
        expect(newB[oc]).to.be.closeTo(want[k][cg * kh * kw], 1e-4);
      }
    }
    void c;
    const report = result.layers[0];
    expect(report.name).to.equal(conv.name);
    expect(report.relErrAfter).to.be.below(report.relErrBefore);
  }

  it('a grouped convolution (2 groups, padded) is solved group by group', () => {
    const g = oneLayer([1, 4, 6, 6], (b, r, rand) =>
      b.op('Conv', [r, b.constant('w', randomTensor(rand, [6, 2, 3, 3])), b.constant('bias', randomTensor(rand, [6]))], { pads: [1, 1, 1, 1], group: 2 }, 'conv'));
    checkConv(g, 2, 1);
  });

  it('a depthwise convolution (multiplier 2) is solved channel by channel', () => {
    const g = oneLayer([1, 3, 5, 5], (b, r, rand) =>
      b.op('Conv', [r, b.constant('w', randomTensor(rand, [6, 1, 3, 3])), b.constant('bias', randomTensor(rand, [6]))], { group: 3 }, 'conv'));
    checkConv(g, 3, 0);
  });

  it('with feeders, a convolution a block-ReLU reads is fitted to the ReLU of its output in the tiles that keep a positive sum', () => {
    // image → conv → ReLU planned as one whole-map tile per channel: the conv's input is clean,
    // its target is ReLU(y) where the channel's sum is positive, y where it is not
    const b = new GraphBuilder();
    const rand = rng(12);
    const x = b.input('x', { dtype: 'float32', shape: [1, 2, 5, 5] });
    const y = b.op('Conv', [x, b.constant('w', randomTensor(rand, [3, 2, 3, 3])), b.constant('bias', randomTensor(rand, [3], -0.2, 0.2))], { pads: [1, 1, 1, 1] }, 'conv');
    b.output(b.op('Relu', [y], {}, 'relu'));
    const g = b.build();
    const plan = planFor(g, [5, 5]);
    const calib = calibFor(g, 8, 4);
    const result = reconstructWeights(g, plan, calib, { ridge, feeders: true });
    expect(result.layers.map((l) => l.name)).to.deep.equal(['conv']);
    const xs: number[][] = [], ys: number[][] = [];
    valuesPerImage(g, calib, ['x', 'conv_out']).forEach((v) => {
      const img = v.get('x')!.data, out = v.get('conv_out')!.data;
      const sums = [0, 1, 2].map((o) => Array.from(out.subarray(o * 25, (o + 1) * 25) as ArrayLike<number>).reduce((a, c) => a + c, 0));
      for (let oy = 0; oy < 5; oy++)
        for (let ox = 0; ox < 5; ox++) {
          xs.push(patch3x3(img, 2, oy, ox));
          ys.push([0, 1, 2].map((o) => (sums[o] > 0 ? Math.max(0, out[o * 25 + oy * 5 + ox]) : out[o * 25 + oy * 5 + ox])));
        }
    });
    const w = g.constants.get('w')!.data, bias = g.constants.get('bias')!.data;
    const want = bruteRidge(xs, ys, [0, 1, 2].map((o) => [...w.subarray(o * 18, (o + 1) * 18), bias[o]]), true, ridge);
    const nw = result.weights.get('w')!.data, nb = result.weights.get('bias')!.data;
    for (let o = 0; o < 3; o++) {
      for (let f = 0; f < 18; f++) expect(nw[o * 18 + f]).to.be.closeTo(want[o][f], 1e-4);
      expect(nb[o]).to.be.closeTo(want[o][18], 1e-4);
    }
    // without feeders (the default) the conv, whose input the plan does not reach, is left alone
    expect(reconstructWeights(g, plan, calib, { ridge }).layers).to.deep.equal([]);
  });

  it('a Gemm with alpha, beta and transB gets the fit in its own scaling and layout', () => {
    const g = oneLayer([1, 2, 3, 3], (b, r, rand) => {
      const flat = b.op('Flatten', [r], {}, 'flat');
      return b.op('Gemm', [flat, b.constant('w', randomTensor(rand, [4, 18])), b.constant('c', randomTensor(rand, [4]))], { alpha: 0.5, beta: 2, transB: 1 }, 'gemm');
    });
    const plan = planFor(g, [3, 3]);
    const calib = calibFor(g, 40, 5);
    const result = reconstructWeights(g, plan, calib, { ridge });
    const xs = valuesPerImage(applyPlan(g, plan, 'plan'), calib, ['flat_out']).map((v) => [...v.get('flat_out')!.data]);
    const ys = valuesPerImage(g, calib, ['gemm_out']).map((v) => [...v.get('gemm_out')!.data]);
    const w = g.constants.get('w')!.data, c = g.constants.get('c')!.data;
    const w0 = Array.from({ length: 4 }, (_, o) => [...Array.from({ length: 18 }, (_, f) => 0.5 * w[o * 18 + f]), 2 * c[o]]);
    const want = bruteRidge(xs, ys, w0, true, ridge);
    const nw = result.weights.get('w')!.data, nc = result.weights.get('c')!.data;
    for (let o = 0; o < 4; o++) {
      for (let f = 0; f < 18; f++) expect(nw[o * 18 + f]).to.be.closeTo(want[o][f] / 0.5, 1e-4);
      expect(nc[o]).to.be.closeTo(want[o][18] / 2, 1e-4);
    }
  });

  it('a MatMul (no bias) is solved over the rows of its input', () => {
    const g = oneLayer([1, 2, 3, 4], (b, r, rand) => b.op('MatMul', [r, b.constant('w', randomTensor(rand, [4, 3]))], {}, 'mm'));
    const plan = planFor(g, [2, 2]);
    const calib = calibFor(g, 6, 9);
    const result = reconstructWeights(g, plan, calib, { ridge });
    const rows = (t: Tensor, k: number) => Array.from({ length: t.data.length / k }, (_, i) => [...t.data.subarray(i * k, (i + 1) * k)]);
    const xs = valuesPerImage(applyPlan(g, plan, 'plan'), calib, ['relu_out']).flatMap((v) => rows(v.get('relu_out')!, 4));
    const ys = valuesPerImage(g, calib, ['mm_out']).flatMap((v) => rows(v.get('mm_out')!, 3));
    const w = g.constants.get('w')!.data;
    const want = bruteRidge(xs, ys, Array.from({ length: 3 }, (_, o) => Array.from({ length: 4 }, (_, f) => w[f * 3 + o])), false, ridge);
    const nw = result.weights.get('w')!.data;
    for (let o = 0; o < 3; o++) for (let f = 0; f < 4; f++) expect(nw[f * 3 + o]).to.be.closeTo(want[o][f], 1e-4);
  });
});

describe('reconstruct: the two convolutions of a residual Add, fitted as one', () => {
  it("equals the least-squares fit of both convs' patches side by side against the Add's original output", () => {
    const b = new GraphBuilder();
    const rand = rng(21);
    const x = b.input('x', { dtype: 'float32', shape: [1, 3, 5, 5] });
    const r = b.op('Relu', [x], {}, 'relu');
    const main = b.op('Conv', [r, b.constant('wa', randomTensor(rand, [4, 3, 3, 3])), b.constant('ba', randomTensor(rand, [4]))], { pads: [1, 1, 1, 1] }, 'main');
    const short = b.op('Conv', [r, b.constant('wb', randomTensor(rand, [4, 3, 1, 1])), b.constant('bb', randomTensor(rand, [4]))], {}, 'shortcut');
    b.output(b.op('Add', [main, short], {}, 'add'));
    const g = b.build();
    const plan = planFor(g, [2, 2]);
    const calib = calibFor(g, 6, 8);
    const ridge = 1e-2;
    const result = reconstructWeights(g, plan, calib, { ridge });
    expect(result.layers.map((l) => l.name)).to.deep.equal(['main + shortcut']);
    const planned = valuesPerImage(applyPlan(g, plan, 'plan'), calib, ['relu_out']);
    const clean = valuesPerImage(g, calib, ['add_out']);
    const bb = g.constants.get('bb')!.data, wa = g.constants.get('wa')!.data, wb = g.constants.get('wb')!.data, ba = g.constants.get('ba')!.data;
    const xs: number[][] = [], ys: number[][] = [];
    for (let i = 0; i < 6; i++) {
      const a = planned[i].get('relu_out')!.data, y = clean[i].get('add_out')!.data;
      for (let oy = 0; oy < 5; oy++)
        for (let ox = 0; ox < 5; ox++) {
          const patch = patch3x3(a, 3, oy, ox);
          for (let c = 0; c < 3; c++) patch.push(a[(c * 5 + oy) * 5 + ox]);
          xs.push(patch);
          ys.push(Array.from({ length: 4 }, (_, o) => y[(o * 5 + oy) * 5 + ox] - bb[o]));
        }
    }
    const w0 = Array.from({ length: 4 }, (_, o) => [...wa.subarray(o * 27, o * 27 + 27), ...wb.subarray(o * 3, o * 3 + 3), ba[o]]);
    const want = bruteRidge(xs, ys, w0, true, ridge);
    const na = result.weights.get('wa')!.data, nb = result.weights.get('wb')!.data, nba = result.weights.get('ba')!.data;
    for (let o = 0; o < 4; o++) {
      expect(maxAbsDiff(na.subarray(o * 27, o * 27 + 27), want[o].slice(0, 27))).to.be.below(1e-4);
      expect(maxAbsDiff(nb.subarray(o * 3, o * 3 + 3), want[o].slice(27, 30))).to.be.below(1e-4);
      expect(nba[o]).to.be.closeTo(want[o][30], 1e-4);
    }
    expect(result.weights.get('bb')!.data).to.deep.equal(g.constants.get('bb')!.data);
  });
});

describe('reconstruct: plans, warnings and errors', () => {
  const convNet = () => {
    const b = new GraphBuilder();
    const rand = rng(5);
    const x = b.input('x', { dtype: 'float32', shape: [1, 3, 8, 8] });
    const c1 = b.op('Conv', [x, b.constant('w1', randomTensor(rand, [4, 3, 3, 3])), b.constant('b1', randomTensor(rand, [4]))], { pads: [1, 1, 1, 1] }, 'conv1');
    const r1 = b.op('Relu', [c1], {}, 'relu1');
    const c2 = b.op('Conv', [r1, b.constant('w2', randomTensor(rand, [5, 4, 3, 3])), b.constant('b2', randomTensor(rand, [5]))], { pads: [1, 1, 1, 1] }, 'conv2');
    const r2 = b.op('Relu', [c2], {}, 'relu2');
    const pool = b.op('GlobalAveragePool', [r2], {}, 'gap');
    const flat = b.op('Flatten', [pool], {}, 'flat');
    b.output(b.op('Gemm', [flat, b.constant('w3', randomTensor(rand, [5, 3])), b.constant('b3', randomTensor(rand, [3]))], {}, 'head'));
    return b.build();
  };

  it('an identity plan (every block 1×1: nothing replaced) gives back the original weights', () => {
    const g = convNet();
    const result = reconstructWeights(g, planFor(g, [1, 1]), calibFor(g, 12, 1), { ridge: 1e-3 });
    expect(result.layers.map((l) => l.name)).to.deep.equal(['conv2', 'head']);
    // with feeders conv1, which reads the image but whose output a block-ReLU reads, is refit too
    const feeders = reconstructWeights(g, planFor(g, [1, 1]), calibFor(g, 12, 1), { ridge: 1e-3, feeders: true });
    expect(feeders.layers.map((l) => l.name)).to.deep.equal(['conv1', 'conv2', 'head']);
    for (const [name, t] of feeders.weights) expect(maxAbsDiff(t.data, g.constants.get(name)!.data), name).to.be.below(1e-5);
    for (const [name, t] of result.weights) expect(maxAbsDiff(t.data, g.constants.get(name)!.data), name).to.be.below(1e-5);
    for (const l of result.layers) expect(l.relErrBefore).to.be.below(1e-6);
  });

  it('a layer with fewer samples than unknowns warns (MPCC4063), raises the ridge and stays finite', () => {
    const g = convNet();
    const warnings: MpccError[] = [];
    // 3 images: 3 rows for the head's 5 + 1 unknowns
    const result = reconstructWeights(g, planFor(g, [4, 4]), calibFor(g, 3, 2), { ridge: 1e-3, onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.code)).to.deep.equal(['MPCC4063']);
    expect(warnings[0].message).to.contain("layer 'head' has 3 calibration samples for 6 unknowns");
    expect(result.layers.find((l) => l.name === 'head')!.ridge).to.equal(1);
    for (const t of result.weights.values()) expect([...t.data].every(Number.isFinite)).to.equal(true);
  });

  it("'auto' picks a ridge per layer among the candidates, and the refit lowers every layer's error", () => {
    const g = convNet();
    const result = reconstructWeights(g, planFor(g, [2, 2]), calibFor(g, 16, 4), { ridge: 'auto' });
    for (const l of result.layers) {
      expect([1e-4, 1e-3, 1e-2, 1e-1, 1]).to.include(l.ridge);
      expect(l.relErrAfter).to.be.at.most(l.relErrBefore);
    }
  });

  it('keeps about samplesPerUnknown samples per unknown when there are more, and still fits', () => {
    const g = convNet();
    const all = reconstructWeights(g, planFor(g, [2, 2]), calibFor(g, 16, 6), { samplesPerUnknown: Infinity });
    const few = reconstructWeights(g, planFor(g, [2, 2]), calibFor(g, 16, 6), { samplesPerUnknown: 4 });
    const conv2 = (r: typeof all) => r.layers.find((l) => l.name === 'conv2')!;
    expect(conv2(all).samples).to.equal(16 * 64);
    // 1,024 patches, 37 unknowns: at most 148 kept, every 7th patch
    expect(conv2(few).samples).to.be.within(Math.floor(1024 / 7), 148);
    expect(conv2(few).relErrAfter).to.be.below(conv2(few).relErrBefore);
    for (const t of few.weights.values()) expect([...t.data].every(Number.isFinite)).to.equal(true);
  });

  it('refuses calibration data of another shape or with NaN (MPCC4064) and a bad ridge (MPCC4066)', () => {
    const g = convNet();
    const plan = planFor(g, [2, 2]);
    const wrong = errorOf(() => reconstructWeights(g, plan, { data: new Float32Array(2 * 3 * 7 * 7), shape: [2, 3, 7, 7], label: 'c.npy' }));
    expect(wrong.code).to.equal('MPCC4064');
    expect(wrong.message).to.contain("'c.npy'").and.contain('[2,3,7,7]');
    const calib = calibFor(g, 2, 1);
    calib.data[3 * 64 + 5] = NaN;
    expect(errorOf(() => reconstructWeights(g, plan, calib)).message).to.contain('image 1 holds NaN');
    expect(errorOf(() => reconstructWeights(g, plan, calibFor(g, 2, 1), { ridge: -1 })).code).to.equal('MPCC4066');
  });

  it('writes a refit file that reads back for its model and plan only (MPCC4062) and is checked against the graph (MPCC4061)', () => {
    const g = convNet();
    const plan = planFor(g, [2, 2]);
    const result = reconstructWeights(g, plan, calibFor(g, 8, 3));
    const dir = mkdtempSync(join(tmpdir(), 'mpcc-refit-'));
    try {
      const model = join(dir, 'model.bin'), planFile = join(dir, 'plan.json'), other = join(dir, 'other.json'), file = join(dir, 'w.refit');
      writeFileSync(model, 'model bytes');
      writeFileSync(planFile, planJson(plan));
      writeFileSync(other, planJson(planFor(g, [4, 4])));
      const header = { model: { sha256: sha256(Buffer.from('model bytes')) }, plan: { sha256: planBlocksSha256(plan) }, ridge: 1e-2, images: 8, calibration: { kind: 'test' }, layers: result.layers };
      writeFileSync(file, encodeRefit(header, result.weights));
      const back = readRefit(file, model, planFile);
      // the plan's refit reference (and its windows) leave the blocks' sha256 as it was
      writeFileSync(planFile, planJson({ ...plan, refit: { file: 'w.refit', sha256: sha256(readFileSync(file)) } }));
      expect(readRefit(file, model, planFile).header.images).to.equal(8);
      expect(back.header.layers).to.deep.equal(result.layers);
      expect([...back.weights.keys()]).to.deep.equal([...result.weights.keys()]);
      for (const [k, t] of result.weights) expect(maxAbsDiff(back.weights.get(k)!.data, t.data)).to.equal(0);
      // the refit graph and the file applied to the original graph compute the same
      const x = calibFor(g, 1, 9);
      const input = { x: new Tensor('float32', [1, 3, 8, 8], x.data) };
      expect(maxAbsDiff(runGraph(applyRefit(g, back.weights, file), input).get('head_out')!.data, runGraph(result.graph, input).get('head_out')!.data)).to.equal(0);
      const otherPlan = errorOf(() => readRefit(file, model, other));
      expect(otherPlan.code).to.equal('MPCC4062');
      expect(otherPlan.message).to.contain('another plan');
      writeFileSync(join(dir, 'model2.bin'), 'other model');
      expect(errorOf(() => readRefit(file, join(dir, 'model2.bin'), planFile)).message).to.contain('another model');
      const bytes = encodeRefit(header, result.weights);
      expect(errorOf(() => decodeRefit(bytes.subarray(0, bytes.length - 3), file)).code).to.equal('MPCC4061');
      expect(errorOf(() => decodeRefit(Buffer.from('nope'), file)).message).to.contain('bad magic');
      const renamed = new Map([['w9', result.weights.get('w2')!]]);
      expect(errorOf(() => applyRefit(g, renamed, file)).message).to.contain("no constant 'w9'");
      const reshaped = new Map([['w2', new Tensor('float32', [5, 36], result.weights.get('w2')!.data)]]);
      expect(errorOf(() => applyRefit(g, reshaped, file)).code).to.equal('MPCC4061');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
