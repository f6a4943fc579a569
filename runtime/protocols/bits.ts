// Word-level helpers for the comparison protocols: 64-bit ring elements seen as pairs of
// Uint32 words, bit windows, and packing of k-bit values. Hot loops stay on typed arrays (no
// BigInt per element). Z_p digits are sampled in digit-sampling.ts
// and packed in field-format.ts.

import type { Prg } from '../session/session.js';

/** A vector of values below 2^k (k ≤ 64) as low and high 32-bit words. */
export interface Words {
  lo: Uint32Array;
  hi: Uint32Array;
}

/** The little-endian 32-bit word view of a vector of ring elements (index 2i = low word). */
export function wordView(a: BigUint64Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** The ring elements lo + 2^32·hi of a word vector. */
export function wordsRing(v: Words): BigUint64Array {
  const n = v.lo.length;
  const out = new BigUint64Array(n);
  const w = wordView(out);
  const { lo, hi } = v;
  for (let i = 0; i < n; i++) {
    w[2 * i] = lo[i];
    w[2 * i + 1] = hi[i];
  }
  return out;
}

/** 2^−32: s · 2^−32 is exact, its floor the carry out of a 32-bit sum s < 2^33. */
const TWO_TO_MINUS_32 = 2 ** -32;

/** Mask of the low `b` bits of a 32-bit word (0 ≤ b ≤ 32). */
function lowMask(b: number): number {
  return b >= 32 ? 0xffffffff : ((1 << b) >>> 0) - 1;
}

/** y[i] = (a[i] >>> lo) mod 2^k, logically shifted (lo + k ≤ 64). */
export function bitWindow(a: BigUint64Array, lo: number, k: number): Words {
  const n = a.length;
  const w = wordView(a);
  const outLo = new Uint32Array(n);
  const outHi = new Uint32Array(n);
  const mLo = lowMask(Math.min(k, 32));
  const mHi = lowMask(Math.max(k - 32, 0));
  for (let i = 0; i < n; i++) {
    const a0 = w[2 * i];
    const a1 = w[2 * i + 1];
    let y0: number;
    let y1: number;
    if (lo === 0) {
      y0 = a0;
      y1 = a1;
    } else if (lo < 32) {
      y0 = (a0 >>> lo) | (a1 << (32 - lo));
      y1 = a1 >>> lo;
    } else {
      y0 = a1 >>> (lo - 32);
      y1 = 0;
    }
    outLo[i] = y0 & mLo;
    outHi[i] = y1 & mHi;
  }
  return { lo: outLo, hi: outHi };
}

/** Elements drawn per block by randomWords into its scratch words. */
const DRAW_BLOCK = 8192;
/** randomWords' scratch (64 KiB): reused by every call, never handed out. */
const drawScratch = new Uint32Array(2 * DRAW_BLOCK);

/** Uniform values below 2^k, k ≤ 32, from a PRG: 4 stream bytes per element (a little-endian
 * word, its low k bits), half of randomWords' draw where the high word would be zero. */
export function randomLow(prg: Prg, n: number, k: number): Uint32Array {
  if (!Number.isInteger(k) || k < 1 || k > 32) throw new Error(`internal: randomLow: ${k} bits (1..32)`);
  const out = new Uint32Array(n);
  if (prg.fill) prg.fill(new Uint8Array(out.buffer));
  else out.set(new Uint32Array(prg.bytes(4 * n).buffer));
  if (k < 32) {
    const m = lowMask(k);
    for (let i = 0; i < n; i++) out[i] &= m;
  }
  return out;
}

/** Uniform values below 2^k from a PRG (8 stream bytes per element, low word first). With
 * `fill`, the stream bytes go through a small reused block instead of a fresh 8n-byte array
 * (same bytes, same order). */
export function randomWords(prg: Prg, n: number, k: number): Words {
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  const mLo = lowMask(Math.min(k, 32));
  const mHi = lowMask(Math.max(k - 32, 0));
  const whole = prg.fill ? null : new Uint32Array(prg.bytes(8 * n).buffer);
  const scratchBytes = new Uint8Array(drawScratch.buffer);
  for (let at = 0; at < n; at += DRAW_BLOCK) {
    const m = Math.min(DRAW_BLOCK, n - at);
    const raw = whole ? whole.subarray(2 * at) : drawScratch;
    if (!whole) prg.fill!(scratchBytes.subarray(0, 8 * m));
    for (let i = 0; i < m; i++) {
      lo[at + i] = raw[2 * i] & mLo;
      hi[at + i] = raw[2 * i + 1] & mHi;
    }
  }
  return { lo, hi };
}

/** a + b mod 2^k, elementwise. */
export function addWords(a: Words, b: Words, k: number): Words {
  const n = a.lo.length;
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  const mLo = lowMask(Math.min(k, 32));
  const mHi = lowMask(Math.max(k - 32, 0));
  const aLo = a.lo;
  const aHi = a.hi;
  const bLo = b.lo;
  const bHi = b.hi;
  for (let i = 0; i < n; i++) {
    const s = aLo[i] + bLo[i]; // exact in a double (< 2^33)
    lo[i] = s & mLo;
    // The carry as floor(s / 2^32), not a comparison: random carries mispredict a branch.
    hi[i] = (aHi[i] + bHi[i] + Math.floor(s * TWO_TO_MINUS_32)) & mHi;
  }
  return { lo, hi };
}

/** Bytes needed for `count` values of `width` bits packed back to back. */
export function packedBytes(count: number, width: number): number {
  return Math.ceil((count * width) / 8);
}

/** Packs k-bit values (k ≤ 64) back to back, little-endian bit order. */
export function packWords(v: Words, k: number): Uint8Array {
  const n = v.lo.length;
  // Whole words: the little-endian byte layout of the (interleaved) words, no per-byte loop.
  if (k === 64) return new Uint8Array(wordsRing(v).buffer);
  if (k === 32) return new Uint8Array(v.lo.slice().buffer);
  // 16 bits (a common narrowed window): a halfword view of the output (fresh, so aligned).
  if (k === 16) {
    const out = new Uint16Array(n);
    out.set(v.lo); // the typed store keeps the low 16 bits
    return new Uint8Array(out.buffer);
  }
  const out = new Uint8Array(packedBytes(n, k));
  if (k % 8 === 0) {
    // Byte-aligned fast path: copy the low k/8 bytes of each element.
    const nb = k / 8;
    let p = 0;
    for (let i = 0; i < n; i++) {
      let x = v.lo[i];
      for (let b = 0; b < nb; b++) {
        if (b === 4) x = v.hi[i];
        out[p++] = x & 0xff;
        x >>>= 8;
      }
    }
    return out;
  }
  let acc = 0;
  let bits = 0;
  let p = 0;
  const put = (x: number, w: number): void => {
    // w ≤ 24 keeps acc below 2^31.
    acc |= x << bits;
    bits += w;
    while (bits >= 8) {
      out[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  };
  for (let i = 0; i < n; i++) {
    const wLo = Math.min(k, 32);
    const x = v.lo[i];
    if (wLo > 24) {
      put(x & 0xffffff, 24);
      put(x >>> 24, wLo - 24);
    } else put(x, wLo);
    if (k > 32) {
      const y = v.hi[i];
      const wHi = k - 32;
      if (wHi > 24) {
        put(y & 0xffffff, 24);
        put(y >>> 24, wHi - 24);
      } else put(y, wHi);
    }
  }
  if (bits > 0) out[p++] = acc & 0xff;
  return out;
}

/** Inverse of packWords for `n` values. */
export function unpackWords(buf: Uint8Array, n: number, k: number): Words {
  const out: Words = { lo: new Uint32Array(n), hi: new Uint32Array(n) };
  if (k === 64 || k === 32) {
    const step = k / 32;
    // A word view of the bytes (copied when they are not 4-byte aligned).
    const b = buf.byteOffset % 4 === 0 ? buf : buf.slice(0, 4 * step * n);
    const w = new Uint32Array(b.buffer, b.byteOffset, step * n);
    if (k === 32) out.lo.set(w);
    else
      for (let i = 0; i < n; i++) {
        out.lo[i] = w[2 * i];
        out.hi[i] = w[2 * i + 1];
      }
    return out;
  }
  if (k === 16 && buf.byteOffset % 2 === 0) {
    out.lo.set(new Uint16Array(buf.buffer, buf.byteOffset, n));
    return out;
  }
  if (k % 8 === 0) {
    const nb = k / 8;
    let p = 0;
    for (let i = 0; i < n; i++) {
      let lo = 0;
      let hi = 0;
      for (let b = 0; b < nb; b++) {
        if (b < 4) lo |= buf[p++] << (8 * b);
        else hi |= buf[p++] << (8 * (b - 4));
      }
      out.lo[i] = lo >>> 0;
      out.hi[i] = hi >>> 0;
    }
    return out;
  }
  let acc = 0;
  let bits = 0;
  let p = 0;
  const get = (w: number): number => {
    while (bits < w) {
      acc |= buf[p++] << bits;
      bits += 8;
    }
    const x = acc & lowMask(w);
    acc >>>= w;
    bits -= w;
    return x;
  };
  for (let i = 0; i < n; i++) {
    const wLo = Math.min(k, 32);
    out.lo[i] = (wLo > 24 ? get(24) | (get(wLo - 24) << 24) : get(wLo)) >>> 0;
    if (k > 32) {
      const wHi = k - 32;
      out.hi[i] = (wHi > 24 ? get(24) | (get(wHi - 24) << 24) : get(wHi)) >>> 0;
    }
  }
  return out;
}

/** out[i] = (bit[b] ? a[i] : 0) − c[i] mod 2^64 with b = map[i] (or i when map is null), on
 * 32-bit words (a BigInt per element costs more than the whole selection); out may be c. */
export function takeByBitMinus(a: BigUint64Array, bit: Uint8Array, map: Int32Array | null, c: BigUint64Array, out: BigUint64Array = new BigUint64Array(c.length)): BigUint64Array {
  const n = c.length;
  const A = wordView(a);
  const C = wordView(c);
  const o = wordView(out);
  // Branch-free: the bits are random, and so are the borrows, so a branch on either
  // mispredicts half the time (measured 1.7× slower). The mask m is 0 or all ones; the low
  // difference t lies in (−2^32, 2^32) and its borrow is (t mod 2^32 − t) / 2^32.
  for (let i = 0; i < n; i++) {
    const m = -bit[map ? map[i] : i];
    const t = ((A[2 * i] & m) >>> 0) - C[2 * i];
    const dl = t >>> 0;
    o[2 * i] = dl;
    o[2 * i + 1] = (A[2 * i + 1] & m) - C[2 * i + 1] - (dl - t) * TWO_TO_MINUS_32; // the typed store reduces mod 2^32
  }
  return out;
}

/** y[i] = x[i] − y[i] mod 2^64 where flip[b] is set (b = map[i], or i when map is null), else
 * y[i] unchanged; in place on 32-bit words. Returns y. */
export function flipSubInPlace(x: BigUint64Array, y: BigUint64Array, flip: Uint8Array, map: Int32Array | null): BigUint64Array {
  const n = y.length;
  const X = wordView(x);
  const Y = wordView(y);
  // Branch-free, as in takeByBitMinus: x − y is computed everywhere and kept under the mask.
  for (let i = 0; i < n; i++) {
    const m = -flip[map ? map[i] : i];
    const yl = Y[2 * i];
    const yh = Y[2 * i + 1];
    const t = X[2 * i] - yl;
    const dl = t >>> 0;
    const dh = X[2 * i + 1] - yh - (dl - t) * TWO_TO_MINUS_32;
    Y[2 * i] = yl ^ ((dl ^ yl) & m);
    Y[2 * i + 1] = yh ^ ((dh ^ yh) & m);
  }
  return y;
}
