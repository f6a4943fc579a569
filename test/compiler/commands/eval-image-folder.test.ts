// `mpcc eval --data DIR`: a classifier's images from class folders, as torchvision's ImageFolder
// reads them (compiler/eval-images.ts, compiler/calibration/image-folder.ts). Reference: the same Fashion-MNIST test images as an .npy
// with their labels, evaluated the array way. The PNGs are written by a minimal encoder of our
// own (examples/png.ts), gray 8-bit, from the uint8 pixels the fixture's float images
// were made of; class folders are named so that only a code-point sort gives the labels' order.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCalibration } from '../../../compiler/calibration/load.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { encodeNpy, readNpy, readNpyIntegers } from '../../../compiler/npy.js';
import { planJson } from '../../../passes/planning/plan-file.js';
import { rejectionOf } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';
import { encodePng } from '../../../examples/png.js';

const FMNIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'examples', 'fashion-mnist');
const MODEL = join(FMNIST, 'fmnist-resnet.onnx');
const PER = 28 * 28;
const NORM = { mean: [0.286], std: [0.353] }; // examples/fashion-mnist/fmnist_data.py
const NORM_FLAGS = { mean: '0.286', std: '0.353' }; // the same as the command line gives them
/** Class folder of label i: 'Z' sorts before 'a' by code point (not by locale). */
const CLASS = (i: number) => (i === 0 ? 'Z-tshirt' : `${String.fromCharCode(96 + i)}-class`);

const png = (pixels: Uint8Array, h: number, w: number) => encodePng(pixels, h, w);

describe('mpcc eval --data on an image folder (ImageFolder)', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-eval-folder-');
  const file = (...parts: string[]) => join(dir(), ...parts);
  const N = 60;
  const test = readNpy(join(FMNIST, 'test-images.npy'));
  const labels = readNpyIntegers(join(FMNIST, 'test-labels.npy')).data;
  /** Image i's uint8 pixels: the fixture's floats are (p/255 − mean)/std of such pixels. */
  const pixels = (i: number) => Uint8Array.from(test.data.subarray(i * PER, (i + 1) * PER), (v) => Math.round((v * NORM.std[0] + NORM.mean[0]) * 255));
  const imagePath = (i: number) => {
    const label = Number(labels[i]);
    // label 3's images one folder deeper: ImageFolder walks a class folder at any depth
    return label === 3 ? file('folder', CLASS(label), 'deeper', `img${i}.png`) : file('folder', CLASS(label), `img${i}.png`);
  };

  /** The test images in ImageFolder's order: by class folder, then by path within it. */
  const folderOrder = () => Array.from({ length: N }, (_, i) => i).sort((a, b) => (imagePath(a) < imagePath(b) ? -1 : imagePath(a) > imagePath(b) ? 1 : 0));

  before(() => {
    for (let c = 0; c < 10; c++) mkdirSync(file('folder', CLASS(c), ...(c === 3 ? ['deeper'] : [])), { recursive: true });
    for (let i = 0; i < N; i++) writeFileSync(imagePath(i), png(pixels(i), 28, 28));
    writeFileSync(file('folder', 'README.txt'), 'not a class'); // files directly in the folder are ignored
    writeFileSync(file('folder', CLASS(1), 'labels.csv'), 'not an image'); // as are files of other kinds
    writeFileSync(file('x.npy'), encodeNpy([N, 1, 28, 28], test.data.slice(0, N * PER)));
    writeFileSync(file('y.npy'), encodeNpy([N], Array.from(labels.subarray(0, N)), '<i8'));
  });

  const evalFolder = async (data: string, extra: Record<string, unknown> = {}) => (await runEval(MODEL, { data, ...NORM_FLAGS, ...extra } as never)).report;

  it('measures what the same images and labels measure as arrays, in float and in fixed point', async () => {
    for (const fixed of [false, true]) {
      const folder = await evalFolder(file('folder'), { fixed });
      const arrays = (await runEval(MODEL, { data: file('x.npy'), labels: file('y.npy'), fixed })).report;
      expect(folder.n).to.equal(N);
      expect(folder.top1, `fixed ${fixed}`).to.equal(arrays.top1);
      expect(folder.top5, `fixed ${fixed}`).to.equal(arrays.top5);
      expect(folder.top1).to.be.greaterThan(0.8); // the trained fixture, with the labels right
    }
    // --batch-size 7 reads the folder 7 images at a time: the same measures
    expect((await evalFolder(file('folder'), { batchSize: 7 })).top1).to.equal((await evalFolder(file('folder'))).top1);
  });

  it('--sample n evaluates images ⌊i·N/n⌋ of the set, in its order, as the same images given as arrays', async () => {
    const order = folderOrder();
    const picked = Array.from({ length: 13 }, (_, i) => order[Math.floor((i * N) / 13)]);
    const x = new Float32Array(picked.length * PER);
    picked.forEach((img, k) => x.set(test.data.subarray(img * PER, (img + 1) * PER), k * PER));
    writeFileSync(file('picked.npy'), encodeNpy([picked.length, 1, 28, 28], x));
    writeFileSync(file('picked-y.npy'), encodeNpy([picked.length], picked.map((i) => Number(labels[i])), '<i8'));
    const sampled = await evalFolder(file('folder'), { sample: '13', batchSize: 5 });
    const arrays = (await runEval(MODEL, { data: file('picked.npy'), labels: file('picked-y.npy') })).report;
    expect([sampled.n, sampled.of]).to.deep.equal([13, N]);
    expect([sampled.top1, sampled.top5]).to.deep.equal([arrays.top1, arrays.top5]);
    // n at least N: the whole set, no `of`
    expect(await evalFolder(file('folder'), { sample: String(N) })).to.not.have.property('of');
  });

  it('refuses images a plan was calibrated on, naming the first by its index in the folder', async () => {
    // the plan's calibration: three of the folder's images (one of them image 10), preprocessed alike
    mkdirSync(file('calib'));
    for (const i of [10, 20, 30]) copyFileSync(imagePath(i), file('calib', `c${i}.png`));
    const { plan } = runPlanCommand(MODEL, { uniform: '2x2', output: file('plain.json'), inputShape: '1,1,28,28' });
    const calib = loadCalibration({ calib: file('calib'), ...NORM }, [1, 1, 28, 28]).source;
    writeFileSync(file('calibrated.json'), planJson({ ...plan, source: { ...plan.source, calib } }));
    const err = await rejectionOf(() => evalFolder(file('folder'), { plan: file('calibrated.json'), batchSize: 8 }));
    expect(err.code).to.equal('MPCC0015');
    // ImageFolder's order: by class folder, then by path; the first calibration image met
    const order = folderOrder();
    const first = Math.min(...[10, 20, 30].map((i) => order.indexOf(i)));
    expect(err.message).to.contain(file('folder')).and.to.contain(`index ${first}`).and.to.contain('at least 1');
  });

  describe('bad input: coded errors naming the folder, file or flag', () => {
    const expectCode = async (fn: () => Promise<unknown>, code: string, ...mentions: string[]) => {
      const err = await rejectionOf(fn);
      expect(err.code, err.message).to.equal(code);
      for (const m of mentions) expect(err.message).to.contain(m);
    };

    it('MPCC3011: class folders fewer than the classes; MPCC3013: no image; MPCC3012: an image kind mpcc cannot read', async () => {
      mkdirSync(file('nine'));
      for (let c = 0; c < 9; c++) mkdirSync(file('nine', CLASS(c)));
      writeFileSync(file('nine', CLASS(2), 'a.png'), png(pixels(0), 28, 28));
      await expectCode(() => evalFolder(file('nine')), 'MPCC3011', file('nine'), '9 class folder(s)', 'into 10');
      mkdirSync(file('empty', 'a'), { recursive: true });
      writeFileSync(file('empty', 'loose.png'), png(pixels(0), 28, 28));
      await expectCode(() => evalFolder(file('empty')), 'MPCC3013', file('empty'));
      await expectCode(() => evalFolder(file('empty', 'a')), 'MPCC3013', 'no class folder');
      writeFileSync(file('nine', CLASS(4), 'b.BMP'), 'BM');
      await expectCode(() => evalFolder(file('nine')), 'MPCC3012', '1 image(s)', 'b.BMP');
    });

    it('MPCC0013: an image of another size without --resize/--crop; MPCC0004: --labels or --data-shape with a folder, an image flag with an array, --labels missing', async () => {
      mkdirSync(file('big', CLASS(0)), { recursive: true });
      for (let c = 1; c < 10; c++) mkdirSync(file('big', CLASS(c)));
      writeFileSync(file('big', CLASS(5), 'wide.png'), png(new Uint8Array(28 * 30), 28, 30));
      await expectCode(() => evalFolder(file('big')), 'MPCC0013', file('big', CLASS(5), 'wide.png'), '28×30', '--resize');
      expect((await evalFolder(file('big'), { resize: '28x28' })).n).to.equal(1);
      await expectCode(() => evalFolder(file('folder'), { labels: file('y.npy') }), 'MPCC0004', '--labels', 'class folders give the labels');
      await expectCode(() => evalFolder(file('folder'), { dataShape: '1,28,28' }), 'MPCC0004', '--data-shape');
      await expectCode(() => runEval(MODEL, { data: file('x.npy'), labels: file('y.npy'), mean: '0.5' } as never), 'MPCC0004', '--mean', 'is an array');
      await expectCode(() => runEval(MODEL, { data: file('x.npy') } as never), 'MPCC0004', '--labels', 'folder of class folders');
    });
  });
});
