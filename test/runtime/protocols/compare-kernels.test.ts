// The private compare's WebAssembly kernels against their TypeScript twins and a brute-force
// reference: the holders' packed digits, the helper's zero test and the uniform sampler must
// agree bit for bit (the two holders may run either, so any drift would desynchronize them).

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { bitCorrections, compareMessage, packedBitCorrections, zeroTests } from '../../../runtime/protocols/compare-digits.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { sampleTs, sampleWasm } from '../../../runtime/protocols/digit-sampling.js';
import { packField, unpackField } from '../../../runtime/protocols/field-format.js';
import { AesCtrPrg } from '../../../runtime/session/prg.js';

function randomCase(n: number, k: number) {
  const { p } = digitField(k);
  const lo = new Uint32Array(randomBytes(4 * n).buffer);
  const hi = new Uint32Array(randomBytes(4 * n).buffer);
  for (let i = 0; i < n; i++) {
    if (k < 32) lo[i] &= 2 ** k - 1;
    hi[i] = k <= 32 ? 0 : k < 64 ? hi[i] & (2 ** (k - 32) - 1) : hi[i];
  }
  const rBits = Uint8Array.from(randomBytes(n * (k - 1)), (b) => b % p);
  const rot = Uint8Array.from(randomBytes(n), (b) => b % k);
  return { p, z: { lo, hi }, rBits, rot, beta: new Uint8Array(randomBytes(n)) };
}

describe('protocols: compare kernels (WebAssembly vs TypeScript)', () => {
  it('the holders’ packed digits agree for every window width, grouped or not, across kernel blocks', () => {
    for (const k of [2, 4, 5, 8, 13, 16, 32, 36, 63, 64]) {
      // Past one kernel block (2048 elements) and one stream chunk, with a ragged last block.
      const n = 5000;
      const c = randomCase(n, k);
      const key = new Uint8Array(randomBytes(16));
      for (const me of [0, 1] as const) {
        const wasm = compareMessage(me, c.z, c.rBits, c.rot, c.beta, new AesCtrPrg(key), n, k, c.p, 'wasm');
        const ts = compareMessage(me, c.z, c.rBits, c.rot, c.beta, new AesCtrPrg(key), n, k, c.p, 'ts');
        expect(Buffer.from(wasm).equals(Buffer.from(ts)), `k=${k} P${me}`).to.equal(true);
      }
    }
  });

  it('the helper’s zero test matches a digit-by-digit brute force', () => {
    for (const k of [8, 16, 64, 13]) {
      const { p } = digitField(k);
      const n = 2000;
      const da = Uint8Array.from(randomBytes(n * k), (b) => b % p);
      // Make zeros likely: element i has a cancelling digit pair iff i is even.
      const db = Uint8Array.from(da, (v, j) => (Math.floor(j / k) % 2 === 0 && j % k === (j * 7) % k ? (p - v) % p : (p - v + 1 + (j % (p - 1))) % p));
      const want = new Uint8Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) if ((da[i * k + j] + db[i * k + j]) % p === 0) want[i] = 1;
      const a = packField(da, p);
      const b = packField(db, p);
      expect(Array.from(zeroTests(a, b, n, k, p, 'wasm')), `k=${k} wasm`).to.deep.equal(Array.from(want));
      expect(Array.from(zeroTests(a, b, n, k, p, 'ts')), `k=${k} ts`).to.deep.equal(Array.from(want));
      expect(want.some((v) => v === 1) && want.some((v) => v === 0)).to.equal(true);
      expect(unpackField(a, n * k, p)).to.deep.equal(da);
    }
  });

  it('the uniform sampler consumes words and fills values identically in both twins', () => {
    for (const bound of [2, 16, 19, 66, 67, 255]) {
      const raw = new Uint16Array(randomBytes(2 * 50000).buffer);
      // A few words that every bound rejects (low product half 0 < 2^16 mod bound unless it is 0).
      raw.fill(0, 100, 120);
      const want = new Uint8Array(60000);
      const got = new Uint8Array(60000);
      const iTs = sampleTs(raw, want, 7, bound, 65536 % bound);
      const iWasm = sampleWasm(raw, got, 7, bound, 65536 % bound);
      expect(iWasm, `bound ${bound}`).to.equal(iTs);
      expect(Buffer.from(got).equals(Buffer.from(want)), `bound ${bound}`).to.equal(true);
      expect(Math.max(...want.subarray(7, iTs))).to.be.below(bound);
    }
  });
});

describe('protocols: digit packing and corrections (WebAssembly vs TypeScript)', () => {
  it('packs and unpacks Z_p digits identically in both twins, tails included', () => {
    for (const p of [5, 11, 19, 37, 67])
      // 16191 = 2023 units of 8 + an odd last group + 3 digits: the tail after wasm-packed units.
      for (const count of [4, 9, 4099, 16191, 40002]) {
        const v = Uint8Array.from(randomBytes(count), (b) => b % p);
        v.fill(p - 1, 0, 9); // the largest group value
        v.fill(p - 1, count - 3); // and the largest tail
        const ts = packField(v, p, 'ts');
        const wasm = packField(v, p, 'wasm');
        expect(Buffer.from(wasm).equals(Buffer.from(ts)), `p=${p} count=${count}`).to.equal(true);
        expect(unpackField(ts, count, p, 'wasm'), `p=${p} count=${count}`).to.deep.equal(v);
        expect(unpackField(ts, count, p, 'ts'), `p=${p} count=${count}`).to.deep.equal(v);
      }
  });

  it('the helper’s bit-share corrections match a direct computation', () => {
    for (const k of [2, 8, 16, 33, 64]) {
      const { p } = digitField(k);
      const n = 3000;
      const m = k - 1;
      const c = randomCase(n, k);
      const bits0 = Uint8Array.from(randomBytes(n * m), (b) => b % p);
      const got = bitCorrections(c.z, bits0, n, m, p);
      for (let i = 0; i < n; i++)
        for (let b = 0; b < m; b++) {
          const bit = b < 32 ? (c.z.lo[i] >>> b) & 1 : (c.z.hi[i] >>> (b - 32)) & 1;
          if (got[i * m + b] !== (((bit - bits0[i * m + b]) % p) + p) % p) expect.fail(`k=${k} element ${i} bit ${b}`);
        }
      // The packed form P2 sends equals the TypeScript packing of the same digits.
      expect(Buffer.from(packedBitCorrections(c.z, bits0, n, m, p)).equals(Buffer.from(packField(got, p, 'ts'))), `k=${k} packed`).to.equal(true);
    }
  });
});
