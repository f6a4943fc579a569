// Security checks that can fail: what each party receives looks uniform (in the domain it
// lives in: bytes, or Z_p digits for the packed compare digits) and its distribution does not
// move when the secret input changes; the helper's only derived bit is a fair coin; P0 and P2
// never receive the weights. Over authenticated TCP the same holds of the bytes on the wire
// (sealed frames: ciphertext and tags) and of the opened payloads.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { digitField } from '../../../runtime/protocols/compare.js';
import { relu } from '../../../runtime/protocols/relu.js';
import { applyWeights, applyWeightsSharedMask, convMap, setupWeights } from '../../../runtime/protocols/weights.js';
import { blockReluThenWeights, reluThenWeights } from '../../../runtime/protocols/relu-then-weights.js';
import { blockLayout, type BlockSize } from '../../../runtime/protocols/block-relu.js';
import { mulShares } from '../../../runtime/protocols/beaver.js';
import { packedBytes } from '../../../runtime/protocols/bits.js';
import { unpackField } from '../../../runtime/protocols/field-format.js';
import { encode } from '../../../runtime/ring/ring.js';
import type { PartyId } from '../../../runtime/session/session.js';
import { sessions, randomSigned, run3, split } from './harness.js';
import type { RecordingSession } from './harness.js';
import type { TcpPartySession } from '../../../runtime/transport/tcp.js';
import { looksUniform, sameDistribution } from './stats.js';

/** The frame `party` received from `from` in its `round`-th round. */
function frame(s: RecordingSession, from: PartyId, round: number): Uint8Array {
  const r = s.received.find((f) => f.from === from && f.round === round);
  if (!r) throw new Error(`P${s.id} got nothing from P${from} in round ${round}`);
  return r.data;
}

/** Everything the parties receive during one ReLU of x, split by meaning. */
async function reluViews(x: BigUint64Array, k: number) {
  const ss = await sessions();
  const n = x.length;
  const sh = split(x);
  await run3(ss, (s) => relu(s, sh[s.id], { lo: 0, k }));
  const z = packedBytes(n, k);
  const { p: P } = digitField(k);
  const digits = (b: Uint8Array, count: number) => unpackField(b, count, P);
  const p0r1 = frame(ss[0], 1, 0);
  const p1r1 = frame(ss[1], 0, 0);
  const d0 = digits(frame(ss[2], 0, 1), n * k);
  const d1 = digits(frame(ss[2], 1, 1), n * k);
  // What the helper can derive: per element whether a digit sum is zero, and where.
  const flags = new Uint8Array(n);
  const where: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++)
      if ((d0[i * k + j] + d1[i * k + j]) % P === 0) {
        flags[i] = 1;
        where.push(j);
      }
  return {
    P,
    p0Reveal: p0r1.subarray(0, z),
    p0Open: p0r1.subarray(z),
    p1Reveal: p1r1.subarray(0, z),
    p1Open: p1r1.subarray(z),
    p1Bits: digits(frame(ss[1], 2, 0), n * (k - 1)),
    p1Reshare: frame(ss[1], 2, 2),
    p2Digits0: d0,
    p2Digits1: d1,
    p2Flags: flags,
    p2ZeroAt: Uint8Array.from(where),
  };
}

/** Everything the parties receive during one (block-)ReLU fused with the next conv
 * (relu-then-weights.ts), split by meaning; the weights' one-time setup is round 0. */
async function fusedViews(x: BigUint64Array, k: number, blocks: readonly BlockSize[] | null) {
  const ss = await sessions();
  const p = { inShape: [1, 4, 24, 24], weightShape: [4, 4, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 } as const;
  const map = convMap(p);
  const w = encode(Array.from({ length: map.wSize }, (_, i) => Math.sin(i * 0.7)), 12);
  const keys = await run3(ss, (s) => setupWeights(s, map, s.id === 1 ? w : null, 'fused-sec'));
  const sh = split(x);
  const win = { lo: 0, k };
  await run3(ss, (s) => (blocks ? blockReluThenWeights(s, sh[s.id], p.inShape, blocks, win, keys[s.id]) : reluThenWeights(s, sh[s.id], win, keys[s.id])));
  const layout = blocks ? blockLayout(p.inShape, blocks) : null;
  const compared = layout ? layout.patches : map.xSize;
  const selected = layout ? layout.selected.length : map.xSize;
  const opened = !blocks && k === 64 ? 0 : 8 * selected;
  const z = packedBytes(compared, k);
  const { p: P } = digitField(k);
  const r3 = frame(ss[1], 2, 3);
  return {
    P,
    bytes: {
      p0Reveal: frame(ss[0], 1, 1).subarray(0, z),
      p0Open: frame(ss[0], 1, 1).subarray(z, z + opened),
      p1Reveal: frame(ss[1], 0, 1).subarray(0, z),
      p1Open: frame(ss[1], 0, 1).subarray(z, z + opened),
      p1MaskedActivation: frame(ss[1], 0, 2),
      p1Reshare: r3.subarray(0, 8 * compared),
      p1SelectCorrection: r3.subarray(8 * compared, 8 * (compared + selected)),
      p1ProductCorrection: r3.subarray(8 * (compared + selected)),
    },
    digits: {
      p1Bits: unpackField(frame(ss[1], 2, 1), compared * (k - 1), P),
      p2Digits0: unpackField(frame(ss[2], 0, 2), compared * k, P),
      p2Digits1: unpackField(frame(ss[2], 1, 2), compared * k, P),
    },
    sizes: { opened, masked: frame(ss[1], 0, 2).length, productCorrection: 8 * map.ySize, p0Frames: ss[0].received.length },
  };
}

describe('protocols: security of the comparison and selection', function () {
  this.timeout(60000);
  for (const k of [16, 64]) {
    it(`ReLU at k=${k}: every received message looks uniform, for zero and for random inputs alike`, async () => {
      const n = 3000;
      const zero = await reluViews(new BigUint64Array(n), k);
      const rnd = await reluViews(randomSigned(n, k - 2), k);
      // On the full window the selection reuses the compare's mask: no opening is sent.
      const byteViews = k === 64 ? (['p0Reveal', 'p1Reveal', 'p1Reshare'] as const) : (['p0Reveal', 'p0Open', 'p1Reveal', 'p1Open', 'p1Reshare'] as const);
      if (k === 64) expect([zero.p0Open.length, zero.p1Open.length], 'no opening at k = 64').to.deep.equal([0, 0]);
      const digitViews = ['p1Bits', 'p2Digits0', 'p2Digits1'] as const;
      for (const v of [zero, rnd]) {
        for (const name of byteViews) expect(looksUniform(v[name], 256), name).to.equal(true);
        for (const name of digitViews) expect(looksUniform(v[name], v.P), name).to.equal(true);
        // The helper's zero flag is a fair coin, and the zero's position is uniform.
        let ones = 0;
        for (const f of v.p2Flags) ones += f;
        expect(Math.abs(ones - n / 2), 'helper flag balance').to.be.below(5 * Math.sqrt(n) / 2);
        expect(looksUniform(v.p2ZeroAt, k), 'zero position').to.equal(true);
      }
      for (const name of [...byteViews]) expect(sameDistribution(zero[name], rnd[name], 256), name).to.equal(true);
      for (const name of [...digitViews]) expect(sameDistribution(zero[name], rnd[name], zero.P), name).to.equal(true);
      expect(sameDistribution(zero.p2ZeroAt, rnd.p2ZeroAt, k), 'zero position').to.equal(true);
    });
  }

  for (const [name, k, blocks] of [
    ['ReLU at k=16', 16, null],
    ['ReLU at k=64 (the mask shared with the comparison)', 64, null],
    ['block-ReLU 2×2 / 3×1 / identity at k=16', 16, [[2, 2], 'identity', [3, 1], [2, 2]]],
  ] as const) {
    it(`${name} fused with the next conv: every received message looks uniform, for zero and for random inputs alike`, async () => {
      const n = 4 * 24 * 24;
      const bl = blocks as readonly BlockSize[] | null;
      const zero = await fusedViews(new BigUint64Array(n), k, bl);
      const rnd = await fusedViews(randomSigned(n, k - 4), k, bl);
      // What the cost table promises: no opening on the full window, the masked activation of
      // every element (identity ones included), P0 receives the weights' mask and round 1 only.
      expect(zero.sizes.opened, 'opening').to.equal(k === 64 && !blocks ? 0 : 8 * (blocks ? (n * 3) / 4 : n));
      expect(zero.sizes.masked, 'masked activation').to.equal(8 * n);
      expect(zero.sizes.p0Frames, 'frames P0 receives').to.equal(2);
      for (const v of [zero, rnd]) {
        for (const [label, b] of Object.entries(v.bytes)) if (b.length > 0) expect(looksUniform(b, 256), label).to.equal(true);
        for (const [label, d] of Object.entries(v.digits)) expect(looksUniform(d, v.P), label).to.equal(true);
      }
      for (const label of Object.keys(zero.bytes) as (keyof typeof zero.bytes)[])
        if (zero.bytes[label].length > 0) expect(sameDistribution(zero.bytes[label], rnd.bytes[label], 256), label).to.equal(true);
      for (const label of Object.keys(zero.digits) as (keyof typeof zero.digits)[]) expect(sameDistribution(zero.digits[label], rnd.digits[label], zero.P), label).to.equal(true);
    });
  }

  it('a second product sharing the fused step\'s mask: P1 gets one masked copy of the activation, and only uniform bytes more', async () => {
    const p = { inShape: [1, 4, 24, 24], weightShape: [4, 4, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 } as const;
    const q = { inShape: [1, 4, 24, 24], weightShape: [8, 4, 1, 1], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 } as const;
    const views = async (x: BigUint64Array) => {
      const ss = await sessions();
      const [m1, m2] = [convMap(p), convMap(q)];
      const w1 = encode(Array.from({ length: m1.wSize }, (_, i) => Math.sin(i * 0.7)), 12);
      const w2 = encode(Array.from({ length: m2.wSize }, (_, i) => Math.cos(i * 0.3)), 12);
      const k1 = await run3(ss, (s) => setupWeights(s, m1, s.id === 1 ? w1 : null, 'first'));
      const k2 = await run3(ss, (s) => setupWeights(s, m2, s.id === 1 ? w2 : null, 'second'));
      const sh = split(x);
      const r = await run3(ss, (s) => reluThenWeights(s, sh[s.id], { lo: 0, k: 16 }, k1[s.id]));
      const before = ss.map((s) => s.received.length);
      await run3(ss, (s) => applyWeightsSharedMask(s, k2[s.id], r[s.id].kept));
      const during = ss.map((s, i) => s.received.slice(before[i]));
      return { ss, during, masked: ss[1].received.filter((f) => f.from === 0 && f.data.length === 8 * m1.xSize), correction: during[1][0]?.data, ySize: m2.ySize };
    };
    const n = 4 * 24 * 24;
    const zero = await views(new BigUint64Array(n));
    const rnd = await views(randomSigned(n, 12));
    for (const v of [zero, rnd]) {
      // P0 and P2 receive nothing in the shared product; P1 only P2's correction (8 B per output).
      expect(v.during[0], 'P0 receives').to.have.length(0);
      expect(v.during[2], 'P2 receives').to.have.length(0);
      expect(v.during[1].map((f) => [f.from, f.data.length])).to.deep.equal([[2, 8 * v.ySize]]);
      // One masked copy of the activation reached P1 in all (the fused step's), not two.
      expect(v.masked, 'masked copies at P1').to.have.length(1);
      expect(looksUniform(v.correction, 256), 'correction').to.equal(true);
      expect(looksUniform(v.masked[0].data, 256), 'masked activation').to.equal(true);
    }
    expect(sameDistribution(zero.correction, rnd.correction, 256), 'correction').to.equal(true);
    expect(sameDistribution(zero.masked[0].data, rnd.masked[0].data, 256), 'masked activation').to.equal(true);
  });

  it('the uniformity checks do reject structured data (they can fail)', () => {
    const small = randomSigned(3000, 14); // unmasked 16-bit window values
    const bytes = new Uint8Array(small.buffer).filter((_, i) => i % 8 < 2);
    expect(looksUniform(bytes, 256)).to.equal(false);
    const digits = Uint8Array.from({ length: 6000 }, (_, i) => (i % 3 === 0 ? 0 : randomBytes(1)[0] % 67));
    expect(looksUniform(digits, 67)).to.equal(false);
    const a = Uint8Array.from(randomBytes(4000));
    const b = Uint8Array.from(randomBytes(4000), (x) => x & 0xfe);
    expect(sameDistribution(a, b, 256)).to.equal(false);
  });

  // At 8 bytes per ring element, and at 4 (a program on Z_2^32: the one-time W − B in 4 bytes
  // per weight, the low words of W − B).
  for (const ring of [8, 4])
    it(`P0 and P2 never receive the weights; P0 receives only uniform bytes (${ring} bytes per ring element)`, async () => {
      const ss = await sessions();
      const p = { inShape: [1, 8, 6, 6], weightShape: [8, 8, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 } as const;
      const map = convMap(p);
      const wf = Array.from({ length: map.wSize }, (_, i) => Math.sin(i * 1.7) * 0.5);
      const w = encode(wf, 12);
      const keys = await run3(ss, (s) => setupWeights(s, map, s.id === 1 ? w : null, 'layer', ring));
      expect(ss[0].received[0].data.length, 'the one-time W − B').to.equal(ring * map.wSize);
      for (let t = 0; t < 2; t++) {
        const sh = split(randomSigned(map.xSize, 20));
        await run3(ss, (s) => applyWeights(s, keys[s.id], sh[s.id]));
      }
      const secrets = new Set<bigint>(Array.from(w, (v) => BigInt.asUintN(8 * ring, v)));
      for (const party of [ss[0], ss[2]]) {
        for (const f of party.received) {
          const buf = Buffer.from(f.data);
          for (let at = 0; at + ring <= buf.length; at++) {
            const v = ring === 8 ? buf.readBigUInt64LE(at) : BigInt(buf.readUInt32LE(at));
            expect(secrets.has(v), `P${party.id} got a weight`).to.equal(false);
          }
        }
      }
      expect(ss[2].received.length).to.equal(0);
      const all = Buffer.concat(ss[0].received.map((f) => f.data));
      expect(looksUniform(all, 256)).to.equal(true);
    });

  it('Beaver product and conv: what P0 and P1 receive looks uniform for zero and random inputs alike', async () => {
    const n = 2000;
    const views = async (x: BigUint64Array) => {
      const ss = await sessions();
      const xs = split(x);
      const ys = split(x);
      await run3(ss, (s) => mulShares(s, xs[s.id], ys[s.id]));
      const p = { inShape: [1, 4, 10, 10], weightShape: [4, 4, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 } as const;
      const map = convMap(p);
      const w = encode(Array.from({ length: map.wSize }, (_, i) => Math.cos(i)), 12);
      const keys = await run3(ss, (s) => setupWeights(s, map, s.id === 1 ? w : null, 'sec'));
      const cs = split(x.subarray(0, map.xSize));
      await run3(ss, (s) => applyWeights(s, keys[s.id], cs[s.id]));
      return {
        p0Open: frame(ss[0], 1, 0),
        p1Open: frame(ss[1], 0, 0),
        p1Triple: frame(ss[1], 2, 0),
        p1Activation: frame(ss[1], 0, 2),
        p1Correction: frame(ss[1], 2, 2),
      };
    };
    const zero = await views(new BigUint64Array(n));
    const rnd = await views(randomSigned(n, 20));
    for (const name of Object.keys(zero) as (keyof typeof zero)[]) {
      expect(looksUniform(zero[name], 256), name).to.equal(true);
      expect(looksUniform(rnd[name], 256), name).to.equal(true);
      expect(sameDistribution(zero[name], rnd[name], 256), name).to.equal(true);
    }
  });

  it('over authenticated TCP: every byte a party receives on the wire, and every opened payload, looks uniform for zero and random inputs alike', async () => {
    const n = 3000;
    const views = async (x: BigUint64Array) => {
      const ss = await sessions('tcp');
      // A second 'data' listener sees the very chunks the sealed-frame decoder gets.
      const wire: Buffer[][] = [[], [], []];
      for (const s of ss) for (const p of s.peers) (s as unknown as TcpPartySession).socketTo(p).on('data', (b: Buffer) => wire[s.id].push(b));
      const sh = split(x);
      await run3(ss, (s) => relu(s, sh[s.id], { lo: 0, k: 16 }));
      return { wire: wire.map((w) => new Uint8Array(Buffer.concat(w))), p0Reveal: frame(ss[0], 1, 0), p1Reshare: frame(ss[1], 2, 2) };
    };
    const zero = await views(new BigUint64Array(n));
    const rnd = await views(randomSigned(n, 14));
    for (const v of [zero, rnd]) {
      for (const id of [0, 1, 2]) {
        expect(v.wire[id].length, `P${id} wire bytes`).to.be.above(1000);
        expect(looksUniform(v.wire[id], 256), `P${id} wire`).to.equal(true);
      }
      expect(looksUniform(v.p0Reveal, 256), 'P0 opened payload').to.equal(true);
      expect(looksUniform(v.p1Reshare, 256), 'P1 opened payload').to.equal(true);
    }
    for (const id of [0, 1, 2]) expect(sameDistribution(zero.wire[id], rnd.wire[id], 256), `P${id} wire`).to.equal(true);
    // The check can fail: the zero input's shares in the clear would not pass.
    expect(looksUniform(new Uint8Array(new BigUint64Array(n).buffer), 256)).to.equal(false);
  });

  it('two sessions draw different masks: the same input gives different messages', async () => {
    const x = randomSigned(200, 20);
    const once = async () => {
      const ss = await sessions();
      const sh = [x, new BigUint64Array(200), new BigUint64Array(200)]; // P0 holds x, P1 zero
      await run3(ss, (s) => relu(s, sh[s.id], { lo: 0, k: 32 }));
      return frame(ss[1], 0, 0);
    };
    expect(Buffer.from(await once()).equals(Buffer.from(await once()))).to.equal(false);
  });
});
