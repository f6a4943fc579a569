// `--reconstruct` on `mpcc eval` and `mpcc export` (compiler/commands/reconstruct-flags.ts), on
// the trained Fashion-MNIST fixture with a uniform 6% plan: eval's top-1 with the refit beats the
// plan's, at the same DReLUs, and eval names the calibration images; the exported ONNX, run by
// onnxruntime-node, gives mpcc's interpreter's outputs (re-imported) and eval's top-1; and the
// coded errors: no --calib (MPCC4060), calibration images among the evaluated ones (MPCC4065),
// a bad --ridge (MPCC4066), --calib without --reconstruct or --reconstruct without --plan (MPCC0004).
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { type EvalOptions, runEval } from '../../../compiler/commands/eval.js';
import type { EvalReport } from '../../../compiler/eval-report.js';
import { runExport } from '../../../compiler/commands/export.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { loadGraphFile } from '../../../compiler/load-model.js';
import { encodeNpy, readNpy, readNpyIntegers } from '../../../compiler/npy.js';
import { runGraph } from '../../../ir/interp/index.js';
import { Tensor } from '../../../ir/tensor.js';
import { suiteTempDir } from '../../temp-dir.js';
import { errorOf, rejectionOf } from '../util.js';

const FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'examples', 'fashion-mnist');
const MODEL = join(FOLDER, 'fmnist-resnet.onnx');
const CALIB = join(FOLDER, 'calib-images.npy');
const SHAPE = '1,1,28,28';
const TEST_IMAGES = 100;

describe('mpcc eval and export --reconstruct', function () {
  this.timeout(300000);
  const temp = suiteTempDir('mpcc-refit-cli-');
  let plan: string, data: string, labels: string;
  let testImages: Float32Array, testLabels: number[];
  const evalOf = (options: Partial<EvalOptions> & Record<string, unknown>) =>
    runEval(MODEL, { data, labels, plan, inputShape: SHAPE, json: true, ...options } as EvalOptions);
  const refitFlags = { reconstruct: true, calib: CALIB, calibSamples: '64' };

  before(() => {
    plan = join(temp(), 'p6.json');
    runPlanCommand(MODEL, { uniformDrelus: '0.06', output: plan, inputShape: SHAPE });
    const all = readNpy(join(FOLDER, 'test-images.npy'));
    testImages = all.data.slice(0, TEST_IMAGES * 784);
    testLabels = Array.from(readNpyIntegers(join(FOLDER, 'test-labels.npy')).data).slice(0, TEST_IMAGES).map(Number);
    data = join(temp(), 'x.npy');
    labels = join(temp(), 'y.npy');
    writeFileSync(data, encodeNpy([TEST_IMAGES, 1, 28, 28], testImages));
    writeFileSync(labels, encodeNpy([TEST_IMAGES], testLabels, '<i8'));
  });

  let refit: EvalReport;
  it('eval: the refit plan scores higher than the plan, at the same DReLUs, and names its calibration images', async () => {
    const plain = JSON.parse((await evalOf({})).text) as EvalReport;
    refit = JSON.parse((await evalOf(refitFlags)).text) as EvalReport;
    expect(refit.top1!, `${plain.top1} -> ${refit.top1}`).to.be.above(plain.top1! + 0.05);
    expect(refit.drelus).to.equal(plain.drelus);
    expect(refit.refit!.calibration).to.include({ path: CALIB, samples: 64 });
    expect(refit.refit!.layers.map((l) => l.name)).to.include('/head/Gemm');
    const text = (await evalOf({ ...refitFlags, json: false })).text;
    // 7 weight layers, the last residual block's conv2 and shortcut fitted as one
    expect(refit.refit!.layers.map((l) => l.name)).to.include('/stages/stages.1/conv2/Conv + /stages/stages.1/shortcut/shortcut.0/Conv');
    expect(text).to.contain(`refit: ${refit.refit!.layers.length} layers on 64 calibration images from ${CALIB}`);
    expect(text).to.match(/\/head\/Gemm: output error [\d.]+% -> [\d.]+%/);
    // 64 images for the head's 65 unknowns: the warning is in the report
    expect(refit.refit!.warnings).to.deep.equal([
      "MPCC4063: reconstruct: layer '/head/Gemm' has 64 calibration samples for 65 unknowns per output; the ridge is raised to 1 (give more calibration images)",
    ]);
  });

  it('export: the refit ONNX gives onnxruntime what mpcc computes, and eval\'s top-1', async () => {
    const out = join(temp(), 'refit.onnx');
    runExport(MODEL, { output: out, plan, inputShape: SHAPE, ...refitFlags } as Parameters<typeof runExport>[1]);
    const session = await ort.InferenceSession.create(readFileSync(out));
    const logits = new Float32Array(10 * TEST_IMAGES); // the export keeps --input-shape's batch of 1
    for (let i = 0; i < TEST_IMAGES; i++) {
      const x = new ort.Tensor('float32', testImages.slice(784 * i, 784 * (i + 1)), [1, 1, 28, 28]);
      logits.set((await session.run({ [session.inputNames[0]]: x }))[session.outputNames[0]].data as Float32Array, 10 * i);
    }
    // mpcc re-imports the exported file and runs it image by image too
    const g = loadGraphFile(out);
    const ours = new Float32Array(10 * TEST_IMAGES);
    for (let i = 0; i < TEST_IMAGES; i++) {
      const x = new Tensor('float32', [1, 1, 28, 28], testImages.slice(784 * i, 784 * (i + 1)));
      ours.set(runGraph(g, { [g.inputs[0]]: x }).get(g.outputs[0])!.data as Float32Array, 10 * i);
    }
    let diff = 0, scale = 0;
    for (let i = 0; i < ours.length; i++) {
      diff = Math.max(diff, Math.abs(ours[i] - logits[i]));
      scale = Math.max(scale, Math.abs(ours[i]));
    }
    expect(diff / scale).to.be.below(1e-4);
    let right = 0;
    for (let i = 0; i < TEST_IMAGES; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits[10 * i + c] > logits[10 * i + best]) best = c;
      if (best === testLabels[i]) right++;
    }
    expect(right / TEST_IMAGES).to.equal(refit.top1);
    const plainOut = join(temp(), 'plain.onnx');
    runExport(MODEL, { output: plainOut, plan, inputShape: SHAPE });
    expect(readFileSync(plainOut).equals(readFileSync(out))).to.equal(false);
  });

  it('refuses --reconstruct without --calib (MPCC4060) and calibration images it evaluates (MPCC4065)', async () => {
    expect((await rejectionOf(() => evalOf({ reconstruct: true }))).code).to.equal('MPCC4060');
    const err = await rejectionOf(() => evalOf({ reconstruct: true, calib: data, calibSamples: '8' }));
    expect(err.code).to.equal('MPCC4065');
    expect(err.message).to.contain(`shares 8 of its images with the refit's calibration data '${data}'`);
  });

  it('refuses a bad --ridge (MPCC4066), and --calib, --ridge or --reconstruct alone (MPCC0004)', async () => {
    const ridge = await rejectionOf(() => evalOf({ ...refitFlags, ridge: '-1' }));
    expect([ridge.code, ridge.message]).to.deep.equal(['MPCC4066', "--ridge -1: the ridge must be a positive number or 'auto'"]);
    expect((await rejectionOf(() => evalOf({ calib: CALIB }))).message).to.contain('--calib').and.contain('it needs --reconstruct');
    expect((await rejectionOf(() => evalOf({ ridge: '0.1' }))).message).to.contain('--ridge').and.contain('it needs --reconstruct');
    const noPlan = errorOf(() => runExport(MODEL, { output: join(temp(), 'x.onnx'), inputShape: SHAPE, ...refitFlags } as Parameters<typeof runExport>[1]));
    expect([noPlan.code, noPlan.message]).to.deep.equal(['MPCC0004', noPlan.message]);
    expect(noPlan.message).to.contain('it needs --plan');
  });
});
