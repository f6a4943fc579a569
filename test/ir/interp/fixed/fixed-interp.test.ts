// The fixed-point interpreter: bit-level checks worked out by hand (encoding, truncation as
// floor, windowed ReLU, Clip), then zoo models against the float interpreter of the
// unquantized graph (top-1 equal, max error ≤ 1% of the output range at frac 12) and layer by
// layer against the float interpreter of the quantized graph.
import { expect } from 'chai';
import { importOnnx } from '../../../../compiler/onnx/import.js';
import { buildZooModel } from '../../../../examples/zoo/index.js';
import type { Graph } from '../../../../ir/graph.js';
import { runGraph } from '../../../../ir/interp/index.js';
import { reluWindow, runGraphFixed } from '../../../../ir/interp/fixed/index.js';
import { parseMir } from '../../../../ir/parse.js';
import { tensorOf } from '../../../../ir/tensor.js';
import { runPipeline } from '../../../../passes/index.js';
import { randomInputs } from '../../../passes/util.js';

const signed = (v: BigUint64Array) => Array.from(v, (x) => BigInt.asIntN(64, x));

/** A quantized one-node graph around `body` (input %x, output %y, both [1,4]). */
function small(body: string): Graph {
  return parseMir(`mir 1\ngraph @g(%x: float32[1,4]) -> (%y: float32[1,4]) {\n  %xq: float32[1,4] = FixedInput "in"(%x) {frac = 4}\n  ${body}\n}\n`);
}

describe('fixed-point interpreter: bit level', () => {
  it('FixedInput encodes round(x·2^frac), Truncate is an arithmetic shift (floor)', () => {
    // frac 4: 0.3·16 = 4.8 → 5; -0.3·16 = -4.8 → -5; 1.03125·16 = 16.5 → 17 (halves up); -2 → -32.
    // Truncate by 1: 5 → 2, -5 → -3 (floor, not toward zero), 17 → 8, -32 → -16.
    const g = small('%y: float32[1,4] = Truncate "t"(%xq) {bits = 1}');
    const r = runGraphFixed(g, { x: tensorOf('float32', [1, 4], [0.3, -0.3, 1.03125, -2]) }, { frac: 4 });
    expect(signed(r.ring.get('xq')!.data)).to.deep.equal([5n, -5n, 17n, -32n]);
    expect(signed(r.ring.get('y')!.data)).to.deep.equal([2n, -3n, 8n, -16n]);
    expect(r.ring.get('y')!.frac).to.equal(3);
    expect(Array.from(r.outputs.get('y')!.data)).to.deep.equal([0.25, -0.375, 1, -2]);
  });

  it('Relu on a bit window keeps x iff bit lo+k−1 is clear (the k-bit sign of x >> lo)', () => {
    const x = BigUint64Array.from([5n, 0x8000n, BigInt.asUintN(64, -1n), BigInt.asUintN(64, -(1n << 20n)), 0x7fffn, BigInt.asUintN(64, -5n)]);
    // Full window: the 64-bit sign.
    expect(signed(reluWindow(x, 0, 64))).to.deep.equal([5n, 0x8000n, 0n, 0n, 0x7fffn, 0n]);
    // k = 16: 0x8000 has bit 15 set (reads as negative); -2^20 has bits 0..15 clear (reads as 0, kept).
    expect(signed(reluWindow(x, 0, 16))).to.deep.equal([5n, 0n, 0n, -(1n << 20n), 0x7fffn, 0n]);
    // lo = 4, k = 12: bit 15 again decides; -5 = …11111011 has bit 15 set.
    expect(signed(reluWindow(x, 4, 12))).to.deep.equal([5n, 0n, 0n, -(1n << 20n), 0x7fffn, 0n]);
  });

  it('Relu and Clip run on the window given by their attributes', () => {
    // frac 4, window k = 8: 7.5 encodes as 120 (bit 7 clear, kept); 8.5 → 136 (bit 7 set: read as negative, dropped).
    const relu = small('%y: float32[1,4] = Relu "r"(%xq) {window_k = 8}');
    const r = runGraphFixed(relu, { x: tensorOf('float32', [1, 4], [7.5, 8.5, -1, 0.0625]) }, { frac: 4 });
    expect(Array.from(r.outputs.get('y')!.data)).to.deep.equal([7.5, 0, 0, 0.0625]);
    // Clip [0, 6] = 0 + ReLU(x) − ReLU(x − 6): 7.5 → 6, -1 → 0, 2.25 → 2.25, 6.0625 → 6.
    const clip = small('%y: float32[1,4] = Clip "c"(%xq) {max = 6, min = 0}');
    const c = runGraphFixed(clip, { x: tensorOf('float32', [1, 4], [7.5, -1, 2.25, 6.0625]) }, { frac: 4 });
    expect(Array.from(c.outputs.get('y')!.data)).to.deep.equal([6, 0, 2.25, 6]);
  });

  it('a product carries 2·frac bits: weights at frac, bias at 2·frac, then Truncate', () => {
    // x = [1.5, -0.25, 2, 0] (frac 4: 24, -4, 32, 0); w = [[0.5], [0.3], [-1], [7]] → 8, 5 (0.3·16 = 4.8), -16, 112;
    // bias 0.1 at 2·frac = 8: round(25.6) = 26. Sum = 24·8 − 4·5 − 32·16 + 26 = 192 − 20 − 512 + 26 = −314;
    // Truncate by 4: floor(−314/16) = −20 → −1.25.
    const g = parseMir(`mir 1\ngraph @g(%x: float32[1,4]) -> (%y: float32[1,1]) {
  const %w: float32[4,1] = [0.5, 0.3, -1, 7]
  const %b: float32[1] = [0.1]
  %xq: float32[1,4] = FixedInput "in"(%x) {frac = 4}
  %acc: float32[1,1] = Gemm "fc"(%xq, %w, %b)
  %y: float32[1,1] = Truncate "t"(%acc) {bits = 4}
}
`);
    const r = runGraphFixed(g, { x: tensorOf('float32', [1, 4], [1.5, -0.25, 2, 0]) }, { frac: 4 });
    expect(signed(r.ring.get('acc')!.data)).to.deep.equal([-314n]);
    expect(r.ring.get('acc')!.frac).to.equal(8);
    expect(Array.from(r.outputs.get('y')!.data)).to.deep.equal([-1.25]);
  });
});

describe('fixed-point interpreter: zoo models at frac 12', () => {
  for (const name of ['tiny-cnn', 'secure-ops', 'resnet18-cifar']) {
    it(`${name}: top-1 equal and max error ≤ 1% of the output range vs the float interpreter; every layer within 2% of the quantized float run`, () => {
      const g = runPipeline(importOnnx(buildZooModel(name)), 'canonicalize').graph;
      const q = runPipeline(g, 'quantize{frac-bits=12}').graph;
      for (const seed of name === 'resnet18-cifar' ? [4] : [1, 2, 3]) {
        const inputs = randomInputs(g, seed);
        const want = runGraph(g, inputs, { precision: 'float64' }).get(g.outputs[0])!.data;
        const fixed = runGraphFixed(q, inputs, { frac: 12 });
        const got = fixed.outputs.get(g.outputs[0])!.data;
        let err = 0, lo = Infinity, hi = -Infinity, top = 0, topGot = 0;
        for (let i = 0; i < want.length; i++) {
          err = Math.max(err, Math.abs(got[i] - want[i]));
          lo = Math.min(lo, want[i]);
          hi = Math.max(hi, want[i]);
          if (want[i] > want[top]) top = i;
          if (got[i] > got[topGot]) topGot = i;
        }
        expect(topGot, `seed ${seed} top-1`).to.equal(top);
        expect(err, `seed ${seed}`).to.be.at.most(0.01 * (hi - lo));
        // Layer by layer against the float run of the quantized graph (unrounded weights): the
        // weight rounding error accumulates with depth (≈1.1% of the largest value at layer4).
        const floatQ = runGraph(q, inputs, { precision: 'float64', keep: [...fixed.ring.keys()] });
        for (const [v, t] of fixed.values) {
          const ref = floatQ.get(v)!.data;
          let d = 0, m = 0;
          for (let i = 0; i < ref.length; i++) { d = Math.max(d, Math.abs(t.data[i] - ref[i])); m = Math.max(m, Math.abs(ref[i])); }
          expect(d, `${name} value ${v}`).to.be.at.most(0.02 * Math.max(m, 1));
        }
      }
    });
  }
});
