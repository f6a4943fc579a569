// The fixed-point interpreter's windowed comparison (ir/interp/fixed/compare-window.ts) against a
// brute-force model of what the parties compute: every split of x into two shares whose low
// parts differ, each party keeping bits [lo, lo + k) of its own share, the sign read from the
// sum mod 2^k. Adversarial values: zero, the carry band [0, 2^lo), its neighbours, the window's
// edges (the largest value it holds, the most negative one, the first that wraps) and the
// ring's extremes.
import { expect } from 'chai';
import { makeNode } from '../../../../ir/graph.js';
import { windowErrorProbability, windowNegative } from '../../../../ir/interp/fixed/index.js';

const M64 = (1n << 64n) - 1n;
const NODE = makeNode('Relu', 'r', ['x'], ['y']);

/** Share of the 2^lo low-part splits of x for which the parties read x's sign wrong. */
function bruteForceError(x: bigint, lo: number, k: number): number {
  const truth = BigInt.asIntN(64, x) < 0n;
  const span = 1 << lo;
  let wrong = 0;
  for (let u = 0; u < span; u++) {
    const x0 = (0x9e3779b97f4a7c15n * BigInt(u + 1) << BigInt(lo)) & M64 | BigInt(u); // low part u, some high part
    const x1 = (x - x0) & M64;
    const y = ((x0 >> BigInt(lo)) + (x1 >> BigInt(lo))) & ((1n << BigInt(k)) - 1n);
    if ((y >> BigInt(k - 1) === 1n) !== truth) wrong++;
  }
  return wrong / span;
}

function adversarial(lo: number, k: number): bigint[] {
  const top = 1n << BigInt(lo + k - 1), ulp = 1n << BigInt(lo);
  return [0n, 1n, ulp - 1n, ulp, ulp + 1n, -1n, -ulp, -ulp - 1n, top - 1n, top - ulp, top, -top, -top + ulp - 1n, -top + ulp, -top - 1n, (1n << 63n) - 1n, -(1n << 63n), 3n * ulp / 2n];
}

describe('fixed-point interpreter: windowed comparison as the shares compute it', () => {
  for (const [lo, k] of [[0, 8], [3, 5], [5, 16], [4, 2], [0, 64], [6, 58]]) {
    it(`the predicted error of each value equals the brute force over its share splits (lo=${lo}, k=${k})`, () => {
      for (const v of adversarial(lo, k)) {
        const x = v & M64;
        expect(windowErrorProbability(BigInt.asIntN(64, x), lo, k), `x=${BigInt.asIntN(64, x)}`).to.be.closeTo(bruteForceError(x, lo, k), 1e-12);
      }
    });
  }

  it('bounds the error by the model: zero outside [0, 2^lo) and the window\'s range, at most (2^lo − 1 − x)/2^lo inside', () => {
    const lo = 5, k = 12, top = 1n << BigInt(lo + k - 1);
    for (let x = -300n; x < 300n; x++) {
      const p = windowErrorProbability(x, lo, k);
      if (x >= 0n && x < 32n) expect(p).to.equal((31 - Number(x)) / 32);
      else expect(p, `x=${x}`).to.equal(0);
    }
    expect(windowErrorProbability(top + 32n, lo, k)).to.equal(1); // past the range: wraps to negative
    expect(windowErrorProbability(top, lo, k)).to.equal(1 / 32); // its first value: right only when the carry is lost
    expect(windowErrorProbability(-top, lo, k)).to.be.closeTo(31 / 32, 1e-12); // the most negative unit: a lost carry wraps it
  });

  it("'exact' reads bit lo + k − 1 (no lost carry); 'shares' loses the carry as often as the model says", () => {
    const lo = 3, k = 6;
    const values = [0n, 1n, 5n, 7n, 8n, -1n, -8n, 255n, 1n << 8n].map((v) => v & M64);
    const exact = windowNegative(BigUint64Array.from(values), lo, k, NODE);
    expect(Array.from(exact)).to.deep.equal(values.map((v) => Number((v >> BigInt(lo + k - 1)) & 1n)));
    // 4,000 copies of x = 1: the carry is lost with probability (8 − 1 − 1)/8 = 0.75, reading −1
    const ones = new BigUint64Array(4000).fill(1n);
    let seen = -1;
    const drawn = windowNegative(ones, lo, k, NODE, { carries: 'shares', observe: (_n, v, neg) => (seen = v.length + neg.length) });
    const rate = drawn.reduce((t, b) => t + b, 0) / ones.length;
    expect(rate).to.be.closeTo(0.75, 0.03);
    expect(seen).to.equal(8000);
    // x = 7 = 2^lo − 1 never loses it; lo = 0 never does
    expect(windowNegative(new BigUint64Array(1000).fill(7n), lo, k, NODE, { carries: 'shares' }).every((b) => b === 0)).to.equal(true);
    expect(windowNegative(new BigUint64Array(1000).fill(0n), 0, k, NODE, { carries: 'shares' }).every((b) => b === 0)).to.equal(true);
  });

  it('can fail: a wrong model of the carry disagrees with the brute force', () => {
    const wrongModel = (x: bigint, lo: number) => (x >= 0n && x < 1n << BigInt(lo) ? 0.5 : 0);
    expect(wrongModel(1n, 3)).to.not.be.closeTo(bruteForceError(1n, 3, 5), 1e-3);
  });
});
