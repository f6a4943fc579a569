// Z_p digits of the private compare: exact uniform sampling from a PRG stream (multiply-shift
// with rejection) and packing in base p. Hot loops stay on typed arrays or in the wasm
// kernels (compiler/codegen/compare-kernels.ts), each with a TypeScript twin the tests
// compare it with.

import type { Prg } from '../session.js';
import { arena, kernels } from '../ring-wasm.js';

/** From this many values on, uniformBelow samples in WebAssembly (the twin loops consume a
 * stream identically, so the choice never desynchronizes two holders of a stream). */
const WASM_SAMPLE = 4096;

/** `count` independent uniform values in [offset, offset + bound) (offset + bound ≤ 256), by
 * Lemire's multiply-shift on 16-bit stream words with rejection (x = w·bound; reject when
 * x mod 2^16 < 2^16 mod bound; the value is x >> 16): exact uniformity, and both holders of
 * the stream consume the same words because the rejections are a function of the stream. */
export function uniformBelow(prg: Prg, count: number, bound: number, offset = 0): Uint8Array {
  const out = new Uint8Array(count);
  const threshold = 65536 % bound;
  const accept = 1 - threshold / 65536;
  let filled = 0;
  while (filled < count) {
    // Expected draws for the missing values, plus slack so one draw usually suffices; every
    // word of a draw is used or dropped by the same rule on both sides.
    const raw = new Uint16Array(prg.bytes(2 * drawSize(count - filled, accept)).buffer);
    filled = count - filled >= WASM_SAMPLE ? sampleWasm(raw, out, filled, bound, threshold) : sampleTs(raw, out, filled, bound, threshold);
  }
  if (offset !== 0) for (let i = 0; i < count; i++) out[i] += offset;
  return out;
}

/** The sampling loop (TypeScript twin of the wasm kernel sample_below): fills out from
 * index i0 with accepted words of raw; returns the new fill level. */
export function sampleTs(raw: Uint16Array, out: Uint8Array, i0: number, bound: number, threshold: number): number {
  let i = i0;
  const count = out.length;
  for (let w = 0; w < raw.length && i < count; w++) {
    const x = raw[w] * bound;
    out[i] = x >>> 16;
    i += (x & 0xffff) >= threshold ? 1 : 0;
  }
  return i;
}

/** The same through the wasm kernel. */
export function sampleWasm(raw: Uint16Array, out: Uint8Array, i0: number, bound: number, threshold: number): number {
  const K = kernels();
  arena.reset();
  const at = arena.putBytes(raw);
  const dst = arena.allocBytes(out.length + 1);
  const i = K.sample_below(at, at + raw.byteLength, dst, i0, out.length, bound, threshold);
  out.set(arena.bytes(dst + i0, i - i0), i0);
  return i;
}

/** Pair sampling (Lemire's multiply-shift with rejection on a 16-bit word w): for span =
 * boundA·boundB, q = (w·span) >> 16 is exactly uniform in [0, span) once the words whose
 * low product half is below 2^16 mod span are rejected; `split[q]` is (a << 8) | b. */
export interface PairSampler {
  span: number;
  /** Reject a word w when (w·span) & 0xffff < threshold. */
  threshold: number;
  split: Uint16Array;
  /** Acceptance rate per word. */
  accept: number;
}

const PAIR_SAMPLERS = new Map<string, PairSampler>();

/** The pair sampler of (boundA, offsetA, boundB), boundA·boundB ≤ 2^15. */
export function pairSampler(boundA: number, offsetA: number, boundB: number): PairSampler {
  const key = `${boundA}/${offsetA}/${boundB}`;
  let t = PAIR_SAMPLERS.get(key);
  if (!t) {
    const span = boundA * boundB;
    const split = Uint16Array.from({ length: span }, (_, q) => ((offsetA + (q % boundA)) << 8) | Math.floor(q / boundA));
    const threshold = 65536 % span;
    t = { span, threshold, split, accept: 1 - threshold / 65536 };
    PAIR_SAMPLERS.set(key, t);
  }
  return t;
}

/** Stream words to draw for `need` accepted draws at acceptance rate `accept`: the
 * expectation plus slack, so one draw usually suffices. */
export function drawSize(need: number, accept: number): number {
  return Math.ceil(need / accept + 4 * Math.sqrt(need) + 16);
}

/** `count` independent pairs (a, b), a uniform in [offsetA, offsetA + boundA) and b uniform
 * in [0, boundB) (boundA·boundB ≤ 2^15), from one 16-bit stream word per draw with rejection:
 * exact uniformity at about one draw per pair instead of two rejection loops. */
export function uniformPairs(prg: Prg, count: number, boundA: number, offsetA: number, boundB: number): { a: Uint8Array; b: Uint8Array } {
  const { span, threshold, split, accept } = pairSampler(boundA, offsetA, boundB);
  const a = new Uint8Array(count);
  const b = new Uint8Array(count);
  let filled = 0;
  while (filled < count) {
    const words = drawSize(count - filled, accept);
    const raw = new Uint16Array(prg.bytes(2 * words).buffer);
    for (let j = 0; j < words && filled < count; j++) {
      const m = raw[j] * span;
      if ((m & 0xffff) < threshold) continue;
      const v = split[m >>> 16];
      a[filled] = v >> 8;
      b[filled] = v & 0xff;
      filled++;
    }
  }
  return { a, b };
}

/** Digits per group of the base-p packing (a group value stays below 2^25 for p ≤ 67, so
 * packing stays in int32 arithmetic). */
export const GROUP = 4;

/** Bits of a base-p number of `digits` digits: the bit length of p^digits − 1. */
export function groupBits(p: number, digits: number): number {
  return digits === 0 ? 0 : (BigInt(p) ** BigInt(digits) - 1n).toString(2).length;
}

/** Bytes of `count` digits of Z_p packed in base p, four digits to a group of
 * groupBits(p, 4) bits (25 bits for p = 67: 6.25 bits a digit; 17 for p = 19: 4.25), the
 * last group shorter. */
export function fieldBytes(count: number, p: number): number {
  const full = Math.floor(count / GROUP);
  return Math.ceil((full * groupBits(p, GROUP) + groupBits(p, count - full * GROUP)) / 8);
}

/** From this many groups on, packGroups runs the wasm kernel pack_groups. */
const WASM_PACK = 1024;

/** Writes values of `gb` ≤ 25 bits each back to back in little-endian bit order, then a
 * tail value of `tailBits` ≤ 25 bits: the wire form of packed digit groups. */
export function packGroups(groups: Uint32Array, gb: number, tail = 0, tailBits = 0): Uint8Array {
  const bytes = Math.ceil((groups.length * gb + tailBits) / 8);
  if (tailBits === 0 && groups.length >= WASM_PACK) {
    const K = kernels();
    arena.reset();
    const at = arena.putBytes(groups);
    const dst = arena.allocBytes(bytes + 16); // the kernel's last word store may pass the end
    K.pack_groups(at, groups.length, gb, dst);
    return arena.bytes(dst, bytes).slice();
  }
  const out = new Uint8Array(bytes + 4); // slack for the last partial write
  let acc = 0; // pending bits (fewer than 8 between values)
  let bits = 0;
  let at = 0;
  const count = groups.length;
  let g = 0;
  if (gb <= 16) {
    // Common small-p case in a loop without the split: acc stays below 2^23.
    for (; g < count; g++) {
      acc |= groups[g] << bits;
      bits += gb;
      while (bits >= 8) {
        out[at++] = acc;
        acc >>>= 8;
        bits -= 8;
      }
    }
  }
  // The remaining groups and the tail (index count).
  for (; g <= count; g++) {
    const value = g < count ? groups[g] : tail;
    const w = g < count ? gb : tailBits;
    // Low 16 bits, then the rest (at most 9): acc never exceeds 31 bits.
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
  return out.subarray(0, bytes);
}

/** Packs digits of Z_p (p ≤ 67) in base p, four to a group, groups back to back in
 * little-endian bit order ('auto': the wasm kernel for long inputs, else TypeScript; the
 * two are twins, bit for bit). */
export function packField(v: Uint8Array, p: number, kernel: 'auto' | 'ts' | 'wasm' = 'auto'): Uint8Array {
  const n = v.length;
  const full = n - (n % GROUP);
  const gb = groupBits(p, GROUP);
  const tailBits = groupBits(p, n - full);
  let tail = 0;
  for (let j = n - 1; j >= full; j--) tail = tail * p + v[j];
  if (kernel === 'wasm' || (kernel === 'auto' && full >= GROUP * WASM_PACK)) {
    const K = kernels();
    arena.reset();
    const at = arena.putBytes(v);
    const dst = arena.allocBytes(fieldBytes(n, p) + 16); // the last word store may pass the end
    K.pack_field(at, full / GROUP, p, gb, dst);
    const out = arena.bytes(dst, fieldBytes(n, p)).slice();
    orBits(out, (full / GROUP) * gb, tail, tailBits);
    return out;
  }
  const groups = new Uint32Array(full / GROUP);
  for (let i = 0, g = 0; i < full; i += GROUP, g++) groups[g] = v[i] + p * (v[i + 1] + p * (v[i + 2] + p * v[i + 3])); // < 2^25
  return packGroups(groups, gb, tail, tailBits);
}

/** ORs the `width` low bits of value into buf at bit offset `at` (little-endian bit order). */
function orBits(buf: Uint8Array, at: number, value: number, width: number): void {
  for (let done = 0; done < width; ) {
    const byte = (at + done) >> 3;
    const shift = (at + done) & 7;
    const take = Math.min(8 - shift, width - done);
    buf[byte] |= (Math.floor(value / 2 ** done) & ((1 << take) - 1)) << shift;
    done += take;
  }
}

/** The `width` bits of buf at bit offset `at` (little-endian bit order). */
function readBits(buf: Uint8Array, at: number, width: number): number {
  let value = 0;
  for (let done = 0; done < width; ) {
    const byte = (at + done) >> 3;
    const shift = (at + done) & 7;
    const take = Math.min(8 - shift, width - done);
    value += ((buf[byte] >> shift) & ((1 << take) - 1)) * 2 ** done;
    done += take;
  }
  return value;
}

/** floor(v / p²) = (v·magic) >> shift for v < 2^31: magic = floor(2^shift / p²) + 1 < 2^32
 * with shift = 31 + ceil(log2 p²) (the wasm kernels' division by p²). */
export function squareDivision(p: number): { magic: number; shift: number } {
  const shift = 31 + Math.ceil(Math.log2(p * p));
  return { magic: Math.floor(2 ** shift / (p * p)) + 1, shift };
}

/** Inverse of packGroups: `count` values of `gb` bits, then the tail value of `tailBits`. */
export function unpackGroups(buf: Uint8Array, count: number, gb: number, tailBits = 0): { groups: Uint32Array; tail: number } {
  const groups = new Uint32Array(count);
  const mask = gb >= 32 ? 0xffffffff : (1 << gb) - 1;
  let acc = 0; // unread bits (fewer than 8 between groups)
  let bits = 0;
  let at = 0;
  const len = buf.length;
  for (let g = 0; g < count; g++) {
    // Gather at least gb ≤ 25 bits: acc holds < 8, three or four more bytes fit in 31 bits.
    while (bits < gb) {
      acc |= (at < len ? buf[at] : 0) << bits;
      at++;
      bits += 8;
    }
    groups[g] = acc & mask;
    acc >>>= gb;
    bits -= gb;
  }
  let tail = 0;
  if (tailBits > 0) {
    // The tail may be as wide as a group: gather it in two halves to stay within 31 bits.
    let got = 0;
    while (got < tailBits) {
      while (bits < Math.min(16, tailBits - got)) {
        acc |= (at < len ? buf[at] : 0) << bits;
        at++;
        bits += 8;
      }
      const w = Math.min(16, tailBits - got);
      tail += (acc & ((1 << w) - 1)) * 2 ** got;
      acc >>>= w;
      bits -= w;
      got += w;
    }
  }
  return { groups, tail };
}

const SQUARE_TABLES = new Map<number, { low: Uint8Array; high: Uint8Array }>();

/** For v < p²: v mod p and floor(v / p). */
export function squareTables(p: number): { low: Uint8Array; high: Uint8Array } {
  let t = SQUARE_TABLES.get(p);
  if (!t) {
    t = { low: Uint8Array.from({ length: p * p }, (_, v) => v % p), high: Uint8Array.from({ length: p * p }, (_, v) => Math.floor(v / p)) };
    SQUARE_TABLES.set(p, t);
  }
  return t;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const QUAD_TABLES = new Map<number, Uint32Array>();

/** For small p (a group below 2^18, e.g. p = 19 at k = 16; null otherwise): the table from a
 * group value v < p^4 to its four base-p digits, lowest in the lowest byte, as one
 * little-endian word. */
export function quadTable(p: number): Uint32Array | null {
  if (groupBits(p, GROUP) > 18 || !LITTLE_ENDIAN) return null;
  let t = QUAD_TABLES.get(p);
  if (!t) {
    t = new Uint32Array(p ** 4);
    for (let v = 0; v < t.length; v++) t[v] = (v % p) | (Math.floor(v / p) % p << 8) | (Math.floor(v / (p * p)) % p << 16) | ((Math.floor(v / (p * p * p)) % p) << 24);
    QUAD_TABLES.set(p, t);
  }
  return t;
}

/** Inverse of packField for `count` digits (kernel as in packField). */
export function unpackField(buf: Uint8Array, count: number, p: number, kernel: 'auto' | 'ts' | 'wasm' = 'auto'): Uint8Array {
  const full = count - (count % GROUP);
  if (kernel === 'wasm' || (kernel === 'auto' && full >= GROUP * WASM_PACK)) {
    const K = kernels();
    const gb = groupBits(p, GROUP);
    const { magic, shift } = squareDivision(p);
    const { low, high } = squareTables(p);
    arena.reset();
    const at = { buf: arena.putBytes(buf), slack: arena.allocBytes(8), low: arena.putBytes(low), high: arena.putBytes(high), out: arena.allocBytes(full) };
    K.unpack_field(at.buf, full / GROUP, gb, p, magic, shift, at.low, at.high, at.out);
    const out = new Uint8Array(count);
    out.set(arena.bytes(at.out, full));
    let value = readBits(buf, (full / GROUP) * gb, groupBits(p, count - full));
    for (let j = full; j < count; j++) {
      const d = value % p;
      out[j] = d;
      value = (value - d) / p;
    }
    return out;
  }
  const out = new Uint8Array(count);
  const { groups, tail } = unpackGroups(buf, full / GROUP, groupBits(p, GROUP), groupBits(p, count - full));
  const quad = quadTable(p);
  if (quad) {
    // One table lookup per group, written through a word view of the output.
    const words = new Uint32Array(out.buffer, 0, groups.length);
    for (let g = 0; g < groups.length; g++) words[g] = quad[groups[g]];
  } else {
    // A group is lo + p²·hi with lo, hi < p²; tables split each into its two digits.
    const pp = p * p;
    const { low, high } = squareTables(p);
    const inv = 1 / pp;
    for (let g = 0, i = 0; g < groups.length; g++, i += GROUP) {
      const value = groups[g];
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
  }
  let value = tail;
  for (let j = full; j < count; j++) {
    const d = value % p;
    out[j] = d;
    value = (value - d) / p;
  }
  return out;
}
