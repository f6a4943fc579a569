// `mpcc eval` on a segmentation set laid out as Cityscapes' (compiler/calibration/cityscapes-folder.ts):
// city folders, `<city>/<id>_leftImg8bit.png` with `<city>/<id>_gtFine_labelTrainIds.png` or, without
// those, `_gtFine_labelIds.png` mapped to the 19 train ids. Reference: the same images loaded as
// calibration images into an .npy in the ids' order, and the label ids mapped in this file by
// Cityscapes' own table (labels.py: 7 road → 0, 8 sidewalk → 1, 11 building → 2, 12 wall → 3,
// 13 fence → 4, …, 17 pole → 5; ids that count nowhere → 255), evaluated as arrays.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadCalibration } from '../../../compiler/calibration/load.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { encodePng } from '../../../examples/png.js';
import { expectRejection } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';
import { segmenter } from './segmenter.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;
// segmenter(): 3×6×7 images, 5 classes (train ids 0..4), 6×7 maps
const H = 6, W = 7;
const FLAGS = { mean: '0.5', std: '0.25' };

/** Deterministic pseudo-random bytes (a test's data, not protocol randomness). */
function bytes(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24));
}

/** The label ids these maps use and their train ids, from Cityscapes' labels.py; every other id
 * here (0 unlabeled … 6 ground, 9 parking, 10 rail track, 14 guard rail, 15 bridge, 16 tunnel)
 * counts nowhere. */
const TRAIN: Record<number, number> = { 7: 0, 8: 1, 11: 2, 12: 3, 13: 4 };
const IDS_USED = [0, 1, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16];
const trainIds = (raw: Uint8Array) => Array.from(raw, (v) => TRAIN[v] ?? 255);

describe("mpcc eval on Cityscapes' layout (city folders, _leftImg8bit with _gtFine_labelTrainIds or _gtFine_labelIds)", function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-eval-cityscapes-');
  const file = (...parts: string[]) => join(dir(), ...parts);
  // sorted as the ids are: by `<city>/<name>`
  const IDS = ['aachen/aachen_000000_000019', 'aachen/aachen_000001_000019', 'bochum/bochum_000000_000313', 'frankfurt/frankfurt_000000_000294'];
  const raw = IDS.map((_, i) => Uint8Array.from(bytes(H * W, 90 + i), (v) => IDS_USED[v % IDS_USED.length]));

  const layout = (root: string, maps: (id: string, i: number) => [string, Uint8Array][]) => {
    for (const [i, id] of IDS.entries()) {
      const city = id.split('/')[0];
      mkdirSync(file(root, 'leftImg8bit', 'val', city), { recursive: true });
      mkdirSync(file(root, 'gtFine', 'val', city), { recursive: true });
      writeFileSync(file(root, 'leftImg8bit', 'val', `${id}_leftImg8bit.png`), encodePng(bytes(H * W * 3, 30 + i), H, W, 3));
      for (const [suffix, map] of maps(id, i)) writeFileSync(file(root, 'gtFine', 'val', `${id}_gtFine_${suffix}.png`), encodePng(map, H, W));
      // Cityscapes' other files beside the maps are left alone
      writeFileSync(file(root, 'gtFine', 'val', `${id}_gtFine_polygons.json`), '{}');
    }
  };
  const evalOf = async (root: string, extra: Record<string, unknown> = {}) =>
    (await runEval(file('seg.onnx'), { data: file(root, 'leftImg8bit', 'val'), labels: file(root, 'gtFine', 'val'), ...FLAGS, ...extra } as never)).report;
  const measures = (r: { miou: number | null; pixelAcc: number | null; iou: (number | null)[] | null; n: number }) => ({ miou: r.miou, pixelAcc: r.pixelAcc, iou: r.iou, n: r.n });

  before(() => {
    writeFileSync(file('seg.onnx'), segmenter());
    layout('ids', (_, i) => [['labelIds', raw[i]]]);
    // train-id maps beside label-id maps holding ids of no class: the train ids are read
    layout('train', (_, i) => [['labelTrainIds', Uint8Array.from(trainIds(raw[i]))], ['labelIds', new Uint8Array(H * W).fill(33)]]);
    mkdirSync(file('calib'));
    IDS.forEach((id, i) => copyFileSync(file('ids', 'leftImg8bit', 'val', `${id}_leftImg8bit.png`), file('calib', `${i}.png`)));
    const calib = loadCalibration({ calib: file('calib'), mean: [0.5], std: [0.25] }, [1, 3, H, W]);
    writeFileSync(file('x.npy'), encodeNpy([IDS.length, 3, H, W], calib.data));
    writeFileSync(file('y.npy'), encodeNpy([IDS.length, H, W], raw.flatMap(trainIds), '|u1'));
  });

  it('label-id maps measure what the hand-mapped train ids measure as arrays; train-id maps the same, preferred beside label-id maps', async () => {
    const reference = (await runEval(file('seg.onnx'), { data: file('x.npy'), labels: file('y.npy') })).report;
    const ids = await evalOf('ids');
    expect(measures(ids)).to.deep.equal(measures(reference));
    expect(ids.n).to.equal(4);
    expect(ids.iou!.filter((v) => v !== null).length).to.equal(5);
    expect(measures(await evalOf('train'))).to.deep.equal(measures(reference));
    // the reference can fail: label ids read as if they were train ids are other classes
    writeFileSync(file('y-unmapped.npy'), encodeNpy([IDS.length, H, W], raw.flatMap((m) => Array.from(m, (v) => (v < 5 ? v : 255))), '|u1'));
    expect(measures((await runEval(file('seg.onnx'), { data: file('x.npy'), labels: file('y-unmapped.npy') })).report)).to.not.deep.equal(measures(ids));
  });

  it('a split file of <city>/<id> lines picks and orders the images', async () => {
    writeFileSync(file('split.txt'), `${IDS[3]}\n${IDS[1]}\n`);
    const split = await evalOf('ids', { split: file('split.txt') });
    writeFileSync(file('x31.npy'), encodeNpy([2, 3, H, W], [3, 1].flatMap((k) => Array.from(loadCalibration({ calib: file('calib'), mean: [0.5], std: [0.25] }, [1, 3, H, W]).data.subarray(k * 3 * H * W, (k + 1) * 3 * H * W)))));
    writeFileSync(file('y31.npy'), encodeNpy([2, H, W], [3, 1].flatMap((k) => trainIds(raw[k])), '|u1'));
    expect(measures(split)).to.deep.equal(measures((await runEval(file('seg.onnx'), { data: file('x31.npy'), labels: file('y31.npy') })).report));
  });

  it('the CLI says which layout it read', () => {
    const r = spawnSync(process.execPath, [CLI, 'eval', file('seg.onnx'), '--data', file('ids', 'leftImg8bit', 'val'), '--labels', file('ids', 'gtFine', 'val'), '--mean', '0.5', '--std', '0.25', '--progress'], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/eval: 4 images with label maps in .* \(Cityscapes: 3 cities, label ids mapped to the 19 train ids\)/);
    expect(r.stderr).to.match(/eval: note: the model has 5 classes, Cityscapes 19: train ids 5\.\. are no class of it/);
  });

  describe('bad input: coded errors', () => {
    it('a label id that is none (40), a train id beyond the model (pole: 17 → 5), an id without its image, --reduce-zero-label', async () => {
      layout('bad', (_, i) => [['labelIds', i === 2 ? raw[i].map((v, p) => (p === 8 ? 40 : v)) : raw[i]]]);
      await expectRejection(evalOf('bad'), 'MPCC3014', /bochum_000000_000313_gtFine_labelIds\.png': it holds 40 \(at row 1, column 1\), neither a Cityscapes label id \(0\.\.33\)/);
      layout('pole', (_, i) => [['labelIds', i === 1 ? raw[i].map((v, p) => (p === 0 ? 17 : v)) : raw[i]]]);
      await expectRejection(evalOf('pole'), 'MPCC3014', /aachen_000001_000019_gtFine_labelIds\.png': it holds 5 .*neither a class of the model \(0\.\.4\)/);
      layout('lonely', (_, i) => [['labelIds', raw[i]]]);
      mkdirSync(file('lonely', 'gtFine', 'val', 'zurich'));
      writeFileSync(file('lonely', 'gtFine', 'val', 'zurich', 'zurich_000000_000019_gtFine_labelIds.png'), encodePng(raw[0], H, W));
      await expectRejection(evalOf('lonely'), 'MPCC3015', /id 'zurich\/zurich_000000_000019' has no image 'zurich\/zurich_000000_000019_leftImg8bit\.png'/);
      await expectRejection(evalOf('ids', { reduceZeroLabel: true }), 'MPCC0004', /--reduce-zero-label.*Cityscapes/);
      // train-id maps for some images only (a createTrainIdLabelImgs run cut short): refused, not a smaller set
      layout('partial', (id, i) => [['labelIds', raw[i]], ...(id.startsWith('aachen') ? [['labelTrainIds', Uint8Array.from(trainIds(raw[i]))] as [string, Uint8Array]] : [])]);
      await expectRejection(evalOf('partial'), 'MPCC3015', /2 ids have train-id maps \(_gtFine_labelTrainIds\.png\) but 2 only label-id maps \(_gtFine_labelIds\.png\), the first 'bochum\/bochum_000000_000313'/);
    });
  });
});
