// The exact share truncation (runtime/protocols/truncate-exact.ts) against a BigInt floor on
// random and edge values (every wrap case), its bytes and rounds against the cost table, every
// message it delivers uniform for zero and random inputs, and a forced wrap that local
// truncation gets wrong by ~2^(64−f) while the exact one does not. The same for the online form
// (truncateExactOnline: P0's share input-dependent, its choice bit sent online, two rounds).

import { expect } from 'chai';
import { dealTruncation, exchangeTruncationDealing, packValues, truncateExact, truncateExactOnline, unpackValues } from '../../../runtime/protocols/truncate-exact.js';
import { randomBytes } from 'node:crypto';
import { PROTOCOL_COSTS, expectedCounters } from '../../../runtime/protocols/costs.js';
import { packedBytes } from '../../../runtime/protocols/bits.js';
import { truncShare } from '../../../runtime/ring/ring.js';
import type { PartyId, Session } from '../../../runtime/session/session.js';
import { delta, join, randomSigned, run3, sessions, sharesWithWrap, snapshot, split, truncationValues, wrappingShares } from './harness.js';
import type { RecordingSession } from './harness.js';
import { looksUniform, sameDistribution } from './stats.js';

const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

/** Runs the dealing's exchange and the online round on shares `sh` (P0's share is what the
 * offline phase would know). */
async function exact(ss: readonly Session[], sh: readonly BigUint64Array[], bits: number): Promise<BigUint64Array> {
  const out = await run3(ss, async (s) => {
    const d = dealTruncation(s, sh[0].length, bits, s.id === 0 ? sh[0] : null);
    await exchangeTruncationDealing(s, d);
    return truncateExact(s, sh[s.id], bits, d);
  });
  return join(out[0], out[1]);
}

/** ⌊x/2^f⌋ − y for every element (the exact truncation's carry: 0 or 1). */
function carries(x: BigUint64Array, y: BigUint64Array, f: number): bigint[] {
  return Array.from(x, (v, i) => (signed(v) >> BigInt(f)) - signed(y[i]));
}

/** Every party's counters since `before` equal the cost table's `cost` (per phase, peer and label). */
function expectCountersAsCost(ss: readonly Session[], before: ReadonlyArray<ReturnType<typeof snapshot>>, cost: Parameters<typeof expectedCounters>[0]): void {
  ss.forEach((s, p) => {
    const got = delta(snapshot(s), before[p]);
    const want = expectedCounters(cost, p as PartyId);
    expect(got.sent, `P${p} sent`).to.deep.equal(want.sent);
    expect(got.received, `P${p} received`).to.deep.equal(want.received);
    expect(got.sentTo, `P${p} sent per peer`).to.deep.equal(want.sentTo);
    expect(Object.fromEntries(got.byLabel), `P${p} per label`).to.deep.equal(Object.fromEntries(want.byLabel));
  });
}

/** Runs `protocol` on zero and on random inputs and checks every named message (receiver, sender,
 * round) looks uniform and alike in both, and that the helper receives nothing. */
async function expectUniformMessages(
  protocol: (ss: readonly Session[], sh: readonly BigUint64Array[], bits: number) => Promise<BigUint64Array>,
  messages: ReadonlyArray<readonly [string, PartyId, PartyId, number]>,
): Promise<void> {
  const n = 6000, bits = 16;
  const views = async (x: BigUint64Array) => {
    const ss = (await sessions()) as RecordingSession[];
    await protocol(ss, split(x), bits);
    const got = new Map(messages.map(([name, to, from, round]) => [name, ss[to].received.find((r) => r.from === from && r.round === round)!.data]));
    return { got, p2Frames: ss[2].received.length };
  };
  const zero = await views(new BigUint64Array(n));
  const rnd = await views(randomSigned(n, 40));
  expect(zero.p2Frames + rnd.p2Frames, 'the helper receives nothing').to.equal(0);
  for (const [name] of messages) {
    expect(looksUniform(zero.got.get(name)!, 256), `${name} (zero input)`).to.equal(true);
    expect(looksUniform(rnd.got.get(name)!, 256), `${name} (random input)`).to.equal(true);
    expect(sameDistribution(zero.got.get(name)!, rnd.got.get(name)!, 256), name).to.equal(true);
  }
}

describe('protocols: f-bit values on the wire (packValues, unpackValues)', () => {
  it('unpackValues gives back every packed value, for f = 1..32 and lengths that end mid-byte', () => {
    for (let f = 1; f <= 32; f++)
      for (const n of [0, 1, 7, 9, 1000]) {
        const v = new Uint32Array(randomBytes(4 * n).buffer, 0, n).map((x) => (f === 32 ? x : x & ((1 << f) - 1)));
        const bytes = packValues(v, f);
        expect(bytes.length, `f=${f} n=${n}`).to.equal(packedBytes(n, f));
        expect(Array.from(unpackValues(bytes, n, f)), `f=${f} n=${n}`).to.deep.equal(Array.from(v));
      }
  });
});

describe('protocols: exact share truncation', function () {
  this.timeout(60000);

  it('equals ⌊x/2^f⌋ (or one less) for random and edge values, every wrap case, every f', async () => {
    const ss = await sessions();
    for (const f of [1, 8, 12, 16, 21, 31, 32]) {
      const x = truncationValues(4000);
      for (const sh of [split(x), sharesWithWrap(x, 0), sharesWithWrap(x, 1)]) {
        const y = await exact(ss, sh, f);
        const c = carries(x, y, f);
        expect(c.every((d) => d === 0n || d === 1n), `f = ${f}: ${c.find((d) => d !== 0n && d !== 1n)}`).to.equal(true);
      }
    }
  });

  it('a forced wrap breaks local truncation by ~2^(64−f); the exact one stays within the carry', async () => {
    const ss = await sessions();
    const f = 16, n = 64;
    const { x, shares } = wrappingShares(n);
    const [x0, x1] = shares;
    const local = join(truncShare(x0, f, 0), truncShare(x1, f, 1));
    const localErr = carries(x, local, f).map((d) => (d < 0n ? -d : d));
    expect(localErr.every((d) => d > 2n ** 40n), 'local truncation fails on the wrap').to.equal(true);
    const y = await exact(ss, [x0, x1, new BigUint64Array(n)], f);
    expect(carries(x, y, f).every((d) => d === 0n || d === 1n)).to.equal(true);
  });

  it('bytes and rounds equal the cost table (dealing in its exchange, one online round P1 → P0)', async () => {
    const ss = await sessions();
    for (const [n, bits] of [[1000, 12], [333, 21], [7, 32]] as const) {
      const sh = split(randomSigned(n, 40));
      const before = ss.map(snapshot);
      const online: number[] = [];
      await run3(ss, async (s) => {
        const d = dealTruncation(s, n, bits, s.id === 0 ? sh[0] : null);
        await exchangeTruncationDealing(s, d);
        const r0 = s.counters.rounds;
        const y = await truncateExact(s, sh[s.id], bits, d);
        online[s.id] = s.counters.rounds - r0;
        return y;
      });
      const cost = PROTOCOL_COSTS.truncateExact({ n, bits });
      expect(cost.rounds).to.equal(1);
      expectCountersAsCost(ss, before, cost);
      // online: P1 sends, P0 receives, the helper idles; the dealing is preprocessing
      expect(online).to.deep.equal([1, 1, 0]);
      expect(cost.flows.filter((fl) => fl.phase === 'online').map((fl) => [fl.from, fl.to, fl.bytes])).to.deep.equal([[1, 0, packedBytes(n, bits)]]);
    }
  });

  it('every message looks uniform, for zero and random inputs alike', () =>
    expectUniformMessages(exact, [['p0Pad', 0, 2, 0], ['p1Choice', 1, 0, 0], ['p0Open', 0, 1, 1]]));

  describe('bit-triple form (P0\'s share input-dependent)', () => {
    const online = async (ss: readonly Session[], sh: readonly BigUint64Array[], bits: number): Promise<BigUint64Array> =>
      join(...((await run3(ss, (s) => truncateExactOnline(s, sh[s.id], bits))).slice(0, 2) as [BigUint64Array, BigUint64Array]));

    it('equals ⌊x/2^f⌋ (or one less) for random and edge values, every wrap case, every f', async () => {
      const ss = await sessions();
      for (const f of [1, 12, 16, 24, 32]) {
        const x = truncationValues(3000);
        for (const sh of [split(x), sharesWithWrap(x, 0), sharesWithWrap(x, 1)]) {
          const c = carries(x, await online(ss, sh, f), f);
          expect(c.every((d) => d === 0n || d === 1n), `f = ${f}: ${c.find((d) => d !== 0n && d !== 1n)}`).to.equal(true);
        }
      }
      // the forced wrap that breaks local truncation
      const { x, shares } = wrappingShares(64);
      expect(carries(x, await online(ss, shares, 16), 16).every((d) => d === 0n || d === 1n)).to.equal(true);
    });

    it('bytes and rounds equal the cost table (one round: a bit each way between P0 and P1, P2\'s triple share to P1)', async () => {
      const ss = await sessions();
      for (const [n, bits] of [[1000, 12], [333, 21], [7, 32]] as const) {
        const sh = split(randomSigned(n, 40));
        const before = ss.map(snapshot);
        await online(ss, sh, bits);
        const cost = PROTOCOL_COSTS.truncateExactOnline({ n, bits });
        expect(cost.rounds).to.equal(1);
        expectCountersAsCost(ss, before, cost);
        expect(ss.map((s, p) => s.counters.rounds - before[p].rounds)).to.deep.equal([1, 1, 1]);
        expect(cost.flows.filter((fl) => fl.phase === 'online').map((fl) => [fl.from, fl.to, fl.bytes])).to.deep.equal([[0, 1, packedBytes(n, 1)], [1, 0, packedBytes(n, 1)]]);
        expect(cost.flows.filter((fl) => fl.phase === 'preprocessing').map((fl) => [fl.from, fl.to, fl.bytes])).to.deep.equal([[2, 1, packedBytes(n, bits)]]);
      }
    });

    it('every message looks uniform, for zero and random inputs alike', () =>
      expectUniformMessages(online, [['p1Triple', 1, 2, 0], ['p1Choice', 1, 0, 0], ['p0Open', 0, 1, 0]]));
  });
});
