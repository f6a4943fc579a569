// The client-offline mode's product (weights.ts applyWeightsClientOffline): P0's masked
// activation Z = y0 − A and P2's correction both offline, P1 computing alone online. Against the
// plaintext product, its bytes and (no) rounds against the cost table, and what P1 receives
// uniform and independent of the activation; two products of one activation sharing its mask
// (the later dealt with the earlier's dealing: no Z sent for it).

import { expect } from 'chai';
import { conv2d, encode, matmul } from '../../../runtime/ring/ring.js';
import type { Conv2dParams } from '../../../runtime/ring/windows.js';
import { applyWeightsClientOffline, convMap, correctionMessage, dealWeightsClientOffline, maskProduct, matmulMap, setupWeights, type BilinearMap, type WeightKey } from '../../../runtime/protocols/weights.js';
import { type Cost, PROTOCOL_COSTS, totalBytes } from '../../../runtime/protocols/costs.js';
import type { Session } from '../../../runtime/session/session.js';
import { bytesRing, unpackRing } from '../../../runtime/protocols/wire.js';
import { join, offlineExchange, randomRing, randomSigned, run3, sessions, split } from './harness.js';
import type { RecordingSession } from './harness.js';
import { withOfflineCost } from './costcheck.js';
import { looksUniform, sameDistribution } from './stats.js';

const CONV: Conv2dParams = { inShape: [1, 4, 6, 6], weightShape: [5, 4, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };

/** The offline part as the runtime runs it: P0 deals from its share y0, P2's correction rides in
 * the same exchange (as the offline phase's closing exchange carries it); P1 keeps it. */
async function offline(s: Session, key: WeightKey, y0: BigUint64Array) {
  const m = s.id === 1 ? null : maskProduct(s, key);
  const deal = dealWeightsClientOffline(s, key, s.id === 0 ? y0 : null, m);
  const ySize = key.map.ySize;
  const rb = key.ring ?? 8;
  const rest = await offlineExchange(s, [deal], s.id === 2 ? { outgoing: correctionMessage(m!, rb) } : s.id === 1 ? { expect: { 2: rb * ySize } } : {});
  return { deal, correction: s.id === 1 ? unpackRing(rest.get(2)!.slice(), rb) : undefined };
}

async function product(ss: readonly Session[], keys: readonly WeightKey[], map: BilinearMap, y: BigUint64Array): Promise<BigUint64Array> {
  const sh = split(y);
  const cost = PROTOCOL_COSTS.applyWeightsClientOffline({ xSize: map.xSize, ySize: map.ySize, ring: keys[0].ring ?? 8 });
  const out = await withOfflineCost(
    ss,
    cost,
    (s) => offline(s, keys[s.id], sh[0]),
    (s, d) => applyWeightsClientOffline(s, keys[s.id], sh[s.id], d.deal, d.correction),
  );
  expect(out[2]).to.deep.equal(new BigUint64Array(map.ySize));
  return join(out[0], out[1]);
}

describe('protocols: client-offline product (applyWeightsClientOffline)', () => {
  it('in a ring of 40 bits: the product mod 2^40, every ring element in 5 bytes (the table with ring 5)', async () => {
    const ss = await sessions();
    const map = convMap(CONV);
    const w = randomSigned(map.wSize, 20);
    const keys = await run3(ss, (s) => setupWeights(s, map, s.id === 1 ? w : null, 'conv40', 5));
    expect(keys.map((k) => k.ring)).to.deep.equal([5, 5, 5]);
    const y = randomSigned(map.xSize, 16);
    const mod40 = (a: BigUint64Array) => Array.from(a, (v) => BigInt.asUintN(40, v));
    expect(mod40(await product(ss, keys, map, y))).to.deep.equal(mod40(conv2d(y, w, CONV)));
  });

  it('conv and matmul equal the plaintext product, two inferences, no online message or round', async () => {
    const ss = await sessions();
    const map = convMap(CONV);
    const fc = matmulMap(3, 7, 5);
    const w = randomRing(map.wSize);
    const wf = randomRing(fc.wSize);
    const keys = await run3(ss, (s) => setupWeights(s, map, s.id === 1 ? w : null, 'conv'));
    const fcKeys = await run3(ss, (s) => setupWeights(s, fc, s.id === 1 ? wf : null, 'fc'));
    expect(PROTOCOL_COSTS.applyWeightsClientOffline({ xSize: 1, ySize: 1 }).rounds).to.equal(0);
    for (let inference = 0; inference < 2; inference++) {
      const y = randomSigned(map.xSize, 40);
      expect(await product(ss, keys, map, y)).to.deep.equal(conv2d(y, w, CONV));
      const x = randomRing(fc.xSize);
      expect(await product(ss, fcKeys, fc, x)).to.deep.equal(matmul(x, wf, 3, 7, 5));
    }
  });

  it('two products of one activation share its mask: one Z offline, P1 reuses it; both equal the plaintext products, bytes as the cost table', async () => {
    const ss = await sessions();
    const map = convMap(CONV);
    const one: Conv2dParams = { ...CONV, weightShape: [3, 4, 1, 1], pads: [0, 0, 0, 0] };
    const map1 = convMap(one);
    const [w, w1] = [randomRing(map.wSize), randomRing(map1.wSize)];
    const keys = await run3(ss, (s) => setupWeights(s, map, s.id === 1 ? w : null, 'conv'));
    const keys1 = await run3(ss, (s) => setupWeights(s, map1, s.id === 1 ? w1 : null, 'one'));
    const cost: Cost = {
      rounds: 0,
      flows: [...PROTOCOL_COSTS.applyWeightsClientOffline({ xSize: map.xSize, ySize: map.ySize }).flows, ...PROTOCOL_COSTS.applyWeightsClientOffline({ xSize: map1.xSize, ySize: map1.ySize, sharedMask: true }).flows],
    };
    expect(totalBytes(cost) - totalBytes(PROTOCOL_COSTS.applyWeightsClientOffline({ xSize: map1.xSize, ySize: map1.ySize })) - totalBytes(PROTOCOL_COSTS.applyWeightsClientOffline(map))).to.equal(-8 * map.xSize);
    for (let inference = 0; inference < 2; inference++) {
      const y = randomSigned(map.xSize, 40);
      const sh = split(y);
      const out = await withOfflineCost(
        ss,
        cost,
        async (s) => {
          const m = s.id === 1 ? null : maskProduct(s, keys[s.id]);
          const first = dealWeightsClientOffline(s, keys[s.id], s.id === 0 ? sh[0] : null, m);
          const m1 = s.id === 1 ? null : maskProduct(s, keys1[s.id], m!.a);
          const later = dealWeightsClientOffline(s, keys1[s.id], s.id === 0 ? sh[0] : null, m1, first);
          expect([later.outgoing.length, Object.keys(later.expect).length], `P${s.id}: the shared product's dealing sends and expects nothing`).to.deep.equal([0, 0]);
          const ySizes = [map.ySize, map1.ySize];
          const rest = await offlineExchange(s, [first, later], s.id === 2 ? { outgoing: [...correctionMessage(m!), ...correctionMessage(m1!)] } : s.id === 1 ? { expect: { 2: 8 * (ySizes[0] + ySizes[1]) } } : {});
          const corrections = s.id === 1 ? [bytesRing(rest.get(2)!.slice(0, 8 * ySizes[0])), bytesRing(rest.get(2)!.slice(8 * ySizes[0]))] : [undefined, undefined];
          if (s.id === 1) expect(later.masked, "P1: the shared product reads the earlier one's Z").to.equal(first.masked);
          return { first, later, corrections };
        },
        async (s, d) => [
          await applyWeightsClientOffline(s, keys[s.id], sh[s.id], d.first, d.corrections[0]),
          await applyWeightsClientOffline(s, keys1[s.id], sh[s.id], d.later, d.corrections[1]),
        ],
      );
      expect(join(out[0][0], out[1][0])).to.deep.equal(conv2d(y, w, CONV));
      expect(join(out[0][1], out[1][1])).to.deep.equal(conv2d(y, w1, one));
    }
  });

  it('P1 receives only uniform bytes (Z = y0 − A, the correction), alike for zero and random activations', async () => {
    const n = 4 * 24 * 24;
    const views = async (y: BigUint64Array) => {
      const ss = (await sessions()) as RecordingSession[];
      const p = { ...CONV, inShape: [1, 4, 24, 24] as [number, number, number, number] };
      const map = convMap(p);
      const w = encode(Array.from({ length: map.wSize }, (_, i) => Math.sin(i * 0.7)), 12);
      const keys = await run3(ss, (s) => setupWeights(s, map, s.id === 1 ? w : null, 'sec'));
      // P0 holds the whole activation (P1 zero): Z = y − A would show y if A did not mask it.
      const sh = [y, new BigUint64Array(n), new BigUint64Array(n)];
      const done = await run3(ss, async (s) => {
        const d = await offline(s, keys[s.id], sh[0]);
        return applyWeightsClientOffline(s, keys[s.id], sh[s.id], d.deal, d.correction);
      });
      expect(join(done[0], done[1])).to.deep.equal(conv2d(y, w, p));
      const frame = ss[1].received.find((f) => f.from === 0 && f.round === 1)!.data;
      expect([ss[0].received.length - 1, ss[2].received.length], 'P0 and P2 receive nothing beyond the setup').to.deep.equal([0, 0]);
      return { z: frame, correction: ss[1].received.find((f) => f.from === 2 && f.round === 1)!.data };
    };
    const a = await views(new BigUint64Array(n));
    const b = await views(randomSigned(n, 30));
    for (const v of [a, b]) for (const [name, bytes] of Object.entries(v)) expect(looksUniform(bytes, 256), name).to.equal(true);
    expect(sameDistribution(a.z, b.z, 256), 'Z').to.equal(true);
    expect(sameDistribution(a.correction, b.correction, 256), 'correction').to.equal(true);
  });
});
