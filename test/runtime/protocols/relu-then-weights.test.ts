// ReLU / block-ReLU fused with the next weight layer: the product of the activation with
// P1's weights in the ReLU's three rounds, against plaintext and the cost table.

import { expect } from 'chai';
import { conv2d } from '../../../runtime/ring/ring.js';
import type { Conv2dParams } from '../../../runtime/ring/windows.js';
import { blockReluThenWeights, reluThenWeights } from '../../../runtime/protocols/relu-then-weights.js';
import { blockLayout, type BlockSize } from '../../../runtime/protocols/block-relu.js';
import { applyWeights, convMap, setupWeights } from '../../../runtime/protocols/weights.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { join, randomRing, randomSigned, sessions, split } from './harness.js';
import { withCost } from './costcheck.js';

const P: Conv2dParams = { inShape: [1, 3, 6, 6], weightShape: [4, 3, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };

describe('protocols: ReLU fused with the next weight layer', () => {
  it('reluThenWeights gives relu(x) and conv(relu(x), W) in three rounds', async () => {
    const ss = await sessions();
    const map = convMap(P);
    const w = randomRing(map.wSize);
    const keys = await Promise.all(ss.map((s) => setupWeights(s, map, s.id === 1 ? w : null, 'fused')));
    for (let t = 0; t < 2; t++) {
      const x = randomSigned(map.xSize, 30);
      x[0] = 0n;
      const sh = split(x);
      const cost = PROTOCOL_COSTS.blockReluThenWeights({ patches: map.xSize, selected: map.xSize, k: 40, xSize: map.xSize, ySize: map.ySize });
      expect(cost.rounds).to.equal(3);
      const r = await withCost(ss, cost, (s) => reluThenWeights(s, sh[s.id], { lo: 0, k: 40 }, keys[s.id]));
      const act = x.map((v) => (BigInt.asIntN(64, v) >= 0n ? v : 0n));
      expect(join(r[0].activation, r[1].activation)).to.deep.equal(act);
      expect(join(r[0].product, r[1].product)).to.deep.equal(conv2d(act, w, P));
    }
    // The plain product still works after the fused ones (streams stay in step).
    const x = randomRing(map.xSize);
    const sh = split(x);
    const y = await Promise.all(ss.map((s) => applyWeights(s, keys[s.id], sh[s.id])));
    expect(join(y[0], y[1])).to.deep.equal(conv2d(x, w, P));
  });

  it('per element beyond the comparison: 16 B on the full 64-bit window (the mask shared with it), 32 B on a narrowed one, 8 B on identity channels', async () => {
    const ss = await sessions();
    const map = convMap(P);
    const w = randomRing(map.wSize);
    const keys = await Promise.all(ss.map((s) => setupWeights(s, map, s.id === 1 ? w : null, 'fused-bytes')));
    const n = map.xSize;
    const beyond = (c: ReturnType<typeof PROTOCOL_COSTS.reluThenWeights>) =>
      c.flows.filter((f) => f.phase === 'online' && !f.label.startsWith('drelu.')).reduce((t, f) => t + f.bytes, 0);
    for (const [k, lo, perElement] of [
      [64, 0, 16],
      [16, 8, 32],
    ] as const) {
      const x = randomSigned(n, lo + k - 2);
      const sh = split(x);
      const cost = PROTOCOL_COSTS.reluThenWeights({ n, k, lo, xSize: n, ySize: map.ySize });
      expect(beyond(cost), `k=${k}`).to.equal(perElement * n);
      const r = await withCost(ss, cost, (s) => reluThenWeights(s, sh[s.id], { lo, k }, keys[s.id]));
      // Against plaintext: the window drops `lo` low bits, so a tiny negative may pass as 0.
      const act = join(r[0].activation, r[1].activation);
      x.forEach((v, i) => {
        const sv = BigInt.asIntN(64, v);
        if (sv >= 1n << BigInt(lo) || sv < -(1n << BigInt(lo))) expect(act[i], `element ${i}`).to.equal(sv >= 0n ? v : 0n);
      });
      expect(join(r[0].product, r[1].product)).to.deep.equal(conv2d(act, w, P));
    }
    const ident: BlockSize[] = ['identity', 'identity', 'identity'];
    const c0 = PROTOCOL_COSTS.blockReluThenWeights({ patches: 0, selected: 0, k: 16, xSize: n, ySize: map.ySize });
    expect(c0.flows.filter((f) => f.phase === 'online').reduce((t, f) => t + f.bytes, 0)).to.equal(8 * n);
    const x = randomSigned(n, 20);
    const sh = split(x);
    const q = await withCost(ss, c0, (s) => blockReluThenWeights(s, sh[s.id], P.inShape, ident, { lo: 0, k: 16 }, keys[s.id]));
    expect(join(q[0].product, q[1].product)).to.deep.equal(conv2d(x, w, P));
  });

  it('blockReluThenWeights with an identity channel, and with all channels identity', async () => {
    const ss = await sessions();
    const map = convMap(P);
    const w = randomRing(map.wSize);
    const keys = await Promise.all(ss.map((s) => setupWeights(s, map, s.id === 1 ? w : null, 'fused-block')));
    const x = randomSigned(map.xSize, 30);
    const sh = split(x);
    const blocks: BlockSize[] = [[2, 2], 'identity', [3, 1]];
    const { patches, selected, patchOf } = blockLayout(P.inShape, blocks);
    const cost = PROTOCOL_COSTS.blockReluThenWeights({ patches, selected: selected.length, k: 40, xSize: map.xSize, ySize: map.ySize });
    const r = await withCost(ss, cost, (s) => blockReluThenWeights(s, sh[s.id], P.inShape, blocks, { lo: 0, k: 40 }, keys[s.id]));
    const sums = new Array<bigint>(patches).fill(0n);
    x.forEach((v, i) => patchOf[i] >= 0 && (sums[patchOf[i]] += BigInt.asIntN(64, v)));
    const act = x.map((v, i) => (patchOf[i] < 0 || sums[patchOf[i]] >= 0n ? v : 0n));
    expect(join(r[0].activation, r[1].activation)).to.deep.equal(act);
    expect(join(r[0].product, r[1].product)).to.deep.equal(conv2d(act, w, P));

    const ident: BlockSize[] = ['identity', 'identity', 'identity'];
    const c0 = PROTOCOL_COSTS.blockReluThenWeights({ patches: 0, selected: 0, k: 40, xSize: map.xSize, ySize: map.ySize });
    const q = await withCost(ss, c0, (s) => blockReluThenWeights(s, sh[s.id], P.inShape, ident, { lo: 0, k: 40 }, keys[s.id]));
    expect(join(q[0].product, q[1].product)).to.deep.equal(conv2d(x, w, P));
  });
});
