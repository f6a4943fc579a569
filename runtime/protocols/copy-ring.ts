// The helper's copies in a smaller ring (helper-select.ts, HelperSelectSpec.copyRing): the
// selected values travel to P2 as x + o + m in Z_2^r (r = 24 or 32, below the program's ring
// Z_2^ℓ), and P2 lifts its sum back to the integer x + o + m by the most significant bit.
//
// With o = 2^(r−2) and |x| < 2^(r−2), x' = x + o lies in [0, 2^(r−1)). m is uniform in [0, 2^r)
// (m = m0 + m1 mod 2^r, known to P0 and P1), and P2 holds s = (x' + m) mod 2^r. The integer
// x' + m is s + 2^r·w with the wrap w = μ·(1 − s_msb), μ = m's bit r − 1: when μ = 0, x' + m <
// 2^r and nothing wraps; when μ = 1, x' + m ≥ 2^r exactly when s < 2^(r−1) (x' < 2^(r−1)). So
// P2's selected γ·(x' + m) is γ·s + 2^r·μ·g with g = γ·(1 − s_msb), a bit P2 knows and μ one P0
// and P1 know: P2 sends g1 = g − g0 mod 2^(ℓ−r) (g0 from the P0–P2 stream), and P0 and P1 add
// 2^r·μ·g0 and 2^r·μ·g1 to their shares. Everything but the helper's copies stays in Z_2^ℓ.
// Who learns what: P2 receives (x0 + o + m0) and (x1 + m1) mod 2^r, uniform (m0, m1 are pads it
// does not hold); P1 receives g1, uniform mod 2^(ℓ−r) (g0). Cost per selected element: the two
// copies at r/8 bytes instead of ℓ/8 and g1 at ℓ − r bits, in the round V already takes: ℓ − r
// bits fewer in all (offline), the same online.

import { wordView } from './bits.js';

/** The rings the helper's copies may take (wire.ts SELECTION_RING_BITS below Z_2^40). */
export const COPY_RINGS = [24, 32] as const;

/** The lift's wrap shares take at most this many bits (ℓ − r: a whole number of bytes each, as
 * both rings are, and within a 32-bit word). */
export const MAX_COPY_LIFT_BITS = 32;

/** An internal error unless r is one of COPY_RINGS below `ring` with ring − r ≤ MAX_COPY_LIFT_BITS. */
export function checkCopyRing(r: number, ring: number): void {
  if (!(COPY_RINGS as readonly number[]).includes(r) || r >= ring || ring - r > MAX_COPY_LIFT_BITS) throw new Error(`internal: the helper's copies in Z_2^${r} inside Z_2^${ring} (one of ${COPY_RINGS.join(', ')}, below the ring, at most ${MAX_COPY_LIFT_BITS} bits below it)`);
}

const lowMask = (r: number): number => (r === 32 ? 0xffffffff : 2 ** r - 1);

/** P0, P1: reduces the pads m0, m1 to r bits (in place) and returns m + o (o = 2^(r−2), as ring
 * elements) and μ, bit r − 1 of m = m0 + m1 mod 2^r, per selected element. */
export function copyMasks(m0: BigUint64Array, m1: BigUint64Array, r: number): { mo: BigUint64Array; mu: Uint8Array } {
  const n = m0.length;
  const mask = lowMask(r);
  const a = wordView(m0);
  const b = wordView(m1);
  const mo = new BigUint64Array(n);
  const w = wordView(mo);
  const mu = new Uint8Array(n);
  const o = 2 ** (r - 2);
  for (let i = 0; i < n; i++) {
    a[2 * i] &= mask;
    a[2 * i + 1] = 0;
    b[2 * i] &= mask;
    b[2 * i + 1] = 0;
    const m = (a[2 * i] + b[2 * i]) % 2 ** r;
    mu[i] = Math.floor(m / 2 ** (r - 1));
    const v = m + o;
    w[2 * i] = v >>> 0;
    w[2 * i + 1] = v >= 2 ** 32 ? 1 : 0;
  }
  return { mo, mu };
}

/** P0: its copy x0 + o + m0 per selected element (a fresh vector; its low r bits are sent). */
export function offsetCopy(xs: BigUint64Array, m0: BigUint64Array, r: number): BigUint64Array {
  const n = xs.length;
  const out = new BigUint64Array(n);
  const x = wordView(xs);
  const m = wordView(m0);
  const w = wordView(out);
  const o = 2 ** (r - 2);
  // only the low r ≤ 32 bits travel: the low word's sum mod 2^32 holds them
  for (let i = 0; i < n; i++) w[2 * i] = (x[2 * i] + m[2 * i] + o) >>> 0;
  return out;
}

/** P2: reduces its sum s (per selected element) mod 2^r in place, and returns the wrap's share
 * g1 = γ·(1 − s_msb) − g0 mod 2^lift (γ per patch through `map`, or per element) as its message:
 * lift/8 little-endian bytes per element (packValues's layout, read in place by addWrap). */
export function wrapShare(s: BigUint64Array, gamma: Uint8Array, map: Int32Array | null, g0: Uint32Array, r: number, lift: number): Uint8Array {
  const n = s.length;
  const mask = lowMask(r);
  const top = r - 1;
  const b = lift / 8;
  const w = wordView(s);
  const out = new Uint8Array(n * b);
  for (let i = 0; i < n; i++) {
    const lo = w[2 * i] & mask;
    w[2 * i] = lo;
    w[2 * i + 1] = 0;
    // the low `lift` bits of g − g0 in two's complement: its bytes, low first
    let x = (gamma[map ? map[i] : i] & ~(lo >>> top)) - g0[i];
    for (let j = 0; j < b; j++, x >>= 8) out[i * b + j] = x;
  }
  return out;
}

/** P0, P1: w += 2^r·μ·g per element, in place (g < 2^32, mod 2^64: so mod 2^ℓ); g as values
 * (P0's g0) or as P2's packed message (P1's g1: `lift`/8 little-endian bytes each, packValues's
 * layout for a whole number of bytes), read in place. */
export function addWrap(w: BigUint64Array, mu: Uint8Array, g: Uint32Array | Uint8Array, r: number, lift = 32): BigUint64Array {
  const n = w.length;
  const v = wordView(w);
  const packed = g instanceof Uint8Array;
  const b = lift / 8;
  if (packed && g.length !== b * n) throw new Error(`internal: addWrap: ${g.length} bytes for ${n} wrap shares of ${lift} bits`);
  for (let i = 0; i < n; i++) {
    if (mu[i] === 0) continue;
    let x = 0;
    if (!packed) x = g[i];
    else for (let j = b - 1; j >= 0; j--) x = x * 256 + g[i * b + j];
    if (x === 0) continue;
    if (r === 32) {
      v[2 * i + 1] = v[2 * i + 1] + x;
      continue;
    }
    // r < 32: x·2^r straddles the two words
    const lo = v[2 * i];
    const sum = (lo + ((x << r) >>> 0)) >>> 0;
    v[2 * i] = sum;
    v[2 * i + 1] = v[2 * i + 1] + (x >>> (32 - r)) + (sum < lo ? 1 : 0);
  }
  return w;
}
