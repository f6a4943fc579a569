// The protocols over the TCP transport (three sessions on localhost sockets in this process):
// same results against plaintext and the same byte and round counts as in-process.

import { expect } from 'chai';
import { conv2d } from '../../../runtime/ring/ring.js';
import { drelu } from '../../../runtime/protocols/compare.js';
import { relu } from '../../../runtime/protocols/relu.js';
import { blockLayout, blockRelu } from '../../../runtime/protocols/block-relu.js';
import { mulShares } from '../../../runtime/protocols/beaver.js';
import { revealToClient, shareInput } from '../../../runtime/protocols/sharing.js';
import { applyWeights, convMap, setupWeights } from '../../../runtime/protocols/weights.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { join, randomRing, randomSigned, sessions, split } from './harness.js';
import { withCost } from './costcheck.js';

describe('protocols over TCP', function () {
  this.timeout(30000);

  it('share, DReLU (k=16, lo=4), ReLU (k=64), block-ReLU, Beaver, conv and reveal', async () => {
    const ss = await sessions('tcp');
    const n = 500;
    const x = randomSigned(n, 18);
    x[0] = 0n;
    x[1] = BigInt.asUintN(64, -1n);
    const sh = await withCost(ss, PROTOCOL_COSTS.shareInput({ n }), async (s) => shareInput(s, s.id === 0 ? x : null, n));

    const w = { lo: 4, k: 16 };
    const bits = join(...((await withCost(ss, PROTOCOL_COSTS.compare({ n, k: 16 }), (s) => drelu(s, sh[s.id], w))).slice(0, 2) as [BigUint64Array, BigUint64Array]));
    for (let i = 0; i < n; i++) {
      const v = BigInt.asIntN(64, x[i]);
      if (v < 0n || v >= 16n) expect(bits[i], `x=${v}`).to.equal(v >= 0n ? 1n : 0n);
    }

    const r = await withCost(ss, PROTOCOL_COSTS.relu({ n, k: 64 }), (s) => relu(s, sh[s.id], { lo: 0, k: 64 }));
    const y = join(r[0], r[1]);
    for (let i = 0; i < n; i++) expect(y[i]).to.equal(BigInt.asIntN(64, x[i]) >= 0n ? x[i] : 0n);

    const shape = [1, 5, 10, 10] as const;
    const blocks = [[2, 2], 'identity', [1, 3], [10, 10], [3, 2]] as const;
    const { patches, selected, patchOf } = blockLayout(shape, blocks);
    const b = await withCost(ss, PROTOCOL_COSTS.blockRelu({ patches, selected: selected.length, k: 32 }), (s) => blockRelu(s, sh[s.id], shape, blocks, { lo: 0, k: 32 }));
    const yb = join(b[0], b[1]);
    const sums = new Array<bigint>(patches).fill(0n);
    for (let i = 0; i < n; i++) if (patchOf[i] >= 0) sums[patchOf[i]] += BigInt.asIntN(64, x[i]);
    for (let i = 0; i < n; i++) expect(yb[i]).to.equal(patchOf[i] < 0 || sums[patchOf[i]] >= 0n ? x[i] : 0n);

    const z = randomRing(n);
    const zs = split(z);
    const prod = await withCost(ss, PROTOCOL_COSTS.mulShares({ n }), (s) => mulShares(s, sh[s.id], zs[s.id]));
    const pv = join(prod[0], prod[1]);
    for (let i = 0; i < n; i++) expect(pv[i]).to.equal(BigInt.asUintN(64, x[i] * z[i]));

    const p = { inShape: [1, 5, 10, 10], weightShape: [3, 5, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 } as const;
    const map = convMap(p);
    const wt = randomRing(map.wSize);
    const keys = await withCost(ss, PROTOCOL_COSTS.setupWeights({ wSize: map.wSize }), (s) => setupWeights(s, map, s.id === 1 ? wt : null, 'tcp-conv'));
    const c = await withCost(ss, PROTOCOL_COSTS.applyWeights({ xSize: map.xSize, ySize: map.ySize }), (s) => applyWeights(s, keys[s.id], sh[s.id]));
    const out = await withCost(ss, PROTOCOL_COSTS.revealToClient({ n: map.ySize }), (s) => revealToClient(s, c[s.id]));
    expect(out[0]).to.deep.equal(conv2d(x, wt, p));
  });
});
