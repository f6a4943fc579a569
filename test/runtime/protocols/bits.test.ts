// The comparison's word and digit helpers: packing round trips at every width, the digit
// field per window width, and exact uniformity of the rejection samplers.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { packWords, packedBytes, unpackWords } from '../../../runtime/protocols/bits.js';
import { uniformBelow, uniformPairs } from '../../../runtime/protocols/digit-sampling.js';
import { fieldBytes, packField, unpackField } from '../../../runtime/protocols/field-format.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { AesCtrPrg } from '../../../runtime/session/prg.js';
import { looksUniform } from './stats.js';

describe('protocols: bit and digit helpers', () => {
  it('digit field: smallest prime above k + 1, and its bit width', () => {
    const primes = [5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67];
    for (let k = 2; k <= 64; k++) {
      const { p, bits } = digitField(k);
      expect(p, `k=${k}`).to.equal(primes.find((q) => q > k + 1));
      expect(2 ** bits >= p && 2 ** (bits - 1) < p).to.equal(true);
    }
    expect(digitField(64)).to.deep.equal({ p: 67, bits: 7 });
    expect(digitField(16)).to.deep.equal({ p: 19, bits: 5 });
  });

  it('packs k-bit words losslessly at every width', () => {
    for (const k of [2, 7, 8, 13, 16, 24, 25, 31, 32, 33, 40, 57, 63, 64])
      for (const n of [1, 3, 50]) {
        const lo = new Uint32Array(randomBytes(4 * n).buffer);
        const hi = new Uint32Array(randomBytes(4 * n).buffer);
        for (let i = 0; i < n; i++) {
          if (k < 32) lo[i] &= 2 ** k - 1;
          hi[i] = k <= 32 ? 0 : k < 64 ? hi[i] & (2 ** (k - 32) - 1) : hi[i];
        }
        const packed = packWords({ lo, hi }, k);
        expect(packed.length).to.equal(packedBytes(n, k));
        const back = unpackWords(packed, n, k);
        expect(back.lo, `k=${k}`).to.deep.equal(lo);
        expect(back.hi, `k=${k}`).to.deep.equal(hi);
      }
  });

  it('packs Z_p digits in base p losslessly, at the stated size', () => {
    for (const p of [5, 11, 19, 37, 67])
      for (const count of [0, 1, 7, 8, 9, 15, 16, 17, 1000, 4096, 40001]) {
        const v = Uint8Array.from(randomBytes(count), (b) => b % p);
        v.fill(p - 1, 0, Math.min(count, 9)); // the largest group value
        const packed = packField(v, p);
        expect(packed.length, `p=${p} count=${count}`).to.equal(fieldBytes(count, p));
        expect(unpackField(packed, count, p), `p=${p} count=${count}`).to.deep.equal(v);
      }
    // 8 digits of Z_67 take 49 bits (6.125 a digit; fours would take 25), 4 digits of Z_19
    // 17 bits, of Z_37 21 bits (eights would take 35 and 42: no gain).
    expect(fieldBytes(8000, 67)).to.equal((1000 * 49) / 8);
    expect(fieldBytes(8000, 19)).to.equal((2000 * 17) / 8);
    expect(fieldBytes(8000, 37)).to.equal((2000 * 21) / 8);
  });

  it('rejection samplers are uniform and consume a stream identically on both sides', () => {
    const key = new Uint8Array(randomBytes(16));
    const a = new AesCtrPrg(key);
    const b = new AesCtrPrg(key);
    const x = uniformBelow(a, 20000, 66, 1);
    expect(uniformBelow(b, 20000, 66, 1)).to.deep.equal(x);
    expect(looksUniform(x.map((v) => v - 1), 66)).to.equal(true);
    const pa = uniformPairs(a, 20000, 18, 1, 19);
    const pb = uniformPairs(b, 20000, 18, 1, 19);
    expect(pa).to.deep.equal(pb);
    expect(looksUniform(pa.a.map((v) => v - 1), 18)).to.equal(true);
    expect(looksUniform(pa.b, 19)).to.equal(true);
    // Independence of the pair's halves: the joint histogram is uniform too.
    expect(looksUniform(Uint16Array.from(pa.a, (v, i) => (v - 1) * 19 + pa.b[i]), 18 * 19)).to.equal(true);
    expect(a.bytes(16)).to.deep.equal(b.bytes(16));
  });
});
