// The trained Fashion-MNIST ResNet of examples/fashion-mnist/ (made by its train.py, committed
// with its fixtures so no Python runs here): onnxruntime-node is the independent reference. On
// the 500 committed test images it reaches the accuracy the README states (computed from the
// labels), mpcc's float interpreter gives onnxruntime's top-1 on every image, and the model
// compiles and one secure in-process run of an image gives the interpreter's top-1.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { runCompile } from '../../compiler/commands/compile.js';
import { runEval } from '../../compiler/commands/eval.js';
import { runPlanCommand } from '../../compiler/commands/plan.js';
import { loadGraphFile } from '../../compiler/load-model.js';
import { readNpy, type NpyArray } from '../../compiler/npy.js';
import { runGraph } from '../../ir/interp/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { loadPartyArtifacts, type PartyArtifacts } from '../../runtime/program/index.js';
import { argmax, runSecureInProcess } from '../e2e/support.js';
import { suiteTempDir } from '../temp-dir.js';

/** examples/fashion-mnist/ (this file runs as dist/test/examples/fashion-mnist.test.js). */
const FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'fashion-mnist');
const MODEL = join(FOLDER, 'fmnist-resnet.onnx');
const IMAGE = [1, 28, 28];
const PIXELS = 28 * 28;

/** Labels of a little-endian int64 C-order 1-D .npy file (header version 1.0), as numbers. */
function readLabels(path: string): number[] {
  const bytes = readFileSync(path);
  const headerLen = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLen).toString('latin1');
  expect(header, `${path}: header`).to.match(/'descr': '<i8', 'fortran_order': False, 'shape': \(\d+,\)/);
  const n = Number(/\((\d+),\)/.exec(header)![1]);
  return Array.from({ length: n }, (_, i) => Number(bytes.readBigInt64LE(10 + headerLen + 8 * i)));
}

/** The top-1 class of each row of `logits` (rows of 10). */
function top1s(logits: ArrayLike<number>, n: number): number[] {
  return Array.from({ length: n }, (_, i) => argmax(Array.prototype.slice.call(logits, 10 * i, 10 * i + 10) as number[]));
}

/** Fraction of `predicted` equal to `labels`. */
function accuracy(predicted: readonly number[], labels: readonly number[]): number {
  return predicted.filter((p, i) => p === labels[i]).length / labels.length;
}

describe('examples/fashion-mnist: the trained ResNet and its fixtures', function () {
  this.timeout(300000);
  const temp = suiteTempDir('mpcc-fmnist-');
  let session: ort.InferenceSession;
  let images: NpyArray;
  let labels: number[];
  let reference: Float32Array; // onnxruntime's logits, 500 × 10
  let referenceTop1: number[];

  before(async () => {
    images = readNpy(join(FOLDER, 'test-images.npy'));
    labels = readLabels(join(FOLDER, 'test-labels.npy'));
    session = await ort.InferenceSession.create(readFileSync(MODEL));
    const n = images.shape[0];
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', images.data, [n, ...IMAGE]) });
    reference = out[session.outputNames[0]].data as Float32Array;
    referenceTop1 = top1s(reference, n);
  });

  it('has 500 preprocessed test images and 500 calibration images, with labels 0–9', () => {
    expect(images.descr).to.equal('<f4');
    expect(images.shape).to.deep.equal([500, ...IMAGE]);
    const calib = readNpy(join(FOLDER, 'calib-images.npy'));
    expect(calib.descr).to.equal('<f4');
    expect(calib.shape).to.deep.equal([500, ...IMAGE]);
    const calibLabels = readLabels(join(FOLDER, 'calib-labels.npy'));
    for (const l of [labels, calibLabels]) {
      expect(l).to.have.length(500);
      expect(new Set(l)).to.deep.equal(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    }
    // Normalized as README.md says, (pixel/255 − 0.2860)/0.3530: a white pixel is the maximum, a black one the minimum.
    const lo = (0 - 0.286) / 0.353, hi = (1 - 0.286) / 0.353;
    for (const a of [images, calib]) {
      expect(a.data.reduce((m, v) => Math.min(m, v), Infinity)).to.be.closeTo(lo, 1e-5);
      expect(a.data.reduce((m, v) => Math.max(m, v), -Infinity)).to.be.closeTo(hi, 1e-5);
    }
    // Calibration images are training images, not the test images.
    expect(Buffer.from(calib.data.buffer).equals(Buffer.from(images.data.buffer))).to.equal(false);
  });

  it('reaches at least 88% top-1 on the 500 test images under onnxruntime', () => {
    // examples/fashion-mnist/README.md: 92.8% here with the committed model, 91.81% on the full 10,000 test images.
    expect(accuracy(referenceTop1, labels)).to.be.at.least(0.88);
  });

  it('gives the same top-1 under mpcc\'s float interpreter as under onnxruntime on every image', () => {
    const n = images.shape[0];
    const g = loadGraphFile(MODEL, { inputShape: [n, ...IMAGE] });
    const logits = runGraph(g, { [g.inputs[0]]: tensorOf('float32', [n, ...IMAGE], images.data) }).get(g.outputs[0])!.data as Float32Array;
    expect(logits.length).to.equal(10 * n);
    const mismatched = top1s(logits, n).flatMap((c, i) => (c === referenceTop1[i] ? [] : [i]));
    expect(mismatched, 'images whose top-1 differs').to.deep.equal([]);
    // The logits themselves agree to float32 rounding (a check that the top-1s are not equal by chance).
    let worst = 0;
    for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - reference[i]));
    expect(worst).to.be.at.most(1e-3);
  });

  it('compiles with --input-shape 1,1,28,28, and a secure run of one image gives the interpreter\'s top-1', async () => {
    const out = join(temp(), 'out');
    runCompile(MODEL, { output: out, inputShape: `1,${IMAGE.join(',')}` });
    const arts: PartyArtifacts[] = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const g = loadGraphFile(MODEL, { inputShape: [1, ...IMAGE] });
    // The first test image whose float top-1 leads the runner-up by at least one logit: the
    // fixed-point run (2^-12 grid) differs from the float one by far less, so a closer race could
    // flip legitimately and would test nothing.
    const k = Array.from({ length: labels.length }, (_, i) => i).find((i) => {
      const row = Array.from(reference.subarray(10 * i, 10 * i + 10)).sort((a, b) => b - a);
      return row[0] - row[1] >= 1;
    });
    if (k === undefined) expect.fail('no test image leads its runner-up by one logit');
    const x = images.data.slice(k * PIXELS, (k + 1) * PIXELS);
    const floatLogits = runGraph(g, { [g.inputs[0]]: tensorOf('float32', [1, ...IMAGE], x) }).get(g.outputs[0])!.data as Float32Array;
    const runs = await runSecureInProcess(arts, x);
    const secure = runs[0].outputs.get(g.outputs[0])!;
    expect(secure).to.have.length(10);
    expect(argmax(secure), `image ${k}: secure top-1`).to.equal(argmax(floatLogits));
  });
  it('mpcc eval gives the top-1 accuracy onnxruntime gives on the 500 test images, float (either runner) and --fixed', async () => {
    const data = join(FOLDER, 'test-images.npy'), labelsFile = join(FOLDER, 'test-labels.npy');
    const expected = accuracy(referenceTop1, labels); // the independent path: onnxruntime's argmax
    const float = (await runEval(MODEL, { data, labels: labelsFile })).report;
    expect((await runEval(MODEL, { data, labels: labelsFile, runner: 'interpreter' })).report.top1).to.equal(expected);
    expect(float.n).to.equal(500);
    expect(float.top1).to.equal(expected);
    expect(float.drelus).to.equal(31360); // every ReLU a plain ReLU: 12,544 + 12,544 + 6,272 per image (README)
    expect(float.baselineDrelus).to.equal(31360);
    const fixed = (await runEval(MODEL, { data, labels: labelsFile, fixed: true })).report;
    expect(fixed.top1).to.equal(expected); // the fixed-point simulation keeps every top-1 here (README)
  });

  it('mpcc eval under a uniform 4x4 plan counts the planned DReLUs and loses accuracy', async () => {
    const plan = join(temp(), 'plan-4x4.json');
    runPlanCommand(MODEL, { uniform: '4x4', output: plan, inputShape: `1,${IMAGE.join(',')}` });
    const r = (await runEval(MODEL, { data: join(FOLDER, 'test-images.npy'), labels: join(FOLDER, 'test-labels.npy'), plan })).report;
    // Tiles of 4×4 by brute force: ceil(28/4)² = 49 per channel at 28×28 (16 channels), ceil(14/4)² = 16 at 14×14
    // (2 layers × 32 channels), ceil(7/4)² = 4 at 7×7 (2 layers × 64 channels).
    expect(r.drelus).to.equal(16 * 49 + 2 * 32 * 16 + 2 * 64 * 4);
    expect(r.baselineDrelus).to.equal(31360);
    expect(r.top1).to.be.a('number');
    expect(r.top1!).to.be.below(accuracy(referenceTop1, labels));
  });
});
