// The fixed-point scale chosen per model (passes/quantize/frac-choice.ts): the failure bound
// against hand-computed values, the choice on zoo models against the Truncate nodes quantize
// actually inserts, the cap, the floor and the value range; `mpcc compile` without --frac-bits
// uses and prints the choice, with --frac-bits the flag, with --calib the measured magnitudes.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { driveModel } from '../../../compiler/driver.js';
import { loadGraphFile } from '../../../compiler/load-model.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { parseMir } from '../../../ir/parse.js';
import { numel } from '../../../ir/types.js';
import { runPipeline } from '../../../passes/manager.js';
import { FAILURE_BOUND_LOG2, MAX_AUTO_FRAC, MIN_ACTIVATION_FRAC, MIN_AUTO_FRAC, MIN_WEIGHT_FRAC, chooseFracBits, describeFracChoice, failureLog2, weightFracAt, weightFracs } from '../../../passes/quantize/frac-choice.js';
import { suiteTempDir } from '../../temp-dir.js';

/** x [1,4] times a constant W [4,3] of 0.5s plus a bias: one truncated layer of 3 outputs. */
const LINEAR = `mir 1
graph @net(%x: float32[1,4]) -> (%y: float32[1,3]) {
  const %w: float32[4,3] = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
  const %b: float32[3] = [BIAS, 0, 0]
  %y: float32[1,3] = Gemm "fc"(%x, %w, %b)
}
`;

describe('frac-choice: the fixed-point scale chosen for a model', function () {
  this.timeout(120000);
  const tmp = suiteTempDir('mpcc-frac-choice-');

  it('the failure bound by hand: Σ n·A·2^(2f−63)', () => {
    const layers = [{ node: 'a', elements: 1000, meanAbs: 0.5 }, { node: 'b', elements: 24, meanAbs: 2 }];
    // 1000·0.5 + 24·2 = 548; at f = 12: 548·2^24/2^63
    expect(failureLog2(layers, 12)).to.be.closeTo(Math.log2(548 * 2 ** 24 / 2 ** 63), 1e-12);
    expect(failureLog2(layers, 13) - failureLog2(layers, 12)).to.be.closeTo(2, 1e-12);
  });

  it('a small layer gets the cap; its magnitudes propagated from the weights by hand', () => {
    const c = chooseFracBits(parseMir(LINEAR.replace('BIAS', '0')));
    // unit-RMS input, fan-in 4, W = 0.5: output RMS √(4·0.25) = 1, bias RMS 0
    expect(c.layers).to.deep.equal([{ node: 'fc', elements: 3, meanAbs: 1 }]);
    // at 16/16 bits the activations' rounding (2^-16 / 1)² outweighs the weights' (2^-16 / 0.5)²
    // and fewer activation bits cannot lower it: the uniform scale stays
    expect(c).to.include({ frac: MAX_AUTO_FRAC, uniformFrac: MAX_AUTO_FRAC, limit: 'cap', magnitudes: 'weights', truncatedElements: 3 });
    expect(c.weightFracs).to.equal(undefined);
    expect(c.failureLog2).to.be.closeTo(Math.log2(3) + 2 * 16 - 63, 1e-12);
  });

  it('with exact truncation every Truncate leaves the bound (0, the cap): after a weight product and after a product of two activations alike', () => {
    const g = parseMir(LINEAR.replace('BIAS', '0'));
    const measured = new Map([['y', 2 ** 20]]);
    const exact = chooseFracBits(g, measured, 'exact');
    // the local choice above is 14 bits (or 11/18) for these magnitudes; exact: no local truncation
    expect(exact).to.include({ frac: MAX_AUTO_FRAC, uniformFrac: MAX_AUTO_FRAC, limit: 'cap', truncation: 'exact', exactElements: 3 });
    expect(exact.layers).to.deep.equal([]);
    expect(exact.failureLog2).to.equal(-Infinity);
    expect(describeFracChoice(exact)).to.match(/share-truncation failure 0 \(no local truncation\), magnitudes from the calibration samples; 3 truncated values, all exact/);
    // y · y: a Beaver product, whose Truncate runs exact by a bit triple: out of the bound too
    const squared = parseMir(LINEAR.replace('BIAS', '0').replace('-> (%y: float32[1,3])', '-> (%z: float32[1,3])').replace('Gemm "fc"(%x, %w, %b)\n', 'Gemm "fc"(%x, %w, %b)\n  %z: float32[1,3] = Mul "sq"(%y, %y)\n'));
    const big = new Map([['y', 2 ** 20], ['z', 2 ** 20]]);
    const c = chooseFracBits(squared, big, 'exact');
    expect(c.layers).to.deep.equal([]);
    expect(c).to.include({ frac: MAX_AUTO_FRAC, limit: 'cap', exactElements: 6 });
    expect(c.failureLog2).to.equal(-Infinity);
    // with local truncation both stay in the bound, which lowers the scale
    const local = chooseFracBits(squared, big, 'local');
    expect(local.layers.map((l) => l.node)).to.deep.equal(['fc', 'sq']);
    expect(local.limit).to.equal('failure bound');
    expect(local.failureLog2).to.be.at.most(FAILURE_BOUND_LOG2);
  });

  it('large measured magnitudes lower the scale to the most bits within the bound', () => {
    const g = parseMir(LINEAR.replace('BIAS', '0'));
    const c = chooseFracBits(g, new Map([['y', 2 ** 20]]));
    // uniform: log2(3·2^20) + 2f − 63 ≤ −12  ⇔  f ≤ (51 − 21.585) / 2 = 14.7
    expect(c).to.include({ uniformFrac: 14, limit: 'failure bound', magnitudes: 'calibration' });
    expect(failureLog2(c.layers, 14)).to.be.at.most(FAILURE_BOUND_LOG2);
    expect(failureLog2(c.layers, 15)).to.be.above(FAILURE_BOUND_LOG2);
    // values of 2^20 lose nothing at 11 bits, the weights gain: log2(3·2^20) + 11 + w − 63 ≤ −12
    // ⇔ w ≤ 18.4; predicted error (2^-18/0.5)² + (2^-11/2^20)² < (2^-14/0.5)² + (2^-14/2^20)²
    expect(c).to.include({ frac: MIN_ACTIVATION_FRAC });
    expect([...c.weightFracs!]).to.deep.equal([['fc', 18]]);
    expect(c.failureLog2).to.be.closeTo(Math.log2(3 * 2 ** 20) + 11 + 18 - 63, 1e-9);
    expect(describeFracChoice(c)).to.match(/^fixed point: 11 fractional bits for the activations, 18\.\.18 for the weights of each layer \(less predicted rounding error than 14 bits for both, within the same bound\)/);
    // beyond what even the floor keeps within the bound: the floor, said so
    const floor = chooseFracBits(g, new Map([['y', 2 ** 40]]));
    expect(floor).to.include({ uniformFrac: MIN_AUTO_FRAC, limit: 'floor' });
    expect(failureLog2(floor.layers, MIN_AUTO_FRAC)).to.be.closeTo(Math.log2(3 * 2 ** 40) + 24 - 63, 1e-9);
    // the weights' bits spend no more than the floor's bound: 11 + w ≤ 24
    expect(floor).to.include({ frac: MIN_ACTIVATION_FRAC });
    expect([...floor.weightFracs!]).to.deep.equal([['fc', 13]]);
    expect(floor.failureLog2).to.be.at.most(failureLog2(floor.layers, MIN_AUTO_FRAC));
    expect(describeFracChoice({ ...floor, frac: MIN_AUTO_FRAC, weightFracs: undefined, weightLevel: undefined })).to.contain('the fewest the default takes; the bound 2^-12 is exceeded');
  });

  it('a constant near the value range limits the scale (2^(63−2f) with 8 bits to spare)', () => {
    // (measured magnitudes of 1, so that the failure bound alone would allow the cap)
    const c = chooseFracBits(parseMir(LINEAR.replace('BIAS', String(2 ** 30))), new Map([['y', 1]]));
    // (63 − 8 − 30) / 2 = 12.5
    expect(c).to.include({ frac: 12, limit: 'value range' });
  });

  for (const name of ['tiny-cnn', 'resnet18-cifar', 'resnet50', 'mobilenetv2', 'deeplabv3']) {
    it(`zoo ${name}: the most bits within the bound, over the values quantize truncates`, () => {
      const file = join(tmp(), `${name}.onnx`);
      writeFileSync(file, buildZooModel(name));
      const g = runPipeline(loadGraphFile(file), 'canonicalize').graph;
      const c = chooseFracBits(g);
      const level = c.weightLevel !== undefined ? `,weight-level=${c.weightLevel}` : '';
      const q = runPipeline(g, `quantize{frac-bits=${c.frac}${level}}`).graph;
      const truncations = q.nodes.filter((n) => n.op === 'Truncate');
      const truncated = truncations.reduce((s, n) => s + numel(q.types.get(n.outputs[0])!.shape), 0);
      expect(c.truncatedElements).to.equal(truncated);
      // the uniform scale: the most bits within the bound
      const uniform = failureLog2(c.layers, c.uniformFrac);
      expect(uniform).to.be.closeTo(Math.log2(c.layers.reduce((s, l) => s + l.elements * l.meanAbs, 0)) + 2 * c.uniformFrac - 63, 1e-9);
      if (c.uniformFrac < MAX_AUTO_FRAC) expect(failureLog2(c.layers, c.uniformFrac + 1)).to.be.above(FAILURE_BOUND_LOG2);
      if (c.uniformFrac > MIN_AUTO_FRAC) expect(uniform).to.be.at.most(FAILURE_BOUND_LOG2);
      // the weights' own bits: the bound by hand over them, within the uniform scale's budget, and
      // each product's Truncate drops its layer's bits (the others: the activations' bits)
      expect(c.failureLog2).to.be.closeTo(Math.log2(c.layers.reduce((s, l) => s + l.elements * l.meanAbs * 2 ** ((c.weightFracs?.get(l.node) ?? c.frac) - c.frac), 0)) + 2 * c.frac - 63, 1e-9);
      expect(c.failureLog2).to.be.at.most(Math.max(FAILURE_BOUND_LOG2, uniform) + 1e-9);
      for (const t of truncations) {
        const product = q.nodes.find((n) => n.outputs.includes(t.inputs[0]))!;
        expect(t.attrs.bits, `${product.name}`).to.equal(product.op === 'Mul' && !q.constants.has(product.inputs[1]) ? c.frac : c.weightFracs?.get(product.name) ?? c.frac);
      }
    });
  }

  it("the weights' bits by hand: ⌊K − log2(rms(W)²·n·A)/3⌋ within the floor, the cap and the value range", () => {
    const w = { node: 'l', rms: 0.25, maxConstant: 1 };
    // rms² · n·A = 2^-4 · 2^10 = 2^6: K − 2
    expect(weightFracAt(16, 12, w, 2 ** 10)).to.equal(14);
    expect(weightFracAt(16.9, 12, w, 2 ** 10)).to.equal(14);
    expect(weightFracAt(0, 12, w, 2 ** 10)).to.equal(MIN_WEIGHT_FRAC);
    expect(weightFracAt(40, 12, w, 2 ** 10)).to.equal(2 * MAX_AUTO_FRAC - 12);
    // a constant of 2^30 leaves 63 − 8 − 30 = 25 bits for the product: 25 − 12 = 13
    expect(weightFracAt(40, 12, { ...w, maxConstant: 2 ** 30 }, 2 ** 10)).to.equal(13);
    // quantize's own computation at a level, from the weights alone: LINEAR's W of 0.5, n·A = 3
    const g = parseMir(LINEAR.replace('BIAS', '0'));
    expect([...weightFracs(g, 12, 16)]).to.deep.equal([['fc', Math.floor(16 - Math.log2(0.25 * 3) / 3)]]);
    const q = runPipeline(g, 'quantize{frac-bits=12,weight-level=16}').graph;
    expect(q.nodes.find((n) => n.op === 'Truncate')!.attrs.bits).to.equal(16);
  });

  it('mpcc compile uses and prints the choice; --frac-bits overrides it; --calib measures the magnitudes', () => {
    const file = join(tmp(), 'r18c.onnx');
    writeFileSync(file, buildZooModel('resnet18-cifar'));
    const auto = runCompile(file, { output: join(tmp(), 'auto') });
    const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { frac: number };
    expect(manifest(join(tmp(), 'auto')).frac).to.equal(auto.fracChoice!.frac);
    expect(auto.notes[0]).to.equal(describeFracChoice(auto.fracChoice!));
    // exact truncation (the default): no local truncation is left, the cap
    expect(auto.fracChoice).to.include({ frac: MAX_AUTO_FRAC, truncation: 'exact', exactElements: 614500 });
    expect(auto.notes[0]).to.match(/^fixed point: 16 fractional bits .*share-truncation failure 0 \(no local truncation\), magnitudes from the weights; 614500 truncated values, all exact/);
    const local = runCompile(file, { output: join(tmp(), 'local'), truncation: 'local' });
    expect(local.notes[0]).to.match(/^fixed point: \d+ fractional bits .*share-truncation failure ≤ 2\^-\d+\.\d per inference over 614500 truncated values, magnitudes from the weights/);
    expect(auto.notes.some((n) => /^note: Softmax '.*' is not computed securely: the client applies it in plaintext to the revealed logits/.test(n))).to.equal(false); // resnet18-cifar ends in logits
    const fixed = runCompile(file, { output: join(tmp(), 'fixed'), fracBits: 11 });
    expect(fixed.fracChoice).to.equal(undefined);
    expect(manifest(join(tmp(), 'fixed')).frac).to.equal(11);
    expect(fixed.notes.join('\n')).to.not.contain('--frac-bits 11');
    // below what mpcc would choose itself: said, with the check to make
    const coarse = runCompile(file, { output: join(tmp(), 'coarse'), fracBits: 8 });
    expect(coarse.notes).to.include('note: --frac-bits 8: every value rounded to 2^-8 = 0.00390625 (mpcc chooses 11 to 16 itself); compare `mpcc infer --fixed --frac-bits 8` with the float network before deploying');

    // Calibration samples 100× the unit scale: measured magnitudes, fewer bits.
    const calib = join(tmp(), 'calib.npy');
    writeFileSync(calib, encodeNpy([2, 3, 32, 32], Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => 100 * Math.sin(i * 0.37))));
    const measured = driveModel(file, { target: 'quantized', calib: { calib }, truncation: 'local' }).fracChoice!;
    expect(measured.magnitudes).to.equal('calibration');
    expect(measured.frac).to.be.below(local.fracChoice!.frac);
  });

  it('a final Softmax: compile notes that the client applies it to the revealed logits', () => {
    const file = join(tmp(), 'secure-ops.onnx');
    writeFileSync(file, buildZooModel('secure-ops'));
    const s = runCompile(file, { output: join(tmp(), 'so') });
    expect(s.notes).to.include("note: Softmax '/softmax/Softmax' is not computed securely: the client applies it in plaintext to the revealed logits (runtime/program/post.ts)");
  });
});
