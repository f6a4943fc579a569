// The client-offline mode's exact truncation (truncate-client-offline.ts, Protocol 1 standalone):
// P0's pads offline, P1's masked wrap bit to P2, P2's part back. Against a BigInt floor on random
// and edge values (every wrap case, f from 1 to 32), its bytes and online rounds against the cost
// table (P0 silent online), and every message it delivers uniform for zero and random inputs.

import { expect } from 'chai';
import { dealThreeWay, dealTruncateClientOffline, THREE_WAY_WASM_MIN, threeWayHelper, threeWayOpen, truncateClientOffline, type ThreeWayTruncation } from '../../../runtime/protocols/truncate-client-offline.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { unpackBits } from '../../../runtime/protocols/truncate-exact.js';
import { liftInput } from '../../../runtime/program/steps.js';
import type { Session } from '../../../runtime/session/session.js';
import { PrgFamily } from '../../../runtime/session/prg.js';
import { randomLow } from '../../../runtime/protocols/bits.js';
import { join, offlineExchange, randomSigned, sessions, sharesWithWrap, split, truncationValues, wrappingShares } from './harness.js';
import type { RecordingSession } from './harness.js';
import { withOfflineCost } from './costcheck.js';
import { looksUniform, sameDistribution } from './stats.js';

const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

/** The dealing, the offline exchange and the online rounds on shares `sh` (P0 passes a
 * placeholder online: its output comes from the offline phase). Counters checked against the table. */
async function truncate(ss: readonly Session[], sh: readonly BigUint64Array[], bits: number, ring = 64): Promise<BigUint64Array> {
  const n = sh[0].length;
  const out = await withOfflineCost(
    ss,
    PROTOCOL_COSTS.truncateClientOffline({ n, bits }),
    async (s) => {
      const d = dealTruncateClientOffline(s, n, bits, s.id === 0 ? sh[0] : null, ring);
      await offlineExchange(s, [d]);
      return d;
    },
    (s, d) => truncateClientOffline(s, s.id === 0 ? new BigUint64Array(n) : sh[s.id], bits, d),
  );
  expect(out[2]).to.deep.equal(new BigUint64Array(n));
  return join(out[0], out[1]);
}

/** ⌊x/2^f⌋ − y for every element (the carry: 0 or 1). */
function carries(x: BigUint64Array, y: BigUint64Array, f: number): bigint[] {
  return Array.from(x, (v, i) => (signed(v) >> BigInt(f)) - signed(y[i]));
}

describe('protocols: client-offline exact truncation', function () {
  this.timeout(120000);

  it('equals ⌊x/2^f⌋ (or one less) for random and edge values, every wrap case, f from 1 to 32; bytes and rounds as the table', async () => {
    const ss = await sessions();
    for (const f of [1, 8, 12, 13, 16, 21, 31, 32]) {
      const x = truncationValues(3000);
      for (const sh of [split(x), sharesWithWrap(x, 0), sharesWithWrap(x, 1)]) {
        const c = carries(x, await truncate(ss, sh, f), f);
        expect(c.every((d) => d === 0n || d === 1n), `f = ${f}: ${c.find((d) => d !== 0n && d !== 1n)}`).to.equal(true);
      }
    }
  });

  it('in a ring of 32, 40, 48 or 56 bits: ⌊x/2^f⌋ (or one less) mod 2^ℓ for |x| < 2^(ℓ−2), the ends of the bound and shares with any high bits included', async () => {
    const ss = await sessions();
    for (const ring of [32, 40, 48, 56])
      for (const f of [1, 12, 16, 30, 32].filter((f) => f <= ring - 2)) {
        const n = 2000;
        // Values up to the bound, and the bound's ends; shares uniform mod 2^64, so their bits
        // above ℓ are noise the protocol must ignore.
        const x = randomSigned(n, ring - 3);
        const edges = [0n, 1n, -1n, (1n << BigInt(ring - 2)) - 1n, -(1n << BigInt(ring - 2)) + 1n, 1n << BigInt(f), -(1n << BigInt(f)) - 1n];
        edges.forEach((e, i) => (x[i] = BigInt.asUintN(64, e)));
        for (const sh of [split(x), sharesWithWrap(x, 0), sharesWithWrap(x, 1)]) {
          const y = await truncate(ss, sh, f, ring);
          const c = Array.from(x, (v, i) => (signed(v) >> BigInt(f)) - BigInt.asIntN(ring, y[i]));
          expect(c.every((d) => d === 0n || d === 1n), `ℓ = ${ring}, f = ${f}: ${c.find((d) => d !== 0n && d !== 1n)}`).to.equal(true);
        }
      }
  });

  // A lift (SecureLift, runtime/program/steps.ts liftInput): a value of Z_2^32 (a selection in the
  // smaller ring) brought to Z_2^ℓ by shifting each share up by ℓ − 32 bits, then truncating by as
  // many: exact (no carry: the shifted shares' low bits are zero) while |x| < 2^30, whatever the
  // shares' bits above 32 hold.
  it('a lift from Z_2^32 to Z_2^40, 48, 56 and 64 gives x exactly for |x| < 2^30, the bound\'s ends included, whatever the shares\' bits above 32', async () => {
    const ss = await sessions();
    for (const ring of [40, 48, 56, 64]) {
      const bits = ring - 32;
      const n = 2000;
      const x = randomSigned(n, 29);
      [0n, 1n, -1n, (1n << 30n) - 1n, -(1n << 30n) + 1n, 1n << 29n, -(1n << 29n)].forEach((e, i) => (x[i] = BigInt.asUintN(64, e)));
      const [x0, x1] = split(x);
      // noise above bit 32 in both shares: only their low 32 bits hold the value
      const noise = randomSigned(n, 63);
      for (let i = 0; i < n; i++) {
        x0[i] = BigInt.asUintN(64, x0[i] + (noise[i] << 32n));
        x1[i] = BigInt.asUintN(64, x1[i] + ((noise[i] >> 7n) << 32n));
      }
      const lifted = [x0, x1, new BigUint64Array(n)].map((v) => liftInput({ lift: true, bits }, v));
      const y = await truncate(ss, lifted, bits, ring);
      const wrong = Array.from(x, (v, i) => [BigInt.asIntN(64, v), BigInt.asIntN(ring, y[i])]).find(([a, b]) => a !== b);
      expect(wrong, `ℓ = ${ring}: x = ${wrong?.[0]}, lifted ${wrong?.[1]}`).to.equal(undefined);
    }
  });

  it('a forced wrap of the shares across 2^63 stays within the carry', async () => {
    const ss = await sessions();
    const { x, shares } = wrappingShares(64);
    expect(carries(x, await truncate(ss, shares, 16), 16).every((d) => d === 0n || d === 1n)).to.equal(true);
  });

  it('the table: P0 sends only offline, online one bit P1 → P2 and f bits back, two rounds', () => {
    const c = PROTOCOL_COSTS.truncateClientOffline({ n: 1000, bits: 12 });
    expect(c.rounds).to.equal(2);
    expect(c.flows.filter((fl) => fl.from === 0).every((fl) => fl.phase === 'preprocessing')).to.equal(true);
    expect(c.flows.filter((fl) => fl.phase === 'online').map((fl) => [fl.from, fl.to, fl.bytes])).to.deep.equal([[1, 2, 125], [2, 1, 1500]]);
  });

  it('every message looks uniform (h1 to P1, d to P2, t2 + q·F to P1), for zero and random inputs alike; P0 receives nothing', async () => {
    const n = 8000, bits = 16;
    const views = async (x: BigUint64Array) => {
      const ss = (await sessions()) as RecordingSession[];
      await truncate(ss, split(x), bits);
      const get = (s: RecordingSession, from: number, round: number) => s.received.find((r) => r.from === from && r.round === round)!.data;
      expect(ss[0].received.length, 'P0 receives nothing').to.equal(0);
      return { h1: get(ss[1], 0, 0), d: unpackBits(get(ss[2], 1, 1), n), share: get(ss[1], 2, 2) };
    };
    const zero = await views(new BigUint64Array(n));
    const rnd = await views(randomSigned(n, 40));
    for (const [name, bins] of [['h1', 256], ['d', 2], ['share', 256]] as const) {
      expect(looksUniform(zero[name], bins), `${name} (zero input)`).to.equal(true);
      expect(looksUniform(rnd[name], bins), `${name} (random input)`).to.equal(true);
      expect(sameDistribution(zero[name], rnd[name], bins), name).to.equal(true);
    }
  });
});

describe('protocols: client-offline truncation, the loops\' kernels (three_way_deal, three_way_open, three_way_helper)', () => {
  // The kernels module's loops against their TypeScript twins (the loops of dealThreeWay,
  // threeWayOpen and threeWayHelper with kernel 'ts'), bit for bit, on random values with any bits above the ring,
  // σ bytes with their other bits set, f from 1 to 32 and every ring; and the twins themselves
  // against a BigInt statement of what they compute.
  const rnd32 = (n: number) => Uint32Array.from({ length: n }, () => (Math.random() * 2 ** 32) >>> 0);
  const n = THREE_WAY_WASM_MIN + 37;
  for (const ring of [32, 40, 48, 56, 64])
    for (const f of [1, 7, 14, 16, 30, 32].filter((b) => b <= ring - 2)) {
      it(`in Z_2^${ring}, f = ${f}: equal bit for bit, with and without the selected indices`, () => {
        const mask = 2 ** f - 1;
        const v1 = new BigUint64Array(rnd32(2 * n).buffer);
        const t: ThreeWayTruncation = { n, bits: f, ring, t0: null, sigma: Uint8Array.from(rnd32(n), (x) => x & 0xff), h1: Uint32Array.from(rnd32(n), (x) => x & mask), h2: Uint32Array.from(rnd32(n), (x) => x & mask), q: Uint32Array.from(rnd32(n), (x) => x & mask) };
        const wasm = threeWayOpen(t, v1, 'wasm');
        const ts = threeWayOpen(t, v1, 'ts');
        expect(Buffer.from(wasm.d).equals(Buffer.from(ts.d)), 'd').to.equal(true);
        expect(Buffer.from(wasm.t1.buffer).equals(Buffer.from(ts.t1.buffer)), 't1').to.equal(true);
        // The twin against the BigInt statement: d = (1 − c) ⊕ σ, t1 = (x >> f) + ((−(c + d·h1)) mod 2^f)·2^(ℓ−f).
        const M = (1n << BigInt(ring)) - 1n;
        for (let i = 0; i < n; i += 97) {
          const x = v1[i] & M;
          const c = Number((x >> BigInt(ring - 1)) & 1n);
          const d = (1 - c) ^ (t.sigma![i] & 1);
          expect(ts.d[i]).to.equal(d);
          expect(ts.t1[i]).to.equal((x >> BigInt(f)) + (BigInt.asUintN(f, -BigInt(c + d * t.h1![i])) << BigInt(ring - f)));
        }
        // P0's dealing: the same streams twice (a stand-in P0 whose pair keys are fixed per test), v0
        // with any bits above the ring.
        const keys = [new Uint8Array(16).fill(ring), new Uint8Array(16).fill(f)];
        const p0 = () => ({ id: 0, shared: (peer: number, purpose: string) => new PrgFamily(keys[peer - 1]).get(purpose) }) as unknown as Session;
        const v0 = new BigUint64Array(rnd32(2 * n).buffer);
        const dW = dealThreeWay(p0(), n, f, v0, ring, 'wasm');
        const dT = dealThreeWay(p0(), n, f, v0, ring, 'ts');
        expect(Buffer.from(dW.t0!.buffer).equals(Buffer.from(dT.t0!.buffer)), 't0').to.equal(true);
        expect(Buffer.from(dW.h1!.buffer).equals(Buffer.from(dT.h1!.buffer)), 'h1').to.equal(true);
        expect(Buffer.from(dW.q!.buffer).equals(Buffer.from(dT.q!.buffer)), 'q').to.equal(true);
        // The twin against the BigInt statement, on the streams drawn again: K = 2^(ℓ−2),
        // x = v0 + K mod 2^ℓ, a its top bit, h1 = a·(1 − 2σ) − h2 mod 2^f,
        // t0 = (x >> f) + (−a·σ mod 2^f)·2^(ℓ−f) − 2^(ℓ−2−f) mod 2^64.
        const sigma = p0().shared(1, 'trunc').bytes(n);
        const h2 = randomLow(p0().shared(2, 'trunc'), n, f);
        for (let i = 0; i < n; i += 97) {
          const x = (v0[i] + (1n << BigInt(ring - 2))) & M;
          const a = Number((x >> BigInt(ring - 1)) & 1n), sg = sigma[i] & 1;
          expect(dT.h1![i]).to.equal(Number(BigInt.asUintN(f, BigInt(a * (1 - 2 * sg) - h2[i]))));
          expect(dT.t0![i]).to.equal(BigInt.asUintN(64, (x >> BigInt(f)) + (BigInt.asUintN(f, -BigInt(a * sg)) << BigInt(ring - f)) - (1n << BigInt(ring - 2 - f))));
        }
        const selected = Int32Array.from({ length: 1000 }, () => Math.floor(Math.random() * n));
        for (const sel of [null, selected]) {
          const count = sel ? sel.length : n;
          const into = new BigUint64Array(rnd32(2 * count).buffer);
          const a = into.slice(), b = into.slice();
          const backW = threeWayHelper(t, ts.d, a, sel, 'wasm');
          const backT = threeWayHelper(t, ts.d, b, sel, 'ts');
          expect(Buffer.from(backW.buffer).equals(Buffer.from(backT.buffer)), 'back').to.equal(true);
          expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), 'into').to.equal(true);
          for (let j = 0; j < count; j += 89) {
            const i = sel ? sel[j] : j;
            const m = ts.d[i] ? t.h2![i] : 0;
            expect(backT[i]).to.equal(((t.q![i] - m) & mask) >>> 0);
            expect(b[j]).to.equal(BigInt.asUintN(64, into[j] + (BigInt.asUintN(f, -BigInt(m)) << BigInt(ring - f))));
          }
          // Without `into`: back alone.
          expect(Buffer.from(threeWayHelper(t, ts.d, undefined, null, 'wasm').buffer).equals(Buffer.from(backT.buffer))).to.equal(true);
        }
      });
    }
});
