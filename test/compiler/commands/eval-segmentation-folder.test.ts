// `mpcc eval --data IMAGES --labels MASKS [--split LIST]`: a segmenter's images and label maps from
// folders laid out as Pascal VOC's (compiler/eval-images.ts, compiler/calibration/segmentation-folder.ts).
// Reference: the same images loaded as calibration images (the tested image path) into an .npy, and
// label maps resized and cropped in this file by the definition of PIL's NEAREST (source pixel
// ⌊(x + ½)·in/out⌋, in exact integer arithmetic; every size here is odd, so no pixel center falls
// on a boundary and float rounding cannot matter), the crop's added pixels ignored (255), evaluated
// the array way. Masks are written by our own PNG encoder (examples/png.ts): palette PNGs with Pascal
// VOC's color map, and one gray PNG.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadCalibration } from '../../../compiler/calibration/load.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { expectRejection } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';
import { encodePalettePng, encodePng } from '../../../examples/png.js';
import { testValues } from '../onnx/harness.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;
const H = 6, W = 7, CLASSES = 5;

/** A per-pixel classifier of `classes` classes on 3×6×7 images, its maps 6×7 (or 3×4 with stride 2). */
function segmenter(stride = 1): Uint8Array {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('input', [1, 3, H, W]);
  b.initializer('w', testValues([CLASSES, 3, 3, 3], 11), [CLASSES, 3, 3, 3]);
  b.node('Conv', ['input', 'w'], ['c'], { pads: [1, 1, 1, 1], strides: [stride, stride] }, 'conv');
  b.node('Relu', ['c'], ['output'], {}, 'relu');
  b.output('output', [1, CLASSES, stride === 1 ? H : 3, stride === 1 ? W : 4]);
  return b.toBytes();
}

/** Pascal VOC's color map: index bits 0, 3, 6 → red bits 7, 6, 5; 1, 4, 7 → green; 2, 5 → blue. */
const VOC_PALETTE: [number, number, number][] = Array.from({ length: 256 }, (_, i) => {
  const c: [number, number, number] = [0, 0, 0];
  for (let j = 0, v = i; j < 8; j++, v >>= 3) for (let k = 0; k < 3; k++) c[k] |= ((v >> k) & 1) << (7 - j);
  return c;
});

/** Deterministic pseudo-random bytes (a test's data, not protocol randomness). */
function bytes(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24));
}

/** PIL's NEAREST resize by its definition, exactly: ⌊(2x + 1)·in / (2·out)⌋. */
const nearest = (inSize: number, outSize: number) => Array.from({ length: outSize }, (_, x) => Math.floor(((2 * x + 1) * inSize) / (2 * outSize)));
/** A mutation: source pixel ⌊x·in/out⌋ (pixel corners, not centers). */
const corners = (inSize: number, outSize: number) => Array.from({ length: outSize }, (_, x) => Math.floor((x * inSize) / outSize));

/** torchvision's Resize(6) size and CenterCrop(6×7) offsets, by hand for the sizes used here. */
function referenceLabels(labels: Uint8Array, h: number, w: number, resample = nearest): number[] {
  const [rh, rw] = w <= h ? [Math.trunc((6 * h) / w), 6] : [6, Math.trunc((6 * w) / h)];
  const rows = resample(h, rh), cols = resample(w, rw);
  // Python's round(), ties to even: (8 − 7)/2 = 0.5 → 0
  const round = (v: number) => (v - Math.floor(v) === 0.5 ? Math.floor(v) + (Math.floor(v) % 2) : Math.round(v));
  const off = (size: number, crop: number) => (crop > size ? -Math.floor((crop - size) / 2) : round((size - crop) / 2));
  const top = off(rh, H), left = off(rw, W);
  const out: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sy = y + top, sx = x + left;
      out.push(sy >= 0 && sy < rh && sx >= 0 && sx < rw ? labels[rows[sy] * w + cols[sx]] : 255);
    }
  }
  return out;
}

describe('mpcc eval --data IMAGES --labels MASKS: a segmentation set in folders (Pascal VOC)', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-eval-seg-');
  const file = (...parts: string[]) => join(dir(), ...parts);
  // ids sorted by code point: digits, then 'B' before 'a'; odd sizes: no NEAREST ties (header)
  const SETS = [
    { id: '2007_000033', h: 9, w: 11, gray: false },
    { id: '2007_000042', h: 13, w: 9, gray: true },
    { id: '2008_000001', h: 7, w: 13, gray: false },
    { id: 'B', h: 11, w: 11, gray: false },
    { id: 'a', h: 5, w: 7, gray: false },
  ];
  const FLAGS = { resize: '6', crop: '6x7', mean: '0.5', std: '0.25' };
  const masks = SETS.map(({ h, w }, i) => Uint8Array.from(bytes(h * w, 50 + i), (v) => (v % 7 === 6 ? 255 : v % 5)));

  before(() => {
    writeFileSync(file('seg.onnx'), segmenter());
    writeFileSync(file('seg-s2.onnx'), segmenter(2));
    mkdirSync(file('JPEGImages'));
    mkdirSync(file('SegmentationClass'));
    SETS.forEach(({ id, h, w, gray }, i) => {
      writeFileSync(file('JPEGImages', `${id}.png`), encodePng(bytes(h * w * 3, 10 + i), h, w, 3));
      writeFileSync(file('SegmentationClass', `${id}.png`), gray ? encodePng(masks[i], h, w) : encodePalettePng(masks[i], h, w, VOC_PALETTE));
    });
    writeFileSync(file('JPEGImages', 'detection-only.png'), encodePng(bytes(27, 3), 3, 3, 3)); // no mask: not in the set
    writeFileSync(file('SegmentationClass', 'README.txt'), 'not a mask');
    writeFileSync(file('val.txt'), 'a\n2007_000042\n\n  2008_000001  \n');
  });

  /** The reference: images `order` of SETS as an .npy (loaded as calibration images) and their label maps by hand. */
  function reference(name: string, order: number[], resample = nearest): { data: string; labels: string } {
    mkdirSync(file(name));
    order.forEach((k, j) => copyFileSync(file('JPEGImages', `${SETS[k].id}.png`), file(name, `${String(j).padStart(2, '0')}.png`)));
    const calib = loadCalibration({ calib: file(name), resize: 6, crop: [6, 7], mean: [0.5], std: [0.25] }, [1, 3, H, W]);
    writeFileSync(file(`${name}-x.npy`), encodeNpy([order.length, 3, H, W], calib.data));
    writeFileSync(file(`${name}-y.npy`), encodeNpy([order.length, H, W], order.flatMap((k) => referenceLabels(masks[k], SETS[k].h, SETS[k].w, resample)), '|u1'));
    return { data: file(`${name}-x.npy`), labels: file(`${name}-y.npy`) };
  }

  const measures = (r: { miou: number | null; pixelAcc: number | null; n: number; top1: number | null }) => ({ miou: r.miou, pixelAcc: r.pixelAcc, n: r.n, top1: r.top1 });

  it('measures what the same images and hand-resized label maps measure as arrays, in float and in fixed point', async () => {
    const ref = reference('all', [0, 1, 2, 3, 4]);
    for (const fixed of [false, true]) {
      const folder = (await runEval(file('seg.onnx'), { data: file('JPEGImages'), labels: file('SegmentationClass'), fixed, ...FLAGS } as never)).report;
      const arrays = (await runEval(file('seg.onnx'), { data: ref.data, labels: ref.labels, fixed })).report;
      expect(measures(folder)).to.deep.equal(measures(arrays));
      expect(folder.n).to.equal(5);
      expect(folder.miou).to.be.greaterThan(0);
    }
    // the reference can fail: label maps resized from pixel corners measure otherwise
    const mutated = reference('corners', [0, 1, 2, 3, 4], corners);
    const folder = (await runEval(file('seg.onnx'), { data: file('JPEGImages'), labels: file('SegmentationClass'), ...FLAGS } as never)).report;
    expect(measures((await runEval(file('seg.onnx'), { data: mutated.data, labels: mutated.labels })).report)).to.not.deep.equal(measures(folder));
  });

  it('--split: its ids, in its order; --sample spreads through them', async () => {
    const ref = reference('split', [4, 1, 2]);
    const folder = (await runEval(file('seg.onnx'), { data: file('JPEGImages'), labels: file('SegmentationClass'), split: file('val.txt'), ...FLAGS } as never)).report;
    const arrays = (await runEval(file('seg.onnx'), { data: ref.data, labels: ref.labels })).report;
    expect(measures(folder)).to.deep.equal(measures(arrays));
    // --sample 2 of the split's 3: images ⌊i·3/2⌋ = 0, 1
    const sampled = (await runEval(file('seg.onnx'), { data: file('JPEGImages'), labels: file('SegmentationClass'), split: file('val.txt'), sample: '2', ...FLAGS } as never)).report;
    const ref2 = reference('sample', [4, 1]);
    expect(measures(sampled)).to.deep.equal(measures((await runEval(file('seg.onnx'), { data: ref2.data, labels: ref2.labels })).report));
    expect(sampled.of).to.equal(3);
  });

  it('the CLI: --labels a folder and --split wire through; --json reports the mean IoU', () => {
    const r = spawnSync(process.execPath, [CLI, 'eval', file('seg.onnx'), '--data', file('JPEGImages'), '--labels', file('SegmentationClass'), '--split', file('val.txt'), '--resize', '6', '--crop', '6x7', '--mean', '0.5', '--std', '0.25', '--json', '--progress'], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.n).to.equal(3);
    expect(report.miou).to.be.a('number');
    expect(r.stderr).to.match(/3 images with label maps/);
  });

  describe('bad input: coded errors naming the file, folder or flag', () => {
    const evalSeg = (extra: Record<string, unknown>, model = 'seg.onnx') => runEval(file(model), { data: file('JPEGImages'), labels: file('SegmentationClass'), ...FLAGS, ...extra } as never);
    /** A mask folder holding `mask` as set image 0's label map and copies of the others. */
    const masksWith = (name: string, mask: Buffer) => {
      mkdirSync(file(name));
      SETS.forEach(({ id }, i) => (i === 0 ? writeFileSync(file(name, `${id}.png`), mask) : copyFileSync(file('SegmentationClass', `${id}.png`), file(name, `${id}.png`))));
      return file(name);
    };

    it('MPCC3014: a label map of another size than its image, an RGB one, an ambiguous palette, a label that is no class', async () => {
      const { id, h, w } = SETS[0];
      const small = masksWith('small', encodePalettePng(masks[0].subarray(0, 9 * 10), 9, 10, VOC_PALETTE));
      await expectRejection(evalSeg({ labels: small }), 'MPCC3014', `${id}.png': it is 9×10 but its image`);
      const rgb = masksWith('rgb', encodePng(new Uint8Array(h * w * 3), h, w, 3));
      await expectRejection(evalSeg({ labels: rgb }), 'MPCC3014', 'an RGB PNG');
      const twin = VOC_PALETTE.map((c, i) => (i === 4 ? VOC_PALETTE[1] : c));
      const ambiguous = masksWith('ambiguous', encodePalettePng(masks[0], h, w, twin));
      await expectRejection(evalSeg({ labels: ambiguous }), 'MPCC3014', /palette entries 1 and 4 have the same color/);
      const seven = masksWith('seven', encodePalettePng(masks[0].map((v, p) => (p === 0 ? 7 : v)), h, w, VOC_PALETTE));
      await expectRejection(evalSeg({ labels: seven }), 'MPCC3014', /holds 7 .*neither a class of the model \(0\.\.4\) nor the ignore index 255/);
    });

    it('MPCC3015: a split id without an image or label map, a mask folder with none; MPCC3009: output maps of another size than the input', async () => {
      writeFileSync(file('bad-split.txt'), 'a\nmissing\n');
      await expectRejection(evalSeg({ split: file('bad-split.txt') }), 'MPCC3015', "id 'missing' of split file");
      mkdirSync(file('no-masks'));
      await expectRejection(evalSeg({ labels: file('no-masks') }), 'MPCC3015', 'holds no .png file');
      const orphan = masksWith('orphan', encodePalettePng(masks[0], SETS[0].h, SETS[0].w, VOC_PALETTE));
      writeFileSync(join(orphan, 'zzz.png'), encodePng(new Uint8Array(4), 2, 2));
      await expectRejection(evalSeg({ labels: orphan }), 'MPCC3015', "id 'zzz' has no image");
      await expectRejection(evalSeg({}, 'seg-s2.onnx'), 'MPCC3009', /output maps are 3×4 but its input is 6×7/);
    });

    it('MPCC0004: no --labels, --labels a file, --labels-format u8 or --split with a folder where they do not apply', async () => {
      await expectRejection(evalSeg({ labels: undefined }), 'MPCC0004', /--labels.*give --labels the folder of label maps/);
      await expectRejection(evalSeg({ labels: file('val.txt') }), 'MPCC0004', /--labels.*the folder of its label maps/);
      await expectRejection(evalSeg({ labelsFormat: 'u8' }), 'MPCC0004', /--labels-format/);
      const ref = reference('arrays', [0]);
      await expectRejection(runEval(file('seg.onnx'), { data: ref.data, labels: ref.labels, split: file('val.txt') } as never), 'MPCC0004', /--split/);
    });
  });
});
