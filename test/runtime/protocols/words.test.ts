// The selection's word kernels (bits.ts) against BigInt loops, and draws straight into the
// kernels' memory against draws through fresh arrays: same values, same stream consumption.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { flipSubInPlace, takeByBitMinus } from '../../../runtime/protocols/bits.js';
import { compareMessage, divisionMagic } from '../../../runtime/protocols/compare-digits.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { uniformBelow } from '../../../runtime/protocols/digits.js';
import { AesCtrPrg } from '../../../runtime/prg.js';
import type { Prg } from '../../../runtime/session.js';

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
      const want2 = new BigUint64Array(n);
      for (let i = 0; i < n; i++) want2[i] = u[map ? map[i] : i] ? x[i] - c[i] : c[i];
      const y = c.slice();
      expect(flipSubInPlace(x, y, u, map)).to.equal(y);
      expect(y).to.deep.equal(want2);
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
