// `mpcc run --input IMG.png` (and `mpcc infer --input IMG.png`) with the image flags: the client's input is the image preprocessed as
// calibration images are (compiler/calibration/load.ts loadImage). Reference: the same pixels
// preprocessed by hand here, (p/255 − mean)/std per channel, given as an .npy — the secure
// outputs agree to within what a last-place float32 difference in the input can move them.
// The PNG is written by examples/png.ts (not the decoder's library). Both transports: in one process,
// and three party processes (the flags reach P0's process).
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { runInfer } from '../../../compiler/commands/infer.js';
import { runBudgetPlanCommand } from '../../../compiler/commands/plan.js';
import { loadPartyArtifacts } from '../../../runtime/program/index.js';
import { errorOf } from '../../passes/util.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { encodePng } from '../../../examples/png.js';
import { suiteTempDir } from '../../temp-dir.js';

describe('mpcc run --input IMG: an image as the client\'s input', function () {
  this.timeout(120000);
  const tmp = suiteTempDir('mpcc-run-image-');
  const file = (name: string) => join(tmp(), name);
  const MEAN = [0.5, 0.4, 0.3], STD = [0.25, 0.2, 0.3];
  // 16×16 RGB pixels, interleaved
  const rgb = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 37 + (i >> 4) * 11) % 256);

  before(() => {
    writeFileSync(file('tiny.onnx'), buildZooFiles('tiny-cnn').model);
    runCompile(file('tiny.onnx'), { fracBits: 14, output: file('out') });
    writeFileSync(file('x.png'), encodePng(rgb, 16, 16, 3));
    writeFileSync(file('wide.png'), encodePng(new Uint8Array(16 * 20 * 3), 16, 20, 3));
    // the reference: C×H×W planes of (p/255 − mean)/std
    const x = new Float32Array(3 * 256);
    for (let c = 0; c < 3; c++) for (let j = 0; j < 256; j++) x[c * 256 + j] = (rgb[j * 3 + c] / 255 - MEAN[c]) / STD[c];
    writeFileSync(file('x.npy'), encodeNpy([1, 3, 16, 16], x));
  });

  const flags = { mean: MEAN.join(','), std: STD.join(',') };
  const logits = async (input: string, extra: Record<string, unknown> = {}) => (await runSecure(file('out'), { input, ...extra } as never)).outputs.output;

  it('runs the image preprocessed by the flags as the hand-preprocessed .npy runs, in one process and in three', async () => {
    const want = await logits(file('x.npy'), { transport: 'inproc' });
    for (const transport of ['inproc', 'tcp']) {
      const got = await logits(file('x.png'), { ...flags, transport });
      expect(got).to.have.length(10);
      const diff = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
      expect(diff, transport).to.be.below(2 ** -10);
    }
    // without the flags the image is [0, 1] pixels: another input, other logits
    const raw = await logits(file('x.png'), { transport: 'inproc' });
    expect(Math.max(...raw.map((v, i) => Math.abs(v - want[i])))).to.be.above(1e-2);
  });

  it('mpcc infer --input IMG: the image as the hand-preprocessed .npy, in float and fixed point', () => {
    for (const fixed of [false, true]) {
      const want = runInfer(file('tiny.onnx'), { input: file('x.npy'), fixed }).outputs.get('output')!.data as ArrayLike<number>;
      const got = runInfer(file('tiny.onnx'), { input: file('x.png'), fixed, ...flags } as never).outputs.get('output')!.data as ArrayLike<number>;
      expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]))), `fixed ${fixed}`).to.be.below(fixed ? 2 ** -10 : 1e-5);
    }
    const err = errorOf(() => runInfer(file('tiny.onnx'), { input: file('x.npy'), preset: 'imagenet' } as never));
    expect([err.code, err.message]).to.satisfy(([c, m]: string[]) => c === 'MPCC0004' && m.includes('--preset') && m.includes('an image input'));
  });

  it('MPCC0013 names an image of another size; MPCC0004 an image flag with an .npy input', async () => {
    const wide = await runSecure(file('out'), { input: file('wide.png'), transport: 'inproc' }).then(() => null, (e) => e);
    expect(wide?.code).to.equal('MPCC0013');
    expect(wide?.message).to.contain(file('wide.png')).and.to.contain('16×20').and.to.contain('--resize');
    const err = await runSecure(file('out'), { input: file('x.npy'), transport: 'inproc', mean: '0.5' } as never).then(() => null, (e) => e);
    expect(err?.code).to.equal('MPCC0004');
    expect(err?.message).to.contain('--mean').and.to.contain('an image input');
  });

  describe('the compile\'s record: an image input preprocessed as the calibration images were', () => {
    const ref = (std: number[]) => {
      const x = new Float32Array(3 * 256);
      for (let c = 0; c < 3; c++) for (let j = 0; j < 256; j++) x[c * 256 + j] = (rgb[j * 3 + c] / 255 - MEAN[c]) / std[c];
      return x;
    };
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    const manifestOf = (out: string, party: number) => JSON.parse(readFileSync(join(out, `party${party}`, 'manifest.json'), 'utf8'));

    before(() => {
      mkdirSync(file('calib'));
      for (let k = 0; k < 4; k++) writeFileSync(file(`calib/c${k}.png`), encodePng(Uint8Array.from(rgb, (v, i) => (v + 61 * k + i) % 256), 16, 16, 3));
      writeFileSync(file('x-std1.npy'), encodeNpy([1, 3, 16, 16], ref([1, 1, 1])));
      runCompile(file('tiny.onnx'), { fracBits: 14, output: file('out-rec'), calib: file('calib'), ...flags } as never);
    });

    it('compile --calib IMAGES --mean --std records them in every party\'s manifest; run --input IMG applies them, in one process and in three', async () => {
      for (const party of [0, 1, 2]) expect(manifestOf(file('out-rec'), party).input.preprocessing, `party ${party}`).to.deep.equal({ mean: MEAN, std: STD });
      const run = async (input: string, extra: Record<string, unknown> = {}, transport = 'inproc') => (await runSecure(file('out-rec'), { input, transport, ...extra } as never)).outputs.output;
      const want = await run(file('x.npy'));
      const lines: string[] = [];
      const got = (await runSecure(file('out-rec'), { input: file('x.png'), transport: 'inproc' } as never, (l) => lines.push(l))).outputs.output;
      expect(maxDiff(got, want)).to.be.below(2 ** -10);
      expect(lines.join('\n')).to.include(`preprocessed as the compile's calibration images were (mean ${MEAN.join(',')}, std ${STD.join(',')})`);
      expect(maxDiff(await run(file('x.png'), {}, 'tcp'), want)).to.be.below(2 ** -10);
      // an explicit transform overrides the record's; --preset replaces it (none: raw pixels)
      expect(maxDiff(await run(file('x.png'), { std: '1' }), await run(file('x-std1.npy')))).to.be.below(2 ** -10);
      expect(maxDiff(await run(file('x.png'), { preset: 'none' }), want)).to.be.above(1e-2);
    });

    it('compile --plan of a plan calibrated on images takes the plan\'s record; a compile without images records nothing', async () => {
      await runBudgetPlanCommand(file('tiny.onnx'), { budget: '0.5', calib: file('calib'), ...flags, output: file('plan.json') } as never);
      runCompile(file('tiny.onnx'), { fracBits: 14, plan: file('plan.json'), output: file('out-plan') });
      expect(manifestOf(file('out-plan'), 0).input.preprocessing).to.deep.equal({ mean: MEAN, std: STD });
      expect(manifestOf(file('out'), 0).input).to.not.have.property('preprocessing');
    });

    it('MPCC5220: a manifest whose record is not {resize, crop, mean, std} of valid values', async () => {
      const path = join(file('out-rec'), 'party2', 'manifest.json');
      const good = readFileSync(path, 'utf8');
      try {
        for (const bad of [{ resize: -1 }, { std: [0] }, { mean: 'x' }, { flip: true }, [1]]) {
          writeFileSync(path, JSON.stringify({ ...JSON.parse(good), input: { ...JSON.parse(good).input, preprocessing: bad } }));
          const err = await loadPartyArtifacts(file('out-rec'), 2).then(() => null, (e) => e);
          expect(err?.code, JSON.stringify(bad)).to.equal('MPCC5220');
          expect(err?.message).to.include('input.preprocessing');
        }
      } finally {
        writeFileSync(path, good);
      }
    });
  });
});
