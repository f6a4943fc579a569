// Patch sums, broadcast, index maps and bit helpers of runtime/ring/ring.ts against the BigInt
// reference (runtime/ring/ring-reference.ts) and hand-computed values.
import { expect } from 'chai';
import * as fast from '../../../runtime/ring/ring.js';
import * as ref from '../../../runtime/ring/ring-reference.js';
import { expectSame, TestRandom } from './ring.test.js';

describe('runtime/ring: patch and bit helpers', () => {
  const rnd = new TestRandom(3);

  it('patchSums on a hand-computed 1×1×3×5 map with partial edge patches', () => {
    const x = BigUint64Array.from([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n, 13n, 14n, 15n]);
    // 2×2 patches: rows {0,1} and {2}; columns {0,1}, {2,3}, {4}.
    expect(Array.from(fast.patchSums(x, [1, 1, 3, 5], 2, 2))).to.deep.equal([1n + 2n + 6n + 7n, 3n + 4n + 8n + 9n, 5n + 10n, 11n + 12n, 13n + 14n, 15n]);
    expect(Array.from(fast.broadcastPatches(BigUint64Array.from([1n, 2n, 3n, 4n, 5n, 6n]), [1, 1, 3, 5], 2, 2))).to.deep.equal(
      [1n, 1n, 2n, 2n, 3n, 1n, 1n, 2n, 2n, 3n, 4n, 4n, 5n, 5n, 6n]);
  });

  it('patchSums and broadcastPatches on random shapes and block sizes', () => {
    for (let t = 0; t < 40; t++) {
      const shape = [rnd.int(1, 2), rnd.int(1, 4), rnd.int(1, 9), rnd.int(1, 9)] as const;
      const [bh, bw] = [rnd.int(1, 5), rnd.int(1, 5)];
      const x = rnd.ring(shape[0] * shape[1] * shape[2] * shape[3]);
      const sums = fast.patchSums(x, shape, bh, bw);
      expectSame(sums, ref.patchSums(x, shape, bh, bw), `patchSums ${shape} ${bh}×${bw}`);
      expectSame(fast.broadcastPatches(sums, shape, bh, bw), ref.broadcastPatches(sums, shape, bh, bw), `broadcast ${shape} ${bh}×${bw}`);
      // The given output is overwritten, not accumulated into.
      const out = rnd.ring(sums.length);
      expectSame(fast.patchSums(x, shape, bh, bw, out), sums, 'patchSums into a dirty output');
    }
  });

  it('sumByIndex and gatherByIndex agree with patchSums/broadcast for a patch map', () => {
    const shape = [1, 2, 5, 4] as const;
    const x = rnd.ring(40);
    const index = new Int32Array(40);
    for (let i = 0; i < 40; i++) {
      const ch = Math.floor(i / 20);
      const y = Math.floor((i % 20) / 4);
      const xx = i % 4;
      index[i] = ch * 6 + Math.floor(y / 2) * 2 + Math.floor(xx / 2); // 2×2 patches: 3×2 per channel
    }
    const sums = fast.sumByIndex(x, index, 12);
    expectSame(sums, ref.patchSums(x, shape, 2, 2), 'sumByIndex');
    expectSame(fast.gatherByIndex(sums, index), ref.broadcastPatches(sums, shape, 2, 2), 'gatherByIndex');
    const partial = index.map((g, i) => (i % 3 === 0 ? -1 : g));
    const g = fast.gatherByIndex(sums, partial, undefined, 7n);
    for (let i = 0; i < 40; i++) expect(g[i]).to.equal(i % 3 === 0 ? 7n : sums[partial[i]]);
    const s2 = fast.sumByIndex(x, partial, 12);
    const want = new BigUint64Array(12);
    for (let i = 0; i < 40; i++) if (partial[i] >= 0) want[partial[i]] = BigInt.asUintN(64, want[partial[i]] + x[i]);
    expectSame(s2, want, 'sumByIndex skips −1');
  });

  it('bitOf, selectBits and bitsToRing', () => {
    const a = rnd.ring(500);
    for (const j of [0, 1, 12, 31, 32, 33, 62, 63]) expectSame(fast.bitOf(a, j), ref.bitOf(a, j), `bit ${j}`);
    expect(() => fast.bitOf(a, 64)).to.throw(RangeError);
    const bits = fast.bitOf(a, 63);
    const sel = fast.selectBits(a, bits);
    const ring = fast.bitsToRing(bits);
    for (let i = 0; i < a.length; i++) {
      expect(sel[i]).to.equal(a[i] >= 1n << 63n ? a[i] : 0n);
      expect(ring[i]).to.equal(a[i] >> 63n);
    }
  });
});
