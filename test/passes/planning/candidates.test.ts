// Candidate blocks: the default set against its definition enumerated by brute force (every
// (bh, bw) up to 16 per side, half and whole map, identity; deduplicated after clipping), the
// costs against ceil(H/bh)·ceil(W/bw), the spec items, and bad specs (MPCC4044).
import { expect } from 'chai';
import { DEFAULT_BLOCK_SIZES, candidateBlocks, candidateCosts, parseBlockSizes } from '../../../passes/planning/candidates.js';
import { errorOf } from '../util.js';

const key = (b: readonly [number, number] | 'identity') => (b === 'identity' ? 'identity' : `${b[0]}x${b[1]}`);

describe('planning: candidate blocks (--block-sizes)', () => {
  it('gives the default set on maps of every size from 1×1 to 40×33, ordered by cost, [1, 1] first and identity last', () => {
    for (const [h, w] of [[1, 1], [7, 7], [14, 14], [28, 28], [40, 33], [3, 20]]) {
      const expected = new Set<string>();
      for (let bh = 1; bh <= Math.min(16, h); bh++) for (let bw = 1; bw <= Math.min(16, w); bw++) expected.add(`${bh}x${bw}`);
      expected.add(`${Math.ceil(h / 2)}x${Math.ceil(w / 2)}`);
      expected.add(`${h}x${w}`);
      const blocks = candidateBlocks(h, w);
      expect(new Set(blocks.map(key))).to.deep.equal(new Set([...expected, 'identity']));
      expect(blocks).to.have.length(expected.size + 1);
      expect(blocks[0]).to.deep.equal([1, 1]);
      expect(blocks[blocks.length - 1]).to.equal('identity');
      const costs = candidateCosts(h, w, blocks);
      blocks.forEach((b, j) => expect(costs[j]).to.equal(b === 'identity' ? 0 : Math.ceil(h / b[0]) * Math.ceil(w / b[1])));
      for (let j = 1; j < costs.length; j++) expect(costs[j]).to.be.at.most(costs[j - 1]);
    }
    expect(candidateBlocks(28, 28)).to.have.length(258); // 16×16, 28×28, identity (14×14 is among the 16×16)
    expect(candidateBlocks(7, 7)).to.have.length(50);
    expect(parseBlockSizes().text).to.equal(DEFAULT_BLOCK_SIZES);
  });

  it('reads every item of the spec, clipping blocks to the map; [1, 1] is always there', () => {
    expect(candidateBlocks(7, 7, parseBlockSizes('square:4,whole,identity')).map(key)).to.deep.equal(['1x1', '2x2', '3x3', '4x4', '7x7', 'identity']);
    expect(candidateBlocks(7, 7, parseBlockSizes('2x4, 9x9,half')).map(key)).to.deep.equal(['1x1', '2x4', '4x4', '7x7']);
    expect(candidateBlocks(2, 3, parseBlockSizes('upto:2')).map(key)).to.deep.equal(['1x1', '1x2', '2x1', '2x2']);
    expect(candidateBlocks(5, 5, parseBlockSizes('identity')).map(key)).to.deep.equal(['1x1', 'identity']);
  });

  it('refuses a bad item, naming it (MPCC4044)', () => {
    for (const [spec, item] of [['4y4', '4y4'], ['square:4,,whole', '(empty)'], ['upto:0', 'upto:0'], ['0x2', '0x2'], ['all', 'all']]) {
      const e = errorOf(() => parseBlockSizes(spec));
      expect(e.code).to.equal('MPCC4044');
      expect(e.message).to.contain(`'${item}'`);
    }
  });
});
