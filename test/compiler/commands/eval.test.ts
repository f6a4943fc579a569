// `mpcc eval`: top-1 against an independent path (onnxruntime-node's argmax on the same images),
// batched runs equal per-image runs (float and fixed point), DReLU counts worked out by hand,
// a uniform plan, segmentation with ignored pixels, raw inputs (--data-shape, --labels-format u8)
// equal to .npy ones, and every bad input a coded error naming the file or flag.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runEval, type EvalOptions } from '../../../compiler/commands/eval.js';
import { runExport } from '../../../compiler/commands/export.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { runPipeline } from '../../../passes/index.js';
import { planJson } from '../../../passes/planning/plan-file.js';
import { uniformPlan } from '../../../passes/planning/uniform.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { suiteTempDir } from '../../temp-dir.js';
import { testValues } from '../onnx/harness.js';
import { segmenter } from './segmenter.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;

/** A small Fashion-MNIST-sized classifier: 1×28×28 → conv 8 → ReLU → conv 16 /2 → ReLU → avg-pool → 10. */
export function smallCnn(batch: number | string = 1): Uint8Array {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('input', [batch, 1, 28, 28]);
  b.initializer('w1', testValues([8, 1, 3, 3], 1).map((v) => v * 0.5), [8, 1, 3, 3]);
  b.initializer('w2', testValues([16, 8, 3, 3], 2).map((v) => v * 0.2), [16, 8, 3, 3]);
  b.initializer('w3', testValues([10, 784], 3).map((v) => v * 0.05), [10, 784]);
  b.node('Conv', ['input', 'w1'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1');
  b.node('Relu', ['c1'], ['r1'], {}, 'relu1');
  b.node('Conv', ['r1', 'w2'], ['c2'], { pads: [1, 1, 1, 1], strides: [2, 2] }, 'conv2');
  b.node('Relu', ['c2'], ['r2'], {}, 'relu2');
  b.node('AveragePool', ['r2'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  b.node('Flatten', ['p'], ['f'], {}, 'flatten');
  b.node('Gemm', ['f', 'w3'], ['output'], { transB: 1 }, 'fc');
  b.output('output', [batch, 10]);
  return b.toBytes();
}


/** Per-image argmax (first maximum) of onnxruntime's [1, C, ...] output on each image. */
async function ortArgmax(model: Uint8Array, images: Float32Array, shape: readonly number[]): Promise<number[][]> {
  const session = await ort.InferenceSession.create(model);
  const per = shape.reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  for (let i = 0; i < images.length / per; i++) {
    const y = (await session.run({ input: new ort.Tensor('float32', images.slice(i * per, (i + 1) * per), [1, ...shape]) }))[session.outputNames[0]];
    const [, c] = y.dims as number[];
    const pixels = (y.data as Float32Array).length / c;
    const data = y.data as Float32Array;
    out.push(Array.from({ length: pixels }, (_, p) => {
      let best = 0;
      for (let k = 1; k < c; k++) if (data[k * pixels + p] > data[best * pixels + p]) best = k;
      return best;
    }));
  }
  return out;
}

describe('mpcc eval', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-eval-');
  const file = (name: string) => join(dir(), name);
  const N = 120;
  let labels: number[];
  let images: Float32Array;
  const evalCnn = async (extra: Partial<EvalOptions> = {}) => (await runEval(file('cnn.onnx'), { data: file('x.npy'), labels: file('y.npy'), ...extra })).report;

  before(async () => {
    const model = smallCnn();
    writeFileSync(file('cnn.onnx'), model);
    images = testValues([N, 1, 28, 28], 5);
    writeFileSync(file('x.npy'), encodeNpy([N, 1, 28, 28], images));
    writeFileSync(file('x.raw'), new Uint8Array(images.buffer.slice(0)));
    // the labels: onnxruntime's class for two images in three, another class for the third
    const predicted = (await ortArgmax(model, images, [1, 28, 28])).map((p) => p[0]);
    labels = predicted.map((p, i) => (i % 3 === 2 ? (p + 1 + (i % 9)) % 10 : p));
    writeFileSync(file('y.npy'), encodeNpy([N], labels, '<i8'));
    writeFileSync(file('y32.npy'), encodeNpy([N, 1], labels, '<i4'));
    writeFileSync(file('y.u8'), Uint8Array.from(labels));
    writeFileSync(file('y-short.npy'), encodeNpy([N - 1], labels.slice(1), '<i8'));
    writeFileSync(file('y-float.npy'), encodeNpy([N], labels));
    writeFileSync(file('y-maps.npy'), encodeNpy([N, 28, 28], new Uint8Array(N * 784), '|u1'));
    writeFileSync(file('x-small.npy'), encodeNpy([N, 1, 14, 14], new Float32Array(N * 196)));
  });

  it('top-1 agrees exactly with onnxruntime\'s argmax on the same images', async () => {
    const session = await ort.InferenceSession.create(smallCnn());
    let hits = 0;
    for (let i = 0; i < N; i++) {
      const y = (await session.run({ input: new ort.Tensor('float32', images.slice(i * 784, (i + 1) * 784), [1, 1, 28, 28]) })).output.data as Float32Array;
      const best = y.indexOf(Math.max(...y));
      if (best === labels[i]) hits++;
    }
    const report = await evalCnn();
    expect(hits).to.equal(80); // two in three by construction
    expect(report.top1).to.equal(hits / N);
    expect(report.runner).to.equal('onnxruntime'); // float's default
    // the interpreter, the reference, agrees image by image
    const reference = await evalCnn({ runner: 'interpreter' });
    expect([reference.top1, reference.runner]).to.deep.equal([hits / N, 'interpreter']);
    expect(report.n).to.equal(N);
    expect(report.top5).to.be.within(report.top1!, 1);
    expect([report.miou, report.pixelAcc, report.iou]).to.deep.equal([null, null, null]);
  });

  it('batched runs equal per-image runs, in float (either runner) and in fixed point', async () => {
    expect(await evalCnn({ batchSize: 1, runner: 'interpreter' })).to.deep.equal(await evalCnn({ batchSize: 7, runner: 'interpreter' }));
    expect(await evalCnn({ batchSize: 1 })).to.deep.equal(await evalCnn({ batchSize: 7 }));
    const fixed = await evalCnn({ fixed: true, batchSize: 50 });
    expect(fixed.runner).to.equal('interpreter');
    expect(fixed).to.deep.equal(await evalCnn({ fixed: true, batchSize: 1 }));
    expect(Math.abs(fixed.top1! - (await evalCnn()).top1!)).to.be.at.most(2 / N); // the fixed-point run flips at most near-ties
  });

  it('DReLUs per image: 8·28·28 + 16·14·14 = 9,408; a uniform 4×4 plan keeps 8·7·7 + 16·4·4 = 648', async () => {
    const report = await evalCnn();
    expect([report.drelus, report.baselineDrelus]).to.deep.equal([9408, 9408]);
    const bytes = smallCnn();
    const graph = runPipeline(importOnnx(bytes), 'canonicalize').graph;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(file('plan.json'), planJson(uniformPlan(graph, sha256, [4, 4])));
    const planned = await evalCnn({ plan: file('plan.json') });
    expect([planned.drelus, planned.baselineDrelus]).to.deep.equal([648, 9408]);
    expect(planned.n).to.equal(N);
    expect(await evalCnn({ plan: file('plan.json'), batchSize: 1 })).to.deep.equal(await evalCnn({ plan: file('plan.json'), batchSize: 9 }));
    const planFixed = await evalCnn({ plan: file('plan.json'), fixed: true });
    expect(planFixed.drelus).to.equal(648);
    expect(planFixed).to.deep.equal(await evalCnn({ plan: file('plan.json'), fixed: true, batchSize: 1 }));
  });

  it('a symbolic batch (torch.onnx dynamic axes) is fixed from the images; --input-shape also takes it', async () => {
    writeFileSync(file('cnn-dynamic.onnx'), smallCnn('batch'));
    // the same measures as the fixed-batch model's; only the model file (its sha256) differs
    const want = { ...(await evalCnn()), model: { sha256: createHash('sha256').update(readFileSync(file('cnn-dynamic.onnx'))).digest('hex') } };
    expect((await runEval(file('cnn-dynamic.onnx'), { data: file('x.npy'), labels: file('y.npy') })).report).to.deep.equal(want);
    expect((await runEval(file('cnn-dynamic.onnx'), { data: file('x.npy'), labels: file('y.npy'), inputShape: '4,1,28,28' })).report).to.deep.equal(want);
  });

  it('under a plan, top-1 agrees exactly with onnxruntime on the exported planned network', async () => {
    const bytes = smallCnn();
    const graph = runPipeline(importOnnx(bytes), 'canonicalize').graph;
    writeFileSync(file('plan22.json'), planJson(uniformPlan(graph, createHash('sha256').update(bytes).digest('hex'), [2, 3])));
    runExport(file('cnn.onnx'), { output: file('planned.onnx'), plan: file('plan22.json') });
    const predicted = (await ortArgmax(readFileSync(file('planned.onnx')), images, [1, 28, 28])).map((p) => p[0]);
    const hits = predicted.filter((p, i) => p === labels[i]).length;
    const report = await evalCnn({ plan: file('plan22.json') });
    expect(report.top1).to.equal(hits / N);
    expect((await evalCnn({ plan: file('plan22.json'), runner: 'interpreter' })).top1).to.equal(hits / N);
    expect(report.drelus).to.equal(8 * 14 * 10 + 16 * 7 * 5); // ceil(28/2)·ceil(28/3), ceil(14/2)·ceil(14/3) tiles
  });

  it('raw float32 images (--data-shape) and raw byte labels (--labels-format u8) give the .npy result', async () => {
    const want = await evalCnn();
    expect(await evalCnn({ data: file('x.raw'), dataShape: '1,28,28', labels: file('y.u8'), labelsFormat: 'u8' })).to.deep.equal(want);
    expect(await evalCnn({ data: file('x.raw'), dataShape: `${N},1,28,28`, labels: file('y32.npy') })).to.deep.equal(want);
  });

  it('segmentation: mean IoU and pixel accuracy, ignored pixels left out', async () => {
    const model = segmenter();
    writeFileSync(file('seg.onnx'), model);
    const n = 4, seg = testValues([n, 3, 6, 7], 8);
    writeFileSync(file('seg-x.npy'), encodeNpy([n, 3, 6, 7], seg));
    const maps = (await ortArgmax(model, seg, [3, 6, 7])).flat();
    // onnxruntime's classes, with every fifth pixel ignored and every seventh relabelled wrong
    const wrong = maps.map((k, p) => (p % 5 === 0 ? 255 : p % 7 === 0 ? (k + 1) % 5 : k));
    writeFileSync(file('seg-y.npy'), encodeNpy([n, 6, 7], wrong, '|u1'));
    writeFileSync(file('seg-y.u8'), Uint8Array.from(wrong));
    const report = (await runEval(file('seg.onnx'), { data: file('seg-x.npy'), labels: file('seg-y.npy') })).report;
    const counted = wrong.filter((k) => k !== 255);
    const correct = wrong.filter((k, p) => k !== 255 && k === maps[p]).length;
    expect(report.pixelAcc).to.equal(correct / counted.length);
    // mean IoU by the definition, class by class over the labelled pixels
    let sum = 0, present = 0;
    for (let k = 0; k < 5; k++) {
      const pred = wrong.map((l, p) => l !== 255 && maps[p] === k), lab = wrong.map((l) => l === k);
      const inter = pred.filter((v, p) => v && lab[p]).length, union = pred.filter((v, p) => v || lab[p]).length;
      if (union) { sum += inter / union; present++; }
    }
    expect(report.miou).to.be.closeTo(sum / present, 1e-12);
    // per class by the same definition; null where the class is in neither
    for (let k = 0; k < 5; k++) {
      const pred = wrong.map((l, p) => l !== 255 && maps[p] === k), lab = wrong.map((l) => l === k);
      const inter = pred.filter((v, p) => v && lab[p]).length, union = pred.filter((v, p) => v || lab[p]).length;
      if (union) expect(report.iou![k], `class ${k}`).to.be.closeTo(inter / union, 1e-12);
      else expect(report.iou![k], `class ${k}`).to.equal(null);
    }
    expect([report.top1, report.top5, report.n, report.drelus]).to.deep.equal([null, null, n, 5 * 6 * 7]);
    expect((await runEval(file('seg.onnx'), { data: file('seg-x.npy'), labels: file('seg-y.u8'), labelsFormat: 'u8' })).report).to.deep.equal(report);

    // a segmentation model given class labels, and the reverse
    writeFileSync(file('seg-classes.npy'), encodeNpy([n], [0, 1, 2, 3], '<i8'));
    await expectCode(() => runEval(file('seg.onnx'), { data: file('seg-x.npy'), labels: file('seg-classes.npy') }), 'MPCC3006', /seg-classes\.npy' of shape \[4\].*segments 6×7 maps; it needs labels N×6×7/);
    writeFileSync(file('seg-classes.u8'), Uint8Array.from([0, 1, 2, 3]));
    await expectCode(() => runEval(file('seg.onnx'), { data: file('seg-x.npy'), labels: file('seg-classes.u8'), labelsFormat: 'u8' }), 'MPCC3006', /one label per pixel/);
    await expectCode(() => evalCnn({ labels: file('y-maps.npy') }), 'MPCC3006', /y-maps\.npy' of shape \[120,28,28\].*classifies.*one class label per image/);
  });

  it('bad input: coded errors naming the file or flag', async () => {
    await expectCode(() => evalCnn({ labels: file('y-short.npy') }), 'MPCC3005', /y-short\.npy' holds 119 labels but '.*x\.npy' holds 120 images/);
    await expectCode(() => evalCnn({ data: file('x-small.npy') }), 'MPCC3007', /x-small\.npy' of shape \[120,1,14,14\].*the model takes N×1×28×28/);
    await expectCode(() => evalCnn({ labels: file('y-float.npy') }), 'MPCC3008', /y-float\.npy' has dtype '<f4': expected integers/);
    await expectCode(() => evalCnn({ labelsFormat: 'csv' }), 'MPCC0004', /--labels-format/);
    await expectCode(() => evalCnn({ batchSize: '0' }), 'MPCC0004', /--batch-size/);
    await expectCode(() => evalCnn({ runner: 'gpu' }), 'MPCC0004', /--runner/);
    await expectCode(() => evalCnn({ data: file('nowhere') }), 'MPCC0002', /nowhere.*ENOENT/);
    await expectCode(() => evalCnn({ runner: 'onnxruntime', fixed: true }), 'MPCC0004', /--runner.*runs on the interpreter/);
    // flags that would do nothing: --frac-bits without --fixed, a --sample past the set
    await expectCode(() => evalCnn({ fracBits: '12' }), 'MPCC0004', /--frac-bits.*give it with --fixed/);
    await expectCode(() => evalCnn({ sample: '121' }), 'MPCC0004', /--sample.*the set holds 120 images: give at most 120/);
    expect((await evalCnn({ sample: '120' })).n).to.equal(120);
    await expectCode(() => evalCnn({ data: file('x.raw'), dataShape: '1,28' }), 'MPCC0004', /--data-shape/);
    await expectCode(() => evalCnn({ data: file('x.raw'), dataShape: '2,28,28' }), 'MPCC0004', /--data-shape.*the model takes N×1×28×28/);
    await expectCode(() => evalCnn({ data: file('x.raw'), dataShape: '7,1,28,28' }), 'MPCC3007', /holds 376320 bytes, not 7 images/);
    // a NaN or ±Inf image: refused before anything runs (onnxruntime would rank it class 0, and count it right when its label is 0)
    for (const [bad, at, extra] of [[NaN, 3, {}], [Infinity, 7, { fixed: true }], [-Infinity, 0, { runner: 'interpreter' }]] as const) {
      const images = new Float32Array(120 * 28 * 28);
      images[at * 784 + 5 * 28 + 6] = bad;
      writeFileSync(file('x-bad.npy'), encodeNpy([120, 1, 28, 28], images));
      await expectCode(() => evalCnn({ data: file('x-bad.npy'), ...extra }), 'MPCC3010', new RegExp(`x-bad\\.npy' holds ${bad} at index \\[${at},0,5,6\\]: the model takes only finite values`));
    }
    // --fixed: a value past the fixed-point range too
    const huge = new Float32Array(120 * 28 * 28);
    huge[9 * 784] = 1e30;
    writeFileSync(file('x-huge.npy'), encodeNpy([120, 1, 28, 28], huge));
    await expectCode(() => evalCnn({ data: file('x-huge.npy'), fixed: true }), 'MPCC3010', /x-huge\.npy' holds 1\.0000000150474662e\+30 at index \[9,0,0,0\]: .* of magnitude below 2\^/);
    expect((await evalCnn({ data: file('x-huge.npy') })).n).to.equal(120); // float takes it
    await expectCode(() => evalCnn({ data: file('x.raw') }), 'MPCC3001', /x\.raw' is not a valid \.npy file: it has no \.npy header \(raw little-endian float32 images need --data-shape/);
    const b = new OnnxBuilder({ opset: 13 });
    b.input('input', [1, 1, 28, 28]);
    b.node('ArgMax', ['input'], ['output'], { axis: 3, keepdims: 0 }, 'argmax');
    b.output('output');
    writeFileSync(file('argmax.onnx'), b.toBytes());
    await expectCode(() => runEval(file('argmax.onnx'), { data: file('x.npy'), labels: file('y.npy') }), 'MPCC3009', /output 'output' is int64\[1,1,28\]: neither class scores/);
  });

  it('the CLI: --json prints one object with the eleven keys; a bad input exits non-zero with one coded line', async () => {
    const ok = spawnSync(process.execPath, [CLI, 'eval', file('cnn.onnx'), '--data', file('x.npy'), '--labels', file('y.npy'), '--json', '--batch-size', '32', '--runner', 'interpreter'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).to.equal(0);
    const report = JSON.parse(ok.stdout);
    expect(Object.keys(report)).to.deep.equal(['top1', 'top5', 'miou', 'pixelAcc', 'iou', 'n', 'drelus', 'baselineDrelus', 'runner', 'model', 'plan']);
    expect(report).to.deep.equal(await evalCnn({ runner: 'interpreter' }));
    const bad = spawnSync(process.execPath, [CLI, 'eval', file('cnn.onnx'), '--data', file('x.npy'), '--labels', file('y-short.npy')], { encoding: 'utf8' });
    expect(bad.status).to.equal(2);
    expect(bad.stdout).to.equal('');
    expect(bad.stderr.trim().split('\n')).to.have.length(1);
    expect(bad.stderr).to.match(/error MPCC3005: .*y-short\.npy/);
  });
});

async function expectCode(fn: () => Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await fn().then(() => null, (e: unknown) => e);
  expect(err).to.be.instanceOf(MpccError);
  expect((err as MpccError).message).to.match(message);
  expect(err).to.have.property('code', code);
}
