// The fast ring arithmetic (runtime/ring/ring.ts, WebAssembly kernels) against the BigInt reference
// (runtime/ring/ring-reference.ts), bit for bit, on random values and edge values.
import { expect } from 'chai';
import * as fast from '../../../runtime/ring/ring.js';
import * as ref from '../../../runtime/ring/ring-reference.js';
import { conv2dOutShape, type Conv2dParams } from '../../../runtime/ring/windows.js';
import { keepPackedWeights } from '../../../runtime/ring/conv-blocks.js';

const M64 = (1n << 64n) - 1n;

/** Deterministic test randomness (xorshift128+), so a failure reproduces. */
export class TestRandom {
  private s0 = 0x9e3779b97f4a7c15n;
  private s1 = 0xbf58476d1ce4e5b9n;
  constructor(seed: number) {
    this.s0 ^= BigInt(seed);
    for (let i = 0; i < 8; i++) this.u64();
  }
  u64(): bigint {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= (x << 23n) & M64;
    x ^= x >> 17n;
    x ^= y ^ (y >> 26n);
    this.s1 = x;
    return (this.s1 + y) & M64;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Number(this.u64() % BigInt(hi - lo + 1));
  }
  /** Ring elements: uniform, small signed, and edge values mixed. */
  ring(n: number): BigUint64Array {
    const out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      const kind = this.int(0, 3);
      if (kind === 0) out[i] = this.u64();
      else if (kind === 1) out[i] = BigInt.asUintN(64, BigInt(this.int(-100000, 100000)));
      else if (kind === 2) out[i] = EDGES[this.int(0, EDGES.length - 1)];
      else out[i] = this.u64() >> BigInt(this.int(0, 63));
    }
    return out;
  }
}

const EDGES = [0n, 1n, 2n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) - 1n, 1n << 63n, (1n << 63n) + 1n, M64, M64 - 1n, BigInt.asUintN(64, -(1n << 32n)), BigInt.asUintN(64, -4096n)];

export function expectSame(got: ArrayLike<bigint | number>, want: ArrayLike<bigint | number>, what: string): void {
  expect(got.length, `${what}: length`).to.equal(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

/** Sizes around the SIMD pair boundary and the kernels' chunk boundary (2^14). */
const SIZES = [0, 1, 2, 3, 17, (1 << 14) - 1, (1 << 14) + 3, 3 * (1 << 14) + 1];

describe('runtime/ring: elementwise ops against the BigInt reference', () => {
  const rnd = new TestRandom(1);
  for (const n of SIZES) {
    it(`add, sub, mul, neg at n=${n}`, () => {
      const a = rnd.ring(n);
      const b = rnd.ring(n);
      expectSame(fast.add(a, b), ref.add(a, b), 'add');
      expectSame(fast.sub(a, b), ref.sub(a, b), 'sub');
      expectSame(fast.mul(a, b), ref.mul(a, b), 'mul');
      expectSame(fast.neg(a), ref.neg(a), 'neg');
    });
  }

  it('every pair of edge values', () => {
    const a = new BigUint64Array(EDGES.length ** 2);
    const b = new BigUint64Array(EDGES.length ** 2);
    EDGES.forEach((x, i) => EDGES.forEach((y, j) => ((a[i * EDGES.length + j] = x), (b[i * EDGES.length + j] = y))));
    for (const op of ['add', 'sub', 'mul'] as const) expectSame(fast[op](a, b), ref[op](a, b), op);
    expectSame(fast.neg(a), ref.neg(a), 'neg');
  });

  it('writes into a given output, also in place', () => {
    const a = rnd.ring(1000);
    const b = rnd.ring(1000);
    const want = ref.add(a, b);
    const inPlace = a.slice();
    expect(fast.add(inPlace, b, inPlace)).to.equal(inPlace);
    expectSame(inPlace, want, 'add in place');
    const wantNeg = ref.neg(b);
    const nb = b.slice();
    fast.neg(nb, nb);
    expectSame(nb, wantNeg, 'neg in place');
  });

  it('scale by public constants, negative and beyond 2^64', () => {
    const a = rnd.ring(5000);
    for (const c of [0n, 1n, -1n, 4096n, -4096n, 1n << 63n, M64, (1n << 64n) + 3n, -(1n << 70n) - 5n, rnd.u64()]) {
      expectSame(fast.scale(a, c), ref.scale(a, c), `scale by ${c}`);
    }
  });

  it('truncShare (both parties) and truncPublic for shifts 0..70', () => {
    const a = rnd.ring(3001);
    for (const f of [0, 1, 2, 12, 13, 31, 32, 33, 62, 63, 64, 70]) {
      expectSame(fast.truncShare(a, f, 0), ref.truncShare(a, f, 0), `truncShare p0 f=${f}`);
      expectSame(fast.truncShare(a, f, 1), ref.truncShare(a, f, 1), `truncShare p1 f=${f}`);
      expectSame(fast.truncPublic(a, f), ref.truncPublic(a, f), `truncPublic f=${f}`);
    }
  });

  it('truncShare of two shares sums to x >> f up to ±1', () => {
    const n = 20000;
    const f = 12;
    const x0 = new BigUint64Array(n).map(() => rnd.u64()); // a share is uniform
    const x = new BigUint64Array(n);
    const x1 = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = BigInt.asUintN(64, BigInt(rnd.int(-(2 ** 40), 2 ** 40)) * BigInt(rnd.int(1, 1000)));
      x1[i] = x[i] - x0[i];
    }
    const t = fast.add(fast.truncShare(x0, f, 0), fast.truncShare(x1, f, 1));
    const want = ref.truncPublic(x, f);
    let failures = 0;
    for (let i = 0; i < n; i++) {
      const d = BigInt.asIntN(64, t[i] - want[i]);
      if (d < -1n || d > 1n) failures++;
    }
    // Wrong only when the shares wrap around 2^63: probability ~|x|/2^63 < 2^-13 per element.
    expect(failures).to.be.at.most(10);
  });

  it('encode matches the reference, rounding and wrapping included', () => {
    const xs = [0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1 / 3, -1 / 3, 1e-9, 123.456, -123.456, 2 ** 40, -(2 ** 40),
      2 ** 52 + 0.5, 2 ** 53, 2 ** 63, -(2 ** 63), 2 ** 64, 3 * 2 ** 64 + 2 ** 20, -(2 ** 70), 1e200, -1e200, 0.49999999999999994];
    for (let i = 0; i < 2000; i++) xs.push((rnd.int(-1e9, 1e9) / 1e3) * (rnd.int(0, 1) ? 1 : 1e-6));
    for (const f of [0, 1, 12, 20, 40]) expectSame(fast.encode(xs, f), ref.encode(xs, f), `encode f=${f}`);
    expect(() => fast.encode([NaN], 12)).to.throw(RangeError);
    expect(() => fast.encode([Infinity], 12)).to.throw(RangeError);
  });

  it('decode matches the reference (two\'s complement, rounding of wide values)', () => {
    const a = rnd.ring(5000);
    for (const f of [0, 1, 12, 20, 63]) expectSame(fast.decode(a, f), ref.decode(a, f), `decode f=${f}`);
    // A view at an offset into a larger buffer.
    const sub = a.subarray(7, 100);
    expectSame(fast.decode(sub, 12), ref.decode(sub, 12), 'decode of a subarray');
  });
});

/** A random convolution whose output is at least 1×1. */
function randomConv(rnd: TestRandom): Conv2dParams {
  for (;;) {
    const group = rnd.int(1, 3);
    const cg = rnd.int(1, 4);
    const og = rnd.int(1, 5);
    const kh = rnd.int(1, 3);
    const kw = rnd.int(1, 3);
    const p: Conv2dParams = {
      inShape: [rnd.int(1, 2), group * cg, rnd.int(1, 8), rnd.int(1, 8)],
      weightShape: [group * og, cg, kh, kw],
      strides: [rnd.int(1, 3), rnd.int(1, 3)],
      pads: [rnd.int(0, 2), rnd.int(0, 2), rnd.int(0, 2), rnd.int(0, 2)],
      dilations: [rnd.int(1, 2), rnd.int(1, 2)],
      group,
    };
    const [, , oh, ow] = conv2dOutShape(p);
    if (oh >= 1 && ow >= 1) return p;
  }
}

function checkConv(rnd: TestRandom, p: Conv2dParams, what: string): void {
  const [n, c, h, w] = p.inShape;
  const [o, cg, kh, kw] = p.weightShape;
  const x = rnd.ring(n * c * h * w);
  const wt = rnd.ring(o * cg * kh * kw);
  expectSame(fast.conv2d(x, wt, p), ref.conv2d(x, wt, p), `${what} ${JSON.stringify(p)}`);
}

describe('runtime/ring: conv2d and matmul against the BigInt reference', () => {
  const rnd = new TestRandom(2);

  it('conv2dOutShape on hand-computed shapes', () => {
    const base = { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 } as const;
    expect(conv2dOutShape({ ...base, inShape: [1, 3, 224, 224], weightShape: [64, 3, 7, 7], strides: [2, 2], pads: [3, 3, 3, 3] })).to.deep.equal([1, 64, 112, 112]);
    expect(conv2dOutShape({ ...base, inShape: [2, 64, 56, 56], weightShape: [64, 64, 3, 3], pads: [1, 1, 1, 1] })).to.deep.equal([2, 64, 56, 56]);
    expect(conv2dOutShape({ ...base, inShape: [1, 4, 9, 9], weightShape: [4, 4, 3, 3], dilations: [2, 2] })).to.deep.equal([1, 4, 5, 5]);
    expect(conv2dOutShape({ ...base, inShape: [1, 1, 5, 6], weightShape: [1, 1, 2, 3], pads: [1, 0, 0, 2], strides: [2, 3] })).to.deep.equal([1, 1, 3, 2]);
  });

  it('random shapes: groups, strides, dilations, asymmetric pads', () => {
    for (let t = 0; t < 150; t++) checkConv(rnd, randomConv(rnd), `random #${t}`);
  });

  it('depthwise, pointwise 1×1, strided 1×1', () => {
    checkConv(rnd, { inShape: [1, 8, 9, 7], weightShape: [8, 1, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 8 }, 'depthwise');
    checkConv(rnd, { inShape: [2, 6, 7, 5], weightShape: [12, 1, 3, 3], strides: [2, 2], pads: [1, 0, 1, 2], dilations: [1, 1], group: 6 }, 'depthwise ×2');
    checkConv(rnd, { inShape: [2, 5, 6, 7], weightShape: [7, 5, 1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 }, 'pointwise');
    checkConv(rnd, { inShape: [1, 6, 7, 7], weightShape: [4, 6, 1, 1], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 }, 'strided 1×1');
    checkConv(rnd, { inShape: [1, 4, 5, 5], weightShape: [6, 4, 1, 1], strides: [1, 1], pads: [1, 0, 0, 1], dilations: [1, 1], group: 1 }, 'padded 1×1');
  });

  it('depthwise layers on random shapes (multipliers, strides, dilations, pads)', () => {
    for (let t = 0; t < 60; t++) {
      const c = rnd.int(1, 4);
      const mult = rnd.int(1, 3);
      const p: Conv2dParams = {
        inShape: [rnd.int(1, 2), c, rnd.int(1, 9), rnd.int(1, 9)],
        weightShape: [c * mult, 1, rnd.int(1, 3), rnd.int(2, 3)],
        strides: [rnd.int(1, 3), rnd.int(1, 3)],
        pads: [rnd.int(0, 3), rnd.int(0, 3), rnd.int(0, 3), rnd.int(0, 3)],
        dilations: [rnd.int(1, 2), rnd.int(1, 2)],
        group: c,
      };
      const [, , oh, ow] = conv2dOutShape(p);
      if (oh >= 1 && ow >= 1) checkConv(rnd, p, `depthwise #${t}`);
    }
  });

  it('layers larger than one column block (blocked im2col and GEMM)', () => {
    checkConv(rnd, { inShape: [1, 48, 10, 9], weightShape: [9, 48, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 }, '3×3 deep');
    checkConv(rnd, { inShape: [1, 128, 16, 17], weightShape: [6, 128, 1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 }, '1×1 deep');
    checkConv(rnd, { inShape: [1, 3, 30, 30], weightShape: [5, 3, 7, 7], strides: [2, 2], pads: [3, 3, 3, 3], dilations: [1, 1], group: 1 }, 'stem 7×7/2');
  });

  it('weights that fit in 32 bits (the gemm32 path), and one weight just outside (the 64-bit path)', () => {
    const small = (n: number) => {
      const w = new BigUint64Array(n);
      const edges = [0n, 1n, -1n, (1n << 31n) - 1n, -(1n << 31n), -4096n];
      for (let i = 0; i < n; i++) w[i] = BigInt.asUintN(64, rnd.int(0, 2) === 0 ? edges[rnd.int(0, edges.length - 1)] : BigInt(rnd.int(-(2 ** 31), 2 ** 31 - 1)));
      return w;
    };
    const shapes: Conv2dParams[] = [
      ...Array.from({ length: 40 }, () => randomConv(rnd)),
      { inShape: [1, 48, 10, 9], weightShape: [9, 48, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
      { inShape: [1, 130, 16, 17], weightShape: [7, 130, 1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 },
    ];
    for (const [t, p] of shapes.entries()) {
      const [n, c, h, w] = p.inShape;
      const [o, cg, kh, kw] = p.weightShape;
      const x = rnd.ring(n * c * h * w);
      const wt = small(o * cg * kh * kw);
      expectSame(fast.conv2d(x, wt, p), ref.conv2d(x, wt, p), `32-bit weights #${t} ${JSON.stringify(p)}`);
      wt[rnd.int(0, wt.length - 1)] = rnd.int(0, 1) ? 1n << 31n : BigInt.asUintN(64, -(1n << 31n) - 1n);
      expectSame(fast.conv2d(x, wt, p), ref.conv2d(x, wt, p), `one 33-bit weight #${t} ${JSON.stringify(p)}`);
    }
  });

  it('weights kept packed (keepPackedWeights): later calls from the kept packing, another shape of the same array, weights that do not fit', () => {
    const small = (n: number) => BigUint64Array.from({ length: n }, () => BigInt.asUintN(64, BigInt(rnd.int(-(2 ** 31), 2 ** 31 - 1))));
    const p: Conv2dParams = { inShape: [1, 6, 9, 8], weightShape: [5, 6, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
    const q: Conv2dParams = { inShape: [1, 10, 7, 7], weightShape: [6, 5, 3, 3], strides: [2, 1], pads: [0, 1, 1, 0], dilations: [1, 1], group: 2 };
    const fitting = small(5 * 6 * 9);
    const wide = small(5 * 6 * 9);
    wide[17] = 1n << 40n;
    for (const wt of [fitting, wide]) {
      keepPackedWeights(wt);
      for (const [layer, shape] of [p, q, p].entries())
        for (let call = 0; call < 3; call++) {
          const x = rnd.ring(shape.inShape.reduce((a, b) => a * b, 1));
          expectSame(fast.conv2d(x, wt, shape), ref.conv2d(x, wt, shape), `kept weights as layer ${layer}, call ${call}`);
        }
    }
  });

  it('conv2d in Z_2^32 (gemmRing32): low words equal the reference\'s on random and deep shapes, with weights of any size, kept packed or not', () => {
    const low = (a: ArrayLike<bigint>) => Array.from(a, (v) => v & 0xffffffffn);
    const small = (n: number) => BigUint64Array.from({ length: n }, () => BigInt.asUintN(64, BigInt(rnd.int(-(2 ** 31), 2 ** 31 - 1))));
    const shapes: Conv2dParams[] = [
      ...Array.from({ length: 60 }, () => randomConv(rnd)),
      { inShape: [1, 48, 10, 9], weightShape: [9, 48, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
      { inShape: [1, 130, 16, 17], weightShape: [7, 130, 1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 },
      { inShape: [1, 3, 30, 30], weightShape: [5, 3, 7, 7], strides: [2, 2], pads: [3, 3, 3, 3], dilations: [1, 1], group: 1 },
      { inShape: [2, 6, 7, 5], weightShape: [12, 1, 3, 3], strides: [2, 2], pads: [1, 0, 1, 2], dilations: [1, 1], group: 6 },
    ];
    for (const [t, p] of shapes.entries()) {
      const [n, c, h, w] = p.inShape;
      const [o, cg, kh, kw] = p.weightShape;
      const x = rnd.ring(n * c * h * w);
      // A one-time mask W − B has 64-bit entries; P1's clear weights fit in 32 bits.
      for (const wt of [rnd.ring(o * cg * kh * kw), small(o * cg * kh * kw)]) {
        const want = low(ref.conv2d(x, wt, p));
        expect(low(fast.conv2d(x, wt, p, undefined, 32)), `#${t} ${JSON.stringify(p)}`).to.deep.equal(want);
      }
    }
    // Kept weights (P1's, keepConvWeights): the same packing serves Z_2^32, fitting or not.
    const p: Conv2dParams = { inShape: [1, 6, 9, 8], weightShape: [5, 6, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
    const wide = small(5 * 6 * 9);
    wide[11] = 1n << 40n;
    for (const wt of [small(5 * 6 * 9), wide]) {
      fast.keepConvWeights(wt, p);
      for (let call = 0; call < 3; call++) {
        const x = rnd.ring(6 * 9 * 8);
        expect(low(fast.conv2d(x, wt, p, undefined, 32)), `kept weights, call ${call}`).to.deep.equal(low(ref.conv2d(x, wt, p)));
        expectSame(fast.conv2d(x, wt, p), ref.conv2d(x, wt, p), `kept weights in Z_2^64 after Z_2^32, call ${call}`);
      }
    }
  });

  it('conv2d with a per-channel bias', () => {
    for (let t = 0; t < 20; t++) {
      const p = randomConv(rnd);
      const [n, c, h, w] = p.inShape;
      const [o, cg, kh, kw] = p.weightShape;
      const x = rnd.ring(n * c * h * w);
      const wt = rnd.ring(o * cg * kh * kw);
      const bias = rnd.ring(o);
      expectSame(fast.conv2d(x, wt, p, bias), ref.conv2dBias(x, wt, p, bias), `conv2d+bias ${JSON.stringify(p)}`);
    }
  });

  it('matmulT with every transpose combination and a bias', () => {
    for (let t = 0; t < 24; t++) {
      const [m, k, n] = [rnd.int(1, 9), rnd.int(0, 12), rnd.int(1, 9)];
      const a = rnd.ring(m * k);
      const b = rnd.ring(k * n);
      const bias = t % 3 === 0 ? rnd.ring(n) : undefined;
      const transA = (t & 1) === 1;
      const transB = (t & 2) === 2;
      expectSame(fast.matmulT(a, b, m, k, n, transA, transB, bias), ref.matmulT(a, b, m, k, n, transA, transB, bias), `matmulT ${m}×${k}×${n} ${transA} ${transB}`);
    }
  });

  it('rejects inconsistent shapes instead of reading stale memory', () => {
    const p: Conv2dParams = { inShape: [1, 4, 5, 5], weightShape: [2, 2, 3, 3], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 2 };
    expect(() => fast.conv2d(new BigUint64Array(99), new BigUint64Array(36), p)).to.throw(/inconsistent shapes/);
    expect(() => fast.conv2d(new BigUint64Array(100), new BigUint64Array(35), p)).to.throw(/inconsistent shapes/);
    expect(() => fast.conv2d(new BigUint64Array(100), new BigUint64Array(36), { ...p, group: 3 })).to.throw(/inconsistent shapes/);
    expect(() => fast.matmul(new BigUint64Array(5), new BigUint64Array(6), 2, 3, 2)).to.throw(/matmul/);
  });

  it('matmul on random shapes', () => {
    const shapes: [number, number, number][] = [[1, 1, 1], [1, 7, 1], [1, 64, 10], [3, 5, 2], [4, 4, 4], [5, 9, 7], [8, 3, 13], [13, 17, 11], [2, 0, 3], [0, 4, 2]];
    for (let t = 0; t < 20; t++) shapes.push([rnd.int(1, 20), rnd.int(1, 40), rnd.int(1, 20)]);
    for (const [m, k, n] of shapes) {
      const a = rnd.ring(m * k);
      const b = rnd.ring(k * n);
      expectSame(fast.matmul(a, b, m, k, n), ref.matmul(a, b, m, k, n), `matmul ${m}×${k}×${n}`);
    }
  });

  it('gatherByIndex: the indexed value, or the fill where the index is −1', () => {
    const v = rnd.ring(12);
    const index = Int32Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? -1 : (i * 7) % 12));
    const got = fast.gatherByIndex(v, index, undefined, 7n);
    for (let i = 0; i < 40; i++) expect(got[i]).to.equal(index[i] < 0 ? 7n : v[index[i]]);
    const out = rnd.ring(40);
    expectSame(fast.gatherByIndex(v, index, out, 7n), got, 'gatherByIndex into a dirty output');
    expect(fast.gatherByIndex(v, Int32Array.of(-1, 0), undefined, -1n)[0]).to.equal(M64);
  });

  it('bitOf against the BigInt shift', () => {
    const a = rnd.ring(500);
    for (const j of [0, 1, 12, 31, 32, 33, 62, 63]) expectSame(fast.bitOf(a, j), ref.bitOf(a, j), `bit ${j}`);
    expect(() => fast.bitOf(a, 64)).to.throw(RangeError);
    expect(() => fast.bitOf(a, -1)).to.throw(RangeError);
  });
});
