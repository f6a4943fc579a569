// `--reconstruct` on `mpcc plan` and `mpcc compile` (compiler/commands/reconstruct-flags.ts), on
// the trained Fashion-MNIST fixture with a uniform 6% plan: plan writes the refit weights file
// beside the plan and references it; compile applies it (pass apply-refit) or refits on --calib,
// the two giving the server the same weights, other than the plan's alone; the compiled refit
// model, run by the three parties in process, matches the fixed-point interpreter on the refit
// network (and the refit float network matches reconstructWeights called directly); and the
// coded errors: refit weights for another model (MPCC4062), a replaced refit file (MPCC4091),
// --reconstruct with neither --calib nor refit weights in the plan (MPCC4090), mpcc plan
// --reconstruct without --calib (MPCC4060).
import { expect } from 'chai';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCompile } from '../../compiler/commands/compile.js';
import { runExport } from '../../compiler/commands/export.js';
import { runPlanCommand } from '../../compiler/commands/plan.js';
import { CHECK_TOLERANCE, checkAgainstPlaintext, describeCheck } from '../../compiler/narrow.js';
import { driveModel } from '../../compiler/driver.js';
import { readNpy } from '../../compiler/npy.js';
import { runGraph } from '../../ir/interp/index.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { Tensor } from '../../ir/tensor.js';
import { applyPlan } from '../../passes/planning/insert-block-relu.js';
import { planJson, readPlan } from '../../passes/planning/plan-file.js';
import { reconstructWeights } from '../../passes/planning/reconstruct/reconstruct.js';
import { loadPartyArtifacts, sha256 } from '../../runtime/program/index.js';
import { suiteTempDir } from '../temp-dir.js';
import { errorOf } from '../passes/util.js';
import { argmax, maxAbsDiff, runSecureInProcess } from './support.js';

const FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'fashion-mnist');
const MODEL = join(FOLDER, 'fmnist-resnet.onnx');
const CALIB = join(FOLDER, 'calib-images.npy');
const SHAPE = '1,1,28,28';
const FRAC = 16;
const SAMPLES = 96;

describe('e2e: mpcc plan and compile --reconstruct', function () {
  this.timeout(300000);
  const temp = suiteTempDir('mpcc-refit-e2e-');
  let plan = '', bare = '';
  const calibFlags = { calib: CALIB, calibSamples: String(SAMPLES) };

  let printed = '', printedBare = '';
  before(() => {
    plan = join(temp(), 'p6.json');
    printed = runPlanCommand(MODEL, { uniformDrelus: '0.06', output: plan, inputShape: SHAPE, reconstruct: true, ...calibFlags } as Parameters<typeof runPlanCommand>[1]).text;
    bare = join(temp(), 'bare.json');
    printedBare = runPlanCommand(MODEL, { uniformDrelus: '0.06', output: bare, inputShape: SHAPE }).text;
  });

  it('plan writes the refit weights beside the plan and references them by sha256; the blocks are the plain plan\'s', () => {
    const p = readPlan(plan);
    expect(p.refit).to.deep.equal({ file: 'p6.refit', sha256: sha256(readFileSync(join(temp(), 'p6.refit'))) });
    expect(p.layers).to.deep.equal(readPlan(bare).layers);
    expect(p.drelus).to.deep.equal(readPlan(bare).drelus);
    // and says so on stdout, where the bare plan says nothing of a refit
    expect(printed).to.contain(`refit: weights refit on calibration images in p6.refit beside the plan (sha256 ${p.refit!.sha256.slice(0, 16)}…)`);
    expect(printedBare).to.not.contain('refit');
  });

  it('compile applies the plan\'s refit file, or refits on --calib, to the same server weights; the refit float network is reconstructWeights\' own', () => {
    const fromFile = join(temp(), 'from-file'), fromCalib = join(temp(), 'from-calib'), plain = join(temp(), 'plain');
    const summary = runCompile(MODEL, { output: fromFile, plan, reconstruct: true, inputShape: SHAPE, fracBits: FRAC });
    expect(summary.notes.join('\n')).to.contain('refit (from ');
    runCompile(MODEL, { output: fromCalib, plan: bare, reconstruct: true, inputShape: SHAPE, fracBits: FRAC, ...calibFlags });
    runCompile(MODEL, { output: plain, plan: bare, inputShape: SHAPE, fracBits: FRAC });
    const weights = (dir: string) => readFileSync(join(dir, 'party1', 'weights.bin'));
    expect(weights(fromFile).equals(weights(fromCalib))).to.equal(true);
    expect(weights(fromFile).equals(weights(plain))).to.equal(false);
    // the driver's refit float network against a refit computed here, on the same images
    const { graph: canonical } = driveModel(MODEL, { target: 'float', inputShape: [1, 1, 28, 28] });
    const all = readNpy(CALIB);
    const direct = reconstructWeights(canonical, readPlan(bare), { data: all.data.subarray(0, SAMPLES * 784), shape: [SAMPLES, 1, 28, 28] });
    const { graph: driven } = driveModel(MODEL, { target: 'float', inputShape: [1, 1, 28, 28], planFile: plan, refitFile: join(temp(), 'p6.refit') });
    const x = { [canonical.inputs[0]]: new Tensor('float32', [1, 1, 28, 28], readNpy(join(FOLDER, 'test-images.npy')).data.slice(0, 784)) };
    const want = runGraph(applyPlan(direct.graph, readPlan(bare), 'plan'), x).get(canonical.outputs[0])!.data;
    expect(maxAbsDiff(runGraph(driven, x).get(driven.outputs[0])!.data, want)).to.equal(0);
  });

  it('the compiled refit model run by the three parties matches the fixed-point interpreter on the refit network', async () => {
    const out = join(temp(), 'from-file');
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const { graph: quantized } = driveModel(MODEL, { target: 'quantized', inputShape: [1, 1, 28, 28], planFile: plan, refitFile: join(temp(), 'p6.refit'), fracBits: FRAC });
    const { graph: unrefit } = driveModel(MODEL, { target: 'quantized', inputShape: [1, 1, 28, 28], planFile: bare, fracBits: FRAC });
    const images = readNpy(join(FOLDER, 'test-images.npy')).data;
    for (let i = 0; i < 3; i++) {
      const x = images.slice(784 * i, 784 * (i + 1));
      const [client] = await runSecureInProcess(arts, x);
      const secure = client.outputs.get(quantized.outputs[0])!;
      const input = { [quantized.inputs[0]]: new Tensor('float32', [1, 1, 28, 28], x) };
      const fixed = runGraphFixed(quantized, input, { frac: FRAC }).outputs.get(quantized.outputs[0])!.data;
      const other = runGraphFixed(unrefit, input, { frac: FRAC }).outputs.get(unrefit.outputs[0])!.data;
      const diff = maxAbsDiff(secure, fixed);
      // share truncation (±1 ulp per truncated value, grown by the layers after it): measured
      // 47 to 131 ulps on these images (2^-16 each), the bound allows 512; the unrefit network
      // is 5 to 10 away
      expect(diff, `image ${i}`).to.be.below(2 ** -7);
      expect(maxAbsDiff(secure, other), `image ${i}: the refit weights are used`).to.be.above(100 * diff + 1e-3);
      expect(argmax(secure)).to.equal(argmax(fixed));
    }
  });

  it('OUT keeps the refit weights beside its plan.json, which references them (the server\'s record only); --verify-against-plaintext and compile --plan OUT/plan.json apply them', async () => {
    const fromCalib = join(temp(), 'from-calib'); // compiled above: refit on --calib
    const refit = readFileSync(join(fromCalib, 'plan.refit'));
    expect(readPlan(join(fromCalib, 'plan.json')).refit).to.deep.equal({ file: 'plan.refit', sha256: sha256(refit) });
    const manifest = JSON.parse(readFileSync(join(fromCalib, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
    expect(manifest.files['plan.refit']).to.equal(sha256(refit));
    for (const party of ['party0', 'party1', 'party2']) expect(readdirSync(join(fromCalib, party)).filter((f) => f.endsWith('.refit')), party).to.deep.equal([]);
    // compiled without --reconstruct from a plan that references refit weights: OUT's plan does not
    expect(readPlan(join(temp(), 'plain', 'plan.json')).refit).to.equal(undefined);
    const unapplied = join(temp(), 'unapplied');
    runCompile(MODEL, { output: unapplied, plan, inputShape: SHAPE, fracBits: FRAC });
    expect(readPlan(join(unapplied, 'plan.json')).refit).to.equal(undefined);
    expect(readdirSync(unapplied)).to.not.include('plan.refit');
    // the plaintext check rebuilds the refit network: the secure output is the simulation's
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(fromCalib, id)));
    const x = readNpy(join(FOLDER, 'test-images.npy')).data.slice(0, 784);
    const [client] = await runSecureInProcess(arts, x);
    const name = [...client.outputs.keys()][0];
    const check = checkAgainstPlaintext(fromCalib, MODEL, x, FRAC, [1, 1, 28, 28], { [name]: Array.from(client.outputs.get(name)!) });
    const unrefit = checkAgainstPlaintext(unapplied, MODEL, x, FRAC, [1, 1, 28, 28], { [name]: Array.from(client.outputs.get(name)!) });
    expect(check.maxDiffSimulated).to.be.below(2 ** -7);
    expect(unrefit.maxDiffSimulated, 'the unrefit network is far').to.be.above(100 * check.maxDiffSimulated + 1e-3);
    // the verdict: the refit program computes its network; checked against another network it differs
    expect([check.agrees, unrefit.relativeDiffSimulated > CHECK_TOLERANCE, unrefit.agrees]).to.deep.equal([true, true, false]);
    expect(describeCheck(check).split('\n')[0]).to.match(/^plaintext check: the secure run computes the network \(within [0-9.e-]+% of the output range\)$/);
    expect(describeCheck(unrefit).split('\n')[0]).to.contain('the secure run DIFFERS from the network it should compute');
    // compile --plan OUT/plan.json --reconstruct: OUT's refit weights again, the same server weights
    const again = join(temp(), 'again');
    runCompile(MODEL, { output: again, plan: join(fromCalib, 'plan.json'), reconstruct: true, inputShape: SHAPE, fracBits: FRAC });
    expect(readFileSync(join(again, 'party1', 'weights.bin')).equals(readFileSync(join(fromCalib, 'party1', 'weights.bin')))).to.equal(true);
  });

  it('refuses refit weights for another model (MPCC4062), a replaced refit file (MPCC4091), --reconstruct with nothing to refit from (MPCC4090) or without --calib in mpcc plan (MPCC4060)', () => {
    // another model file: the fixture re-exported (same layers, other bytes), its plan pointing at p6.refit
    const other = join(temp(), 'other.onnx');
    runExport(MODEL, { output: other, inputShape: SHAPE });
    const otherPlan = join(temp(), 'other.json');
    runPlanCommand(other, { uniformDrelus: '0.06', output: otherPlan, inputShape: SHAPE });
    copyFileSync(join(temp(), 'p6.refit'), join(temp(), 'copied.refit'));
    writeFileSync(otherPlan, planJson({ ...readPlan(otherPlan), refit: { file: 'copied.refit', sha256: sha256(readFileSync(join(temp(), 'copied.refit'))) } }));
    const err = errorOf(() => runCompile(other, { output: join(temp(), 'x'), plan: otherPlan, reconstruct: true, inputShape: SHAPE, fracBits: FRAC }));
    expect(err.code).to.equal('MPCC4062');
    expect(err.message).to.contain('was made for another model');
    // the plan's reference no longer matches the file's bytes
    writeFileSync(join(temp(), 'copied.refit'), Buffer.concat([readFileSync(join(temp(), 'copied.refit')), Buffer.from([0])]));
    expect(errorOf(() => runCompile(other, { output: join(temp(), 'x'), plan: otherPlan, reconstruct: true, inputShape: SHAPE })).code).to.equal('MPCC4091');
    const none = errorOf(() => runCompile(MODEL, { output: join(temp(), 'x'), plan: bare, reconstruct: true, inputShape: SHAPE }));
    expect([none.code, none.message]).to.deep.equal(['MPCC4090', `--reconstruct: plan '${bare}' references no refit weights file: give --calib to refit now, or make the plan with mpcc plan --reconstruct --calib`]);
    expect(errorOf(() => runPlanCommand(MODEL, { uniformDrelus: '0.06', output: join(temp(), 'y.json'), inputShape: SHAPE, reconstruct: true } as Parameters<typeof runPlanCommand>[1])).code).to.equal('MPCC4060');
    expect(errorOf(() => runCompile(MODEL, { output: join(temp(), 'x'), plan: bare, ridge: '0.1', inputShape: SHAPE })).code).to.equal('MPCC0004');
  });
});
