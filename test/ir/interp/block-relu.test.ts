// BlockRelu against a hand-computed example (odd map sizes, partial edge tiles, identity
// channels, a tile summing to exactly zero), in the float and the fixed-point interpreters;
// its text round trip, its DReLU count and its verifier errors.
import { expect } from 'chai';
import { tensorOf } from '../../../ir/index.js';
import { runGraph } from '../../../ir/interp/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/index.js';
import { blockDrelus, blockSizesFrom } from '../../../ir/ops/block-relu.js';
import { parseMir } from '../../../ir/parse.js';
import { printGraph } from '../../../ir/print.js';
import { errorOf } from '../../passes/util.js';

/** The one line the CLI would print for the error `fn` throws. */
const errorLine = (fn: () => unknown): string => errorOf(fn).format();

// One image, 5 channels of 3×5 (odd sizes): identity, [1, 1], [2, 2] (partial tiles at the
// bottom and the right), [3, 5] summing to exactly 0 (passes), [3, 5] summing to −1 (zeroed).
const BLOCKS = [0, 0, 1, 1, 2, 2, 3, 5, 3, 5];
const X = [
  // identity: everything passes
  [-1, 2, -3, 4, -5], [0, -1, 0, 1, 0], [7, -7, 7, -7, 7],
  // [1, 1]: an ordinary ReLU
  [-1, 2, -3, 4, -5], [0, -1, 0, 1, 0], [7, -7, 7, -7, 7],
  // [2, 2]: tiles rows {0,1},{2} × columns {0,1},{2,3},{4}
  [1, -3, 2, 2, -1], [1, 0, -5, 1, 4], [-2, 1, 3, -4, 0],
  // [3, 5]: sum 0
  [1, 2, 3, -4, -2], [0, 0, 0, 0, 0], [-1, 1, -1, 1, 0],
  // [3, 5]: sum −1
  [1, 2, 3, -4, -2], [0, 0, 0, 0, 0], [-1, 1, -1, 1, -1],
].flat();
const Y = [
  [-1, 2, -3, 4, -5], [0, -1, 0, 1, 0], [7, -7, 7, -7, 7],
  [0, 2, 0, 4, 0], [0, 0, 0, 1, 0], [7, 0, 7, 0, 7],
  // sums: −1 (zero), 0 (tie: passes), 3 (passes) / −1, −1 (zero), 0 (passes)
  [0, 0, 2, 2, -1], [0, 0, -5, 1, 4], [0, 0, 0, 0, 0],
  [1, 2, 3, -4, -2], [0, 0, 0, 0, 0], [-1, 1, -1, 1, 0],
  [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0],
].flat();

const text = (blocks: number[], extra = '') => `mir 1
graph @b(%x: float32[1,5,3,5]) -> (%y: float32[1,5,3,5]) {
  %xq: float32[1,5,3,5] = FixedInput "in"(%x) {frac = 12}
  %y: float32[1,5,3,5] = BlockRelu "br"(%xq) {blocks = [${blocks.join(', ')}]${extra}}
}
`;

describe('BlockRelu', () => {
  const x = tensorOf('float32', [1, 5, 3, 5], X);

  it('float interpreter: the hand-computed example', () => {
    const y = runGraph(parseMir(text(BLOCKS)), { x }, { precision: 'float64' }).get('y')!;
    expect(Array.from(y.data)).to.deep.equal(Y);
  });

  it('fixed-point interpreter: the same example, bit for bit on the ring', () => {
    const r = runGraphFixed(parseMir(text(BLOCKS)), { x }, { frac: 12 });
    expect(Array.from(r.outputs.get('y')!.data)).to.deep.equal(Y);
  });

  it('fixed-point interpreter: reads the sign from the bit window', () => {
    // Window [12, 16): sign at bit 15. Channel 3's first row scaled so its tile sum is 8 (8·2^12
    // = 2^15): positive in the ring, "negative" in the window, so the whole map becomes 0.
    const xs = X.slice();
    for (let i = 45; i < 60; i++) xs[i] = 0;
    xs[45] = 8;
    const r = runGraphFixed(parseMir(text(BLOCKS, ', window_k = 4, window_lo = 12')), { x: tensorOf('float32', [1, 5, 3, 5], xs) }, { frac: 12 });
    expect(Array.from(r.outputs.get('y')!.data).slice(45, 60)).to.deep.equal(new Array(15).fill(0));
    const full = runGraphFixed(parseMir(text(BLOCKS)), { x: tensorOf('float32', [1, 5, 3, 5], xs) }, { frac: 12 });
    expect(full.outputs.get('y')!.data[45]).to.equal(8);
  });

  it('counts its DReLUs: ceil(H/bh)·ceil(W/bw) per channel, 0 for identity', () => {
    expect(blockDrelus([1, 5, 3, 5], blockSizesFrom(BLOCKS))).to.equal(0 + 15 + 6 + 1 + 1);
    expect(blockDrelus([2, 5, 3, 5], blockSizesFrom(BLOCKS))).to.equal(2 * 23);
  });

  it('prints and parses back to the same text', () => {
    const t = text(BLOCKS, ', window_k = 20');
    expect(printGraph(parseMir(t), { summaries: false })).to.equal(t);
  });

  it('MPCC2002 for a wrong entry count, a block larger than the map, a non-4-D input', () => {
    expect(errorLine(() => parseMir(text([1, 1, 2, 2])))).to.equal(
      "error MPCC2002: <input>:4:3: IR verification failed at node 'br' (BlockRelu): blocks has 4 values for 5 channels (expected 10: one [bh, bw] pair per channel)\n" +
        '    %y: float32[1,5,3,5] = BlockRelu "br"(%xq) {blocks = [1, 1, 2, 2]}\n    ^',
    );
    expect(errorLine(() => parseMir(text([0, 0, 1, 1, 4, 2, 3, 5, 3, 5])))).to.equal(
      "error MPCC2002: <input>:4:3: IR verification failed at node 'br' (BlockRelu): channel 2: block [4, 2] does not fit the 3×5 map (1 ≤ bh ≤ 3, 1 ≤ bw ≤ 5, or [0, 0] for identity)\n" +
        '    %y: float32[1,5,3,5] = BlockRelu "br"(%xq) {blocks = [0, 0, 1, 1, 4, 2, 3, 5, 3, 5]}\n    ^',
    );
    expect(errorLine(() => parseMir(text([0, 0, 1, 1, 2, 0, 3, 5, 3, 5])))).to.match(/MPCC2002: .*channel 2: block \[2, 0\] does not fit/);
    const flat = `mir 1
graph @b(%x: float32[1,4]) -> (%y: float32[1,4]) {
  %y: float32[1,4] = BlockRelu "br"(%x) {blocks = [1, 1]}
}
`;
    expect(errorLine(() => parseMir(flat))).to.match(/^error MPCC2002: <input>:3:3: IR verification failed at node 'br' \(BlockRelu\): input must be 4-D NCHW, got rank 2\n/);
  });
});
