// The word kernels of the comparison and selection (bits.ts) against BigInt loops, and draws
// straight into reused memory against draws through fresh arrays: same values, same stream
// consumption.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { addWords, bitWindow, flipSubInPlace, packWords, randomLow, randomWords, takeByBitMinus, unpackWords, wordsRing } from '../../../runtime/protocols/bits.js';
import { compareMessage, divisionMagic } from '../../../runtime/protocols/compare-digits.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { uniformBelow } from '../../../runtime/protocols/digit-sampling.js';
import { AesCtrPrg } from '../../../runtime/session/prg.js';
import type { Prg } from '../../../runtime/session/session.js';

function randomRing(n: number): BigUint64Array {
  const r = new BigUint64Array(randomBytes(8 * n).buffer);
  // Edge values: zero, all ones, carries across the word boundary.
  r[0] = 0n;
  if (n > 1) r[1] = (1n << 64n) - 1n;
  if (n > 2) r[2] = 0xffffffffn;
  if (n > 3) r[3] = 1n << 32n;
  return r;
}

/** The same stream without `fill`: every draw through bytes(). */
function withoutFill(prg: AesCtrPrg): Prg {
  return { bytes: (n) => prg.bytes(n), ring: (n) => prg.ring(n) };
}

describe('protocols: word kernels of the selection', () => {
  for (const withMap of [false, true])
    it(`takeByBitMinus and flipSubInPlace equal the BigInt loops (${withMap ? 'patch map' : 'per element'})`, () => {
      const n = 5000;
      const bits = withMap ? 700 : n;
      const map = withMap ? Int32Array.from({ length: n }, () => Math.floor(Math.random() * bits)) : null;
      const a = randomRing(n);
      const c = randomRing(n);
      const x = randomRing(n);
      const u = Uint8Array.from(randomBytes(bits), (b) => b & 1);
      const want1 = new BigUint64Array(n);
      for (let i = 0; i < n; i++) want1[i] = (u[map ? map[i] : i] ? a[i] : 0n) - c[i];
      expect(takeByBitMinus(a, u, map, c)).to.deep.equal(want1);
      const inPlace = c.slice();
      expect(takeByBitMinus(a, u, map, inPlace, inPlace)).to.equal(inPlace);
      expect(inPlace).to.deep.equal(want1);
      const want2 = new BigUint64Array(n);
      for (let i = 0; i < n; i++) want2[i] = u[map ? map[i] : i] ? x[i] - c[i] : c[i];
      const y = c.slice();
      expect(flipSubInPlace(x, y, u, map)).to.equal(y);
      expect(y).to.deep.equal(want2);
    });

  it('bitWindow, addWords and wordsRing equal BigInt shifts, sums mod 2^k and words joined', () => {
    const n = 4099;
    const x = randomRing(n);
    const y = randomRing(n);
    for (const [lo, k] of [[0, 64], [0, 16], [12, 16], [5, 13], [20, 41], [31, 33], [32, 32], [40, 24], [62, 2]]) {
      const mask = (1n << BigInt(k)) - 1n;
      const a = bitWindow(x, lo, k);
      const b = bitWindow(y, lo, k);
      const sum = wordsRing(addWords(a, b, k));
      const win = wordsRing(a);
      for (let i = 0; i < n; i++) {
        const wa = (x[i] >> BigInt(lo)) & mask;
        const wb = (y[i] >> BigInt(lo)) & mask;
        if (win[i] !== wa) expect.fail(`bitWindow lo=${lo} k=${k} i=${i}: ${win[i]} ≠ ${wa}`);
        if (sum[i] !== ((wa + wb) & mask)) expect.fail(`addWords lo=${lo} k=${k} i=${i}: ${sum[i]} ≠ ${(wa + wb) & mask}`);
      }
    }
  });

  it('randomWords gives the same words and stream position with and without fill', () => {
    const key = new Uint8Array(randomBytes(16));
    for (const [n, k] of [[1, 64], [8191, 16], [8192, 33], [20001, 64], [3, 2]]) {
      const a = new AesCtrPrg(key);
      const b = new AesCtrPrg(key);
      const c = new AesCtrPrg(key);
      const viaFill = randomWords(a, n, k);
      const viaBytes = randomWords(withoutFill(b), n, k);
      expect(viaFill.lo).to.deep.equal(viaBytes.lo);
      expect(viaFill.hi).to.deep.equal(viaBytes.hi);
      // The values are the stream's 64-bit little-endian words, masked to k bits.
      const raw = c.ring(n);
      const mask = (1n << BigInt(k)) - 1n;
      const got = wordsRing(viaFill);
      for (let i = 0; i < n; i++) if (got[i] !== (raw[i] & mask)) expect.fail(`n=${n} k=${k} i=${i}`);
      const next = a.bytes(32);
      expect(next).to.deep.equal(b.bytes(32));
      expect(next).to.deep.equal(c.bytes(32));
    }
  });

  it('randomLow gives the stream\'s 32-bit words masked to k bits, with and without fill, and uses 4 bytes each', () => {
    const key = new Uint8Array(randomBytes(16));
    for (const [n, k] of [[1, 32], [8191, 16], [20001, 1], [3, 31], [5000, 11]]) {
      const a = new AesCtrPrg(key);
      const b = new AesCtrPrg(key);
      const raw = new Uint32Array(new AesCtrPrg(key).bytes(4 * n).buffer);
      const viaFill = randomLow(a, n, k);
      expect(viaFill).to.deep.equal(randomLow(withoutFill(b), n, k));
      const mask = k === 32 ? 0xffffffff : 2 ** k - 1;
      for (let i = 0; i < n; i++) if (viaFill[i] !== (raw[i] & mask) >>> 0) expect.fail(`n=${n} k=${k} i=${i}`);
      // The stream went on from byte 4n.
      const after = new AesCtrPrg(key);
      after.bytes(4 * n);
      expect(a.bytes(16)).to.deep.equal(after.bytes(16));
      // Every one of the k bits is set in about half the values (a broken mask or draw is not).
      if (n >= 5000)
        for (let bit = 0; bit < k; bit++) {
          let ones = 0;
          for (let i = 0; i < n; i++) ones += (viaFill[i] >>> bit) & 1;
          expect(ones / n, `bit ${bit} of k=${k}`).to.be.within(0.45, 0.55);
        }
    }
    expect(() => randomLow(new AesCtrPrg(key), 4, 33)).to.throw(/33 bits/);
  });

  it('unpacks 16-bit words from an odd offset as from an aligned one', () => {
    const n = 37;
    const v = { lo: Uint32Array.from(new Uint16Array(randomBytes(2 * n).buffer, 0, n)), hi: new Uint32Array(n) };
    const packed = packWords(v, 16);
    const shifted = new Uint8Array(packed.length + 1);
    shifted.set(packed, 1);
    const back = unpackWords(shifted.subarray(1), n, 16);
    expect(back.lo).to.deep.equal(v.lo);
    expect(back.hi).to.deep.equal(v.hi);
  });

  it('the digit kernels’ 16-bit division magic equals floor division over its whole range', () => {
    for (const [d, xmax] of [[67, 44683], [66, 4421], [19, 3557], [5, 229], [2, 5]]) {
      const { M, S } = divisionMagic(d, xmax);
      expect(M).to.be.below(65536);
      expect(xmax * M).to.be.below(2 ** 32);
      for (let x = 0; x <= xmax; x++) if (Math.floor((x * M) / 2 ** S) !== Math.floor(x / d)) expect.fail(`d=${d} x=${x}`);
    }
  });

  it('draws into the kernels’ memory give the values and stream position of draws through arrays', () => {
    const key = new Uint8Array(randomBytes(16));
    const a = new AesCtrPrg(key);
    const b = new AesCtrPrg(key);
    expect(uniformBelow(a, 50000, 67)).to.deep.equal(uniformBelow(withoutFill(b), 50000, 67));
    const k = 64;
    const n = 3000;
    const { p } = digitField(k);
    const z = { lo: new Uint32Array(randomBytes(4 * n).buffer), hi: new Uint32Array(randomBytes(4 * n).buffer) };
    const rBits = Uint8Array.from(randomBytes(n * (k - 1)), (v) => v % p);
    const rot = Uint8Array.from(randomBytes(n), (v) => v % k);
    const beta = new Uint8Array(randomBytes(n));
    for (const me of [0, 1] as const) {
      const m1 = compareMessage(me, z, rBits, rot, beta, a, n, k, p, 'wasm');
      const m2 = compareMessage(me, z, rBits, rot, beta, withoutFill(b), n, k, p, 'wasm');
      expect(Buffer.from(m1).equals(Buffer.from(m2)), `P${me}`).to.equal(true);
    }
    expect(a.bytes(64)).to.deep.equal(b.bytes(64));
  });
});
