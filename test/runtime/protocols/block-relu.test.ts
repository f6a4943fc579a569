// The block-ReLU layout (patch of every element, selected elements) against its definition,
// element by element, on shapes with identity channels, partial edge patches and a batch.

import { expect } from 'chai';
import { blockLayout, type BlockSize } from '../../../runtime/protocols/block-relu.js';

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
});
