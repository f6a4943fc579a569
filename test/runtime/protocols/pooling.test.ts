// The pooling helpers on flat typed arrays (window lists, window sizes, the max tree's flat
// candidate layout) against plain enumerations of the windows from their definition.

import { expect } from 'chai';
import { maxTreeLevels, windowMaxima } from '../../../runtime/protocols/maxpool.js';
import { poolWindowSizes, poolWindows } from '../../../runtime/protocols/linear.js';
import { poolOutShape, type PoolParams } from '../../../runtime/ring/windows.js';
import { randomSigned } from './harness.js';

const M64 = (1n << 64n) - 1n;

/** Every window's flat input indices, by the ONNX definition (one nested loop, arrays). */
function naiveWindows(p: PoolParams): number[][] {
  const [n, c, h, w] = p.inShape;
  const [, , oh, ow] = poolOutShape(p);
  const out: number[][] = [];
  for (let b = 0; b < n * c; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const win: number[] = [];
        for (let ky = 0; ky < p.kernel[0]; ky++)
          for (let kx = 0; kx < p.kernel[1]; kx++) {
            const iy = oy * p.strides[0] - p.pads[0] + ky;
            const ix = ox * p.strides[1] - p.pads[1] + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) win.push((b * h + iy) * w + ix);
          }
        out.push(win);
      }
  return out;
}

const POOLS: PoolParams[] = [
  { inShape: [1, 2, 7, 6], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  { inShape: [2, 3, 4, 4], kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] },
  { inShape: [1, 1, 7, 5], kernel: [3, 2], strides: [1, 2], pads: [0, 1, 2, 0] },
  { inShape: [1, 2, 9, 9], kernel: [1, 3], strides: [1, 2], pads: [0, 1, 0, 1] },
  { inShape: [1, 1, 3, 3], kernel: [2, 2], strides: [1, 1], pads: [2, 2, 2, 2] }, // windows all padding
  { inShape: [2, 2, 1, 8], kernel: [1, 8], strides: [1, 1], pads: [0, 0, 0, 0] },
];

describe('runtime/protocols pooling helpers (flat layout)', () => {
  it('poolWindows lists every window and poolWindowSizes its size, as the definition says', () => {
    for (const p of POOLS) {
      const want = naiveWindows(p);
      const { starts, index } = poolWindows(p);
      const sizes = poolWindowSizes(p);
      expect(starts.length, JSON.stringify(p)).to.equal(want.length + 1);
      expect(sizes.length).to.equal(want.length);
      for (let o = 0; o < want.length; o++) {
        expect(Array.from(index.subarray(starts[o], starts[o + 1])), `window ${o} of ${JSON.stringify(p)}`).to.deep.equal(want[o]);
        expect(sizes[o]).to.equal(want[o].length);
      }
      expect(starts[want.length]).to.equal(index.length);
    }
  });

  it('windowMaxima with a plaintext ReLU gives every window maximum, with the tree levels maxTreeLevels counts', async () => {
    for (const p of POOLS) {
      const [n, c, h, w] = p.inShape;
      const x = randomSigned(n * c * h * w, 40);
      const pairsSeen: number[] = [];
      const plainRelu = async (d: BigUint64Array) => {
        pairsSeen.push(d.length);
        return BigUint64Array.from(d, (v) => (BigInt.asIntN(64, v) > 0n ? v : 0n));
      };
      const y = await windowMaxima(x, poolWindows(p), plainRelu);
      const want = naiveWindows(p);
      expect(y.length).to.equal(want.length);
      for (let o = 0; o < want.length; o++) {
        const best = want[o].length === 0 ? 0n : want[o].map((i) => BigInt.asIntN(64, x[i])).reduce((a, b) => (b > a ? b : a));
        expect(BigInt.asIntN(64, y[o]), `window ${o} of ${JSON.stringify(p)}`).to.equal(best);
      }
      expect(pairsSeen).to.deep.equal(maxTreeLevels(want.map((win) => win.length)));
    }
  });

  it('windowMaxima compares each level in window order, pairs in order (the protocol input is unchanged)', async () => {
    // Windows of 3, 4 and 1 candidates: level 1 compares (a0, a1), (b0, b1), (b2, b3).
    const x = BigUint64Array.from([10n, 20n, 30n, 1n, 2n, 3n, 4n, 7n], (v) => v & M64);
    const windows = { starts: Int32Array.from([0, 3, 7, 8]), index: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]) };
    const levels: bigint[][] = [];
    const y = await windowMaxima(x, windows, async (d) => {
      levels.push(Array.from(d, (v) => BigInt.asIntN(64, v)));
      return BigUint64Array.from(d, (v) => (BigInt.asIntN(64, v) > 0n ? v : 0n));
    });
    expect(levels).to.deep.equal([[-10n, -1n, -1n], [-10n, -2n]]);
    expect(Array.from(y)).to.deep.equal([30n, 4n, 7n]);
  });

  it('maxTreeLevels halves every window per level', () => {
    expect(maxTreeLevels([3, 3, 2, 1, 0])).to.deep.equal([3, 2]);
    expect(maxTreeLevels(Int32Array.from([25, 25]))).to.deep.equal([24, 12, 6, 4, 2]);
    expect(maxTreeLevels([1, 1, 0])).to.deep.equal([]);
  });
});
