// Loading calibration data (compiler/calibration/load.ts): a folder of images against the
// stacked torchvision tensors of test/fixtures/calibration/ (made by its make_fixtures.py), an
// .npy against its own array, the Fashion-MNIST calibration fixture, hashes and per-sample
// digests recomputed here with node:crypto, and every bad input a coded error naming the file.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CalibrationOptions, loadCalibration } from '../../../compiler/calibration/load.js';
import { encodeNpy, readNpy } from '../../../compiler/npy.js';
import { errorOf } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'calibration');
const IMAGES = join(FIXTURES, 'images');
const FMNIST_CALIB = join(ROOT, 'examples', 'fashion-mnist', 'calib-images.npy');
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Float32 samples as little-endian bytes (this machine is little-endian; checked below). */
const f32bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('calibration data loading', () => {
  const expectCode0014 = (opts: CalibrationOptions, code: string) => expect(errorOf(() => loadCalibration(opts, [1, 3, 20, 20])).code).to.equal(code);
  const dir = suiteTempDir('mpcc-calib-');
  const tmp = (...parts: string[]) => join(dir(), ...parts);
  const folderCase = (JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { name: string; images?: string[] }[]).find((c) => c.name === 'folder')!;

  it('runs on a little-endian machine (the digests hash float32 little-endian bytes)', () => {
    expect(new Uint8Array(new Float32Array([1]).buffer)[3]).to.equal(0x3f);
  });

  it('loads a folder of PNG/JPEG images as torchvision does, sorted by name, other files ignored', () => {
    const progress: [number, number][] = [];
    const set = loadCalibration({ calib: IMAGES, resize: 24, crop: 20, ...IMAGENET }, [1, 3, 20, 20], (d, t) => progress.push([d, t]));
    const want = readNpy(join(FIXTURES, 'expected', 'folder.npy'));
    expect(set.shape).to.deep.equal(want.shape);
    expect(set.source.files.map((f) => f.name)).to.deep.equal(folderCase.images);
    expect(progress).to.deep.equal(folderCase.images!.map((_, i) => [i + 1, folderCase.images!.length]));
    const per = 3 * 20 * 20;
    set.source.files.forEach((f, i) => {
      expect(f.sha256, f.name).to.equal(sha256(readFileSync(join(IMAGES, f.name))));
      const a = set.data.subarray(i * per, (i + 1) * per), b = want.data.subarray(i * per, (i + 1) * per);
      let max = 0, sum = 0;
      for (let j = 0; j < per; j++) {
        const e = Math.abs(a[j] - b[j]) * IMAGENET.std[Math.floor(j / 400)] * 255;
        max = Math.max(max, e);
        sum += e;
      }
      // PNG exact; JPEG within the levels preprocess.test.ts measures (4:2:0 chroma upsampling differs)
      const [maxBound, meanBound] = /\.png$/i.test(f.name) ? [1e-3, 1e-4] : f.name === 'e-color.JPG' ? [64, 12] : [3 + 1e-3, 1];
      expect(max, `${f.name}: max levels`).to.be.at.most(maxBound);
      expect(sum / per, `${f.name}: mean levels`).to.be.at.most(meanBound);
    });
    expect(set.source.kind).to.equal('images');
    expect(set.source.samples).to.equal(folderCase.images!.length);
    expect(set.source.sha256).to.equal(sha256(f32bytes(set.data)));
    expect(set.source.sampleDigests).to.deep.equal(folderCase.images!.map((_, i) => sha256(f32bytes(set.data.slice(i * per, (i + 1) * per))).slice(0, 16)));
    expect(set.source.preprocessing).to.deep.include({ channels: 'RGB', resize: 24, crop: 20, mean: IMAGENET.mean, std: IMAGENET.std });
  });

  it('--preset imagenet fills mean and std; explicit --resize and --crop override it; --calib-samples takes the first N', () => {
    const explicit = loadCalibration({ calib: IMAGES, resize: 24, crop: 20, ...IMAGENET }, [1, 3, 20, 20]);
    const preset = loadCalibration({ calib: IMAGES, preset: 'imagenet', resize: 24, crop: 20, calibSamples: 3 }, [3, 20, 20]);
    expect(preset.shape).to.deep.equal([3, 3, 20, 20]);
    expect(preset.data).to.deep.equal(explicit.data.slice(0, 3 * 1200));
    expect(preset.source.files).to.deep.equal(explicit.source.files.slice(0, 3));
    expect(preset.source.sampleDigests).to.deep.equal(explicit.source.sampleDigests.slice(0, 3));
    expect(preset.source.preprocessing).to.deep.include({ preset: 'imagenet', resize: 24, crop: 20 });
    // the preset alone: resize 256, crop 224
    const full = loadCalibration({ calib: IMAGES, preset: 'imagenet', calibSamples: 1 }, [1, 3, 224, 224]);
    expect(full.shape).to.deep.equal([1, 3, 224, 224]);
  });

  it('converts images to one channel for a gray model (PIL L)', () => {
    const set = loadCalibration({ calib: IMAGES, resize: 19, crop: 16, calibSamples: 4 }, [1, 1, 16, 16]);
    // d-rgba.png is the fourth file; the fixture rgba-gray-model is its torchvision tensor
    const want = readNpy(join(FIXTURES, 'expected', 'rgba-gray-model.npy'));
    expect(set.data.slice(3 * 256)).to.deep.equal(want.data);
    expect(set.source.preprocessing).to.deep.include({ channels: 'L', mean: null, std: null });
  });

  it('loads an .npy as it is, with its file hash', () => {
    const file = join(FIXTURES, 'expected', 'folder.npy');
    const set = loadCalibration({ calib: file }, [1, 3, 20, 20]);
    const want = readNpy(file);
    expect(set.shape).to.deep.equal(want.shape);
    expect(set.data).to.deep.equal(want.data);
    expect(set.source.kind).to.equal('npy');
    expect(set.source.files).to.deep.equal([{ name: 'folder.npy', sha256: sha256(readFileSync(file)) }]);
    expect(set.source.preprocessing).to.equal(undefined);
  });

  it('loads a folder of .npy arrays (C×H×W or N×C×H×W) stacked in name order, other files ignored; --calib-samples stops early', () => {
    // the reference: the Fashion-MNIST fixture's first 6 samples, cut into files by hand
    const all = readNpy(FMNIST_CALIB).data, per = 784;
    const sample = (i: number) => all.slice(i * per, (i + 1) * per);
    mkdirSync(tmp('arrays'));
    writeFileSync(tmp('arrays', 'b.npy'), encodeNpy([2, 1, 28, 28], all.slice(1 * per, 3 * per))); // samples 1, 2
    writeFileSync(tmp('arrays', 'a.NPY'), encodeNpy([1, 28, 28], sample(0))); // one sample, C×H×W
    writeFileSync(tmp('arrays', 'c.npy'), encodeNpy([1, 1, 28, 28], sample(3)));
    writeFileSync(tmp('arrays', 'd.npy'), encodeNpy([2, 1, 28, 28], all.slice(4 * per, 6 * per)));
    writeFileSync(tmp('arrays', 'notes.txt'), 'x');
    const progress: [number, number][] = [];
    const set = loadCalibration({ calib: tmp('arrays') }, [1, 1, 28, 28], (d, t) => progress.push([d, t]));
    expect(set.shape).to.deep.equal([6, 1, 28, 28]);
    expect(set.data).to.deep.equal(all.slice(0, 6 * per));
    expect(set.source.kind).to.equal('npy');
    expect(set.source.files.map((f) => f.name)).to.deep.equal(['a.NPY', 'b.npy', 'c.npy', 'd.npy']);
    expect(set.source.files[1].sha256).to.equal(sha256(readFileSync(tmp('arrays', 'b.npy'))));
    expect(set.source.sampleDigests).to.deep.equal(Array.from({ length: 6 }, (_, i) => sha256(f32bytes(sample(i))).slice(0, 16)));
    expect(progress).to.deep.equal([[1, 4], [2, 4], [3, 4], [4, 4]]);
    // the first 3 samples: a and b only, d (unreadable, below) never opened
    writeFileSync(tmp('arrays', 'd.npy'), 'not an array');
    const first = loadCalibration({ calib: tmp('arrays'), calibSamples: 3 }, [1, 1, 28, 28]);
    expect(first.data).to.deep.equal(all.slice(0, 3 * per));
    expect(first.source.files.map((f) => f.name)).to.deep.equal(['a.NPY', 'b.npy']);
  });

  it('loads class folders (ImageFolder layout): --calib-samples N takes images spread evenly through them, every class its share; images directly in a folder win over its subfolders', () => {
    // three classes of 4, 2 and 6 images (the fixture's images, copied), one class's a folder deeper
    const layout: [string, string[]][] = [['a-cls', ['a-rgb.png', 'b-gray.png', 'c-palette.png', 'd-rgba.png']], ['b-cls/deeper', ['h-small.png', 'g-rgb16.png']], ['c-cls', ['a-rgb.png', 'b-gray.png', 'c-palette.png', 'd-rgba.png', 'e-color.JPG', 'f-gray.jpeg']]];
    for (const [folder, names] of layout) {
      mkdirSync(tmp('classes', folder), { recursive: true });
      names.forEach((n, i) => copyFileSync(join(IMAGES, n), tmp('classes', folder, `${i}-${n}`)));
    }
    writeFileSync(tmp('classes', 'README.txt'), 'x');
    const ordered = layout.flatMap(([folder, names]) => names.map((n, i) => [join(folder, `${i}-${n}`), n]).sort((x, y) => (x[0] < y[0] ? -1 : 1)));
    const opts = { calib: tmp('classes'), resize: 24, crop: 20, ...IMAGENET };
    const all = loadCalibration(opts, [1, 3, 20, 20]);
    expect(all.source.files.map((f) => f.name)).to.deep.equal(ordered.map((o) => o[0]));
    expect(all.source.of).to.equal(12);
    // each sample is that image loaded from a folder of its own
    const single = (name: string) => {
      mkdirSync(tmp('one', name), { recursive: true });
      copyFileSync(join(IMAGES, name), tmp('one', name, name));
      return loadCalibration({ ...opts, calib: tmp('one', name) }, [1, 3, 20, 20]).data;
    };
    const four = loadCalibration({ ...opts, calibSamples: 4 }, [1, 3, 20, 20]);
    const picks = [0, 3, 6, 9]; // ⌊i·12/4⌋
    expect(four.source.files.map((f) => f.name)).to.deep.equal(picks.map((i) => ordered[i][0]));
    picks.forEach((p, i) => expect(four.data.slice(i * 1200, (i + 1) * 1200), ordered[p][0]).to.deep.equal(single(ordered[p][1])));
    expect(four.source.samples).to.equal(4);
    expect(four.source.of).to.equal(12);
    expectCode0014({ ...opts, calibSamples: 13 }, 'MPCC0014');
    // an image directly in the folder: the folder is a folder of images, its subfolders ignored
    copyFileSync(join(IMAGES, 'a-rgb.png'), tmp('classes', 'z.png'));
    const direct = loadCalibration(opts, [1, 3, 20, 20]);
    expect(direct.source.files.map((f) => f.name)).to.deep.equal(['z.png']);
    expect(direct.source.of).to.equal(undefined);
  });

  it('loads the Fashion-MNIST calibration fixture for the 1×28×28 model: 500 samples, distinct digests', () => {
    const set = loadCalibration({ calib: FMNIST_CALIB }, [1, 1, 28, 28]);
    expect(set.shape).to.deep.equal([500, 1, 28, 28]);
    expect(set.source.samples).to.equal(500);
    expect(set.source.sha256).to.equal(sha256(f32bytes(readNpy(FMNIST_CALIB).data)));
    expect(new Set(set.source.sampleDigests).size).to.equal(500);
    expect(set.source.sampleDigests[17]).to.equal(sha256(f32bytes(set.data.slice(17 * 784, 18 * 784))).slice(0, 16));
    const first = loadCalibration({ calib: FMNIST_CALIB, calibSamples: 64 }, [1, 1, 28, 28]);
    expect(first.shape).to.deep.equal([64, 1, 28, 28]);
    expect(first.source.sampleDigests).to.deep.equal(set.source.sampleDigests.slice(0, 64));
    expect(first.source.sha256).to.equal(sha256(f32bytes(set.data.slice(0, 64 * 784))));
  });

  describe('bad input: coded errors naming the file or flag', () => {
    const expectCode = (opts: CalibrationOptions, shape: number[], code: string, ...mentions: string[]) => {
      const err = errorOf(() => loadCalibration(opts, shape));
      expect(err.code, err.message).to.equal(code);
      for (const m of mentions) expect(err.message).to.contain(m);
    };

    it('MPCC0010: an .npy whose channels, size or rank do not fit the model', () => {
      expectCode({ calib: FMNIST_CALIB }, [1, 3, 28, 28], 'MPCC0010', FMNIST_CALIB, '500,1,28,28', 'N,3,28,28', '1 channels, the model takes 3');
      expectCode({ calib: FMNIST_CALIB }, [1, 1, 32, 32], 'MPCC0010', '28×28 samples, the model takes 32×32');
      writeFileSync(tmp('three.npy'), encodeNpy([1, 28, 28], new Float32Array(784)));
      expectCode({ calib: tmp('three.npy') }, [1, 1, 28, 28], 'MPCC0010', 'expected N×C×H×W');
    });

    it('MPCC0011: a folder with no image, array or class folder (other files do not count); MPCC3013: class folders with no image', () => {
      mkdirSync(tmp('empty'));
      expectCode({ calib: tmp('empty') }, [1, 3, 20, 20], 'MPCC0011', tmp('empty'));
      mkdirSync(tmp('others'));
      writeFileSync(tmp('others', 'notes.txt'), 'x');
      writeFileSync(tmp('others', 'data.csv'), 'x');
      expectCode({ calib: tmp('others') }, [1, 3, 20, 20], 'MPCC0011', '2 other entries ignored');
      mkdirSync(tmp('others', 'sub'));
      writeFileSync(tmp('others', 'sub', 'notes.txt'), 'x');
      expectCode({ calib: tmp('others') }, [1, 3, 20, 20], 'MPCC3013', tmp('others'));
    });

    it('a folder of .npy arrays: MPCC0010, MPCC0017 and MPCC0014 name the file or folder, MPCC0004 the image flags, MPCC0020 arrays beside images', () => {
      mkdirSync(tmp('arr-bad'));
      writeFileSync(tmp('arr-bad', 'a.npy'), encodeNpy([1, 28, 28], new Float32Array(784)));
      writeFileSync(tmp('arr-bad', 'b.npy'), encodeNpy([3, 28, 28], new Float32Array(3 * 784)));
      expectCode({ calib: tmp('arr-bad') }, [1, 1, 28, 28], 'MPCC0010', tmp('arr-bad', 'b.npy'), '3,28,28', '3 channels, the model takes 1');
      writeFileSync(tmp('arr-bad', 'b.npy'), encodeNpy([28, 28], new Float32Array(784)));
      expectCode({ calib: tmp('arr-bad') }, [1, 1, 28, 28], 'MPCC0010', 'expected C×H×W or N×C×H×W samples');
      const x = new Float32Array(2 * 784);
      x[784 + 3] = Number.POSITIVE_INFINITY;
      writeFileSync(tmp('arr-bad', 'b.npy'), encodeNpy([2, 1, 28, 28], x));
      // the folder's samples count on from a.npy's one: b's second sample is sample 2
      expectCode({ calib: tmp('arr-bad') }, [1, 1, 28, 28], 'MPCC0017', tmp('arr-bad', 'b.npy'), 'Infinity', 'sample 2');
      // samples beyond --calib-samples are not read
      expect(loadCalibration({ calib: tmp('arr-bad'), calibSamples: 2 }, [1, 1, 28, 28]).shape).to.deep.equal([2, 1, 28, 28]);
      writeFileSync(tmp('arr-bad', 'b.npy'), encodeNpy([2, 1, 28, 28], new Float32Array(2 * 784)));
      expectCode({ calib: tmp('arr-bad'), calibSamples: 4 }, [1, 1, 28, 28], 'MPCC0014', '--calib-samples 4', tmp('arr-bad'), '(3)');
      expectCode({ calib: tmp('arr-bad'), resize: 28 }, [1, 1, 28, 28], 'MPCC0004', '--resize', 'a folder of .npy arrays');
      copyFileSync(join(IMAGES, 'a-rgb.png'), tmp('arr-bad', 'c.png'));
      expectCode({ calib: tmp('arr-bad') }, [1, 1, 28, 28], 'MPCC0020', tmp('arr-bad'), 'both images (1) and .npy arrays (2)');
    });

    it('MPCC0012: a corrupt or truncated image, named', () => {
      mkdirSync(tmp('corrupt'));
      copyFileSync(join(IMAGES, 'a-rgb.png'), tmp('corrupt', 'a.png'));
      writeFileSync(tmp('corrupt', 'b.PNG'), readFileSync(join(IMAGES, 'b-gray.png')).subarray(0, 300));
      expectCode({ calib: tmp('corrupt'), resize: 20, crop: 20 }, [1, 3, 20, 20], 'MPCC0012', tmp('corrupt', 'b.PNG'), 'PNG', 'truncated or corrupt');
      mkdirSync(tmp('badjpeg'));
      writeFileSync(tmp('badjpeg', 'x.jpg'), readFileSync(join(IMAGES, 'e-color.JPG')).subarray(0, 400));
      expectCode({ calib: tmp('badjpeg'), resize: 20, crop: 20 }, [1, 3, 20, 20], 'MPCC0012', tmp('badjpeg', 'x.jpg'), 'JPEG');
      mkdirSync(tmp('text'));
      writeFileSync(tmp('text', 'fake.jpeg'), 'not a jpeg at all');
      expectCode({ calib: tmp('text') }, [1, 3, 20, 20], 'MPCC0012', 'fake.jpeg');
    });

    it('MPCC0013: images of another size without --resize/--crop, or a crop that misses the model size', () => {
      expectCode({ calib: IMAGES }, [1, 3, 20, 20], 'MPCC0013', join(IMAGES, 'a-rgb.png'), '53×37', '20×20', '--resize');
      expectCode({ calib: IMAGES, resize: 24, crop: [20, 18] }, [1, 3, 20, 20], 'MPCC0013', '20×18 after --resize/--crop', '--crop 20x20');
    });

    it('MPCC0014: --calib-samples beyond the samples there are (an error, nothing loaded)', () => {
      expectCode({ calib: FMNIST_CALIB, calibSamples: 501 }, [1, 1, 28, 28], 'MPCC0014', '501', FMNIST_CALIB, '500');
      expectCode({ calib: IMAGES, resize: 24, crop: 20, calibSamples: 99 }, [1, 3, 20, 20], 'MPCC0014', '(9)');
    });

    it('MPCC0016: a file that is neither .npy nor a folder; MPCC0002: a missing path', () => {
      expectCode({ calib: join(IMAGES, 'notes.txt') }, [1, 3, 20, 20], 'MPCC0016', 'notes.txt');
      expectCode({ calib: join(IMAGES, 'a-rgb.png') }, [1, 3, 20, 20], 'MPCC0016', 'a-rgb.png');
      expectCode({ calib: tmp('nowhere') }, [1, 3, 20, 20], 'MPCC0002', tmp('nowhere'), 'ENOENT');
    });

    it('MPCC0017: non-finite samples, naming the sample', () => {
      const x = new Float32Array(3 * 784);
      x[2 * 784 + 5] = Number.NaN;
      writeFileSync(tmp('nan.npy'), encodeNpy([3, 1, 28, 28], x));
      expectCode({ calib: tmp('nan.npy') }, [1, 1, 28, 28], 'MPCC0017', 'nan.npy', 'NaN', 'sample 2');
    });

    it('MPCC0019: images for a model of neither 1 nor 3 channels', () => {
      expectCode({ calib: IMAGES, resize: 20, crop: 20 }, [1, 2, 20, 20], 'MPCC0019', '2 channels', IMAGES);
    });

    it('MPCC0004: image flags with an .npy, mean/std of the wrong length, an unknown preset', () => {
      expectCode({ calib: FMNIST_CALIB, resize: 28 }, [1, 1, 28, 28], 'MPCC0004', '--resize', 'folder of images');
      expectCode({ calib: FMNIST_CALIB, preset: 'imagenet' }, [1, 1, 28, 28], 'MPCC0004', '--preset');
      expectCode({ calib: IMAGES, resize: 20, crop: 20, mean: [0.5, 0.5] }, [1, 3, 20, 20], 'MPCC0004', '--mean', 'give 1 or 3 values');
      expectCode({ calib: IMAGES, preset: 'imagenet' }, [1, 1, 224, 224], 'MPCC0004', '--mean', '1 channel');
      expectCode({ calib: IMAGES, preset: 'cifar' }, [1, 3, 20, 20], 'MPCC0004', '--preset', 'imagenet, none');
      // preset none with an .npy is no transform: accepted
      expect(loadCalibration({ calib: FMNIST_CALIB, preset: 'none', calibSamples: 1 }, [1, 1, 28, 28]).shape).to.deep.equal([1, 1, 28, 28]);
    });
  });
});
