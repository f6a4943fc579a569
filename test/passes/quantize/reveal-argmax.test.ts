// Segmentation end to end: `mpcc compile --reveal argmax` on a small segmentation-like model
// (per-pixel scores of 5 classes): the secure program computes the classes, P0 receives only
// them (one reveal of H·W values), they equal the plaintext argmax, and the bytes and rounds are
// cost.json's; `mpcc run --expected` reports the pixel agreement with the plaintext run, for
// classes and for scores; compiler/output-agreement.ts by hand; bad input is MPCC6060.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { outputAgreement } from '../../../compiler/output-agreement.js';
import { loadPartyArtifacts } from '../../../runtime/program/index.js';
import { errorOf } from '../util.js';
import { suiteTempDir } from '../../temp-dir.js';

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const CLASSES = 5, SIDE = 12;
const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;

describe('reveal-argmax: per-pixel classes computed in the secure program', function () {
  this.timeout(120000);
  const tmp = suiteTempDir('mpcc-reveal-argmax-');

  it('P0 learns only the classes, equal to the plaintext argmax, with the bytes and rounds of cost.json', async () => {
    const onnx = segmenter(true);
    const file = join(tmp(), 'seg.onnx');
    writeFileSync(file, onnx);
    const out = join(tmp(), 'seg-argmax');
    const summary = runCompile(file, { output: out, reveal: 'argmax' });
    expect(summary.notes.some((n) => n.startsWith(`note: the client learns only the classes, output 'y' [1,1,${SIDE},${SIDE}]`))).to.equal(true);

    // The one value revealed to P0 is the class map: H·W values, nothing else.
    const p0 = await loadPartyArtifacts(out, 0);
    // (the client's one op: Round, which makes the revealed indices the integers)
    expect(p0.program.outputs.map((o) => [o.name, o.shape, o.post])).to.deep.equal([['y', [1, 1, SIDE, SIDE], [{ op: 'Round' }]]]);
    const reveals = p0.program.steps.filter((s) => s.kind === 'reveal');
    expect(reveals.length).to.equal(1);
    const revealBytes = summary.cost.layers.filter((l) => l.op === 'SecureReveal').reduce((s, l) => s + l.bytes.online + l.bytes.preprocessing, 0);
    expect(revealBytes).to.equal(SIDE * SIDE * 8);

    const rand = lcg(5);
    const xs = Float32Array.from({ length: 3 * SIDE * SIDE }, () => 2 * rand() - 1);
    writeFileSync(join(tmp(), 'x.npy'), encodeNpy([1, 3, SIDE, SIDE], xs));
    const session = await ort.InferenceSession.create(segmenter(false));
    const scores = (await session.run({ x: new ort.Tensor('float32', xs, [1, 3, SIDE, SIDE]) })).y.data as Float32Array;
    writeFileSync(join(tmp(), 'scores.npy'), encodeNpy([1, CLASSES, SIDE, SIDE], scores));

    const run = await runSecure(out, { input: join(tmp(), 'x.npy'), transport: 'inproc', expected: join(tmp(), 'scores.npy') });
    const classes = run.outputs.y;
    const plane = SIDE * SIDE;
    let checked = 0;
    for (let p = 0; p < plane; p++) {
      const col = Array.from({ length: CLASSES }, (_, k) => scores[k * plane + p]);
      const sorted = [...col].sort((a, b) => b - a);
      // an integer: the class index (revealed within one fixed-point unit, rounded by the client)
      expect(Number.isInteger(classes[p]), `pixel ${p}: ${classes[p]}`).to.equal(true);
      if (sorted[0] - sorted[1] < 0.01) continue; // a near-tie may go either way in fixed point
      expect(classes[p], `pixel ${p}`).to.equal(col.indexOf(sorted[0]));
      checked++;
    }
    expect(checked).to.be.above(0.9 * plane);
    expect(run.summary.agreement).to.include({ compared: 'classes', positions: plane });
    expect(run.summary.agreement!.pixelAgreement).to.be.at.least(checked / plane);

    // the CLI prints the map's most frequent classes (from the integers, not scores)
    const cli = spawnSync(process.execPath, [CLI, 'run', out, '--input', join(tmp(), 'x.npy'), '--transport', 'inproc'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).to.equal(0);
    const counts = new Map<number, number>();
    for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
    const [mode, n] = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
    expect(cli.stdout).to.include(`y: ${plane} class indices (a map)\n  class ${mode}: ${((100 * n) / plane).toFixed(1)}% of the pixels\n`);

    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as { rounds: number; bytes: { total: number } };
    expect(run.summary.bytes.total).to.equal(cost.bytes.total);
    expect(run.summary.rounds).to.equal(cost.rounds);
    // The comparison tree costs: more than revealing the scores would.
    const plain = runCompile(file, { output: join(tmp(), 'seg-scores') });
    expect(cost.bytes.total).to.be.above(plain.cost.bytes.total);

    // Scores revealed: --expected reports the pixel agreement and the error.
    const scored = await runSecure(join(tmp(), 'seg-scores'), { input: join(tmp(), 'x.npy'), transport: 'inproc', expected: join(tmp(), 'scores.npy') });
    // (that model ends in a Softmax the client applies: compare its output with the softmax)
    expect(scored.summary.agreement!.compared).to.equal('scores');
    expect(scored.summary.agreement!.pixelAgreement).to.be.at.least(0.95);
  });

  it('outputAgreement by hand: scores and classes', () => {
    // 1 image, 2 classes, 2 pixels: expected classes [1, 0]
    const expected = [0.1, 0.9, 0.6, 0.2];
    // secure classes [1, 1]: the second pixel differs; largest error |0.5 − 0.9|
    const scores = outputAgreement([0.2, 0.5, 0.7, 0.6], expected, [1, 2, 1, 2])!;
    expect(scores).to.deep.include({ compared: 'scores', pixelAgreement: 0.5, positions: 2 });
    expect(scores.maxAbsError).to.be.closeTo(0.4, 1e-12);
    expect(scores.range).to.be.closeTo(0.8, 1e-12);
    expect(scores.maxErrorOfRange).to.be.closeTo(0.5, 1e-12);
    expect(outputAgreement([1.0002, 0.9998], expected, [1, 2, 1, 2])).to.deep.equal({ compared: 'classes', pixelAgreement: 0.5, positions: 2 });
    expect(outputAgreement([3, 1, 2], [0, 1, 2], [1, 3])).to.deep.include({ compared: 'scores', top1Equal: false });
    expect(outputAgreement([1, 2], [0, 1, 2], [1, 3])).to.equal(undefined);
  });

  it('MPCC6060 for a model whose output is not scores', () => {
    const b = new OnnxBuilder({ opset: 13 });
    b.input('x', [1, 4, 6]);
    b.node('Relu', ['x'], ['y']);
    b.output('y');
    const file = join(tmp(), 'rank3.onnx');
    writeFileSync(file, b.toBytes());
    const e = errorOf(() => runCompile(file, { output: join(tmp(), 'rank3-out'), reveal: 'argmax' }));
    expect(e.format()).to.equal("error MPCC6060: --reveal argmax: output 'y' has shape [1,4,6]: scores [N, C] or [N, C, H, W] are needed");
    expect(errorOf(() => runCompile(file, { output: join(tmp(), 'rank3-out'), reveal: 'classes' })).code).to.equal('MPCC0004');
  });
});

/** x [1,3,12,12] → conv 3×3 → ReLU → conv 1×1 to 5 classes → y [1,5,12,12] (scores), `softmax` adding a Softmax. */
function segmenter(softmax = false): Uint8Array {
  const rand = lcg(21);
  const r = (n: number, scale: number) => Array.from({ length: n }, () => (2 * rand() - 1) * scale);
  const b = new OnnxBuilder({ opset: 13 });
  b.input('x', [1, 3, SIDE, SIDE]);
  b.initializer('W1', r(8 * 3 * 9, 0.5), [8, 3, 3, 3]);
  b.initializer('B1', r(8, 0.2), [8]);
  b.initializer('W2', r(CLASSES * 8, 0.8), [CLASSES, 8, 1, 1]);
  b.initializer('B2', r(CLASSES, 0.3), [CLASSES]);
  b.node('Conv', ['x', 'W1', 'B1'], ['c1'], { pads: [1, 1, 1, 1] });
  b.node('Relu', ['c1'], ['r1']);
  b.node('Conv', ['r1', 'W2', 'B2'], [softmax ? 'scores' : 'y']);
  if (softmax) b.node('Softmax', ['scores'], ['y'], { axis: 1 });
  b.output('y');
  return b.toBytes();
}
