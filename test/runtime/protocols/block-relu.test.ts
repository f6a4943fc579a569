// The block-ReLU layout (patch of every element, selected elements) against its definition,
// element by element, on shapes with identity channels, partial edge patches and a batch.

import { expect } from 'chai';
import { blockLayout, blockPlan, type BlockSize } from '../../../runtime/protocols/block-relu.js';

describe('runtime/protocols block-ReLU layout', () => {
  it('numbers patches channel by channel from the top-left, skipping identity channels', () => {
    const cases: [readonly [number, number, number, number], BlockSize[]][] = [
      [[1, 3, 5, 7], [[2, 2], 'identity', [1, 3]]],
      [[2, 4, 4, 6], ['identity', [1, 1], [4, 6], [3, 4]]],
      [[1, 2, 3, 3], ['identity', 'identity']],
      [[1, 1, 1, 9], [[1, 4]]],
    ];
    for (const [shape, blocks] of cases) {
      const [n, c, h, w] = shape;
      const { patchOf, patches, selected } = blockLayout(shape, blocks);
      const want: number[] = [];
      const wantSelected: number[] = [];
      let next = 0;
      for (let b = 0; b < n; b++)
        for (let ch = 0; ch < c; ch++) {
          const blk = blocks[ch];
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++) {
              if (blk === 'identity') {
                want.push(-1);
                continue;
              }
              wantSelected.push(want.length);
              want.push(next + Math.floor(y / blk[0]) * Math.ceil(w / blk[1]) + Math.floor(x / blk[1]));
            }
          if (blk !== 'identity') next += Math.ceil(h / blk[0]) * Math.ceil(w / blk[1]);
        }
      expect(Array.from(patchOf), JSON.stringify(blocks)).to.deep.equal(want);
      expect(Array.from(selected)).to.deep.equal(wantSelected);
      expect(patches).to.equal(next);
    }
  });

  it('refuses a block list of the wrong length', () => {
    expect(() => blockLayout([1, 2, 2, 2], [[1, 1]])).to.throw('1 block sizes for 2 channels');
  });

  it('blockPlan: tile sums mod 2^64 equal a BigInt sum (carries across both halves), the selected elements and their reassembly', () => {
    const cases: [readonly [number, number, number, number], BlockSize[]][] = [
      [[1, 3, 5, 7], [[2, 2], 'identity', [1, 3]]],
      [[2, 2, 4, 6], [[4, 6], [3, 4]]],
      [[1, 4, 3, 3], ['identity', [3, 3], 'identity', [2, 1]]],
    ];
    let seed = 7n;
    const next = () => (seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n));
    for (const [shape, blocks] of cases) {
      const len = shape.reduce((a, b) => a * b, 1);
      // Words near 2^32 − 1 in both halves: every tile sum carries out of the low half.
      const x = BigUint64Array.from({ length: len }, (_, i) => (i % 3 === 0 ? (1n << 64n) - 1n - (next() & 0xffn) : next()));
      const plan = blockPlan(x, shape, blocks);
      const { patchOf, selected } = blockLayout(shape, blocks);
      const want = new Array<bigint>(plan.patches).fill(0n);
      x.forEach((v, i) => patchOf[i] >= 0 && (want[patchOf[i]] = (want[patchOf[i]] + v) & ((1n << 64n) - 1n)));
      expect(Array.from(plan.sums), JSON.stringify(blocks)).to.deep.equal(want);
      expect(Array.from(plan.xs)).to.deep.equal(Array.from(selected, (i) => x[i]));
      expect(Array.from(plan.map)).to.deep.equal(Array.from(selected, (i) => patchOf[i]));
      const ys = plan.xs.map((v) => v ^ 1n);
      const back = plan.assemble(ys);
      expect(Array.from(back)).to.deep.equal(Array.from(x, (v, i) => (patchOf[i] >= 0 ? v ^ 1n : v)));
    }
  });

  it('blockLayout is made once per block list and shape', () => {
    const blocks: BlockSize[] = [[2, 2], 'identity'];
    expect(blockLayout([1, 2, 4, 4], blocks)).to.equal(blockLayout([1, 2, 4, 4], blocks));
    expect(blockLayout([1, 2, 4, 4], blocks)).to.not.equal(blockLayout([1, 2, 6, 4], blocks));
  });
});
