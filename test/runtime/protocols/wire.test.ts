// Ring-element messages in a ring of ℓ bits (wire.ts packRing/unpackRing, RING_BITS): the low
// ℓ/8 bytes of each element in planes (low words, then the high bits), against a BigInt reference; the high bits of the
// words (noise in Z_2^ℓ) never reach the wire; widths outside RING_BITS are refused.

import { expect } from 'chai';
import { packRing, ringWidthBytes, RING_BITS, unpackRing } from '../../../runtime/protocols/wire.js';
import { randomRing } from './harness.js';

describe('protocols: ring elements on the wire', () => {
  for (const bits of RING_BITS)
    it(`Z_2^${bits}: ${bits / 8} bytes per element in planes, read back mod 2^${bits}`, () => {
      const bytes = ringWidthBytes(bits);
      expect(bytes).to.equal(bits / 8);
      const a = randomRing(1001);
      a[0] = 0n;
      a[1] = (1n << 64n) - 1n;
      a[2] = 1n << BigInt(bits - 1);
      const packed = packRing(a, bytes);
      expect(packed.length).to.equal(1001 * bytes);
      // The planes: n low words (little-endian), then bits 32–47 (2 bytes each) and bits 48–55, or at
      // 5 bytes bits 32–39; at 4 bytes the low words alone.
      const n = a.length;
      const byte = (at: number) => BigInt(packed[at]);
      for (let i = 0; i < n; i++) {
        let v = byte(4 * i) | (byte(4 * i + 1) << 8n) | (byte(4 * i + 2) << 16n) | (byte(4 * i + 3) << 24n);
        if (bytes === 5) v |= byte(4 * n + i) << 32n;
        if (bytes >= 6 && bytes < 8) v |= (byte(4 * n + 2 * i) | (byte(4 * n + 2 * i + 1) << 8n)) << 32n;
        if (bytes === 7) v |= byte(6 * n + i) << 48n;
        if (bytes === 8) v = a[i];
        expect(v, `element ${i}`).to.equal(BigInt.asUintN(bits, a[i]));
      }
      const back = unpackRing(packed, bytes);
      expect(Array.from(back)).to.deep.equal(Array.from(a, (v) => BigInt.asUintN(bits, v)));
      // A misaligned view reads the same.
      const shifted = new Uint8Array(packed.length + 3);
      shifted.set(packed, 3);
      expect(Array.from(unpackRing(shifted.subarray(3), bytes))).to.deep.equal(Array.from(back));
    });

  it('Z_2^24 (a selection\'s smaller ring): 3 bytes per element, the low 16 bits then bits 16–23, read back mod 2^24', () => {
    expect(ringWidthBytes(24)).to.equal(3);
    const a = randomRing(1001);
    a[0] = 0n;
    a[1] = (1n << 64n) - 1n;
    a[2] = 1n << 23n;
    const packed = packRing(a, 3);
    const n = a.length;
    expect(packed.length).to.equal(3 * n);
    for (let i = 0; i < n; i++) {
      const v = BigInt(packed[2 * i]) | (BigInt(packed[2 * i + 1]) << 8n) | (BigInt(packed[2 * n + i]) << 16n);
      expect(v, `element ${i}`).to.equal(BigInt.asUintN(24, a[i]));
    }
    const back = unpackRing(packed, 3);
    expect(Array.from(back)).to.deep.equal(Array.from(a, (v) => BigInt.asUintN(24, v)));
    const shifted = new Uint8Array(packed.length + 3);
    shifted.set(packed, 3);
    expect(Array.from(unpackRing(shifted.subarray(3), 3))).to.deep.equal(Array.from(back));
  });

  it('refuses a width outside 24, 32, 40, 48, 56, 64 and a message that is not whole elements', () => {
    expect(ringWidthBytes(undefined)).to.equal(8);
    for (const bad of [16, 33, 41, 72, '40']) expect(() => ringWidthBytes(bad)).to.throw(/ring of/);
    expect(() => unpackRing(new Uint8Array(11), 5)).to.throw(/not a multiple of 5/);
  });
});
