// DReLU, ReLU, selection, block-ReLU, Clip and MaxPool against plaintext, with their byte
// and round counts checked against the cost table.

import { expect } from 'chai';
import { compareWindow, drelu, bitShares } from '../../../runtime/protocols/compare.js';
import type { BitWindow } from '../../../runtime/protocols/compare.js';
import { select } from '../../../runtime/protocols/select.js';
import { relu } from '../../../runtime/protocols/relu.js';
import { blockLayout, blockRelu, type BlockSize } from '../../../runtime/protocols/block-relu.js';
import { clip } from '../../../runtime/protocols/clip.js';
import { maxPool, maxPoolLevels } from '../../../runtime/protocols/maxpool.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import type { PoolParams } from '../../../runtime/ring/windows.js';
import { join, sessions, randomRing, randomSigned, split } from './harness.js';
import { withCost } from './costcheck.js';

const M64 = (1n << 64n) - 1n;

/** [q ≥ 0] for q = ((x >> lo) − carry) mod 2^k read as k-bit two's complement. */
function windowBit(x: bigint, { lo, k }: BitWindow, carry: bigint): number {
  const q = ((x >> BigInt(lo)) - carry) & ((1n << BigInt(k)) - 1n);
  return Number(1n - (q >> BigInt(k - 1)));
}

/** Edge values for a window: 0, ±1 ulp, ±2^lo, the window's extremes, the ring's extremes. */
function edgeValues({ lo, k }: BitWindow): BigUint64Array {
  const top = 1n << BigInt(lo + k - 1);
  const ulp = 1n << BigInt(lo);
  const v = [0n, 1n, -1n, ulp, -ulp, top - 1n, -top, top - ulp, -top + ulp, 1n << 63n, (1n << 63n) - 1n, 2n * ulp, -2n * ulp];
  return BigUint64Array.from(v, (b) => b & M64);
}

function testInput(w: BitWindow, n: number): BigUint64Array {
  const edges = edgeValues(w);
  const rnd = randomSigned(n - edges.length, w.lo + w.k - 1);
  const x = new BigUint64Array(n);
  x.set(edges);
  x.set(rnd, edges.length);
  return x;
}

const WINDOWS: BitWindow[] = [
  { lo: 0, k: 64 },
  { lo: 0, k: 32 },
  { lo: 0, k: 16 },
  { lo: 12, k: 16 },
  { lo: 0, k: 8 },
  { lo: 5, k: 13 },
  { lo: 20, k: 41 },
  { lo: 0, k: 2 },
  { lo: 62, k: 2 },
  { lo: 3, k: 33 },
];

describe('protocols: DReLU with a bit window', () => {
  for (const w of WINDOWS) {
    it(`matches plaintext on random and edge values (lo=${w.lo}, k=${w.k}) at its cost formula`, async () => {
      const ss = await sessions();
      const n = 300;
      const x = testInput(w, n);
      const sh = split(x);
      const res = await withCost(ss, PROTOCOL_COSTS.compare({ n, k: w.k }), (s) => drelu(s, sh[s.id], w));
      const b = join(res[0], res[1]);
      for (let i = 0; i < n; i++) {
        const got = Number(b[i]);
        expect(got === 0 || got === 1, `bit ${i} is ${b[i]}`).to.equal(true);
        const exact = windowBit(x[i], w, 0n);
        const borrowed = windowBit(x[i], w, 1n);
        if (w.lo === 0) expect(got, `x=${BigInt.asIntN(64, x[i])}`).to.equal(exact);
        else expect([exact, borrowed], `x=${BigInt.asIntN(64, x[i])}`).to.include(got);
        // In the window's range and away from the lost carry (one unit at bit lo, which can
        // flip [0, 2^lo) and the window's most negative unit), it is the true sign.
        const sx = BigInt.asIntN(64, x[i]);
        const top = 1n << BigInt(w.lo + w.k - 1);
        const ulp = 1n << BigInt(w.lo);
        if (sx >= -top + ulp && sx < top && (sx < 0 || sx >= ulp)) expect(got, `x=${sx}`).to.equal(sx >= 0n ? 1 : 0);
      }
    });
  }

  it('rejects windows outside 2 ≤ k ≤ 64, lo + k ≤ 64', async () => {
    const [s0] = await sessions();
    for (const w of [{ lo: 0, k: 1 }, { lo: 0, k: 65 }, { lo: 1, k: 64 }, { lo: -1, k: 8 }]) {
      let err: unknown = null;
      try {
        await drelu(s0, new BigUint64Array(1), w);
      } catch (e) {
        err = e;
      }
      expect(String(err)).to.match(/invalid bit window/);
    }
  });
});

describe('protocols: ReLU and selection', () => {
  it('relu(x) = x·[x ≥ 0] in three rounds at the fused cost (k=64 and k=16)', async () => {
    for (const w of [{ lo: 0, k: 64 }, { lo: 0, k: 16 }]) {
      const ss = await sessions();
      const n = 257;
      const x = testInput(w, n);
      const sh = split(x);
      const res = await withCost(ss, PROTOCOL_COSTS.relu({ n, k: w.k }), (s) => relu(s, sh[s.id], w));
      const y = join(res[0], res[1]);
      for (let i = 0; i < n; i++) expect(y[i], `x=${BigInt.asIntN(64, x[i])}`).to.equal(windowBit(x[i], w, 0n) ? x[i] : 0n);
    }
  });

  it('select by earlier comparison bits, per element and broadcast over 2×2 patches', async () => {
    const ss = await sessions();
    const w = { lo: 0, k: 24 };
    const shape = [1, 2, 5, 5] as const;
    const { patchOf, patches } = blockLayout(shape, [[2, 2], [2, 2]]);
    const v = randomSigned(patches, 20);
    const x = randomRing(50);
    const vs = split(v);
    const xs = split(x);
    const bits = await withCost(ss, PROTOCOL_COSTS.compare({ n: patches, k: 24 }), (s) => compareWindow(s, vs[s.id], w));
    const res = await withCost(ss, PROTOCOL_COSTS.select({ n: 50 }), (s) => select(s, xs[s.id], bits[s.id], patchOf));
    const y = join(res[0], res[1]);
    for (let i = 0; i < 50; i++) expect(y[i]).to.equal(BigInt.asIntN(64, v[patchOf[i]]) >= 0n ? x[i] : 0n);
    // The same bits as arithmetic shares.
    const b = join(bitShares(ss[0], bits[0]), bitShares(ss[1], bits[1]));
    for (let p = 0; p < patches; p++) expect(b[p]).to.equal(BigInt.asIntN(64, v[p]) >= 0n ? 1n : 0n);
  });

  it('block-ReLU: patch sums decide, identity channels pass for free', async () => {
    const ss = await sessions();
    const shape = [1, 4, 5, 7] as const;
    const blocks: BlockSize[] = [[2, 3], 'identity', [1, 1], [5, 7]];
    const x = randomSigned(4 * 35, 30);
    const sh = split(x);
    const { patches, selected, patchOf } = blockLayout(shape, blocks);
    expect(patches).to.equal(3 * 3 + 35 + 1);
    const w = { lo: 0, k: 40 };
    const res = await withCost(ss, PROTOCOL_COSTS.blockRelu({ patches, selected: selected.length, k: 40 }), (s) => blockRelu(s, sh[s.id], shape, blocks, w));
    const y = join(res[0], res[1]);
    const sums = new Array<bigint>(patches).fill(0n);
    for (let i = 0; i < x.length; i++) if (patchOf[i] >= 0) sums[patchOf[i]] += BigInt.asIntN(64, x[i]);
    for (let i = 0; i < x.length; i++) {
      const ch = Math.floor(i / 35);
      const want = ch === 1 ? x[i] : sums[patchOf[i]] >= 0n ? x[i] : 0n;
      expect(y[i], `element ${i}`).to.equal(want);
    }
    // All identity: no message, no round.
    const ident = await withCost(ss, PROTOCOL_COSTS.blockRelu({ patches: 0, selected: 0, k: 40 }), (s) =>
      blockRelu(s, sh[s.id], shape, ['identity', 'identity', 'identity', 'identity'], w),
    );
    expect(join(ident[0], ident[1])).to.deep.equal(x);
  });

  it('clip and ReLU6 on fixed-point values', async () => {
    const ss = await sessions();
    const f = 12;
    const vals = [-10, -6, -0.5, 0, 0.25, 3, 5.999, 6, 6.5, 100, -1e-3];
    const n = vals.length + 64;
    const x = new BigUint64Array(n);
    vals.forEach((v, i) => (x[i] = BigInt.asUintN(64, BigInt(Math.round(v * 2 ** f)))));
    x.set(randomSigned(64, 16 + f), vals.length);
    const sh = split(x);
    const lo = 0n;
    const hi = 6n << BigInt(f);
    const w = { lo: 0, k: 40 };
    const res = await withCost(ss, PROTOCOL_COSTS.clip({ n, k: 40 }), (s) => clip(s, sh[s.id], lo, hi, w));
    const y = join(res[0], res[1]);
    for (let i = 0; i < n; i++) {
      const v = BigInt.asIntN(64, x[i]);
      const want = v < lo ? lo : v > hi ? hi : v;
      expect(BigInt.asIntN(64, y[i]), `x=${v}`).to.equal(want);
    }
  });

  it('MaxPool counts: separable 3×3/2 (ResNet stem) takes 3 comparisons per output, hand-counted', () => {
    // 112×112 → 56×56, pad 1: the row pass compares 1 + 55·2 pairs in each of 112 rows, the
    // column pass 1 + 55·2 in each of 56 columns; one tree per window would take
    // 3 + 2·55·5 + 55·55·8 = 24,753.
    const p: PoolParams = { inShape: [1, 1, 112, 112], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
    const levels = maxPoolLevels(p);
    expect(levels.reduce((a, b) => a + b, 0)).to.equal(112 * 111 + 56 * 111);
    expect(levels.length).to.equal(4);
    // 5×5 stride 1: separable would take 3 + 3 levels against 5, so the tree is kept: 4
    // windows of 25, each 12, 6, 3, 2, 1 pairs per level.
    expect(maxPoolLevels({ inShape: [1, 1, 6, 6], kernel: [5, 5], strides: [1, 1], pads: [0, 0, 0, 0] })).to.deep.equal([48, 24, 12, 8, 4]);
  });

  it('MaxPool (3×3 stride 2 pad 1, 2×2, 3×2, 5×5) equals plaintext max at its cost', async () => {
    for (const p of [
      { inShape: [1, 2, 7, 6], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      { inShape: [2, 1, 4, 4], kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] },
      { inShape: [1, 1, 7, 5], kernel: [3, 2], strides: [1, 2], pads: [0, 1, 2, 0] },
      { inShape: [1, 1, 6, 6], kernel: [5, 5], strides: [1, 1], pads: [0, 0, 0, 0] },
    ] as PoolParams[]) {
      const ss = await sessions();
      const [n, c, h, wd] = p.inShape;
      const x = randomSigned(n * c * h * wd, 30);
      const sh = split(x);
      const levels = maxPoolLevels(p);
      const w = { lo: 0, k: 48 };
      const res = await withCost(ss, PROTOCOL_COSTS.maxPool({ levels, k: 48 }), (s) => maxPool(s, sh[s.id], p, w));
      const y = join(res[0], res[1]);
      // Plaintext max over each window, padding excluded.
      const oh = Math.floor((h + p.pads[0] + p.pads[2] - p.kernel[0]) / p.strides[0]) + 1;
      const ow = Math.floor((wd + p.pads[1] + p.pads[3] - p.kernel[1]) / p.strides[1]) + 1;
      let o = 0;
      for (let b = 0; b < n * c; b++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            let best: bigint | null = null;
            for (let ky = 0; ky < p.kernel[0]; ky++)
              for (let kx = 0; kx < p.kernel[1]; kx++) {
                const iy = oy * p.strides[0] - p.pads[0] + ky;
                const ix = ox * p.strides[1] - p.pads[1] + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const v = BigInt.asIntN(64, x[(b * h + iy) * wd + ix]);
                if (best === null || v > best) best = v;
              }
            expect(BigInt.asIntN(64, y[o++])).to.equal(best);
          }
    }
  });
});
