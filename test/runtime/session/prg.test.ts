import { expect } from 'chai';
import { createCipheriv, randomBytes } from 'node:crypto';
import { AesCtrPrg, PrgFamily } from '../../../runtime/session/prg.js';

/** Chi-square statistic of byte values against the uniform distribution. */
function chiSquare(bytes: Uint8Array): number {
  const counts = new Float64Array(256);
  for (const b of bytes) counts[b]++;
  const expected = bytes.length / 256;
  let chi = 0;
  for (const c of counts) chi += ((c - expected) * (c - expected)) / expected;
  return chi;
}

/** 255 degrees of freedom: mean 255, sd ~22.6; 375 is ~5.3 sd (false alarm ~1e-7). */
const CHI_LIMIT = 375;

describe('runtime/prg', () => {
  it('is the AES-128 encryption of the counter blocks 0, 1, 2, … (checked with AES-ECB)', () => {
    const key = randomBytes(16);
    const prg = new AesCtrPrg(key);
    const got = prg.bytes(16 * 5);
    const counters = Buffer.alloc(16 * 5);
    for (let i = 0; i < 5; i++) counters[16 * i + 15] = i; // big-endian 128-bit counter
    const ecb = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    const want = ecb.update(counters);
    expect(Buffer.from(got).equals(want)).to.equal(true);
  });

  it('gives the same stream however requests are split', () => {
    const key = randomBytes(16);
    const whole = new AesCtrPrg(key).bytes(5 + 100_003 + 24 + 40_000 * 8);
    const prg = new AesCtrPrg(key);
    const a = prg.bytes(5);
    const b = prg.bytes(100_003);
    const c = prg.ring(3);
    const d = prg.ring(40_000);
    const joined = Buffer.concat([a, b, new Uint8Array(c.buffer), new Uint8Array(d.buffer)]);
    expect(joined.equals(Buffer.from(whole))).to.equal(true);
  });

  it('passes a chi-square test over byte values, in small and large requests', () => {
    const prg = new AesCtrPrg(randomBytes(16));
    expect(chiSquare(prg.bytes(1 << 20))).to.be.below(CHI_LIMIT);
    const small = new Uint8Array(1 << 18);
    for (let i = 0; i < small.length; i += 7) small.set(prg.bytes(Math.min(7, small.length - i)), i);
    expect(chiSquare(small)).to.be.below(CHI_LIMIT);
    expect(chiSquare(new Uint8Array(prg.ring(1 << 17).buffer))).to.be.below(CHI_LIMIT);
  });

  it('gives different streams for different purposes and continues a purpose instead of restarting', () => {
    const key = randomBytes(16);
    const fam = new PrgFamily(key);
    const a = fam.get('drelu.mask').bytes(64);
    const b = fam.get('select.mask').bytes(64);
    expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(false);
    const a2 = fam.get('drelu.mask').bytes(64);
    expect(Buffer.from(a).equals(Buffer.from(a2))).to.equal(false);
    // A second family under the same key reproduces the stream (what two parties rely on).
    const twin = new PrgFamily(key);
    expect(Buffer.from(twin.get('drelu.mask').bytes(128)).equals(Buffer.concat([a, a2]))).to.equal(true);
  });
});
