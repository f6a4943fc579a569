// `mpcc eval --plan`: a plan made from calibration data (plan.source.calib, as the planner
// writes compiler/calibration/load.ts's record) refuses evaluation images it was calibrated on
// (MPCC0015, the first shared index named); other images evaluate as without the record, and a
// malformed record is MPCC0018. Model: the trained Fashion-MNIST fixture.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCalibration } from '../../../compiler/calibration/load.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { encodeNpy, readNpy, readNpyIntegers } from '../../../compiler/npy.js';
import { planJson } from '../../../passes/planning/plan-file.js';
import { rejectionOf } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';

const FMNIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'examples', 'fashion-mnist');
const MODEL = join(FMNIST, 'fmnist-resnet.onnx');
const PER = 28 * 28;

describe('mpcc eval refuses images a plan was calibrated on', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-eval-calib-');
  const file = (name: string) => join(dir(), name);
  const N = 12;

  /** Writes N images (test images, or with calibration image `calibIndex` at `at`) and labels. */
  function writeData(name: string, swap?: { at: number; calibIndex: number }): string {
    const test = readNpy(join(FMNIST, 'test-images.npy'));
    const x = test.data.slice(0, N * PER);
    if (swap) x.set(readNpy(join(FMNIST, 'calib-images.npy')).data.subarray(swap.calibIndex * PER, (swap.calibIndex + 1) * PER), swap.at * PER);
    writeFileSync(file(name), encodeNpy([N, 1, 28, 28], x));
    return file(name);
  }

  before(() => {
    writeFileSync(file('y.npy'), encodeNpy([N], Array.from(readNpyIntegers(join(FMNIST, 'test-labels.npy')).data.subarray(0, N)), '<i8'));
    const { plan } = runPlanCommand(MODEL, { uniform: '2x2', output: file('plain.json'), inputShape: '1,1,28,28' });
    const calib = loadCalibration({ calib: join(FMNIST, 'calib-images.npy'), calibSamples: 64 }, [1, 1, 28, 28]).source;
    writeFileSync(file('calibrated.json'), planJson({ ...plan, source: { ...plan.source, calib } }));
    writeFileSync(file('malformed.json'), planJson({ ...plan, source: { ...plan.source, calib: { sampleDigests: ['xyz'] } } }));
  });

  const evaluate = async (plan: string, data: string) => (await runEval(MODEL, { data, labels: file('y.npy'), plan, inputShape: '1,1,28,28' })).report;

  it('evaluates test images under a calibrated plan exactly as under the same plan without the record', async () => {
    const data = writeData('test.npy');
    // the same measures; only the plan file (its sha256) differs
    expect({ ...(await evaluate(file('calibrated.json'), data)), plan: null }).to.deep.equal({ ...(await evaluate(file('plain.json'), data)), plan: null });
  });

  it('MPCC0015: one calibration image among the test images, named by its index', async () => {
    const data = writeData('mixed.npy', { at: 7, calibIndex: 40 });
    const err = await rejectionOf(() => evaluate(file('calibrated.json'), data));
    expect(err.code).to.equal('MPCC0015');
    expect(err.message).to.contain(data).and.to.contain(file('calibrated.json')).and.to.contain('shares 1 of its images').and.to.contain('index 7');
    // a calibration image the plan did not use (beyond its 64 samples) is not refused
    const unused = writeData('unused.npy', { at: 7, calibIndex: 100 });
    expect((await evaluate(file('calibrated.json'), unused)).n).to.equal(N);
  });

  it('MPCC0015 for a secure evaluation too (mpcc eval OUT): the compiled plan.json keeps the record; refused before any party runs', async () => {
    const out = file('out');
    runCompile(MODEL, { output: out, plan: file('calibrated.json'), inputShape: '1,1,28,28', quiet: true });
    const data = writeData('mixed-secure.npy', { at: 3, calibIndex: 12 });
    const lines: string[] = [];
    const err = await rejectionOf(() => runEval(out, { data, labels: file('y.npy') }, (l) => lines.push(l)));
    expect(err.code).to.equal('MPCC0015');
    expect(err.message).to.contain(data).and.to.contain(join(out, 'plan.json')).and.to.contain('index 3');
    expect(lines.some((l) => l.includes('running the three parties'))).to.equal(false);
  });

  it('MPCC0018: a plan whose source.calib is malformed', async () => {
    const err = await rejectionOf(() => evaluate(file('malformed.json'), writeData('t2.npy')));
    expect(err.code).to.equal('MPCC0018');
    expect(err.message).to.contain(file('malformed.json')).and.to.contain('sampleDigests');
    expect(JSON.parse(readFileSync(file('calibrated.json'), 'utf8')).source.calib.sampleDigests).to.have.length(64);
  });
});
