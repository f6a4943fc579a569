// Products of a secret activation with P1's clear weights (conv with groups, strides, pads,
// dilations; matmul) against plaintext ring arithmetic, with the one-time and per-inference
// costs checked against the cost table.

import { expect } from 'chai';
import { conv2d, matmul } from '../../../runtime/ring/ring.js';
import type { Conv2dParams } from '../../../runtime/ring/windows.js';
import { applyWeights, convMap, matmulMap, setupWeights } from '../../../runtime/protocols/weights.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { join, sessions, randomRing, split } from './harness.js';
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
});
