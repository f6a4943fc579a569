// "The helper selects" (helper-select.ts, Protocol 2 of the client-offline mode): truncation,
// residual and (block-)ReLU with P0's output share made offline. Against a BigInt reference
// (y = b·(⌊v/2^f⌋ − carry + res), b the window's comparison of the patch sums of
// c = v + (res << f)) on random and edge values, its bytes and online rounds against the cost
// table, and every message each party receives uniform and independent of the input.

import { expect } from 'chai';
import { dealHelperSelect, helperSelect, type HelperSelectSpec } from '../../../runtime/protocols/helper-select.js';
import { blockLayout, type BlockSize } from '../../../runtime/protocols/block-relu.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { fieldBytes, unpackField } from '../../../runtime/protocols/field-format.js';
import { packedBytes } from '../../../runtime/protocols/bits.js';
import { unpackBits } from '../../../runtime/protocols/truncate-exact.js';
import type { Session } from '../../../runtime/session/session.js';
import { join, offlineExchange, randomSigned, sessions, split } from './harness.js';
import type { RecordingSession } from './harness.js';
import { withOfflineCost } from './costcheck.js';
import { looksUniform, sameDistribution } from './stats.js';

const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

/** The patch count and selected elements of a spec (a plain ReLU: every element). */
function sizes(spec: HelperSelectSpec): { patches: number; selected: number; patchOf: Int32Array } {
  if (!spec.blocks) return { patches: spec.n, selected: spec.n, patchOf: Int32Array.from({ length: spec.n }, (_, i) => i) };
  const l = blockLayout(spec.shape!, spec.blocks);
  return { patches: l.patches, selected: l.selected.length, patchOf: l.patchOf };
}

/** Runs a helperSelect on the test's shares of v and res (P0's are its offline inputs; online
 * it passes placeholders), with the offline exchange, checking the counters against the table.
 * Returns the reconstructed output. */
async function run(ss: readonly Session[], spec: HelperSelectSpec, v: BigUint64Array, res: BigUint64Array | null): Promise<BigUint64Array> {
  const { n } = spec;
  const sv = split(v);
  const sr = res ? split(res) : null;
  const { patches, selected } = sizes(spec);
  const cost = PROTOCOL_COSTS.helperSelect({ n, patches, selected, k: spec.window.k, bits: spec.bits, ring: (spec.ring ?? 64) / 8, copyRing: spec.copyRing });
  const out = await withOfflineCost(
    ss,
    cost,
    async (s) => {
      const d = dealHelperSelect(s, spec, s.id === 0 ? { v: sv[0], res: sr ? sr[0] : null } : null);
      await offlineExchange(s, [d]);
      return d;
    },
    (s, d) => {
      const placeholder = new BigUint64Array(n);
      return helperSelect(s, spec, s.id === 1 ? sv[1] : placeholder, sr ? (s.id === 1 ? sr[1] : placeholder) : null, d);
    },
  );
  expect(out[2], 'P2 returns zeros').to.deep.equal(new BigUint64Array(n));
  return join(out[0], out[1]);
}

/** Checks y against the plaintext: per element the allowed values of b·x, x = ⌊v/2^f⌋ − carry +
 * res (carry ∈ {0, 1}, none at f = 0), b the comparison of Σ_patch c on bits [lo, lo + k) (both
 * values of the window's own one-unit carry allowed when lo > 0, where they can differ).
 * Returns the fraction of patches whose bit was ambiguous. */
function check(spec: HelperSelectSpec, v: BigUint64Array, res: BigUint64Array | null, y: BigUint64Array): number {
  const { n, bits: f, window: w } = spec;
  const { patches, patchOf } = sizes(spec);
  const sums = new Array<bigint>(patches).fill(0n);
  for (let i = 0; i < n; i++) if (patchOf[i] >= 0) sums[patchOf[i]] += signed(v[i]) + (res ? signed(res[i]) << BigInt(f) : 0n);
  const k = BigInt(w.k);
  const bitFor = (s: bigint, carry: bigint): bigint => {
    const windowed = BigInt.asUintN(w.k, (BigInt.asUintN(64, s) >> BigInt(w.lo)) - carry);
    return windowed >> (k - 1n) === 0n ? 1n : 0n;
  };
  let ambiguous = 0;
  const allowedBits = sums.map((s) => {
    const b = new Set([bitFor(s, 0n), ...(w.lo > 0 ? [bitFor(s, 1n)] : [])]);
    if (b.size > 1) ambiguous++;
    return b;
  });
  for (let i = 0; i < n; i++) {
    const x = (signed(v[i]) >> BigInt(f)) + (res ? signed(res[i]) : 0n);
    const xs = f > 0 ? [x, x - 1n] : [x];
    const bs = patchOf[i] < 0 ? new Set([1n]) : allowedBits[patchOf[i]];
    const allowed = [...bs].flatMap((b) => xs.map((xv) => b * xv));
    // In Z_2^ℓ only the low ℓ bits of a word mean anything.
    const got = BigInt.asIntN(spec.ring ?? 64, y[i]);
    if (!allowed.includes(got)) expect.fail(`element ${i} (patch ${patchOf[i]}, v = ${signed(v[i])}, res = ${res ? signed(res[i]) : '-'}, f = ${f}): got ${got}, allowed ${allowed.join(' | ')}`);
  }
  return ambiguous / Math.max(1, patches);
}

/** Values for a comparison on `room` bits of c: random of magnitude below 2^(room − 2) (so a
 * sum of a few stays inside), near 0, negative, and with a residual below 2^(room − 2 − f). */
function values(n: number, room: number, f: number, withRes: boolean): { v: BigUint64Array; res: BigUint64Array | null } {
  const v = randomSigned(n, room - 5);
  const edges = [0n, 1n, -1n, 2n, -2n, 1n << BigInt(f), -(1n << BigInt(f)), (1n << BigInt(f)) - 1n, -(1n << BigInt(f)) - 1n, (1n << BigInt(room - 6)) - 1n, -(1n << BigInt(room - 6))];
  edges.forEach((e, i) => i < n && (v[i] = BigInt.asUintN(64, e)));
  for (let i = edges.length; i < Math.min(n, edges.length + 40); i++) v[i] = BigInt.asUintN(64, BigInt(i % 9) - 4n);
  const res = withRes ? randomSigned(n, Math.max(1, room - 7 - f)) : null;
  if (res) for (let i = 0; i < Math.min(n, 8); i++) res[i] = BigInt.asUintN(64, BigInt(i % 3) - 1n);
  return { v, res };
}

const SHAPE: [number, number, number, number] = [1, 4, 8, 8];
const BLOCKS: BlockSize[] = [[2, 2], 'identity', [3, 1], [1, 1]];

describe('protocols: the helper selects (client-offline (block-)ReLU with truncation)', function () {
  this.timeout(120000);

  for (const f of [0, 1, 12, 13, 16, 32]) {
    it(`plain ReLU, f = ${f}: full window {0, 64} (values near ±2^40 and 0) and narrowed {lo, 16}, with and without a residual`, async () => {
      const ss = await sessions();
      const n = 1500;
      for (const withRes of [false, true]) {
        // Full window: c up to ~2^(40 + f + 2) (the activation near ±2^40).
        const full: HelperSelectSpec = { n, bits: f, window: { lo: 0, k: 64 } };
        const a = values(n, Math.min(62, 47 + f), f, withRes);
        a.v[n - 1] = BigInt.asUintN(64, (1n << BigInt(40 + f)) + 5n);
        a.v[n - 2] = BigInt.asUintN(64, -(1n << BigInt(40 + f)) - 5n);
        expect(check(full, a.v, a.res, await run(ss, full, a.v, a.res))).to.equal(0);
        // Narrowed: the comparison's 16 bits above lo = f + 4 (c below 2^(lo + 15)).
        const lo = Math.min(f + 4, 48);
        const narrow: HelperSelectSpec = { n, bits: f, window: { lo, k: 16 } };
        const b = values(n, lo + 15, f, withRes);
        expect(check(narrow, b.v, b.res, await run(ss, narrow, b.v, b.res)), 'ambiguous fraction').to.be.below(0.05);
      }
    });
  }

  for (const f of [0, 12]) {
    it(`block-ReLU 2×2 / identity / 3×1 / 1×1, f = ${f}: identity channels pass x, patches by the sign of Σ c, with and without a residual`, async () => {
      const ss = await sessions();
      const n = SHAPE.reduce((a, b) => a * b, 1);
      for (const withRes of [false, true])
        for (const window of [{ lo: 0, k: 64 }, { lo: f + 4, k: 16 }]) {
          const spec: HelperSelectSpec = { n, bits: f, window, shape: SHAPE, blocks: BLOCKS };
          const { v, res } = values(n, window.k === 64 ? 50 : window.lo + 15 - 3, f, withRes);
          const y = await run(ss, spec, v, res);
          expect(check(spec, v, res, y), 'ambiguous fraction').to.be.below(0.1);
          // The identity channel (1) is x itself.
          const { patchOf } = sizes(spec);
          expect(patchOf.subarray(64, 128).every((p) => p === -1)).to.equal(true);
        }
    });
  }

  for (const ring of [32, 40, 48, 56])
    it(`a ring of ${ring} bits: ring elements in ${ring / 8} bytes, the truncation exact for |v| < 2^${ring - 2} (the extremes included), windows {0, ${ring}} and 16 bits above f + 4 (or below the top), plain and blocks`, async () => {
      const ss = await sessions();
      const n = SHAPE.reduce((a, b) => a * b, 1);
      for (const f of [0, 12, 16])
        for (const withRes of [false, true]) {
          const full: HelperSelectSpec = { n, bits: f, window: { lo: 0, k: ring }, ring };
          const a = values(n, ring, f, withRes);
          // The truncation's bound |v| < 2^(ℓ−2), at both ends (no residual there: c stays in range).
          a.v[n - 1] = BigInt.asUintN(64, (1n << BigInt(ring - 2)) - 1n);
          a.v[n - 2] = BigInt.asUintN(64, -(1n << BigInt(ring - 2)) + 1n);
          if (a.res) a.res[n - 1] = a.res[n - 2] = 0n;
          expect(check(full, a.v, a.res, await run(ss, full, a.v, a.res))).to.equal(0);
          const lo = Math.min(f + 4, ring - 16);
          const blocks: HelperSelectSpec = { n, bits: f, window: { lo, k: 16 }, shape: SHAPE, blocks: BLOCKS, ring };
          const b = values(n, lo + 15 - 3, f, withRes);
          expect(check(blocks, b.v, b.res, await run(ss, blocks, b.v, b.res)), 'ambiguous fraction').to.be.below(0.1);
        }
    });

  // Z_2^24 (wire.ts SELECTION_RING_BITS): only for a selection with no truncation folded in, a
  // MaxPool's tree level in a wider program (lower-client-offline.ts window_ring).
  it('a selection in Z_2^24 (no truncation, no residual): ring elements in 3 bytes, exact for |x| < 2^22 with noise above bit 24 in the shares, the full window {0, 24} and [4, 20), plain and blocks; every message uniform mod 2^24', async () => {
    const ss = await sessions();
    const n = SHAPE.reduce((a, b) => a * b, 1);
    const full: HelperSelectSpec = { n, bits: 0, window: { lo: 0, k: 24 }, ring: 24 };
    const a = values(n, 24, 0, false);
    a.v[n - 1] = BigInt.asUintN(64, (1n << 22n) - 1n);
    a.v[n - 2] = BigInt.asUintN(64, -(1n << 22n) + 1n);
    // noise above bit 24: the value is only the word mod 2^24
    const noisy = a.v.map((x, i) => BigInt.asUintN(64, x + (BigInt(i * 7919) << 24n)));
    expect(check(full, a.v, null, await run(ss, full, noisy, null))).to.equal(0);
    const blocks: HelperSelectSpec = { n, bits: 0, window: { lo: 4, k: 16 }, shape: SHAPE, blocks: BLOCKS, ring: 24 };
    const b = values(n, 4 + 15 - 3, 0, false);
    expect(check(blocks, b.v, null, await run(ss, blocks, b.v, null)), 'ambiguous fraction').to.be.below(0.1);
    // P2's masked values and P1's selections and γ1: 3 bytes each, uniform for a zero and a random input
    const big = 4096;
    const spec: HelperSelectSpec = { n: big, bits: 0, window: { lo: 0, k: 24 }, ring: 24 };
    const views = async (v: BigUint64Array) => {
      const rs = (await sessions()) as RecordingSession[];
      await run(rs, spec, v, null);
      const get = (s: RecordingSession, from: number, round: number) => s.received.find((x) => x.from === from && x.round === round)!.data;
      const r3 = get(rs[1], 2, 3);
      return { masked0: get(rs[2], 0, 0), masked1: get(rs[2], 1, 1), select: r3.subarray(0, 3 * big), gamma1: r3.subarray(3 * big, 6 * big) };
    };
    const zero = await views(new BigUint64Array(big));
    const rnd = await views(randomSigned(big, 21));
    for (const key of ['masked0', 'masked1', 'select', 'gamma1'] as const) {
      expect(zero[key].length, key).to.equal(3 * big);
      expect(looksUniform(zero[key], 256), `${key} (zero input)`).to.equal(true);
      expect(looksUniform(rnd[key], 256), `${key} (random input)`).to.equal(true);
      expect(sameDistribution(zero[key], rnd[key], 256), key).to.equal(true);
    }
  });

  // The helper's copies in Z_2^24 or Z_2^32 inside a wider ring (copy-ring.ts): exact for
  // |x| < 2^(r − 2) on the selected elements, the truncation and the residual in the ring's own
  // bits; P2's copies r/8 bytes each, P1's wrap shares ℓ − r bits, all uniform.
  for (const [ring, copy] of [[40, 24], [48, 24], [48, 32], [56, 32], [64, 32]] as const)
    it(`the helper's copies in Z_2^${copy} inside Z_2^${ring}: the lift exact at |x| = 2^${copy - 2} − 2 and over random values, plain full window and blocks, f = 0, 12, 16, with and without a residual`, async () => {
      const ss = await sessions();
      const n = SHAPE.reduce((a, b) => a * b, 1);
      for (const f of [0, 12, 16].filter((f) => copy + f < ring))
        for (const withRes of [false, true]) {
          const full: HelperSelectSpec = { n, bits: f, window: { lo: 0, k: ring }, ring, copyRing: copy };
          // x = ⌊v/2^f⌋ + res below 2^(r − 3) at random, and the bound's extremes without a residual
          const a = values(n, copy - 1 + f, f, withRes);
          const top = (1n << BigInt(copy - 2)) - 2n;
          a.v[n - 1] = BigInt.asUintN(64, top << BigInt(f));
          a.v[n - 2] = BigInt.asUintN(64, -(top << BigInt(f)));
          a.v[n - 3] = BigInt.asUintN(64, (top << BigInt(f)) + (1n << BigInt(f)) - 1n);
          if (a.res) a.res[n - 1] = a.res[n - 2] = a.res[n - 3] = 0n;
          expect(check(full, a.v, a.res, await run(ss, full, a.v, a.res))).to.equal(0);
          const lo = Math.min(f + 4, ring - 16);
          const blocks: HelperSelectSpec = { n, bits: f, window: { lo, k: 16 }, shape: SHAPE, blocks: BLOCKS, ring, copyRing: copy };
          const b = values(n, lo + 15 - 3, f, withRes);
          expect(check(blocks, b.v, b.res, await run(ss, blocks, b.v, b.res)), 'ambiguous fraction').to.be.below(0.1);
        }
    });

  it("the helper's copies in Z_2^24 inside Z_2^48: every message P1 and P2 receive uniform, alike for a zero and a random input; 3 B per copy, 3 B of wrap share, 21 B per selected element in all beyond the comparison and the truncation", async () => {
    const big = 4096;
    const spec: HelperSelectSpec = { n: big, bits: 12, window: { lo: 0, k: 48 }, ring: 48, copyRing: 24 };
    const views = async (v: BigUint64Array) => {
      const rs = (await sessions()) as RecordingSession[];
      await run(rs, spec, v, null);
      const get = (s: RecordingSession, from: number, round: number) => s.received.find((x) => x.from === from && x.round === round)!.data;
      const r1 = get(rs[2], 1, 1);
      const r3 = get(rs[1], 2, 3);
      return { masked0: get(rs[2], 0, 0), masked1: r1.subarray(packedBytes(big, 1)), select: r3.subarray(0, 6 * big), wrap: r3.subarray(12 * big, 15 * big) };
    };
    const zero = await views(new BigUint64Array(big));
    const rnd = await views(randomSigned(big, 33));
    expect(zero.masked0.length).to.equal(3 * big);
    expect(zero.masked1.length).to.equal(3 * big);
    for (const key of ['masked0', 'masked1', 'select', 'wrap'] as const) {
      expect(looksUniform(zero[key], 256), `${key} (zero input)`).to.equal(true);
      expect(looksUniform(rnd[key], 256), `${key} (random input)`).to.equal(true);
      expect(sameDistribution(zero[key], rnd[key], 256), key).to.equal(true);
    }
    const c = PROTOCOL_COSTS.helperSelect({ n: big, patches: 100, selected: 1000, k: 48, bits: 12, ring: 6, copyRing: 24 });
    const sum = (pred: (f: (typeof c.flows)[number]) => boolean) => c.flows.filter(pred).reduce((t, f) => t + f.bytes, 0);
    const perSelected = ['hsel.masked', 'hsel.select', 'hsel.wrap'];
    expect(sum((f) => perSelected.includes(f.label)) + 6 * 1000, 'with the product\'s masked activation').to.equal(21 * 1000);
    expect(sum((f) => f.phase === 'online' && perSelected.includes(f.label))).to.equal(12 * 1000);
  });

  it('every channel identity: the standalone truncation (f > 0, two rounds) or nothing at all (f = 0), the residual added', async () => {
    const ss = await sessions();
    const n = SHAPE.reduce((a, b) => a * b, 1);
    const blocks: BlockSize[] = ['identity', 'identity', 'identity', 'identity'];
    for (const f of [0, 12]) {
      const spec: HelperSelectSpec = { n, bits: f, window: { lo: 0, k: 64 }, shape: SHAPE, blocks };
      const { v, res } = values(n, 50, f, true);
      const cost = PROTOCOL_COSTS.helperSelect({ n, patches: 0, selected: 0, k: 64, bits: f });
      expect(cost.rounds).to.equal(f > 0 ? 2 : 0);
      expect(check(spec, v, res, await run(ss, spec, v, res))).to.equal(0);
    }
  });

  it('16 B online per selected element beyond the comparison and the truncation, 8 B offline, none from P0 online but its digits and e ⊕ ρ; 3 rounds', () => {
    const [n, patches, selected, k, bits] = [1000, 300, 750, 16, 12];
    const c = PROTOCOL_COSTS.helperSelect({ n, patches, selected, k, bits });
    expect(c.rounds).to.equal(3);
    const sum = (pred: (f: (typeof c.flows)[number]) => boolean) => c.flows.filter(pred).reduce((t, f) => t + f.bytes, 0);
    expect(sum((f) => f.phase === 'online' && f.label.startsWith('hsel.') && f.label !== 'hsel.flip' && f.label !== 'hsel.flipshare')).to.equal(16 * selected);
    expect(sum((f) => f.phase === 'preprocessing' && f.label === 'hsel.masked')).to.equal(8 * selected);
    expect(c.flows.filter((f) => f.from === 0 && f.phase === 'online').map((f) => f.label).sort()).to.deep.equal(['drelu.compare', 'hsel.flip']);
  });

  // In Z_2^32 a smaller truncation and window, and values that fit below 2^30.
  for (const ring of [64, 40, 32]) describe(`security (a ring of ${ring} bits)`, () => {
    const shape: [number, number, number, number] = [1, 4, 32, 32];
    const blocks: BlockSize[] = [[2, 2], 'identity', [1, 1], [4, 4]];
    const n = shape.reduce((a, b) => a * b, 1);
    const f = ring === 32 ? 8 : 16;
    const room = ring === 32 ? 28 : 34;
    const spec: HelperSelectSpec = { n, bits: f, window: { lo: ring === 32 ? 12 : 20, k: 16 }, shape, blocks, ring };
    const rb = ring / 8;
    const { patches, selected } = sizes(spec);
    const { p: P } = digitField(16);

    /** Everything each party receives, by meaning (offline exchange = call 0, rounds 1..3). */
    const views = async (v: BigUint64Array, res: BigUint64Array) => {
      const ss = (await sessions()) as RecordingSession[];
      await run(ss, spec, v, res);
      const get = (s: RecordingSession, from: number, round: number) => {
        const r = s.received.find((x) => x.from === from && x.round === round);
        if (!r) throw new Error(`P${s.id} got nothing from P${from} in call ${round}`);
        return r.data;
      };
      const reveal = packedBytes(patches, 16);
      const digits = fieldBytes(patches * 16, P);
      const p1Offline = get(ss[1], 0, 0);
      const p2Round1 = get(ss[2], 1, 1);
      const p2Round2 = get(ss[2], 0, 2);
      const p1Round3 = get(ss[1], 2, 3);
      expect(ss[0].received.map((r) => [r.from, r.round, r.data.length]), 'P0 receives only P1\'s reveal half').to.deep.equal([[1, 1, reveal]]);
      return {
        bytes: {
          p0Reveal: get(ss[0], 1, 1),
          p1Reveal: p1Offline.subarray(0, reveal),
          p1H1: p1Offline.subarray(reveal),
          p1V: p1Round3.subarray(0, rb * selected),
          p1Gamma1: p1Round3.subarray(rb * selected, rb * (selected + patches)),
          p1Share: p1Round3.subarray(rb * (selected + patches)),
          p2Masked0: get(ss[2], 0, 0),
          p2Masked1: p2Round1.subarray(packedBytes(n, 1)),
        },
        bits: {
          p2D: unpackBits(p2Round1.subarray(0, packedBytes(n, 1)), n),
          p2Flip: unpackBits(p2Round2.subarray(digits), patches),
        },
        digits: {
          p1Bits: unpackField(get(ss[1], 2, 0), patches * 15, P),
          p2Digits0: unpackField(p2Round2.subarray(0, digits), patches * 16, P),
          p2Digits1: unpackField(get(ss[2], 1, 2), patches * 16, P),
        },
      };
    };

    it('every message each party receives looks uniform, alike for a zero and a random input', async () => {
      const zero = await views(new BigUint64Array(n), new BigUint64Array(n));
      const rv = values(n, room, f, true);
      const rnd = await views(rv.v, rv.res!);
      expect(zero.bytes.p1H1.length).to.equal(packedBytes(n, f));
      expect(zero.bytes.p2Masked0.length).to.equal(rb * selected);
      expect(zero.bytes.p1Share.length).to.equal(packedBytes(n, f));
      for (const v of [zero, rnd]) {
        for (const [name, b] of Object.entries(v.bytes)) expect(looksUniform(b, 256), name).to.equal(true);
        for (const [name, b] of Object.entries(v.bits)) expect(looksUniform(b, 2), name).to.equal(true);
        for (const [name, d] of Object.entries(v.digits)) expect(looksUniform(d, P), name).to.equal(true);
      }
      for (const name of Object.keys(zero.bytes) as (keyof typeof zero.bytes)[]) expect(sameDistribution(zero.bytes[name], rnd.bytes[name], 256), name).to.equal(true);
      for (const name of Object.keys(zero.bits) as (keyof typeof zero.bits)[]) expect(sameDistribution(zero.bits[name], rnd.bits[name], 2), name).to.equal(true);
      for (const name of Object.keys(zero.digits) as (keyof typeof zero.digits)[]) expect(sameDistribution(zero.digits[name], rnd.digits[name], P), name).to.equal(true);
    });

    it('two runs on the same input send different messages (fresh streams per session)', async () => {
      const { v, res } = values(n, room, f, true);
      const a = await views(v, res!);
      const b = await views(v, res!);
      expect(Buffer.from(a.bytes.p1V).equals(Buffer.from(b.bytes.p1V))).to.equal(false);
      expect(Buffer.from(a.bytes.p2Masked1).equals(Buffer.from(b.bytes.p2Masked1))).to.equal(false);
    });
  });
});
