// Word-level helpers for the comparison protocols: 64-bit ring elements seen as pairs of
// Uint32 words, bit windows, packing of k-bit values and of small Z_p digits, and uniform
// sampling of Z_p digits from a PRG. Hot loops stay on typed arrays (no BigInt per element).

import type { Prg } from '../session.js';

/** A vector of values below 2^k (k ≤ 64) as low and high 32-bit words. */
export interface Words {
  lo: Uint32Array;
  hi: Uint32Array;
}

/** The little-endian 32-bit word view of a vector of ring elements (index 2i = low word). */
export function wordView(a: BigUint64Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** Mask of the low `b` bits of a 32-bit word (0 ≤ b ≤ 32). */
function lowMask(b: number): number {
  return b >= 32 ? 0xffffffff : ((1 << b) >>> 0) - 1;
}

/** y[i] = (a[i] >>> lo) mod 2^k, logically shifted (lo + k ≤ 64). */
export function bitWindow(a: BigUint64Array, lo: number, k: number): Words {
  const n = a.length;
  const w = wordView(a);
  const out: Words = { lo: new Uint32Array(n), hi: new Uint32Array(n) };
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
    out.lo[i] = y0 & mLo;
    out.hi[i] = y1 & mHi;
  }
  return out;
}

/** Uniform values below 2^k from a PRG (8 stream bytes per element). */
export function randomWords(prg: Prg, n: number, k: number): Words {
  const raw = new Uint32Array(prg.bytes(8 * n).buffer);
  const out: Words = { lo: new Uint32Array(n), hi: new Uint32Array(n) };
  const mLo = lowMask(Math.min(k, 32));
  const mHi = lowMask(Math.max(k - 32, 0));
  for (let i = 0; i < n; i++) {
    out.lo[i] = raw[2 * i] & mLo;
    out.hi[i] = raw[2 * i + 1] & mHi;
  }
  return out;
}

/** a + b mod 2^k, elementwise. */
export function addWords(a: Words, b: Words, k: number): Words {
  const n = a.lo.length;
  const out: Words = { lo: new Uint32Array(n), hi: new Uint32Array(n) };
  const mLo = lowMask(Math.min(k, 32));
  const mHi = lowMask(Math.max(k - 32, 0));
  for (let i = 0; i < n; i++) {
    const s = a.lo[i] + b.lo[i]; // exact in a double (< 2^33)
    out.lo[i] = s & mLo;
    out.hi[i] = (a.hi[i] + b.hi[i] + (s > 0xffffffff ? 1 : 0)) & mHi;
  }
  return out;
}

/** Bytes needed for `count` values of `width` bits packed back to back. */
export function packedBytes(count: number, width: number): number {
  return Math.ceil((count * width) / 8);
}

/** Packs k-bit values (k ≤ 64) back to back, little-endian bit order. */
export function packWords(v: Words, k: number): Uint8Array {
  const n = v.lo.length;
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

/** Packs small values (each below 2^width, width ≤ 8) back to back. */
export function packDigits(v: Uint8Array, width: number): Uint8Array {
  if (width === 7) return pack7(v);
  const out = new Uint8Array(packedBytes(v.length, width));
  let acc = 0;
  let bits = 0;
  let p = 0;
  for (let i = 0; i < v.length; i++) {
    acc |= v[i] << bits;
    bits += width;
    if (bits >= 8) {
      out[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out[p] = acc & 0xff;
  return out;
}

/** Inverse of packDigits for `count` values. */
export function unpackDigits(buf: Uint8Array, count: number, width: number): Uint8Array {
  if (width === 7) return unpack7(buf, count);
  const out = new Uint8Array(count);
  const mask = (1 << width) - 1;
  let acc = 0;
  let bits = 0;
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (bits < width) {
      acc |= buf[p++] << bits;
      bits += 8;
    }
    out[i] = acc & mask;
    acc >>>= width;
    bits -= width;
  }
  return out;
}

/** Rejection tables by (bound, offset): entry b is offset + b mod bound, or 255 to reject b. */
const TABLES = new Map<number, Uint8Array>();

function rejectionTable(bound: number, offset: number): Uint8Array {
  const key = bound * 256 + offset;
  let t = TABLES.get(key);
  if (!t) {
    const limit = Math.floor(256 / bound) * bound;
    t = new Uint8Array(256).fill(255);
    for (let b = 0; b < limit; b++) t[b] = offset + (b % bound);
    TABLES.set(key, t);
  }
  return t;
}

/** `count` independent uniform values in [offset, offset + bound) (offset + bound ≤ 128),
 * by rejection sampling on stream bytes: exact uniformity, and both holders of
 * the stream consume the same bytes because the rejections are a function of the stream. */
export function uniformBelow(prg: Prg, count: number, bound: number, offset = 0): Uint8Array {
  const out = new Uint8Array(count);
  const table = rejectionTable(bound, offset);
  const accept = (Math.floor(256 / bound) * bound) / 256;
  let filled = 0;
  while (filled < count) {
    const need = count - filled;
    // Expected draws for `need` accepted values, plus slack so one call usually suffices.
    const raw = prg.bytes(Math.ceil(need / accept + 4 * Math.sqrt(need) + 16));
    const len = raw.length;
    // Branch-free: write every candidate, advance only on acceptance (values < 128, 255 rejects).
    for (let j = 0; j < len; j++) {
      const v = table[raw[j]];
      out[filled] = v;
      filled += (v >> 7) ^ 1;
      if (filled === count) break;
    }
  }
  return out;
}

/** 7-bit packing, eight digits to seven bytes (same layout as the generic packer). */
function pack7(v: Uint8Array): Uint8Array {
  const n = v.length;
  const out = new Uint8Array(packedBytes(n, 7));
  const full = n & ~7;
  let p = 0;
  for (let i = 0; i < full; i += 8) {
    const a = v[i], b = v[i + 1], c = v[i + 2], d = v[i + 3], e = v[i + 4], f = v[i + 5], g = v[i + 6], h = v[i + 7];
    out[p] = a | (b << 7);
    out[p + 1] = (b >> 1) | (c << 6);
    out[p + 2] = (c >> 2) | (d << 5);
    out[p + 3] = (d >> 3) | (e << 4);
    out[p + 4] = (e >> 4) | (f << 3);
    out[p + 5] = (f >> 5) | (g << 2);
    out[p + 6] = (g >> 6) | (h << 1);
    p += 7;
  }
  let acc = 0;
  let bits = 0;
  for (let i = full; i < n; i++) {
    acc |= v[i] << bits;
    bits += 7;
    if (bits >= 8) {
      out[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out[p] = acc & 0xff;
  return out;
}

/** Inverse of pack7. */
function unpack7(buf: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  const full = count & ~7;
  let p = 0;
  for (let i = 0; i < full; i += 8) {
    const b0 = buf[p], b1 = buf[p + 1], b2 = buf[p + 2], b3 = buf[p + 3], b4 = buf[p + 4], b5 = buf[p + 5], b6 = buf[p + 6];
    out[i] = b0 & 127;
    out[i + 1] = ((b0 >> 7) | (b1 << 1)) & 127;
    out[i + 2] = ((b1 >> 6) | (b2 << 2)) & 127;
    out[i + 3] = ((b2 >> 5) | (b3 << 3)) & 127;
    out[i + 4] = ((b3 >> 4) | (b4 << 4)) & 127;
    out[i + 5] = ((b4 >> 3) | (b5 << 5)) & 127;
    out[i + 6] = ((b5 >> 2) | (b6 << 6)) & 127;
    out[i + 7] = b6 >> 1;
    p += 7;
  }
  let acc = 0;
  let bits = 0;
  for (let i = full; i < count; i++) {
    if (bits < 7) {
      acc |= buf[p++] << bits;
      bits += 8;
    }
    out[i] = acc & 127;
    acc >>>= 7;
    bits -= 7;
  }
  return out;
}

/** Pair table for uniformPairs: entry v is (a << 8) | b for v below the largest multiple of
 * boundA·boundB in 2^16, else 0xffff. */
const PAIR_TABLES = new Map<string, Uint16Array>();

/** `count` independent pairs (a, b), a uniform in [offsetA, offsetA + boundA) and b uniform
 * in [0, boundB) (boundA·boundB ≤ 2^15), from one 16-bit stream word per draw with rejection:
 * exact uniformity at about one draw per pair instead of two rejection loops. */
export function uniformPairs(prg: Prg, count: number, boundA: number, offsetA: number, boundB: number): { a: Uint8Array; b: Uint8Array } {
  const key = `${boundA}/${offsetA}/${boundB}`;
  const span = boundA * boundB;
  let table = PAIR_TABLES.get(key);
  if (!table) {
    const limit = Math.floor(65536 / span) * span;
    table = new Uint16Array(65536).fill(0xffff);
    for (let v = 0; v < limit; v++) {
      const r = v % span;
      table[v] = ((offsetA + (r % boundA)) << 8) | Math.floor(r / boundA);
    }
    PAIR_TABLES.set(key, table);
  }
  const accept = (Math.floor(65536 / span) * span) / 65536;
  const a = new Uint8Array(count);
  const b = new Uint8Array(count);
  let filled = 0;
  while (filled < count) {
    const need = count - filled;
    const words = Math.ceil(need / accept + 4 * Math.sqrt(need) + 16);
    const raw = new Uint16Array(prg.bytes(2 * words).buffer);
    // Branch-free as in uniformBelow: accepted entries are below 2^15, the reject mark is not.
    for (let j = 0; j < words; j++) {
      const v = table[raw[j]];
      a[filled] = v >> 8;
      b[filled] = v & 0xff;
      filled += (v >> 15) ^ 1;
      if (filled === count) break;
    }
  }
  return { a, b };
}

/** Digits per group of the base-p packing (a group value stays below 2^25 for p ≤ 67, so
 * packing stays in int32 arithmetic). */
const GROUP = 4;

/** Bits of a base-p number of `digits` digits: the bit length of p^digits − 1. */
function groupBits(p: number, digits: number): number {
  return digits === 0 ? 0 : (BigInt(p) ** BigInt(digits) - 1n).toString(2).length;
}

/** Bytes of `count` digits of Z_p packed in base p, four digits to a group of
 * groupBits(p, 4) bits (25 bits for p = 67: 6.25 bits a digit; 17 for p = 19: 4.25), the
 * last group shorter. */
export function fieldBytes(count: number, p: number): number {
  const full = Math.floor(count / GROUP);
  return Math.ceil((full * groupBits(p, GROUP) + groupBits(p, count - full * GROUP)) / 8);
}

/** Packs digits of Z_p (p ≤ 67) in base p, four to a group, groups back to back in
 * little-endian bit order. */
export function packField(v: Uint8Array, p: number): Uint8Array {
  const n = v.length;
  const out = new Uint8Array(fieldBytes(n, p) + 4); // slack for the last partial write
  const full = n - (n % GROUP);
  const gb = groupBits(p, GROUP);
  let acc = 0; // pending bits (fewer than 8)
  let bits = 0;
  let at = 0;
  for (let i = 0; i < full; i += GROUP) {
    const value = v[i] + p * (v[i + 1] + p * (v[i + 2] + p * v[i + 3])); // < 2^25
    if (gb > 16) {
      // Low 16 bits, then the rest (at most 9): acc never exceeds 31 bits.
      acc |= (value & 0xffff) << bits;
      out[at] = acc;
      out[at + 1] = acc >>> 8;
      at += 2;
      acc >>>= 16;
      acc |= (value >>> 16) << bits;
      bits += gb - 16;
    } else {
      acc |= value << bits;
      bits += gb;
    }
    while (bits >= 8) {
      out[at++] = acc;
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (full < n) {
    let value = 0;
    for (let j = n - 1; j >= full; j--) value = value * p + v[j];
    const w = groupBits(p, n - full);
    acc |= (value & 0xffff) << bits;
    bits += Math.min(w, 16);
    while (bits >= 8) {
      out[at++] = acc;
      acc >>>= 8;
      bits -= 8;
    }
    if (w > 16) {
      acc |= (value >>> 16) << bits;
      bits += w - 16;
      while (bits >= 8) {
        out[at++] = acc;
        acc >>>= 8;
        bits -= 8;
      }
    }
  }
  if (bits > 0) out[at] = acc;
  return out.subarray(0, fieldBytes(n, p));
}

const SQUARE_TABLES = new Map<number, { low: Uint8Array; high: Uint8Array }>();

/** For v < p²: v mod p and floor(v / p). */
function squareTables(p: number): { low: Uint8Array; high: Uint8Array } {
  let t = SQUARE_TABLES.get(p);
  if (!t) {
    t = { low: Uint8Array.from({ length: p * p }, (_, v) => v % p), high: Uint8Array.from({ length: p * p }, (_, v) => Math.floor(v / p)) };
    SQUARE_TABLES.set(p, t);
  }
  return t;
}

/** Inverse of packField for `count` digits. */
export function unpackField(buf: Uint8Array, count: number, p: number): Uint8Array {
  const out = new Uint8Array(count);
  const full = count - (count % GROUP);
  const gb = groupBits(p, GROUP);
  const mask = (1 << gb) - 1;
  // A group is lo + p²·hi with lo, hi < p²; tables split each into its two digits.
  const pp = p * p;
  const { low, high } = squareTables(p);
  const inv = 1 / pp;
  let acc = 0; // unread bits (fewer than 8 between groups)
  let bits = 0;
  let at = 0;
  const len = buf.length;
  for (let i = 0; i < full; i += GROUP) {
    // Gather at least gb ≤ 25 bits: acc holds < 8, three or four more bytes fit in 31 bits.
    while (bits < gb) {
      acc |= (at < len ? buf[at] : 0) << bits;
      at++;
      bits += 8;
    }
    const value = acc & mask;
    acc >>>= gb;
    bits -= gb;
    // value / p² by a reciprocal, corrected by one step (value < 2^25).
    let hi = Math.floor(value * inv);
    let lo = value - hi * pp;
    if (lo < 0) {
      hi--;
      lo += pp;
    } else if (lo >= pp) {
      hi++;
      lo -= pp;
    }
    out[i] = low[lo];
    out[i + 1] = high[lo];
    out[i + 2] = low[hi];
    out[i + 3] = high[hi];
  }
  if (full < count) {
    const w = groupBits(p, count - full);
    while (bits < w) {
      acc |= (at < len ? buf[at] : 0) << bits;
      at++;
      bits += 8;
    }
    let value = acc & ((1 << w) - 1);
    for (let j = full; j < count; j++) {
      const d = value % p;
      out[j] = d;
      value = (value - d) / p;
    }
  }
  return out;
}
