// Products of a secret activation with P1's clear weights (conv with groups, strides, pads,
// dilations; matmul) against plaintext ring arithmetic, with the one-time and per-inference
// costs checked against the cost table; products sharing one activation mask (a plain or a
// fused product first, a second conv or a matmul after it) against the same plaintext.

import { expect } from 'chai';
import { conv2d, matmul } from '../../../runtime/ring/ring.js';
import type { Conv2dParams } from '../../../runtime/ring/windows.js';
import { applyWeights, applyWeightsMasked, applyWeightsSharedMask, convMap, matmulMap, setupWeights } from '../../../runtime/protocols/weights.js';
import { blockReluThenWeights } from '../../../runtime/protocols/relu-then-weights.js';
import type { BlockSize } from '../../../runtime/protocols/block-relu.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { join, sessions, randomRing, randomSigned, split } from './harness.js';
import { withCost } from './costcheck.js';

const CONVS: Conv2dParams[] = [
  { inShape: [1, 3, 6, 5], weightShape: [4, 3, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
  { inShape: [2, 4, 7, 7], weightShape: [6, 2, 3, 2], strides: [2, 1], pads: [0, 1, 2, 0], dilations: [2, 1], group: 2 },
  { inShape: [1, 4, 5, 5], weightShape: [4, 1, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 4 },
];

describe('protocols: activation × clear weights', () => {
  CONVS.forEach((p, idx) => {
    it(`conv #${idx} (group ${p.group}, stride ${p.strides}, dilation ${p.dilations}) equals conv2d on the plaintext, two inferences`, async () => {
      const ss = await sessions();
      const map = convMap(p);
      const w = randomRing(map.wSize);
      const key = await withCost(ss, PROTOCOL_COSTS.setupWeights({ wSize: map.wSize }), (s) => setupWeights(s, map, s.id === 1 ? w : null, `conv${idx}`));
      for (let inference = 0; inference < 2; inference++) {
        const x = randomRing(map.xSize);
        const sh = split(x);
        const y = await withCost(ss, PROTOCOL_COSTS.applyWeights({ xSize: map.xSize, ySize: map.ySize }), (s) => applyWeights(s, key[s.id], sh[s.id]));
        expect(join(y[0], y[1])).to.deep.equal(conv2d(x, w, p));
      }
    });
  });

  for (const bits of [40, 32])
    it(`in a ring of ${bits} bits: the product and a product sharing its mask equal the plaintext mod 2^${bits}, ring elements in ${bits / 8} bytes`, async () => {
      const rb = bits / 8;
      const ss = await sessions();
      const p = CONVS[0];
      const map = convMap(p);
      const map2 = convMap({ ...p, weightShape: [2, 3, 1, 1], pads: [0, 0, 0, 0] });
      const w = randomSigned(map.wSize, 20);
      const w2 = randomSigned(map2.wSize, 20);
      const key = await withCost(ss, PROTOCOL_COSTS.setupWeights({ wSize: map.wSize, ring: rb }), (s) => setupWeights(s, map, s.id === 1 ? w : null, `conv${bits}`, rb));
      const key2 = await Promise.all(ss.map((s) => setupWeights(s, map2, s.id === 1 ? w2 : null, `conv${bits}b`, rb)));
      // P0's W − B and P2's B are made in shared memory, where the kernel worker reads them in place.
      for (const id of [0, 2]) expect(key[id].held.buffer, `P${id}'s weights`).to.be.instanceOf(SharedArrayBuffer);
      const x = randomSigned(map.xSize, 16);
      const sh = split(x);
      const mod = (a: BigUint64Array) => Array.from(a, (v) => BigInt.asUintN(bits, v));
      const y = await withCost(ss, PROTOCOL_COSTS.applyWeights({ xSize: map.xSize, ySize: map.ySize, ring: rb }), (s) => applyWeightsMasked(s, key[s.id], sh[s.id]));
      expect(mod(join(y[0].product, y[1].product))).to.deep.equal(mod(conv2d(x, w, p)));
      const y2 = await withCost(ss, PROTOCOL_COSTS.applyWeightsSharedMask({ ySize: map2.ySize, ring: rb }), (s) => applyWeightsSharedMask(s, key2[s.id], y[s.id].kept));
      expect(mod(join(y2[0], y2[1]))).to.deep.equal(mod(conv2d(x, w2, { ...p, weightShape: [2, 3, 1, 1], pads: [0, 0, 0, 0] })));
    });

  it('matmul equals the plaintext product', async () => {
    const ss = await sessions();
    const map = matmulMap(3, 7, 5);
    const w = randomRing(35);
    const key = await Promise.all(ss.map((s) => setupWeights(s, map, s.id === 1 ? w : null, 'fc')));
    const x = randomRing(21);
    const sh = split(x);
    const y = await withCost(ss, PROTOCOL_COSTS.applyWeights({ xSize: 21, ySize: 15 }), (s) => applyWeights(s, key[s.id], sh[s.id]));
    expect(join(y[0], y[1])).to.deep.equal(matmul(x, w, 3, 7, 5));
  });

  describe('one activation mask for two products (applyWeightsSharedMask)', () => {
    const first: Conv2dParams = { inShape: [1, 4, 6, 6], weightShape: [5, 4, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
    const second: Conv2dParams = { inShape: [1, 4, 6, 6], weightShape: [3, 4, 1, 1], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 };

    it('after a plain product: both products equal the plaintext, the second sends only P2\'s correction', async () => {
      const ss = await sessions();
      const [m1, m2, m3] = [convMap(first), convMap(second), matmulMap(6, 24, 2)];
      const [w1, w2, w3] = [randomRing(m1.wSize), randomRing(m2.wSize), randomRing(m3.wSize)];
      const k1 = await Promise.all(ss.map((s) => setupWeights(s, m1, s.id === 1 ? w1 : null, 'first')));
      const k2 = await Promise.all(ss.map((s) => setupWeights(s, m2, s.id === 1 ? w2 : null, 'second')));
      const k3 = await Promise.all(ss.map((s) => setupWeights(s, m3, s.id === 1 ? w3 : null, 'fc')));
      for (let inference = 0; inference < 2; inference++) {
        const x = randomRing(m1.xSize);
        const sh = split(x);
        const a = await withCost(ss, PROTOCOL_COSTS.applyWeights({ xSize: m1.xSize, ySize: m1.ySize }), (s) => applyWeightsMasked(s, k1[s.id], sh[s.id]));
        expect(join(a[0].product, a[1].product)).to.deep.equal(conv2d(x, w1, first));
        // What each party keeps: P1 the masked activation, P0 and P2 the same mask A.
        expect(a[0].kept).to.deep.equal(a[2].kept);
        expect(join(a[1].kept, a[0].kept)).to.deep.equal(x);
        const b = await withCost(ss, PROTOCOL_COSTS.applyWeightsSharedMask({ ySize: m2.ySize }), (s) => applyWeightsSharedMask(s, k2[s.id], a[s.id].kept));
        expect(join(b[0], b[1])).to.deep.equal(conv2d(x, w2, second));
        // A third reader, a matmul over the same 144 elements, shares it too.
        const c = await withCost(ss, PROTOCOL_COSTS.applyWeightsSharedMask({ ySize: m3.ySize }), (s) => applyWeightsSharedMask(s, k3[s.id], a[s.id].kept));
        expect(join(c[0], c[1])).to.deep.equal(matmul(x, w3, 6, 24, 2));
      }
    });

    for (const blocks of [null, [[2, 2], 'identity', [3, 1], [1, 1]]] as const) {
      it(`after a fused ${blocks ? 'block-ReLU' : 'ReLU'} → product: the second product of its activation equals the plaintext`, async () => {
        const ss = await sessions();
        const [m1, m2] = [convMap(first), convMap(second)];
        const [w1, w2] = [randomRing(m1.wSize), randomRing(m2.wSize)];
        const k1 = await Promise.all(ss.map((s) => setupWeights(s, m1, s.id === 1 ? w1 : null, 'first')));
        const k2 = await Promise.all(ss.map((s) => setupWeights(s, m2, s.id === 1 ? w2 : null, 'second')));
        const x = randomSigned(m1.xSize, 30);
        const sh = split(x);
        const all = (blocks ?? Array.from({ length: 4 }, () => [1, 1])) as readonly BlockSize[];
        const r = await Promise.all(ss.map((s) => blockReluThenWeights(s, sh[s.id], first.inShape as [number, number, number, number], all, { lo: 0, k: 64 }, k1[s.id])));
        const y = join(r[0].activation, r[1].activation);
        expect(join(r[0].product, r[1].product)).to.deep.equal(conv2d(y, w1, first));
        expect(join(r[1].kept, r[0].kept)).to.deep.equal(y);
        const b = await withCost(ss, PROTOCOL_COSTS.applyWeightsSharedMask({ ySize: m2.ySize }), (s) => applyWeightsSharedMask(s, k2[s.id], r[s.id].kept));
        expect(join(b[0], b[1])).to.deep.equal(conv2d(y, w2, second));
      });
    }
  });
});
