// The fixed-point marker ops: they parse, print back identically, verify, and their float
// kernels round to the grid (values worked out by hand).
import { expect } from 'chai';
import { tensorOf } from '../../../../ir/index.js';
import { runGraph } from '../../../../ir/interp/index.js';
import { parseMir } from '../../../../ir/parse.js';
import { printGraph } from '../../../../ir/print.js';

const TEXT = `mir 1
graph @fx(%x: float32[1,4]) -> (%out: float32[1,4]) {
  %xq: float32[1,4] = FixedInput "in"(%x) {frac = 2}
  %t: float32[1,4] = Truncate "t"(%xq) {bits = 1}
  %r: float32[1,4] = Relu "r"(%t) {window_k = 16, window_lo = 3}
  %out: float32[1,4] = Clip "c"(%r) {max = 6, min = 0, window_k = 20}
}
`;

describe('fixed-point ops (FixedInput, Truncate, Relu/Clip bit windows)', () => {
  it('print(parse(text)) is the text', () => {
    expect(printGraph(parseMir(TEXT), { summaries: false })).to.equal(TEXT);
  });

  it('FixedInput rounds to the 2^-frac grid (halves up), Truncate floors to the 2^-bits grid', () => {
    const g = parseMir(TEXT);
    // frac 2: 0.3 → round(1.2)/4 = 0.25; -0.375 → round(-1.5)/4 = -1/4; 1.125 → round(4.5)/4 = 1.25; 7 → 7.
    // bits 1: 0.25 → floor(0.5)/2 = 0; -0.25 → floor(-0.5)/2 = -0.5; 1.25 → 1; 7 → 7.
    const x = tensorOf('float32', [1, 4], [0.3, -0.375, 1.125, 7]);
    const out = runGraph(g, { x }, { keep: ['xq', 't'], precision: 'float64' });
    expect(Array.from(out.get('xq')!.data)).to.deep.equal([0.25, -0.25, 1.25, 7]);
    expect(Array.from(out.get('t')!.data)).to.deep.equal([0, -0.5, 1, 7]);
    expect(Array.from(out.get('out')!.data)).to.deep.equal([0, 0, 1, 6]);
  });

  it('rejects a window outside the ring', () => {
    expect(() => parseMir(TEXT.replace('window_k = 16', 'window_k = 65'))).to.throw(/window_k/);
    expect(() => parseMir(TEXT.replace('window_k = 16', 'window_k = 1'))).to.throw(/window_k/);
    expect(() => parseMir(TEXT.replace('window_lo = 3', 'window_lo = 50'))).to.throw(/bit window \[50, 66\) does not fit in 64 bits/);
  });
});
