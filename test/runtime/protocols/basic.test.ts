// Input sharing, reveal, local linear ops, truncation and the Beaver product against
// plaintext, with their costs checked against the cost table.

import { expect } from 'chai';
import { decode, encode, truncPublic } from '../../../runtime/ring/ring.js';
import { revealToClient, shareInput } from '../../../runtime/protocols/sharing.js';
import { addPublic, addShares, applyPublicLinear, avgPool, avgPoolDivisorFactor, scaleShare, subShares, sumPool, truncate, untruncatedPoolBits } from '../../../runtime/protocols/linear.js';
import { rng } from '../../passes/util.js';
import type { PoolParams } from '../../../runtime/ring/windows.js';
import { mulShares } from '../../../runtime/protocols/beaver.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { join, sessions, randomRing, randomSigned, split } from './harness.js';
import { withCost } from './costcheck.js';

describe('protocols: sharing, reveal, linear ops', () => {
  it('shares an input with no message and reveals it to P0 only', async () => {
    const ss = await sessions();
    const x = randomRing(100);
    const sh = await withCost(ss, PROTOCOL_COSTS.shareInput({ n: 100 }), async (s) => shareInput(s, s.id === 0 ? x : null, 100));
    expect(join(sh[0], sh[1])).to.deep.equal(x);
    expect(sh[1]).to.not.deep.equal(x);
    const out = await withCost(ss, PROTOCOL_COSTS.revealToClient({ n: 100 }), (s) => revealToClient(s, sh[s.id]));
    expect(out[0]).to.deep.equal(x);
    expect(out[1]).to.equal(null);
    expect(out[2]).to.equal(null);
  });

  for (const bits of [32, 40, 56])
    it(`reveals a value of Z_2^${bits} in ${bits / 8} bytes per element, sign-extended (shares with any high bits)`, async () => {
      const ss = await sessions();
      const x = randomSigned(100, bits - 2);
      x[0] = BigInt.asUintN(64, -(1n << BigInt(bits - 1)));
      x[1] = (1n << BigInt(bits - 1)) - 1n;
      const sh = split(x);
      const out = await withCost(ss, PROTOCOL_COSTS.revealToClient({ n: 100, ring: bits / 8 }), (s) => revealToClient(s, s.id === 2 ? new BigUint64Array(100) : sh[s.id], bits / 8));
      expect(out[0]).to.deep.equal(x);
    });

  it('add, sub, scale and add-public act on the shared value', async () => {
    const ss = await sessions();
    const x = randomRing(50);
    const y = randomRing(50);
    const xs = split(x);
    const ys = split(y);
    const c = 0xdead_beefn;
    const r = ss.map((s) => addPublic(s, scaleShare(subShares(addShares(xs[s.id], ys[s.id]), ys[s.id]), -3n), c));
    const v = join(r[0], r[1]);
    for (let i = 0; i < 50; i++) expect(v[i]).to.equal(BigInt.asUintN(64, x[i] * -3n + c));
  });

  it('truncation of shares is the plaintext shift within ±1 ulp, also at negative values', async () => {
    const ss = await sessions();
    const x = randomSigned(1000, 40);
    x[0] = 0n;
    x[1] = BigInt.asUintN(64, -1n);
    x[2] = 1n;
    x[3] = BigInt.asUintN(64, -(1n << 39n));
    const sh = split(x);
    const t = join(truncate(ss[0], sh[0], 12), truncate(ss[1], sh[1], 12));
    const ref = truncPublic(x, 12);
    for (let i = 0; i < x.length; i++) {
      const d = BigInt.asIntN(64, t[i] - ref[i]);
      expect(d >= -1n && d <= 1n, `x=${BigInt.asIntN(64, x[i])} got ${BigInt.asIntN(64, t[i])} want ${BigInt.asIntN(64, ref[i])}`).to.equal(true);
    }
  });

  it('sum- and average-pooling on shares match plaintext (average within the documented error)', async () => {
    const ss = await sessions();
    const p: PoolParams = { inShape: [1, 2, 5, 5], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
    const vals = Array.from({ length: 50 }, (_, i) => Math.sin(i) * 5);
    const f = 12;
    const x = encode(vals, f);
    const sh = split(x);
    const sums = join(sumPool(sh[0], p), sumPool(sh[1], p));
    const avg = decode(join(avgPool(ss[0], sh[0], p), avgPool(ss[1], sh[1], p)), f);
    // Plaintext over the same windows.
    let o = 0;
    for (let c = 0; c < 2; c++)
      for (let oy = 0; oy < 3; oy++)
        for (let ox = 0; ox < 3; ox++) {
          let s = 0n;
          let cnt = 0;
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const iy = oy * 2 - 1 + ky;
              const ix = ox * 2 - 1 + kx;
              if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5) continue;
              s += BigInt.asIntN(64, x[c * 25 + iy * 5 + ix]);
              cnt++;
            }
          expect(BigInt.asIntN(64, sums[o])).to.equal(s);
          const { shift } = avgPoolDivisorFactor(cnt);
          const want = Number(s) / cnt / 2 ** f;
          // Floor and share truncation: 2 units; the rounded reciprocal: |s|/2^(shift+1) units.
          const tol = (2 + Math.abs(Number(s)) / 2 ** (shift + 1)) / 2 ** f;
          expect(Math.abs(avg[o] - want), `output ${o}`).to.be.at.most(tol);
          o++;
        }
  });
  it('average pools with fewer reciprocal bits (divideBits) and untruncated: the window sums times round(2^t/D), t = log2 D for one power-of-two divisor', async () => {
    const ss = await sessions();
    const f = 12;
    const rand = rng(77);
    // a 7×7 plane (D = 49), a 4×4 plane (D = 16) and a padded 3×3 window (divisors 4, 6, 9)
    const cases: { p: PoolParams; include: boolean; bits: number }[] = [
      { p: { inShape: [1, 2, 7, 7], kernel: [7, 7], strides: [1, 1], pads: [0, 0, 0, 0] }, include: false, bits: 12 },
      { p: { inShape: [1, 2, 4, 4], kernel: [4, 4], strides: [1, 1], pads: [0, 0, 0, 0] }, include: false, bits: 16 },
      { p: { inShape: [1, 1, 5, 5], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, include: false, bits: 10 },
    ];
    for (const { p, include, bits } of cases) {
      const n = p.inShape.reduce((a, b) => a * b, 1);
      const x = encode(Array.from({ length: n }, () => (rand() - 0.5) * 40), f);
      const sh = split(x);
      const sums = join(sumPool(sh[0], p), sumPool(sh[1], p));
      const raw = join(avgPool(ss[0], sh[0], p, include, true, bits), avgPool(ss[1], sh[1], p, include, true, bits));
      const avg = decode(join(avgPool(ss[0], sh[0], p, include, false, bits), avgPool(ss[1], sh[1], p, include, false, bits)), f);
      // the divisor of every output, counted by hand
      const [, c, h, w] = p.inShape;
      const oh = (h + p.pads[0] + p.pads[2] - p.kernel[0]) / p.strides[0] + 1;
      const ow = (w + p.pads[1] + p.pads[3] - p.kernel[1]) / p.strides[1] + 1;
      const divisors: number[] = [];
      for (let ch = 0; ch < c; ch++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            let cnt = 0;
            for (let ky = 0; ky < p.kernel[0]; ky++)
              for (let kx = 0; kx < p.kernel[1]; kx++) {
                const iy = oy * p.strides[0] - p.pads[0] + ky;
                const ix = ox * p.strides[1] - p.pads[1] + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) cnt++;
              }
            divisors.push(cnt);
          }
      const single = new Set(divisors).size === 1 && Number.isInteger(Math.log2(divisors[0]));
      // the truncation the step after must make: log2 D for the 4×4 plane, else the bits asked
      const t = single ? Math.log2(divisors[0]) : bits;
      expect(untruncatedPoolBits(divisors, bits), `D ${[...new Set(divisors)]}`).to.equal(t);
      divisors.forEach((d, o) => {
        const s = BigInt.asIntN(64, sums[o]);
        const v = BigInt.asIntN(64, raw[o]);
        // untruncated: s·m with m within 1/2 of 2^t/d (exactly s when the plane is 2^t)
        if (single) expect(v, `output ${o}`).to.equal(s);
        else expect(Math.abs(Number(v) / 2 ** t - Number(s) / d), `output ${o}`).to.be.at.most(Math.abs(Number(s)) / 2 ** (t + 1) + 1e-9);
        // truncated on shares: within 2 units and the reciprocal's error |s|/2^(b+1) of s/d
        const tol = (2 + Math.abs(Number(s)) / 2 ** (bits + 1)) / 2 ** f;
        expect(Math.abs(avg[o] - Number(s) / d / 2 ** f), `output ${o}`).to.be.at.most(tol);
      });
    }
  });
});

describe('protocols: Beaver product', () => {
  it('x·y of shared vectors equals the plaintext product mod 2^64, at its cost', async () => {
    const ss = await sessions();
    const n = 200;
    const x = randomRing(n);
    const y = randomRing(n);
    x[0] = 0n;
    y[1] = BigInt.asUintN(64, -1n);
    const xs = split(x);
    const ys = split(y);
    const z = await withCost(ss, PROTOCOL_COSTS.mulShares({ n }), (s) => mulShares(s, xs[s.id], ys[s.id]));
    const v = join(z[0], z[1]);
    for (let i = 0; i < n; i++) expect(v[i]).to.equal(BigInt.asUintN(64, x[i] * y[i]));
  });

  it('fixed-point product followed by truncation', async () => {
    const ss = await sessions();
    const f = 12;
    const a = [1.5, -2.25, 0, 3.125, -0.001];
    const b = [2, 4, 7, -1, 1000];
    const xs = split(encode(a, f));
    const ys = split(encode(b, f));
    const z = await Promise.all(ss.map(async (s) => truncate(s, await mulShares(s, xs[s.id], ys[s.id]), f)));
    const v = decode(join(z[0], z[1]), f);
    const ea = decode(encode(a, f), f);
    const eb = decode(encode(b, f), f);
    a.forEach((_, i) => expect(Math.abs(v[i] - ea[i] * eb[i])).to.be.at.most(2 / 2 ** f));
  });
});

describe('protocols: public linear maps (resize)', () => {
  it('nearest resize is an exact gather; bilinear weights give the plaintext mix within ±1 ulp', async () => {
    const ss = await sessions();
    const x = randomSigned(16, 30); // 4×4 map
    const sh = split(x);
    // Nearest 2× upsampling to 8×8.
    const out = Int32Array.from({ length: 64 }, (_, o) => o);
    const inp = Int32Array.from({ length: 64 }, (_, o) => Math.floor(Math.floor(o / 8) / 2) * 4 + Math.floor((o % 8) / 2));
    const near = { outSize: 64, output: out, input: inp, coef: new BigInt64Array(64).fill(1n), shift: 0 };
    const y = join(applyPublicLinear(ss[0], sh[0], near), applyPublicLinear(ss[1], sh[1], near));
    for (let o = 0; o < 64; o++) expect(y[o]).to.equal(x[inp[o]]);
    // Output 0 = 0.25·x0 + 0.75·x1, output 1 = −0.5·x2 + 1.5·x3 (coefficients with 12 bits).
    const mix = { outSize: 2, output: Int32Array.from([0, 0, 1, 1]), input: Int32Array.from([0, 1, 2, 3]), coef: BigInt64Array.from([1024n, 3072n, -2048n, 6144n]), shift: 12 };
    const z = join(applyPublicLinear(ss[0], sh[0], mix), applyPublicLinear(ss[1], sh[1], mix));
    const v = (i: number) => BigInt.asIntN(64, x[i]);
    const want = [(v(0) * 1024n + v(1) * 3072n) >> 12n, (v(2) * -2048n + v(3) * 6144n) >> 12n];
    want.forEach((w, o) => {
      const d = BigInt.asIntN(64, z[o]) - w;
      expect(d >= -1n && d <= 1n, `output ${o}`).to.equal(true);
    });
  });
});
