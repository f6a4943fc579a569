// The protocols of MobileNetV3-style networks against plaintext, at their cost: the broadcasting
// Beaver product of two shared tensors (mulBroadcast), HardSigmoid (local affine map + Clip) and
// the piecewise-linear Sigmoid. The plaintext references are the fixed-point interpreter's ring
// functions (P0's exact floor) and, for the product, BigInt arithmetic; edge values: HardSigmoid's
// saturation points, |x| far beyond the sigmoid's knots, zero; shapes [N,C,1,1]×[N,C,H,W] and
// others. What every party receives looks uniform (the checks of stats.ts, which can fail).

import { expect } from 'chai';
import { mulBroadcast, type ProductShapes } from '../../../runtime/protocols/beaver.js';
import { hardSigmoid, hardSigmoidAffine, unitInterval } from '../../../runtime/protocols/hard-sigmoid.js';
import { SIGMOID_KNOTS, SIGMOID_MAX_ERROR, SIGMOID_PIECES, sigmoid, sigmoidCombine, sigmoidPiecewise, sigmoidShifted } from '../../../runtime/protocols/sigmoid.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { decode, encode } from '../../../runtime/ring/ring.js';
import { reluWindow } from '../../../ir/interp/fixed/kernels.js';
import { withCost } from './costcheck.js';
import { join, randomRing, randomSigned, run3, sessions, split } from './harness.js';
import type { RecordingSession } from './harness.js';
import { looksUniform, sameDistribution } from './stats.js';

const F = 12;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Plaintext broadcast product mod 2^64, by index arithmetic (independent of runtime/local). */
function plainProduct(x: BigUint64Array, y: BigUint64Array, p: ProductShapes): BigUint64Array {
  const out = p.outShape, n = size(out);
  const z = new BigUint64Array(n);
  const index = (shape: readonly number[], coords: number[]) => {
    const lead = out.length - shape.length;
    let at = 0;
    for (let d = 0; d < shape.length; d++) at = at * shape[d] + (shape[d] === 1 ? 0 : coords[d + lead]);
    return at;
  };
  const coords = new Array<number>(out.length).fill(0);
  for (let i = 0; i < n; i++) {
    z[i] = BigInt.asUintN(64, x[index(p.xShape, coords)] * y[index(p.yShape, coords)]);
    for (let d = out.length - 1; d >= 0; d--) {
      if (++coords[d] < out[d]) break;
      coords[d] = 0;
    }
  }
  return z;
}

/** The fixed-point interpreter's HardSigmoid on plaintext ring values. */
function plainHardSigmoid(x: BigUint64Array, alpha: number, beta: number): BigUint64Array {
  const y = hardSigmoidAffine(x, alpha, beta, F, 0);
  const [lo, hi] = unitInterval(F);
  const rl = reluWindow(y.map((e) => e - lo), 0, 64), rh = reluWindow(y.map((e) => e - hi), 0, 64);
  return rl.map((e, i) => lo + e - rh[i]);
}

/** The fixed-point interpreter's Sigmoid on plaintext ring values. */
function plainSigmoid(x: BigUint64Array): BigUint64Array {
  return sigmoidCombine(reluWindow(sigmoidShifted(x, F, 0), 0, 64), x.length, F, 0);
}

const signed = (v: bigint) => BigInt.asIntN(64, v);

describe('protocols: product of two shared tensors with broadcasting', function () {
  this.timeout(60000);
  const cases: ProductShapes[] = [
    { xShape: [1, 6, 1, 1], yShape: [1, 6, 5, 4], outShape: [1, 6, 5, 4] },
    { xShape: [2, 3, 4], yShape: [2, 3, 4], outShape: [2, 3, 4] },
    { xShape: [1, 4, 3, 3], yShape: [1, 4, 1, 1], outShape: [1, 4, 3, 3] },
    { xShape: [3, 1], yShape: [1, 5], outShape: [3, 5] },
    { xShape: [5], yShape: [2, 3, 5], outShape: [2, 3, 5] },
    { xShape: [1], yShape: [7], outShape: [7] },
  ];
  for (const p of cases) {
    it(`[${p.xShape}] × [${p.yShape}]: the plaintext product mod 2^64, at the cost of PROTOCOL_COSTS.mulBroadcast`, async () => {
      const ss = await sessions();
      const x = randomRing(size(p.xShape)), y = randomRing(size(p.yShape));
      x[0] = 0n;
      y[y.length - 1] = BigInt.asUintN(64, -1n);
      const xs = split(x), ys = split(y);
      const cost = PROTOCOL_COSTS.mulBroadcast({ xSize: x.length, ySize: y.length, outSize: size(p.outShape) });
      const z = await withCost(ss, cost, (s) => mulBroadcast(s, xs[s.id], ys[s.id], p));
      expect(Array.from(join(z[0], z[1]))).to.deep.equal(Array.from(plainProduct(x, y, p)));
      expect(Array.from(z[2]).every((v) => v === 0n), 'P2 holds no share').to.equal(true);
    });
  }

  it('every received message looks uniform, for zero and random operands alike ([1,C,1,1] × [1,C,H,W])', async () => {
    const p: ProductShapes = { xShape: [1, 40, 1, 1], yShape: [1, 40, 8, 8], outShape: [1, 40, 8, 8] };
    const views = async (x: BigUint64Array, y: BigUint64Array) => {
      const ss = await sessions();
      const xs = split(x), ys = split(y);
      await run3(ss, (s) => mulBroadcast(s, xs[s.id], ys[s.id], p));
      const got = (r: RecordingSession, from: number) => r.received.filter((f) => f.from === from).map((f) => f.data);
      expect(ss[2].received.length, 'P2 receives nothing').to.equal(0);
      return { p0Open: got(ss[0], 1)[0], p1Open: got(ss[1], 0)[0], p1Triple: got(ss[1], 2)[0] };
    };
    const zero = await views(new BigUint64Array(40), new BigUint64Array(40 * 64));
    const rnd = await views(randomSigned(40, 12), randomSigned(40 * 64, 14));
    for (const name of Object.keys(zero) as (keyof typeof zero)[]) {
      expect(looksUniform(zero[name], 256), name).to.equal(true);
      expect(looksUniform(rnd[name], 256), name).to.equal(true);
      expect(sameDistribution(zero[name], rnd[name], 256), name).to.equal(true);
    }
  });
});

describe('protocols: HardSigmoid and Sigmoid on shares', function () {
  this.timeout(60000);

  it('HardSigmoid equals the fixed-point interpreter within 1 ulp, saturation points included, at the cost of PROTOCOL_COSTS.hardSigmoid', async () => {
    for (const [alpha, beta] of [[1 / 6, 0.5], [0.2, 0.5], [-0.7, 0.25], [2.5, -1]]) {
      const ss = await sessions();
      // The saturation points −β/α and (1 − β)/α exactly and a step either side, zero, far values, random.
      const edges = [-beta / alpha, (1 - beta) / alpha].flatMap((t) => [t - 2 ** -F, t, t + 2 ** -F]);
      const real = [...edges, 0, 1e4, -1e4, ...Array.from(decode(randomSigned(200, F + 4), F))];
      const x = encode(real, F);
      const xs = split(x);
      const y = await withCost(ss, PROTOCOL_COSTS.hardSigmoid({ n: x.length, frac: F }), (s) => hardSigmoid(s, xs[s.id], alpha, beta, F));
      const got = join(y[0], y[1]), want = plainHardSigmoid(x, alpha, beta);
      for (let i = 0; i < x.length; i++) {
        expect(Number(signed(got[i] - want[i])), `x=${real[i]}`).to.be.within(-1, 1);
        const exact = Math.max(0, Math.min(1, alpha * real[i] + beta));
        expect(Math.abs(Number(signed(got[i])) / 2 ** F - exact), `x=${real[i]} vs float`).to.be.at.most(3 * 2 ** -F);
      }
    }
  });

  it('Sigmoid equals the fixed-point interpreter within 1 ulp and σ within SIGMOID_MAX_ERROR, at the cost of PROTOCOL_COSTS.sigmoid', async () => {
    const ss = await sessions();
    const knots = SIGMOID_KNOTS.flatMap((t) => [t - 2 ** -F, t, t + 2 ** -F]);
    const real = [...knots, 0, 40, -40, 3e5, -3e5, ...Array.from(decode(randomSigned(300, F + 4), F))];
    const x = encode(real, F);
    const xs = split(x);
    const y = await withCost(ss, PROTOCOL_COSTS.sigmoid({ n: x.length }), (s) => sigmoid(s, xs[s.id], F));
    const got = join(y[0], y[1]), want = plainSigmoid(x);
    for (let i = 0; i < x.length; i++) {
      expect(Number(signed(got[i] - want[i])), `x=${real[i]}`).to.be.within(-1, 1);
      const exact = 1 / (1 + Math.exp(-real[i]));
      expect(Math.abs(Number(signed(got[i])) / 2 ** F - exact), `x=${real[i]}`).to.be.at.most(SIGMOID_MAX_ERROR(F));
    }
    expect(PROTOCOL_COSTS.sigmoid({ n: 1 }).rounds).to.equal(3);
    expect(SIGMOID_PIECES).to.equal(10);
  });

  it('the documented error bound holds on a dense grid, in real arithmetic and in fixed point at 8, 12 and 16 bits', () => {
    let realMax = 0;
    for (let x = -20; x <= 20; x += 1 / 512) realMax = Math.max(realMax, Math.abs(sigmoidPiecewise(x) - 1 / (1 + Math.exp(-x))));
    expect(realMax).to.be.at.most(0.0066);
    expect(realMax, 'the bound is tight, not loose').to.be.above(0.006);
    for (const f of [8, 12, 16]) {
      const grid = Array.from({ length: 40 * 256 + 1 }, (_, i) => -20 + i / 256);
      const y = decode(sigmoidCombine(reluWindow(sigmoidShifted(encode(grid, f), f, 0), 0, 64), grid.length, f, 0), f);
      const err = Math.max(...grid.map((x, i) => Math.abs(y[i] - 1 / (1 + Math.exp(-x)))));
      expect(err, `frac ${f}`).to.be.at.most(SIGMOID_MAX_ERROR(f));
    }
  });

  it('every received message of HardSigmoid and Sigmoid looks uniform, for zero and random inputs alike', async () => {
    const n = 400;
    const views = async (x: BigUint64Array) => {
      const ss = await sessions();
      const xs = split(x);
      await run3(ss, (s) => hardSigmoid(s, xs[s.id], 1 / 6, 0.5, F));
      await run3(ss, (s) => sigmoid(s, xs[s.id], F));
      // Ring messages: P0's and P1's reveals and P1's corrections (the compare's digits are
      // checked in their own domain by security.test.ts, on the same compare protocol).
      const bytes = (r: RecordingSession, from: number) => Buffer.concat(r.received.filter((f) => f.from === from).map((f) => f.data));
      return { p0FromP1: bytes(ss[0], 1), p1FromP0: bytes(ss[1], 0) };
    };
    const zero = await views(new BigUint64Array(n));
    const rnd = await views(randomSigned(n, F + 3));
    for (const name of ['p0FromP1', 'p1FromP0'] as const) {
      expect(looksUniform(zero[name], 256), name).to.equal(true);
      expect(looksUniform(rnd[name], 256), name).to.equal(true);
      expect(sameDistribution(zero[name], rnd[name], 256), name).to.equal(true);
    }
  });
});
