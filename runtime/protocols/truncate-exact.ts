// Share truncation that cannot fail: the right shift by f of a shared value x (|x| < 2^62),
// exact up to the usual carry of one unit (the result is ⌊x/2^f⌋ or ⌊x/2^f⌋ − 1), where the
// local (SecureML) truncation of each share (truncateShare) is wrong by about 2^(64−f) with
// probability ~|x|/2^63 per element.
//
// Why it is exact. Let K = 2^62 and v = x + K, so 0 ≤ v < 2^63; P0 holds v0 = x0 + K, P1 v1 = x1.
// As integers v0 + v1 = v + w·2^64 with the wrap bit w ∈ {0, 1}, and since v < 2^63 the wrap
// happens exactly when one of the two shares has its top bit set: w = a ∨ c, a = MSB(v0) (P0's),
// c = MSB(v1) (P1's). Then, with logical shifts,
//     (v0 >> f) + (v1 >> f) − w·2^(64−f) − (K >> f) = ⌊x/2^f⌋ − carry,  carry ∈ {0, 1}.
// w = c + a·(1 − c): P1 subtracts c·2^(64−f) itself; the product a·(1 − c) of P0's bit and P1's
// bit is shared mod 2^f (only its value times 2^(64−f) matters) by one helper-dealt correlated
// OT in which P0 chooses with a and P1 offers D = 1 − c:
//
//   dealt (P2)     m_0, m_1 (f bits each, on the P1–P2 stream), ρ (one bit, on the P0–P2 stream);
//                  P2 sends m_ρ to P0                            'trunc.pad'     f bits, preprocessing
//   P0 (offline)   P0's share after a product with P1's weights is input-independent
//                  (weights.ts maskProduct: map(A, W − B) + C0), so a is known before the
//                  input: P0 sends α = a ⊕ ρ to P1                'trunc.choice'  1 bit, preprocessing
//   P1 (online)    once its share is final (after the product, its bias added): z1 = −m_α and
//                  g = D + m_α − m_{1⊕α} (mod 2^f) to P0         'trunc.open'    f bits, online
//   P0             z0 = a·g + m_ρ:  a = 0 ⇒ ρ = α, z0 = m_α;  a = 1 ⇒ ρ = 1 ⊕ α, z0 = D + m_α;
//                  z0 + z1 = a·D (mod 2^f) either way.
//   Outputs        P0: (v0 >> f) − (K >> f) − z0·2^(64−f);   P1: (v1 >> f) − (c + z1)·2^(64−f).
//
// Who learns what: P1 receives α = a ⊕ ρ, uniform since ρ is a pad P1 does not hold. P0
// receives m_ρ (a uniform pad) and g = D + m_α − m_{1⊕α}: whatever a is, one of the two pads in
// g is the one P0 does not hold (m_{1⊕ρ}), so g is uniform to P0. P2 receives nothing. No
// party learns a, c or x.
//
// Cost per element: f bits online (P1 → P0, packed, one round: P0 needs z0 before any later
// message that depends on its share, so it is a round of the schedule); preprocessing 1 bit
// (P0 → P1) and f bits (P2 → P0), which travel in the offline phase's closing exchange
// (runtime/program/offline.ts). Only where P0's pre-truncation share is known offline (after a
// product with P1's weights) does the compiler choose this form; elsewhere truncation stays local.
// f is at most 32 here (the mod-2^f values live in 32-bit words).
//
// Where P0's share is input-dependent (after a product of two activations, SecureMul), a is
// known only online, and truncateExactOnline shares a·D (mod 2^f) with a helper-dealt bit triple
// instead, in ONE round where both holders speak at once:
//
//   dealt (P2)     u (a bit, P0–P2 stream), w0 (f bits, P0–P2 stream); v (a bit, P1–P2 stream);
//                  w1 = u·v − w0 (mod 2^f) to P1                 'trunc.triple'  f bits, preprocessing
//   P0 (online)    e = a ⊕ u to P1                                'trunc.choice'  1 bit, online
//   P1 (online)    d = D ⊕ v to P0 (same round)                   'trunc.open'    1 bit, online
//   Then a = e + (1−2e)·u and D = d + (1−2d)·v, so
//     a·D = e·d + (1−2e)·d·u + e·(1−2d)·v + (1−2e)(1−2d)·u·v:
//   P0: z0 = e·d + (1−2e)·d·u + (1−2e)(1−2d)·w0;   P1: z1 = e·(1−2d)·v + (1−2e)(1−2d)·w1,
//   and the outputs as above. P1 receives e (u is a pad it does not hold) and w1 (w0 is one),
//   P0 receives d (v is a pad): all uniform; P2 receives nothing. P2's w1 rides in the same round,
//   labelled preprocessing (it is input-independent); the step deals on its own 'trunc' streams
//   (the offline phase deals only the weight-product form). Cost: 1 bit each way online, f bits
//   preprocessing, one round.

import { runtimeError } from '../diagnostics.js';
import type { Outgoing, PartyId, Prg, Session } from '../session/session.js';
import { packWords, packedBytes, randomLow, unpackWords, wordView } from './bits.js';

/** The largest shift the exact truncation supports (its mod-2^f values are 32-bit words). */
export const MAX_EXACT_TRUNCATION_BITS = 32;

/** One truncation's dealt correlation, per party (P2 keeps nothing after sending). */
export interface TruncationDealing {
  readonly n: number;
  readonly bits: number;
  /** P0: the bits a = MSB(x0 + 2^62) of its input-independent share (one byte each). */
  a: Uint8Array | null;
  /** P0: m_ρ (received from P2); P1: m_α, m_{1⊕α} after the choice arrived (m_0, m_1 before). */
  pad: Uint32Array | null;
  /** P1: m_1 until the choice arrives (then m_{1⊕α}). */
  other: Uint32Array | null;
  /** The dealing's messages (P2 → P0 pad, P0 → P1 choice) and what each party receives. */
  readonly outgoing: Outgoing[];
  readonly expect: Partial<Record<PartyId, number>>;
  /** True once the dealing's messages were received (receiveTruncationDealing). */
  received: boolean;
}

/** The mask of an f-bit value in a 32-bit word. */
export const maskOf = (f: number): number => (f >= 32 ? 0xffffffff : 2 ** f - 1);

/** The top bit of x + 2^62 for every element (P0's wrap bit a). */
export function wrapBits(x: BigUint64Array): Uint8Array {
  const w = wordView(x);
  const out = new Uint8Array(x.length);
  // 2^62 only touches the high word (2^30 there); the low word adds no carry into it.
  for (let i = 0; i < x.length; i++) out[i] = ((w[2 * i + 1] + 0x40000000) >>> 31) & 1;
  return out;
}

/** One bit per element from a stream (the low bit of each stream byte). */
function streamBits(prg: Prg, n: number): Uint8Array {
  const out = prg.bytes(n);
  for (let i = 0; i < n; i++) out[i] &= 1;
  return out;
}

/** Bits (one a byte) packed eight to a byte. */
export function packBits(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(packedBytes(b.length, 1));
  for (let i = 0; i < b.length; i++) out[i >>> 3] |= b[i] << (i & 7);
  return out;
}

/** Inverse of packBits for n bits. */
export function unpackBits(buf: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (buf[i >>> 3] >>> (i & 7)) & 1;
  return out;
}

/** Packed f-bit values (v's entries below 2^f): packWords's layout, for f ≤ 24 off byte
 * boundaries by one inline loop. */
export function packValues(v: Uint32Array, f: number): Uint8Array {
  if (f > 24 || f % 8 === 0) return packWords({ lo: v, hi: new Uint32Array(v.length) }, f);
  const out = new Uint8Array(packedBytes(v.length, f));
  let acc = 0;
  let bits = 0;
  let p = 0;
  for (let i = 0; i < v.length; i++) {
    // bits < 8 before each value, so acc stays below 2^31.
    acc |= v[i] << bits;
    bits += f;
    while (bits >= 8) {
      out[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out[p] = acc & 0xff;
  return out;
}

/** Inverse of packValues: n values of f bits (1 ≤ f ≤ 32), one array (unpackWords's low words
 * without its high ones; for f ≤ 24 one inline loop). */
export function unpackValues(buf: Uint8Array, n: number, f: number): Uint32Array {
  if (f > 24 || f % 8 === 0) return unpackWords(buf, n, f).lo;
  const out = new Uint32Array(n);
  const mask = (1 << f) - 1;
  let acc = 0;
  let bits = 0;
  let p = 0;
  for (let i = 0; i < n; i++) {
    // bits < f ≤ 24 before each byte, so acc stays below 2^31.
    while (bits < f) {
      acc |= buf[p++] << bits;
      bits += 8;
    }
    out[i] = acc & mask;
    acc >>>= f;
    bits -= f;
  }
  return out;
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > MAX_EXACT_TRUNCATION_BITS) throw new Error(`internal: exact truncation by ${bits} bits (1..${MAX_EXACT_TRUNCATION_BITS})`);
}

/** The input-independent part of an exact truncation of n elements by `bits`, on `s`'s
 * 'trunc' streams: P0 passes its share x0 (known before the input: a product share), the
 * others null. Returns the party's material and the dealing's messages; they travel in one
 * exchange (the offline phase's closing one, or exchangeTruncationDealing). */
export function dealTruncation(s: Session, n: number, bits: number, x0: BigUint64Array | null): TruncationDealing {
  checkBits(bits);
  const d: TruncationDealing = { n, bits, a: null, pad: null, other: null, outgoing: [], expect: {}, received: false };
  if (s.id === 0) {
    if (!x0 || x0.length !== n) throw new Error(`internal: dealTruncation: P0 must pass its ${n}-element share`);
    const rho = streamBits(s.shared(2, 'trunc'), n);
    d.a = wrapBits(x0);
    const alpha = new Uint8Array(n);
    for (let i = 0; i < n; i++) alpha[i] = d.a[i] ^ rho[i];
    d.outgoing.push({ to: 1, data: packBits(alpha), label: 'trunc.choice', phase: 'preprocessing' });
    d.expect[2] = packedBytes(n, bits);
  } else if (s.id === 1) {
    const g = s.shared(2, 'trunc');
    d.pad = randomLow(g, n, bits);
    d.other = randomLow(g, n, bits);
    d.expect[0] = packedBytes(n, 1);
  } else {
    const g = s.shared(1, 'trunc');
    const m0 = randomLow(g, n, bits);
    const m1 = randomLow(g, n, bits);
    const rho = streamBits(s.shared(0, 'trunc'), n);
    const mRho = new Uint32Array(n);
    for (let i = 0; i < n; i++) mRho[i] = rho[i] ? m1[i] : m0[i];
    d.outgoing.push({ to: 0, data: packValues(mRho, bits), label: 'trunc.pad', phase: 'preprocessing' });
    d.received = true;
  }
  return d;
}

/** Takes this party's part of the dealing's exchange (P0: m_ρ from P2; P1: α from P0, which
 * orders its pads as m_α, m_{1⊕α}). */
export function receiveTruncationDealing(d: TruncationDealing, frames: ReadonlyMap<PartyId, Uint8Array> | ((from: PartyId) => Uint8Array)): void {
  const frame = (p: PartyId): Uint8Array => {
    const f = typeof frames === 'function' ? frames(p) : frames.get(p);
    if (!f || f.length !== d.expect[p]) throw runtimeError('MPCC5003', [String(p), `exact truncation's dealing of ${f?.length ?? 0} bytes, expected ${d.expect[p]}`]);
    return f;
  };
  if (d.received) return;
  if (d.expect[2] !== undefined) d.pad = unpackValues(frame(2), d.n, d.bits);
  if (d.expect[0] !== undefined) {
    const alpha = unpackBits(frame(0), d.n);
    const pad = d.pad!, other = d.other!;
    for (let i = 0; i < d.n; i++) {
      if (alpha[i]) {
        const t = pad[i];
        pad[i] = other[i];
        other[i] = t;
      }
    }
  }
  d.received = true;
}

/** The dealing's exchange as a round of its own (when no offline phase carries it). */
export async function exchangeTruncationDealing(s: Session, d: TruncationDealing): Promise<void> {
  const from = (Object.keys(d.expect) as unknown as string[]).map(Number) as PartyId[];
  const got = await s.round(d.outgoing, from, d.expect);
  receiveTruncationDealing(d, got);
}

/** Shares of ⌊x/2^bits⌋ (or one less) for a shared x, |x| < 2^62, with the dealing received:
 * one round, P1 → P0 (P2 passes a placeholder and gets zeros). P1's share must be final (its
 * bias added) before the call. */
export async function truncateExact(s: Session, x: BigUint64Array, bits: number, d: TruncationDealing): Promise<BigUint64Array> {
  checkBits(bits);
  const n = x.length;
  if (d.n !== n || d.bits !== bits || !d.received) throw new Error(`internal: truncateExact: dealing for ${d.n} elements by ${d.bits} bits${d.received ? '' : ' (not received)'}, asked ${n} by ${bits}`);
  const bytes = packedBytes(n, bits);
  if (s.id === 2) {
    await s.round([], []);
    return new BigUint64Array(n);
  }
  const f = bits, mask = maskOf(f);
  const out = new BigUint64Array(n);
  const xw = wordView(x), ow = wordView(out);
  if (s.id === 1) {
    const g = new Uint32Array(n);
    const pad = d.pad!, other = d.other!;
    for (let i = 0; i < n; i++) {
      const lo = xw[2 * i], hi = xw[2 * i + 1];
      const c = hi >>> 31;
      g[i] = (1 - c + pad[i] - other[i]) & mask;
      // (x1 >> f) + (m_α − c)·2^(64−f): the top term lands in the f bits the shift cleared.
      const top = ((pad[i] - c) & mask) >>> 0;
      shiftInto(ow, i, lo, hi, f, top);
    }
    await s.round([{ to: 0, data: packValues(g, f), label: 'trunc.open' }], []);
    return out;
  }
  const got = await s.round([], [1], { 1: bytes });
  const g = unpackValues(got.get(1)!, n, f);
  const a = d.a!, pad = d.pad!;
  // −(K >> f) = −2^(62−f), applied to the shifted value's words.
  const [kLo, kHi] = powerOfTwoWords(62 - f);
  for (let i = 0; i < n; i++) {
    const lo = xw[2 * i], hi = (xw[2 * i + 1] + 0x40000000) >>> 0;
    const z0 = ((a[i] ? g[i] : 0) + pad[i]) & mask;
    shiftInto(ow, i, lo, hi, f, (-z0 & mask) >>> 0);
    subtractWords(ow, i, kLo, kHi);
  }
  return out;
}

/** out[i] = ((hi:lo) >>> f) | top·2^(64−f), as 32-bit words (1 ≤ f ≤ 32, top < 2^f). */
export function shiftInto(ow: Uint32Array, i: number, lo: number, hi: number, f: number, top: number): void {
  if (f === 32) {
    ow[2 * i] = hi;
    ow[2 * i + 1] = top;
    return;
  }
  ow[2 * i] = ((lo >>> f) | (hi << (32 - f))) >>> 0;
  ow[2 * i + 1] = ((hi >>> f) | (top << (32 - f))) >>> 0;
}

/** Exact truncation where P0's share is input-dependent (see the file comment): a helper-dealt
 * bit triple, one round (P0's and P1's masked bits cross, P2's w1 to P1 beside them). P1's share
 * must be final (its bias added). */
export async function truncateExactOnline(s: Session, x: BigUint64Array, bits: number): Promise<BigUint64Array> {
  checkBits(bits);
  const n = x.length, f = bits, mask = maskOf(f);
  if (s.id === 2) {
    const g0 = s.shared(0, 'trunc'), g1 = s.shared(1, 'trunc');
    const u = streamBits(g0, n);
    const w0 = randomLow(g0, n, bits);
    const v = streamBits(g1, n);
    const w1 = new Uint32Array(n);
    for (let i = 0; i < n; i++) w1[i] = ((u[i] & v[i]) - w0[i]) & mask;
    await s.round([{ to: 1, data: packValues(w1, f), label: 'trunc.triple', phase: 'preprocessing' }], []);
    return new BigUint64Array(n);
  }
  const out = new BigUint64Array(n);
  const xw = wordView(x), ow = wordView(out);
  if (s.id === 0) {
    const g = s.shared(2, 'trunc');
    const u = streamBits(g, n);
    const w0 = randomLow(g, n, bits);
    const a = wrapBits(x);
    const e = new Uint8Array(n);
    for (let i = 0; i < n; i++) e[i] = a[i] ^ u[i];
    const got = await s.round([{ to: 1, data: packBits(e), label: 'trunc.choice' }], [1], { 1: packedBytes(n, 1) });
    const d = unpackBits(got.get(1)!, n);
    const [kLo, kHi] = powerOfTwoWords(62 - f);
    for (let i = 0; i < n; i++) {
      const se = 1 - 2 * e[i], sd = 1 - 2 * d[i];
      const z0 = (e[i] * d[i] + se * d[i] * u[i] + se * sd * w0[i]) & mask;
      const lo = xw[2 * i], hi = (xw[2 * i + 1] + 0x40000000) >>> 0;
      shiftInto(ow, i, lo, hi, f, (-z0 & mask) >>> 0);
      subtractWords(ow, i, kLo, kHi);
    }
    return out;
  }
  const g = s.shared(2, 'trunc');
  const v = streamBits(g, n);
  const c = new Uint8Array(n), dBits = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    c[i] = xw[2 * i + 1] >>> 31;
    dBits[i] = (1 - c[i]) ^ v[i];
  }
  const got = await s.round([{ to: 0, data: packBits(dBits), label: 'trunc.open' }], [0, 2], { 0: packedBytes(n, 1), 2: packedBytes(n, bits) });
  const e = unpackBits(got.get(0)!, n);
  const w1 = unpackValues(got.get(2)!, n, f);
  for (let i = 0; i < n; i++) {
    const se = 1 - 2 * e[i], sd = 1 - 2 * dBits[i];
    const z1 = (e[i] * sd * v[i] + se * sd * w1[i]) & mask;
    shiftInto(ow, i, xw[2 * i], xw[2 * i + 1], f, ((-(c[i] + z1)) & mask) >>> 0);
  }
  return out;
}

/** 2^k (0 ≤ k < 64) as its low and high 32-bit words, for subtractWords: computed once per
 * call, not per element (a power per element was most of P0's truncation time). */
export function powerOfTwoWords(k: number): [number, number] {
  return k >= 32 ? [0, 2 ** (k - 32)] : [2 ** k, 0];
}

/** out[i] −= lo + hi·2^32 (lo, hi < 2^32), on 32-bit words. */
export function subtractWords(ow: Uint32Array, i: number, lo: number, hi: number): void {
  const l = ow[2 * i] - lo;
  ow[2 * i] = l >>> 0;
  ow[2 * i + 1] = (ow[2 * i + 1] - hi - (l < 0 ? 1 : 0)) >>> 0;
}
