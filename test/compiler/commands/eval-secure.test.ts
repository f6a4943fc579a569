// `mpcc eval OUT`: a compiled program's accuracy measured by secure inference
// (compiler/commands/eval-secure.ts). The models are built so that the answer is known by hand:
// a 1×1 convolution with identity weights and a ReLU, so the predicted class of a pixel is its
// brightest channel (the classifier averages the pixels first), and the images are made with one
// channel brighter than the others by a wide margin (far beyond the fixed point's error). The
// expected top-1, IoU per class and pixel accuracy are then counted in this file from the images'
// bytes and the labels, independently of mpcc.
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeKeyPair } from '../../../runtime/session/identity.js';
import { freeLocalAddresses } from '../../../runtime/session/connect.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { encodeNpy, readNpyIntegers } from '../../../compiler/npy.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { encodePalettePng, encodePng } from '../../../examples/png.js';
import { rejectionOf } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;
const PARTY_CLI = fileURLToPath(new URL('../../../compiler/party-cli.js', import.meta.url));
const H = 6, W = 7, C = 3;

/** Identity 1×1 convolution over 3 channels, ReLU; the classifier then averages the map. */
function model(kind: 'classifier' | 'segmenter', batch = 1): Uint8Array {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('input', [batch, C, H, W]);
  b.initializer('w', Array.from({ length: C * C }, (_, i) => (i % (C + 1) === 0 ? 1 : 0)), [C, C, 1, 1]);
  b.node('Conv', ['input', 'w'], ['c'], {}, 'conv');
  if (kind === 'segmenter') {
    b.node('Relu', ['c'], ['output'], {}, 'relu');
    b.output('output', [batch, C, H, W]);
  } else {
    b.node('Relu', ['c'], ['r'], {}, 'relu');
    b.node('GlobalAveragePool', ['r'], ['p'], {}, 'pool');
    b.node('Flatten', ['p'], ['output'], {}, 'flatten');
    b.output('output', [batch, C]);
  }
  return b.toBytes();
}

/** Deterministic pseudo-random integers in [0, n) (a test's data, not protocol randomness). */
function draws(count: number, n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % n);
}

/** An RGB image (interleaved bytes) whose pixel p has channel dominant[p] at 180..249 and the
 * others at 0..99. */
function picture(dominant: number[], seed: number): Uint8Array {
  const r = draws(H * W * C, 70, seed);
  return Uint8Array.from({ length: H * W * C }, (_, i) => (dominant[Math.floor(i / C)] === i % C ? 180 : 0) + r[i]);
}

describe('mpcc eval OUT: a compiled program measured by secure inference', function () {
  this.timeout(300000);
  const dir = suiteTempDir('mpcc-eval-secure-');
  const file = (...parts: string[]) => join(dir(), ...parts);

  describe('a classifier on an .npy', () => {
    // image i's brightest channel everywhere: DOMINANT[i]; labels: right for 0, 1, 3, 5
    const DOMINANT = [0, 1, 2, 0, 1, 2];
    const LABELS = [0, 1, 0, 0, 2, 2];
    before(() => {
      writeFileSync(file('cls.onnx'), model('classifier'));
      const x = new Float32Array(DOMINANT.length * C * H * W);
      DOMINANT.forEach((d, i) => {
        const px = picture(Array(H * W).fill(d), 10 + i);
        for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) x[((i * C + c) * H * W) + p] = px[p * C + c] / 255;
      });
      writeFileSync(file('x.npy'), encodeNpy([DOMINANT.length, C, H, W], x));
      writeFileSync(file('y.npy'), encodeNpy([LABELS.length], LABELS, '|u1'));
      runCompile(file('cls.onnx'), { output: file('cls.out') });
      runCompile(file('cls.onnx'), { output: file('cls-argmax.out'), reveal: 'argmax' });
    });

    it('a program compiled for a batch of 4: 6 images in 2 inferences (the second padded), the same top-1 and predictions', async () => {
      writeFileSync(file('cls4.onnx'), model('classifier', 4));
      runCompile(file('cls4.onnx'), { output: file('cls4.out') });
      const expected = LABELS.filter((l, i) => l === DOMINANT[i]).length / LABELS.length;
      const r = (await runEval(file('cls4.out'), { data: file('x.npy'), labels: file('y.npy'), predictions: file('batch-pred.npy') })).report;
      expect([r.top1, r.n, r.secure!.inferences]).to.deep.equal([expected, 6, 2]);
      expect(Array.from(readNpyIntegers(file('batch-pred.npy')).data)).to.deep.equal(DOMINANT);
    });

    it('top-1 is the share of images whose brightest channel is the label; --sample picks ⌊i·N/n⌋', async () => {
      const expected = LABELS.filter((l, i) => l === DOMINANT[i]).length / LABELS.length;
      const r = (await runEval(file('cls.out'), { data: file('x.npy'), labels: file('y.npy') })).report;
      expect(r.top1).to.equal(expected);
      expect(r.top5).to.equal(null); // 3 classes
      expect(r.n).to.equal(6);
      expect(r.runner).to.equal('secure');
      expect(r.secure!.inferences).to.equal(6);
      expect(r.secure!.online.bytes).to.be.greaterThan(0);
      expect(r.secure!.online.rounds).to.be.greaterThan(0);
      // the plaintext network agrees (onnxruntime on the model file)
      expect((await runEval(file('cls.onnx'), { data: file('x.npy'), labels: file('y.npy') })).report.top1).to.equal(expected);
      // the program revealing only the class (--reveal argmax): the same top-1, no top-5
      const classes = (await runEval(file('cls-argmax.out'), { data: file('x.npy'), labels: file('y.npy') })).report;
      expect([classes.top1, classes.top5, classes.n]).to.deep.equal([expected, null, 6]);
      // --predictions: every image's class, the brightest channel, from the plaintext network and
      // from the secure run; given as labels, the secure run agrees with the plaintext one everywhere
      await runEval(file('cls.onnx'), { data: file('x.npy'), labels: file('y.npy'), predictions: file('float-pred.npy') });
      await runEval(file('cls.out'), { data: file('x.npy'), labels: file('y.npy'), predictions: file('secure-pred.npy') });
      for (const f of ['float-pred.npy', 'secure-pred.npy']) {
        const p = readNpyIntegers(file(f));
        expect([p.shape, Array.from(p.data)], f).to.deep.equal([[6], DOMINANT]);
      }
      expect((await runEval(file('cls.out'), { data: file('x.npy'), labels: file('float-pred.npy') })).report.top1).to.equal(1);
      // images 0, 2, 4: right, wrong, wrong
      const sampled = (await runEval(file('cls.out'), { data: file('x.npy'), labels: file('y.npy'), sample: '3' })).report;
      expect([sampled.top1, sampled.n, sampled.of]).to.deep.equal([1 / 3, 3, 6]);
      await runEval(file('cls-argmax.out'), { data: file('x.npy'), labels: file('y.npy'), sample: '3', predictions: file('sampled-pred.npy') });
      expect(Array.from(readNpyIntegers(file('sampled-pred.npy')).data)).to.deep.equal([DOMINANT[0], DOMINANT[2], DOMINANT[4]]);
      // that file as the labels of another --sample 3 evaluation: the sampled images' labels, so
      // top-1 is the agreement (the plaintext network: 100%); hand-made labels of the sampled
      // images count as counted here
      const agreement = (await runEval(file('cls.onnx'), { data: file('x.npy'), labels: file('sampled-pred.npy'), sample: '3' })).report;
      expect([agreement.top1, agreement.n, agreement.of]).to.deep.equal([1, 3, 6]);
      writeFileSync(file('y-sampled.npy'), encodeNpy([3], [LABELS[0], LABELS[2], LABELS[4]], '|u1'));
      const byHand = (await runEval(file('cls.out'), { data: file('x.npy'), labels: file('y-sampled.npy'), sample: '3' })).report;
      expect(byHand.top1).to.equal([0, 2, 4].filter((i) => LABELS[i] === DOMINANT[i]).length / 3);
      // any other count is MPCC3005 saying both
      const wrong = await rejectionOf(() => runEval(file('cls.onnx'), { data: file('x.npy'), labels: file('y-sampled.npy'), sample: '4' }));
      expect(wrong.code).to.equal('MPCC3005');
      expect(wrong.message).to.match(/y-sampled\.npy' holds 3 labels but '.*x\.npy' holds 6 images \(or, for --sample 4, 4 labels: the sampled images'\)/);
    });

    it('as the client of a deployment (--peers, keys): its party0 folder against a serving server and helper measures what the local run does', async () => {
      const keys = file('keys');
      for (const id of [0, 1, 2] as const) writeKeyPair(keys, id);
      const peers = (await freeLocalAddresses()).join(',');
      const keyFlags = (id: number) => ['--key', join(keys, `party${id}.key`), '--peer-keys', keys];
      // the server and the helper on "other machines": their own folders, serving 6 inferences
      const servers = [1, 2].map((id) => spawn(process.execPath, [PARTY_CLI, 'party', join(file('cls.out'), `party${id}`), '--id', String(id), '--peers', peers, '--serve', '--max-inferences', '6', '--quiet', ...keyFlags(id)], { stdio: ['ignore', 'ignore', 'pipe'] }));
      const exits = servers.map((c) => new Promise<number | null>((resolve) => c.on('close', resolve)));
      const remote = (await runEval(file('cls.out', 'party0'), { data: file('x.npy'), labels: file('float-pred.npy'), peers, key: join(keys, 'party0.key'), peerKeys: keys, predictions: file('remote-pred.npy') } as never)).report;
      expect(await Promise.all(exits)).to.deep.equal([0, 0]);
      expect([remote.top1, remote.n, remote.secure!.peers, remote.secure!.inferences, remote.model.sha256]).to.deep.equal([1, 6, peers, 6, null]);
      expect(Array.from(readNpyIntegers(file('remote-pred.npy')).data)).to.deep.equal(DOMINANT);
      expect(remote.secure!.online.bytes).to.be.greaterThan(0); // the client's own
      // mpcc report cannot tie a client folder's evaluation to a model: MPCC0031 says why
      writeFileSync(file('remote.json'), JSON.stringify(remote));
      const page = spawnSync(process.execPath, [CLI, 'report', file('cls.out'), '--eval', file('remote.json'), '-o', file('remote.html')], { encoding: 'utf8' });
      expect(page.status).to.equal(2);
      expect(page.stderr).to.match(/MPCC0031.*remote\.json.*a client's own folder \(party0\/\)/);
      // a client's folder alone, without --peers: MPCC0004
      const err = await rejectionOf(() => runEval(file('cls.out', 'party0'), { data: file('x.npy'), labels: file('y.npy') }));
      expect([(err as { code?: string }).code, (err as Error).message]).to.satisfy(([c, m]: [string, string]) => c === 'MPCC0004' && /one party's folder/.test(m));
    });

    it('bad input: flags of a plaintext run, data of another shape', async () => {
      const code = async (p: Promise<unknown>, c: string, text: RegExp) => {
        const err = await rejectionOf(() => p);
        expect((err as { code?: string }).code, String(err)).to.equal(c);
        expect((err as Error).message).to.match(text);
      };
      const base = { data: file('x.npy'), labels: file('y.npy') };
      await code(runEval(file('cls.out'), { ...base, fixed: true }), 'MPCC0004', /--fixed.*is a compiled program/);
      // --frac-bits too, as a compiled program's (not "give it with --fixed", which the folder refuses)
      await code(runEval(file('cls.out'), { ...base, fracBits: '10' }), 'MPCC0004', /--frac-bits.*is a compiled program/);
      await code(runEval(file('cls.out'), { ...base, plan: file('y.npy') }), 'MPCC0004', /--plan.*is a compiled program/);
      await code(runEval(file('cls.onnx'), { ...base, peers: '127.0.0.1:1,127.0.0.1:2,127.0.0.1:3' } as never), 'MPCC0004', /--peers.*applies to a compiled program OUT/);
      writeFileSync(file('x5.npy'), encodeNpy([2, C, 5, W], new Float32Array(2 * C * 5 * W)));
      await code(runEval(file('cls.out'), { data: file('x5.npy'), labels: file('y.npy') }), 'MPCC3007', /x5\.npy/);
      // a NaN in the second image: refused naming the user's file and the image, before any party starts (not a party's temporary file mid-run)
      const nan = new Float32Array(DOMINANT.length * C * H * W);
      nan[C * H * W + 2] = NaN;
      writeFileSync(file('x-nan.npy'), encodeNpy([DOMINANT.length, C, H, W], nan));
      await code(runEval(file('cls.out'), { data: file('x-nan.npy'), labels: file('y.npy') }), 'MPCC3010', /input file '.*x-nan\.npy' holds NaN at index \[1,0,0,2\]/);
    });
  });

  describe('a segmenter on folders, its images preprocessed as the compile recorded', () => {
    const IDS = ['s1', 's2', 's3'];
    // the compile's record: per-channel mean and std that change which channel is largest
    const MEAN = [0.2, 0.3, 0.05], STD = [0.5, 0.4, 0.15];
    const dominant = IDS.map((_, i) => draws(H * W, C, 40 + i));
    const pixels = IDS.map((_, i) => picture(dominant[i], 60 + i));
    /** The class of pixel p of an image: its largest channel after (v/255 − mean)/std and the ReLU
     * (the first on a tie, as ArgMax; all negative: every channel 0, class 0); `margin` the gap to
     * the runner-up. */
    const classify = (px: Uint8Array, p: number, mean: number[], std: number[]) => {
      const v = [0, 1, 2].map((c) => Math.max(0, (px[p * C + c] / 255 - mean[c]) / std[c]));
      const best = v.indexOf(Math.max(...v));
      const runnerUp = Math.max(...v.filter((_, c) => c !== best));
      return { best, margin: v[best] === 0 ? Infinity : v[best] - runnerUp };
    };
    const predicted = pixels.map((px) => Array.from({ length: H * W }, (_, p) => classify(px, p, MEAN, STD).best));
    // labels: the predicted class, but every 5th pixel the next class and every 11th ignored
    const labels = predicted.map((d) => d.map((k, p) => (p % 11 === 10 ? 255 : p % 5 === 4 ? (k + 1) % C : k)));
    before(() => {
      writeFileSync(file('seg.onnx'), model('segmenter'));
      for (const f of ['img', 'masks', 'calib']) mkdirSync(file(f));
      const palette: [number, number, number][] = Array.from({ length: 256 }, (_, i) => [i, 255 - i, (i * 7) % 256]);
      IDS.forEach((id, i) => {
        writeFileSync(file('img', `${id}.png`), encodePng(pixels[i], H, W, 3));
        writeFileSync(file('masks', `${id}.png`), encodePalettePng(Uint8Array.from(labels[i]), H, W, palette));
        writeFileSync(file('calib', `${id}.png`), encodePng(picture(dominant[i], 90 + i), H, W, 3));
      });
      runCompile(file('seg.onnx'), { output: file('seg.out'), calib: file('calib'), mean: MEAN.join(','), std: STD.join(',') } as never);
      runCompile(file('seg.onnx'), { output: file('seg-argmax.out'), calib: file('calib'), mean: MEAN.join(','), std: STD.join(','), reveal: 'argmax' } as never);
    });

    /** eval's measures of `pred` against the labels, counted here. */
    function byHand(pred: number[][]) {
      const inter = Array(C).fill(0), lab = Array(C).fill(0), out = Array(C).fill(0);
      let valid = 0, correct = 0;
      labels.forEach((l, i) => l.forEach((k, p) => {
        if (k === 255) return;
        const d = pred[i][p];
        valid++; lab[k]++; out[d]++;
        if (d === k) { correct++; inter[k]++; }
      }));
      const iou = inter.map((n, k) => (lab[k] + out[k] - n > 0 ? n / (lab[k] + out[k] - n) : null));
      const present = iou.filter((v): v is number => v !== null);
      return { iou, miou: present.reduce((a, b) => a + b, 0) / present.length, pixelAcc: correct / valid };
    }

    it('IoU per class, mean IoU and pixel accuracy as counted by hand from the pixels and labels', async () => {
      // every pixel's class is clear of the fixed point's error (a wide margin, or all channels 0)
      expect(Math.min(...pixels.flatMap((px) => Array.from({ length: H * W }, (_, p) => classify(px, p, MEAN, STD).margin)))).to.be.greaterThan(0.02);
      const want = byHand(predicted);
      const r = (await runEval(file('seg.out'), { data: file('img'), labels: file('masks') })).report;
      expect(r.n).to.equal(3);
      expect(r.iou).to.deep.equal(want.iou);
      expect(r.miou).to.be.closeTo(want.miou, 1e-12);
      expect(r.pixelAcc).to.be.closeTo(want.pixelAcc, 1e-12);
      expect(want.pixelAcc).to.be.within(0.5, 0.95); // the test measures something: errors and hits
      // the record decides: the raw pixels (--preset none) make other classes, the brightest channel
      const raw = byHand(dominant);
      expect(dominant.flat().filter((d, j) => d !== predicted.flat()[j]).length).to.be.greaterThan(5);
      const none = (await runEval(file('seg.out'), { data: file('img'), labels: file('masks'), preset: 'none' } as never)).report;
      expect(none.iou).to.deep.equal(raw.iou);
      // the program revealing only the class map (--reveal argmax) measures the same
      const maps = (await runEval(file('seg-argmax.out'), { data: file('img'), labels: file('masks'), predictions: file('seg-pred.npy') })).report;
      expect([maps.iou, maps.pixelAcc]).to.deep.equal([r.iou, r.pixelAcc]);
      // --predictions: every pixel's class, as counted by hand
      const p = readNpyIntegers(file('seg-pred.npy'));
      expect([p.shape, Array.from(p.data)]).to.deep.equal([[3, H, W], predicted.flat()]);
    });

    it('a bad label map at the last image stops the evaluation before any party starts (MPCC3014 naming it)', () => {
      mkdirSync(file('bad-masks'));
      IDS.forEach((id, i) => writeFileSync(file('bad-masks', `${id}.png`), encodePng(Uint8Array.from(labels[i], (k, p) => (i === IDS.length - 1 && p === 4 ? 7 : k)), H, W)));
      const r = spawnSync(process.execPath, [CLI, 'eval', file('seg.out'), '--data', file('img'), '--labels', file('bad-masks'), '--progress'], { encoding: 'utf8' });
      expect(r.status).to.equal(2);
      expect(r.stderr).to.match(/error MPCC3014: .*s3\.png': it holds 7 \(at row 0, column 4\)/);
      expect(r.stderr).to.match(/reading the 3 images and labels once before the secure run/);
      expect(r.stderr).to.not.match(/running the three parties/);
    });

    it('the CLI: text and --json, exit 0; a plaintext-only flag exits non-zero with one coded line', () => {
      const args = [CLI, 'eval', file('seg.out'), '--data', file('img'), '--labels', file('masks')];
      const text = spawnSync(process.execPath, args, { encoding: 'utf8' });
      expect(text.status, text.stderr).to.equal(0);
      expect(text.stdout).to.match(/images: 3 \(secure inference of .*seg\.out, 3 inferences\)/);
      expect(text.stdout).to.match(/per inference: online [\d.]+ s, [\d.]+ MB, \d+ rounds; offline/);
      const json = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8' });
      expect(json.status, json.stderr).to.equal(0);
      const report = JSON.parse(json.stdout);
      expect(report.runner).to.equal('secure');
      expect(report.secure.inferences).to.equal(3);
      // mpcc report shows it as the compiled program's accuracy, saying how it was measured
      writeFileSync(file('seg-eval.json'), json.stdout);
      const page = spawnSync(process.execPath, [CLI, 'report', file('seg.out'), '--eval', file('seg-eval.json'), '-o', file('seg.html')], { encoding: 'utf8' });
      expect(page.status, page.stderr).to.equal(0);
      expect(readFileSync(file('seg.html'), 'utf8')).to.match(/Accuracy of this network: <strong[^>]*>mean IoU [\d.]+%, pixel accuracy [\d.]+%<\/strong> on 3 images, measured by secure inference \(3 inferences\)/);
      const bad = spawnSync(process.execPath, [...args, '--runner', 'interpreter'], { encoding: 'utf8' });
      expect(bad.status).to.not.equal(0);
      expect(bad.stderr).to.match(/MPCC0004.*--runner/);
      expect(bad.stderr).to.not.match(/\n\s+at /);
    });
  });
});
