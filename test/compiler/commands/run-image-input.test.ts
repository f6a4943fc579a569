// `mpcc run --input IMG.png` (and `mpcc infer --input IMG.png`) with the image flags: the client's input is the image preprocessed as
// calibration images are (compiler/calibration/load.ts loadImage). Reference: the same pixels
// preprocessed by hand here, (p/255 − mean)/std per channel, given as an .npy — the secure
// outputs agree to within what a last-place float32 difference in the input can move them.
// The PNG is written by test/png.ts (not the decoder's library). Both transports: in one process,
// and three party processes (the flags reach P0's process).
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { runInfer } from '../../../compiler/commands/infer.js';
import { errorOf } from '../../passes/util.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { encodePng } from '../../png.js';
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
});
