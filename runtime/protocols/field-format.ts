// The compare's wire format for digits of Z_p (p ≤ 67): digits travel in units of 4 or 8
// (unitDigits), a unit being the number Σ d_i·p^i written in groupBits(p, unit) bits, units
// back to back in little-endian bit order, then one tail value for the last (count mod unit)
// digits. Eight-digit units where they save a bit (p = 67: 49 bits for 8 digits, 6.125 bits a
// digit, against 2·25 bits in fours). Inside the runtime digits are handled as 4-digit groups
// (u32 values below p^4); an 8-digit unit is g0 + p^4·g1 (below 2^53, exact in a double).
// Long inputs go through the wasm kernels (compiler/codegen/library/field-kernels.ts); the
// TypeScript paths here are their twins, compared bit for bit by the tests.

import { arena, kernels } from '../kernels/ring-wasm.js';

/** Digits of a group, the unit of the runtime's digit arrays and kernels. */
export const GROUP = 4;

/** From this many units on, packing and unpacking run in WebAssembly. */
const WASM_UNITS = 1024;

/** Bits of a base-p number of `digits` digits: the bit length of p^digits − 1. */
export function groupBits(p: number, digits: number): number {
  return digits === 0 ? 0 : (BigInt(p) ** BigInt(digits) - 1n).toString(2).length;
}

/** Digits per wire unit: 8 when 8-digit units take fewer bits than two 4-digit ones. */
export function unitDigits(p: number): 4 | 8 {
  return groupBits(p, 8) < 2 * groupBits(p, 4) ? 8 : 4;
}

/** Bytes of `count` digits of Z_p on the wire. */
export function fieldBytes(count: number, p: number): number {
  const u = unitDigits(p);
  const units = Math.floor(count / u);
  return Math.ceil((units * groupBits(p, u) + groupBits(p, count - units * u)) / 8);
}

/** floor(v / p²) = (v·magic) >> shift for v < 2^31: magic = floor(2^shift / p²) + 1 < 2^32
 * with shift = 31 + ceil(log2 p²) (the wasm kernels' division by p²). */
export function squareDivision(p: number): { magic: number; shift: number } {
  const shift = 31 + Math.ceil(Math.log2(p * p));
  return { magic: Math.floor(2 ** shift / (p * p)) + 1, shift };
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

/** The parameters every unit kernel takes after its buffers: gb, pair, p^4. */
export function unitParams(p: number): { gb: number; pair: 0 | 1; p4: number } {
  const u = unitDigits(p);
  return { gb: groupBits(p, u), pair: u === 8 ? 1 : 0, p4: p ** 4 };
}

/** Σ d_i·p^i over digits (below 2^53 for at most 8 digits of p ≤ 67). */
function digitsValue(d: ArrayLike<number>, from: number, to: number, p: number): number {
  let v = 0;
  for (let j = to - 1; j >= from; j--) v = v * p + d[j];
  return v;
}

/** ORs the `width` (≤ 53) low bits of value into buf at bit offset `at`. */
function orBits(buf: Uint8Array, at: number, value: number, width: number): void {
  for (let done = 0; done < width; ) {
    const pos = at + done;
    const take = Math.min(8 - (pos & 7), width - done);
    buf[pos >> 3] |= (Math.floor(value / 2 ** done) % 2 ** take) << (pos & 7);
    done += take;
  }
}

/** The `width` (≤ 53) bits of buf at bit offset `at`. */
function readBits(buf: Uint8Array, at: number, width: number): number {
  let value = 0;
  for (let done = 0; done < width; ) {
    const pos = at + done;
    const take = Math.min(8 - (pos & 7), width - done);
    value += ((buf[(pos >> 3)] >> (pos & 7)) & ((1 << take) - 1)) * 2 ** done;
    done += take;
  }
  return value;
}

/** Writes `count` digits given as 4-digit groups (the first 4·groups.length digits) and the
 * remaining < 4 digits (`rest`) in the wire format. */
export function packDigitGroups(groups: Uint32Array, p: number, rest: ArrayLike<number> = [], kernel: 'auto' | 'ts' | 'wasm' = 'auto'): Uint8Array {
  const count = GROUP * groups.length + rest.length;
  const { gb, pair, p4 } = unitParams(p);
  const units = pair ? groups.length >> 1 : groups.length;
  const bytes = fieldBytes(count, p);
  // The tail: an odd last group (8-digit units) and the rest, as one number.
  const last = pair && groups.length % 2 === 1 ? groups[groups.length - 1] : null;
  const tail = (last ?? 0) + (last === null ? 1 : p4) * digitsValue(rest, 0, rest.length, p);
  const tailBits = groupBits(p, count - units * (pair ? 8 : 4));
  let out: Uint8Array;
  if (kernel === 'wasm' || (kernel === 'auto' && units >= WASM_UNITS)) {
    arena.reset();
    out = packUnitsAt(arena.putBytes(groups), units, bytes, p);
  } else {
    out = new Uint8Array(bytes);
    for (let u = 0; u < units; u++) orBits(out, u * gb, pair ? groups[2 * u] + p4 * groups[2 * u + 1] : groups[u], gb);
  }
  orBits(out, units * gb, tail, tailBits);
  return out;
}

/** The units' bytes of the wire format (the tail's bytes zero) by the kernel, from groups
 * already in the kernels' memory at `at`; allocates after everything the arena holds. */
function packUnitsAt(at: number, units: number, bytes: number, p: number): Uint8Array {
  const { gb, pair, p4 } = unitParams(p);
  const dst = arena.allocBytes(bytes + 16); // the last word store may pass the end
  // The kernel writes the units' words only: the bytes after them (the tail's) must start
  // as zeros, and arena memory holds whatever the last kernel left there.
  arena.bytes(dst, bytes + 16).fill(0);
  kernels().pack_groups(at, units, gb, pair, p4, dst);
  return arena.bytes(dst, bytes).slice();
}

/** packField of `count` digits a kernel left in the kernels' memory at `at` (no copy out and
 * back in): grouped and packed where they lie; the arena must still hold them. */
export function packArenaDigits(at: number, count: number, p: number): Uint8Array {
  const full = count - (count % GROUP);
  const groups = arena.allocBytes(full);
  kernels().group_digits(at, full / GROUP, p, groups);
  return packArenaGroups(groups, full / GROUP, p, arena.bytes(at + full, count - full).slice());
}

/** packDigitGroups of `count` groups a kernel left in the kernels' memory at `at`, then the
 * digits `rest` (no copy out and back in); the arena must still hold them. */
export function packArenaGroups(at: number, count: number, p: number, rest: ArrayLike<number> = []): Uint8Array {
  const { gb, pair, p4 } = unitParams(p);
  const units = pair ? count >> 1 : count;
  const total = GROUP * count + rest.length;
  const last = pair && count % 2 === 1 ? new Uint32Array(kernels().memory.buffer, at + 4 * (count - 1), 1)[0] : null;
  const tail = (last ?? 0) + (last === null ? 1 : p4) * digitsValue(rest, 0, rest.length, p);
  const out = packUnitsAt(at, units, fieldBytes(total, p), p);
  orBits(out, units * gb, tail, groupBits(p, total - units * (pair ? 8 : 4)));
  return out;
}

/** Packs digits of Z_p in the wire format. */
export function packField(v: Uint8Array, p: number, kernel: 'auto' | 'ts' | 'wasm' = 'auto'): Uint8Array {
  const full = v.length - (v.length % GROUP);
  const count = full / GROUP;
  let groups: Uint32Array;
  if (kernel === 'wasm' || (kernel === 'auto' && count >= WASM_UNITS)) {
    arena.reset();
    const at = arena.putBytes(v.subarray(0, full));
    const out = arena.allocBytes(4 * count);
    kernels().group_digits(at, count, p, out);
    groups = new Uint32Array(count);
    groups.set(new Uint32Array(kernels().memory.buffer, out, count));
  } else {
    groups = new Uint32Array(count);
    for (let g = 0; g < count; g++) groups[g] = digitsValue(v, GROUP * g, GROUP * g + GROUP, p);
  }
  return packDigitGroups(groups, p, v.subarray(full), kernel);
}

/** Inverse of packField for `count` digits. */
export function unpackField(buf: Uint8Array, count: number, p: number, kernel: 'auto' | 'ts' | 'wasm' = 'auto'): Uint8Array {
  const { gb, pair } = unitParams(p);
  const u = pair ? 8 : 4;
  const units = Math.floor(count / u);
  const out = new Uint8Array(count);
  if (kernel === 'wasm' || (kernel === 'auto' && units >= WASM_UNITS)) {
    const { magic, shift } = squareDivision(p);
    const { low, high } = squareTables(p);
    arena.reset();
    const at = { buf: arena.putBytes(buf), slack: arena.allocBytes(8), low: arena.putBytes(low), high: arena.putBytes(high), out: arena.allocBytes(units * u) };
    kernels().unpack_field(at.buf, units, gb, pair, p ** 4, p, magic, shift, at.low, at.high, at.out);
    out.set(arena.bytes(at.out, units * u));
  } else {
    for (let k = 0; k < units; k++) {
      let value = readBits(buf, k * gb, gb);
      for (let j = k * u; j < k * u + u; j++) {
        const d = value % p;
        out[j] = d;
        value = (value - d) / p;
      }
    }
  }
  let value = readBits(buf, units * gb, groupBits(p, count - units * u));
  for (let j = units * u; j < count; j++) {
    const d = value % p;
    out[j] = d;
    value = (value - d) / p;
  }
  return out;
}
