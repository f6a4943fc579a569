// Z_p digits of the private compare: exact uniform sampling from a PRG stream (rejection on
// table lookups, branch-free) and packing in base p. Hot loops stay on typed arrays.

import type { Prg } from '../session.js';

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

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const QUAD_TABLES = new Map<number, Uint32Array>();

/** For a group value v < p^4: its four base-p digits, lowest in the lowest byte. */
function quadTable(p: number): Uint32Array {
  let t = QUAD_TABLES.get(p);
  if (!t) {
    t = new Uint32Array(p ** 4);
    for (let v = 0; v < t.length; v++) t[v] = (v % p) | (Math.floor(v / p) % p << 8) | (Math.floor(v / (p * p)) % p << 16) | ((Math.floor(v / (p * p * p)) % p) << 24);
    QUAD_TABLES.set(p, t);
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
  // Small p (group below 2^18, e.g. p = 19 at k = 16): one table maps a group to its four
  // digits as one little-endian word, written through a word view of the output.
  const quad = gb <= 18 && LITTLE_ENDIAN ? quadTable(p) : null;
  if (quad) {
    const words = new Uint32Array(out.buffer, 0, full / GROUP);
    for (let g = 0; g < words.length; g++) {
      while (bits < gb) {
        acc |= (at < len ? buf[at] : 0) << bits;
        at++;
        bits += 8;
      }
      words[g] = quad[acc & mask];
      acc >>>= gb;
      bits -= gb;
    }
  }
  for (let i = quad ? full : 0; i < full; i += GROUP) {
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
    let hi = (value * inv) | 0; // value ≥ 0: truncation is the floor
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
