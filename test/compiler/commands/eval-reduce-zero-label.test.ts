// `mpcc eval --reduce-zero-label`: ADE20K's labels, as mmsegmentation reads them with
// reduce_zero_label (the seed paper's segmentation benchmark): 0 ("other") counts nowhere, label k
// is class k − 1, the ignore index stays. Reference: the same images loaded as calibration images
// into an .npy, and the label maps relabelled in this file by that rule, evaluated without the flag.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadCalibration } from '../../../compiler/calibration/load.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { encodePng } from '../../../examples/png.js';
import { expectRejection } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';
import { segmenter } from './segmenter.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;
// segmenter(): 3×6×7 images, 5 classes, 6×7 maps
const H = 6, W = 7, CLASSES = 5;
const FLAGS = { mean: '0.5', std: '0.25' };

/** Deterministic pseudo-random bytes (a test's data, not protocol randomness). */
function bytes(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24));
}

/** ADE20K's relabelling by hand: 0 → 255, 255 → 255, k → k − 1. */
const reduced = (raw: Uint8Array) => Array.from(raw, (v) => (v === 0 || v === 255 ? 255 : v - 1));

describe('mpcc eval --reduce-zero-label: ADE20K\'s labels (0 counts nowhere, k is class k − 1)', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-eval-ade-');
  const file = (...parts: string[]) => join(dir(), ...parts);
  const IDS = ['ADE_val_00000001', 'ADE_val_00000002', 'ADE_val_00000003', 'ADE_val_00000004'];
  // raw labels 0..5 (0 = other; 5 = the model's class 4) and a few 255
  const masks = IDS.map((_, i) => Uint8Array.from(bytes(H * W, 70 + i), (v) => (v % 11 === 10 ? 255 : v % 6)));

  before(() => {
    writeFileSync(file('seg.onnx'), segmenter());
    mkdirSync(file('images'));
    mkdirSync(file('annotations'));
    mkdirSync(file('calib'));
    IDS.forEach((id, i) => {
      writeFileSync(file('images', `${id}.png`), encodePng(bytes(H * W * 3, 30 + i), H, W, 3));
      writeFileSync(file('annotations', `${id}.png`), encodePng(masks[i], H, W));
      copyFileSync(file('images', `${id}.png`), file('calib', `${i}.png`));
    });
    const calib = loadCalibration({ calib: file('calib'), mean: [0.5], std: [0.25] }, [1, 3, H, W]);
    writeFileSync(file('x.npy'), encodeNpy([IDS.length, 3, H, W], calib.data));
    writeFileSync(file('raw.npy'), encodeNpy([IDS.length, H, W], masks.flatMap((m) => Array.from(m)), '|u1'));
    writeFileSync(file('reduced.npy'), encodeNpy([IDS.length, H, W], masks.flatMap(reduced), '|u1'));
  });

  const measures = (r: { miou: number | null; pixelAcc: number | null; iou: (number | null)[] | null; n: number }) => ({ miou: r.miou, pixelAcc: r.pixelAcc, iou: r.iou, n: r.n });

  it('folders: measures what the hand-relabelled maps measure without the flag', async () => {
    const folder = (await runEval(file('seg.onnx'), { data: file('images'), labels: file('annotations'), reduceZeroLabel: true, ...FLAGS } as never)).report;
    const reference = (await runEval(file('seg.onnx'), { data: file('x.npy'), labels: file('reduced.npy') })).report;
    expect(measures(folder)).to.deep.equal(measures(reference));
    expect(folder.n).to.equal(4);
    expect(folder.reduceZeroLabel).to.equal(true);
    expect(reference.reduceZeroLabel).to.equal(undefined);
    expect(folder.iou!.filter((v) => v !== null).length).to.equal(CLASSES);
    // the reference can fail: 0 ignored but no shift (label k as class k) measures otherwise
    const unshifted = masks.flatMap((m) => Array.from(m, (v) => (v === 0 || v === 5 ? 255 : v)));
    writeFileSync(file('unshifted.npy'), encodeNpy([IDS.length, H, W], unshifted, '|u1'));
    expect(measures((await runEval(file('seg.onnx'), { data: file('x.npy'), labels: file('unshifted.npy') })).report)).to.not.deep.equal(measures(folder));
  });

  it('arrays: raw ADE20K labels with the flag measure as the relabelled ones without it', async () => {
    const flagged = (await runEval(file('seg.onnx'), { data: file('x.npy'), labels: file('raw.npy'), reduceZeroLabel: true } as never)).report;
    const reference = (await runEval(file('seg.onnx'), { data: file('x.npy'), labels: file('reduced.npy') })).report;
    expect(measures(flagged)).to.deep.equal(measures(reference));
    // --sample picks its images before the relabelling: image ⌊i·4/2⌋ = 0, 2
    const sampled = (await runEval(file('seg.onnx'), { data: file('x.npy'), labels: file('raw.npy'), reduceZeroLabel: true, sample: '2' } as never)).report;
    writeFileSync(file('x02.npy'), encodeNpy([2, 3, H, W], loadCalibration({ calib: file('calib'), mean: [0.5], std: [0.25] }, [1, 3, H, W]).data.filter((_, j) => Math.floor(j / (3 * H * W)) % 2 === 0)));
    writeFileSync(file('y02.npy'), encodeNpy([2, H, W], [0, 2].flatMap((k) => reduced(masks[k])), '|u1'));
    expect(measures(sampled)).to.deep.equal(measures((await runEval(file('seg.onnx'), { data: file('x02.npy'), labels: file('y02.npy') })).report));
  });

  it('the CLI: --reduce-zero-label wires through, --json records it and the text says so', () => {
    const args = [CLI, 'eval', file('seg.onnx'), '--data', file('images'), '--labels', file('annotations'), '--mean', '0.5', '--std', '0.25', '--reduce-zero-label'];
    const json = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8' });
    expect(json.status, json.stderr).to.equal(0);
    const report = JSON.parse(json.stdout);
    expect(report.reduceZeroLabel).to.equal(true);
    expect(report.n).to.equal(4);
    const text = spawnSync(process.execPath, args, { encoding: 'utf8' });
    expect(text.status, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/labels: --reduce-zero-label \(0 counted nowhere, label k as class k − 1\)/);
    // without the flag ADE20K's raw label 5 is no class of a 5-class model
    const plain = spawnSync(process.execPath, args.slice(0, -1), { encoding: 'utf8' });
    expect(plain.status).to.not.equal(0);
    expect(plain.stderr).to.match(/MPCC3014.*holds 5/);
    expect(plain.stderr).to.not.match(/\n\s+at /);
  });

  describe('bad input: coded errors', () => {
    it('a raw label above the classes: MPCC3014 naming the label map, MPCC3006 naming the array', async () => {
      mkdirSync(file('six'));
      IDS.forEach((id, i) => writeFileSync(file('six', `${id}.png`), encodePng(i === 2 ? masks[i].map((v, p) => (p === 9 ? 6 : v)) : masks[i], H, W)));
      await expectRejection(runEval(file('seg.onnx'), { data: file('images'), labels: file('six'), reduceZeroLabel: true, ...FLAGS } as never), 'MPCC3014',
        /ADE_val_00000003\.png': it holds 6 \(at row 1, column 2\), neither 0 \(other, counting nowhere\), a class 1\.\.5 of --reduce-zero-label/);
      writeFileSync(file('six.npy'), encodeNpy([IDS.length, H, W], masks.flatMap((m, i) => Array.from(m, (v, p) => (i === 1 && p === 3 ? 6 : v))), '|u1'));
      await expectRejection(runEval(file('seg.onnx'), { data: file('x.npy'), labels: file('six.npy'), reduceZeroLabel: true } as never), 'MPCC3006', /six\.npy.*label 6 at pixel \(row 0, column 3\) of image 1 is neither 0/);
    });

    it('MPCC0004 for a classifier', async () => {
      const b = new OnnxBuilder({ opset: 13 });
      b.input('input', [1, 3, H, W]);
      b.node('GlobalAveragePool', ['input'], ['p'], {}, 'pool');
      b.node('Flatten', ['p'], ['output'], {}, 'flatten');
      b.output('output', [1, 3]);
      writeFileSync(file('cls.onnx'), b.toBytes());
      writeFileSync(file('cls-y.npy'), encodeNpy([IDS.length], [0, 1, 2, 0], '|u1'));
      await expectRejection(runEval(file('cls.onnx'), { data: file('x.npy'), labels: file('cls-y.npy'), reduceZeroLabel: true } as never), 'MPCC0004', /--reduce-zero-label.*the model classifies/);
    });
  });
});
