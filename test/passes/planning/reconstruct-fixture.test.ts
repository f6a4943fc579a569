// The refit on the trained Fashion-MNIST fixture (examples/fashion-mnist/): at the uniform 6%
// and 10% DReLU plans, top-1 on the 500 test images (the official test split) with the refit
// beats the plan without it, the refit being fitted on 128 calibration images (the training
// split; the test checks no image is in both); the DReLUs of the lowered network are the plan's
// with or without the refit; and the refit planned network exported as ONNX gives
// onnxruntime-node what mpcc's interpreter gives.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { driveModel, planPasses, runPlan } from '../../../compiler/driver.js';
import { withBatch } from '../../../compiler/eval-batch.js';
import { readNpy, readNpyIntegers } from '../../../compiler/npy.js';
import { exportOnnx } from '../../../compiler/onnx/export.js';
import type { Graph } from '../../../ir/graph.js';
import { runGraph } from '../../../ir/interp/index.js';
import { Tensor } from '../../../ir/tensor.js';
import { applyPlan } from '../../../passes/planning/insert-block-relu.js';
import { modelFileSha256 } from '../../../passes/planning/plan-file.js';
import { reconstructWeights } from '../../../passes/planning/reconstruct/reconstruct.js';
import { uniformDreluPlan } from '../../../passes/planning/uniform.js';

const FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'examples', 'fashion-mnist');
const MODEL = join(FOLDER, 'fmnist-resnet.onnx');
const PIXELS = 28 * 28;
const CALIB_IMAGES = 128;

/** Top-1 accuracy of `g` (batch 1) on the test images, run as one batch. */
function top1(g: Graph, images: Float32Array, labels: ArrayLike<number>): number {
  const n = labels.length;
  const batched = withBatch(g, n)!;
  const out = runGraph(batched, { [batched.inputs[0]]: new Tensor('float32', [n, 1, 28, 28], images) }).get(batched.outputs[0])!.data;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (out[10 * i + c] > out[10 * i + best]) best = c;
    if (best === Number(labels[i])) right++;
  }
  return right / n;
}

/** DReLUs per inference of a planned float graph, read from its lowered form. */
function drelus(g: Graph): number {
  const lowered = runPlan(g, planPasses(g, { passes: '', target: 'lowered' })).graph;
  return lowered.nodes.reduce((s, n) => s + ((n.attrs.drelus as number | undefined) ?? 0), 0);
}

function digests(data: Float32Array, count: number): Set<string> {
  return new Set(Array.from({ length: count }, (_, i) => createHash('sha256').update(data.subarray(i * PIXELS, (i + 1) * PIXELS)).digest('hex')));
}

describe('reconstruct on the trained Fashion-MNIST fixture', function () {
  this.timeout(300000);
  const { graph } = driveModel(MODEL, { target: 'float', inputShape: [1, 1, 28, 28] });
  const sha = modelFileSha256(MODEL);
  const test = readNpy(join(FOLDER, 'test-images.npy'));
  const labels = readNpyIntegers(join(FOLDER, 'test-labels.npy')).data;
  const calibAll = readNpy(join(FOLDER, 'calib-images.npy'));
  const calib = { data: calibAll.data.subarray(0, CALIB_IMAGES * PIXELS), shape: [CALIB_IMAGES, 1, 28, 28], label: 'calib-images.npy' };

  it('fits on images the accuracy is never measured on', () => {
    const seen = digests(calib.data, CALIB_IMAGES);
    expect([...digests(test.data, test.shape[0])].filter((d) => seen.has(d))).to.deep.equal([]);
  });

  for (const ratio of [0.06, 0.1]) {
    it(`at the uniform ${100 * ratio}% plan: higher top-1 with the refit, the same DReLUs`, () => {
      const plan = uniformDreluPlan(graph, sha, ratio);
      const result = reconstructWeights(graph, plan, calib);
      const plain = applyPlan(graph, plan, 'plan'), refit = applyPlan(result.graph, plan, 'plan');
      const before = top1(plain, test.data, labels), after = top1(refit, test.data, labels);
      expect(after, `top-1 ${before} -> ${after}`).to.be.above(before + 0.1);
      expect(drelus(refit)).to.equal(drelus(plain)).and.to.equal(plan.drelus.planned);
      // only weights changed, and only those of layers after a planned ReLU
      expect(refit.nodes).to.deep.equal(plain.nodes);
      expect(result.layers.map((l) => l.name)).to.include('/head/Gemm').and.not.include('/stem/stem.0/Conv');
      for (const l of result.layers) expect(l.relErrAfter, l.name).to.be.below(l.relErrBefore);
    });
  }

  it('exports the refit planned network as ONNX that onnxruntime runs to mpcc\'s outputs', async () => {
    const plan = uniformDreluPlan(graph, sha, 0.1);
    const refit = applyPlan(reconstructWeights(graph, plan, { ...calib, data: calib.data.subarray(0, 32 * PIXELS), shape: [32, 1, 28, 28] }).graph, plan, 'plan');
    const n = 16;
    const images = test.data.slice(0, n * PIXELS);
    const batched = withBatch(refit, n)!;
    const ours = runGraph(batched, { [batched.inputs[0]]: new Tensor('float32', [n, 1, 28, 28], images) }).get(batched.outputs[0])!.data;
    const session = await ort.InferenceSession.create(exportOnnx(batched));
    const theirs = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', images, [n, 1, 28, 28]) }))[session.outputNames[0]].data as Float32Array;
    let scale = 0, diff = 0;
    for (let i = 0; i < ours.length; i++) {
      scale = Math.max(scale, Math.abs(ours[i]));
      diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
    }
    expect(diff / scale).to.be.below(1e-4);
  });
});
