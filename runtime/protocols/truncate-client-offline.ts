// Exact truncation in the client-offline mode (Protocol 1 of the mode, "three-way"): the right
// shift by f of v = v0 + v1 (|v| < 2^62), where P0's share v0 is known in the offline phase
// (after a product with P1's weights, or any op of the mode: helper-select.ts), to ⌊v/2^f⌋ or
// one less, as truncate-exact.ts, but with P0 silent online.
//
// As in truncate-exact.ts: K = 2^62, v0' = v0 + K, a = MSB(v0') (P0's, offline), c = MSB(v1)
// (P1's, online), D = 1 − c, and (v0' >>> f) + (v1 >>> f) − (c + a·D)·2^(64−f) − (K >>> f)
// = ⌊v/2^f⌋ − carry. Only a·D mod 2^f needs the parties together. With σ a bit (P0–P1 stream)
// and d = D ⊕ σ, D = σ + d·(1 − 2σ), so a·D = a·σ + d·h with h = a·(1 − 2σ), all P0's offline
// except d; h = h1 + h2 mod 2^f with h2 from the P0–P2 stream:
//
//   offline  P0 → P1  h1 = h − h2 (f bits per element)            'trunc.pad'    preprocessing
//   round 1  P1 → P2  d = D ⊕ σ (1 bit per element)               'trunc.open'   online
//   Three-way shares of ⌊v/2^f⌋ − carry, F = 2^(64−f):
//     P0: t0 = (v0' >>> f) − (K >>> f) − (a·σ mod 2^f)·F     (offline)
//     P1: t1 = (v1 >>> f) − ((c + d·h1) mod 2^f)·F
//     P2: t2 = −((d·h2) mod 2^f)·F
//   round 2  P2 → P1  t2 + q·F (f bits: q from the P0–P2 stream)  'trunc.share'  online
//   Outputs (two-way): P0: t0 − q·F (offline), P1: t1 + (t2 + q·F).
// In helperSelect (helper-select.ts) round 1's d rides in the selection's round 1, P2 uses its t2
// in the selection and sends t2 + q·F in the selection's round 3: no round of its own.
//
// In a program on Z_2^ℓ (wire.ts RING_BITS, ℓ < 64) the same with 64 → ℓ: shares read mod 2^ℓ
// (their bits above ℓ ignored), K = 2^(ℓ−2), MSB = bit ℓ − 1, F = 2^(ℓ−f), for |v| < 2^(ℓ−2); the
// result is then ⌊v/2^f⌋ (or one less) mod 2^ℓ and the messages keep their 1 and f bits.
// Who learns what: P1 receives h1 (uniform: h2 is a pad it does not hold) and t2 + q·F (uniform:
// q); P2 receives d (uniform: σ is a pad it does not hold); P0 receives nothing. Cost per element:
// f bits offline (P0 → P1), 1 bit and f bits online, two rounds (the P1 → P2 bit, the f bits
// back); P0 has no online message at all. 1 ≤ f ≤ 32 (mod-2^f values live in 32-bit words).

import type { PartyId, Session } from '../session/session.js';
import { packedBytes, randomLow, wordView } from './bits.js';
import { takeParts, type ClientOfflineDealing } from './client-offline.js';
import { MAX_EXACT_TRUNCATION_BITS, maskOf, packBits, packValues, powerOfTwoWords, shiftInto, subtractWords, unpackBits, unpackValues } from './truncate-exact.js';
import { RING_BITS, splitFrame } from './wire.js';
import { arena, kernels } from '../kernels/ring-wasm.js';

/** One party's material of a three-way truncation of n elements by `bits` (Protocol 1). */
export interface ThreeWayTruncation {
  readonly n: number;
  readonly bits: number;
  /** P0: t0, its part of the three-way sharing (offline); others null. */
  readonly t0: BigUint64Array | null;
  /** P0 and P2: q, the pad of P2's part sent back (f bits per element); P1 null. */
  readonly q: Uint32Array | null;
  /** P1: σ per element (one byte each); others null. */
  readonly sigma: Uint8Array | null;
  /** P0: h1 (sent); P1: h1 once received; P2 null. */
  h1: Uint32Array | null;
  /** P2: h2; others null. */
  readonly h2: Uint32Array | null;
  /** The ring's bits ℓ (wire.ts RING_BITS): v and the result are values of Z_2^ℓ. */
  readonly ring: number;
}

/** Where dealThreeWay, threeWayOpen and threeWayHelper run their loops: the kernels module's
 * three_way_deal, three_way_open and three_way_helper (compiler/codegen/library/three-way-kernels.ts)
 * from THREE_WAY_WASM_MIN elements, or TypeScript (their twin; the tests hold the two equal). */
export type ThreeWayKernel = 'wasm' | 'ts';
/** Below this many elements the loops stay in TypeScript (a kernel call copies its operands). */
export const THREE_WAY_WASM_MIN = 2048;

/** The high word's mask of a value of Z_2^ring (0 for ring = 32: the value is its low word). */
const hiMaskOf = (ring: number): number => (ring >= 64 ? 0xffffffff : 2 ** (ring - 32) - 1);

/** Bit ring − 1 (the top bit) of a value of Z_2^ring given by its words (hi reduced). */
const topBit = (lo: number, hi: number, ring: number): number => (ring === 32 ? lo >>> 31 : (hi >>> (ring - 33)) & 1);


/** ⌊v/2^f⌋ + top·2^(ring − f) into element i of `ow`, v the value of Z_2^ring with words lo and
 * hi (hi below 2^(ring − 32)), 1 ≤ f ≤ 32, top < 2^f: the two parts occupy disjoint bits. At
 * ring = 64, truncate-exact.ts's shiftInto. */
function shiftRingInto(ow: Uint32Array, i: number, lo: number, hi: number, f: number, top: number, ring: number): void {
  if (ring === 64) return shiftInto(ow, i, lo, hi, f, top);
  let nlo = f === 32 ? hi : ((lo >>> f) | (hi << (32 - f))) >>> 0;
  let nhi = f === 32 ? 0 : hi >>> f;
  const p = ring - f;
  if (p >= 32) nhi = (nhi | (top * 2 ** (p - 32))) >>> 0;
  else if (p === 0) nlo = top;
  else {
    nlo = (nlo | (top << p)) >>> 0;
    nhi = (nhi | (top >>> (32 - p))) >>> 0;
  }
  ow[2 * i] = nlo;
  ow[2 * i + 1] = nhi;
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > MAX_EXACT_TRUNCATION_BITS) throw new Error(`internal: client-offline truncation by ${bits} bits (1..${MAX_EXACT_TRUNCATION_BITS})`);
}

/** This party's material of a three-way truncation on `s`'s 'trunc' streams (σ on P0–P1; h2,
 * then q, on P0–P2); P0 passes its offline share v0 and gets t0 and h1 (for P1). `ring`: the
 * ring's bits ℓ (the file comment with 64 → ℓ: K = 2^(ℓ−2), MSB = bit ℓ − 1, F = 2^(ℓ−f); the
 * messages stay 1 and f bits per element). */
export function dealThreeWay(s: Session, n: number, bits: number, v0: BigUint64Array | null, ring = 64, kernel: ThreeWayKernel = 'wasm'): ThreeWayTruncation {
  checkBits(bits);
  if (!(RING_BITS as readonly number[]).includes(ring) || bits > ring - 2) throw new Error(`internal: a three-way truncation by ${bits} bits in a ring of ${ring} bits (at most ℓ − 2)`);
  const f = bits;
  if (s.id === 1) return { n, bits, ring, t0: null, q: null, sigma: s.shared(0, 'trunc').bytes(n), h1: null, h2: null };
  if (s.id === 2) {
    const g = s.shared(0, 'trunc');
    const h2 = randomLow(g, n, f);
    return { n, bits, ring, t0: null, q: randomLow(g, n, f), sigma: null, h1: null, h2 };
  }
  if (!v0 || v0.length !== n) throw new Error(`internal: dealThreeWay: P0 must pass its ${n}-element offline share`);
  const sigma = s.shared(1, 'trunc').bytes(n);
  const g = s.shared(2, 'trunc');
  const h2 = randomLow(g, n, f);
  const q = randomLow(g, n, f);
  if (kernel === 'wasm' && n >= THREE_WAY_WASM_MIN) {
    const k = kernels();
    arena.reset();
    const vAt = arena.put(v0), sAt = arena.putBytes(sigma), hAt = arena.putBytes(h2), h1At = arena.allocBytes(4 * n), tAt = arena.alloc(n);
    k.three_way_deal(vAt, sAt, hAt, n, f, ring, h1At, tAt);
    return { n, bits, ring, t0: arena.view(tAt, n).slice(), q, sigma: null, h1: new Uint32Array(arena.bytes(h1At, 4 * n).slice().buffer), h2: null };
  }
  const mask = maskOf(f);
  const h1 = new Uint32Array(n);
  const t0 = new BigUint64Array(n);
  const vw = wordView(v0), ow = wordView(t0);
  const [kLo, kHi] = powerOfTwoWords(ring - 2 - f);
  // K = 2^(ℓ−2) lands in the word holding bit ℓ − 1 (the low word at ℓ = 32).
  const hiMask = hiMaskOf(ring), kWord = ring === 32 ? 0x40000000 : 2 ** (ring - 34);
  for (let i = 0; i < n; i++) {
    const sg = sigma[i] & 1;
    // v0' = v0 + K mod 2^ℓ, a = its bit ℓ − 1.
    const lo = ring === 32 ? (vw[2 * i] + kWord) >>> 0 : vw[2 * i];
    const hi = ring === 32 ? 0 : (((ring === 64 ? vw[2 * i + 1] : vw[2 * i + 1] & hiMask) + kWord) & hiMask) >>> 0;
    const a = topBit(lo, hi, ring);
    // h = a·(1 − 2σ) mod 2^f: 0, 1 or −1.
    const h = a ? (sg ? mask : 1) : 0;
    h1[i] = (h - h2[i]) & mask;
    shiftRingInto(ow, i, lo, hi, f, (-(a & sg) & mask) >>> 0, ring);
    subtractWords(ow, i, kLo, kHi);
  }
  return { n, bits, ring, t0, q, sigma: null, h1, h2: null };
}

/** P1 online: the masked bits d = (1 − MSB(v1)) ⊕ σ for P2 and t1, P1's part of the sharing. */
export function threeWayOpen(t: ThreeWayTruncation, v1: BigUint64Array, kernel: ThreeWayKernel = 'wasm'): { d: Uint8Array; t1: BigUint64Array } {
  const { n, bits: f } = t;
  if (v1.length !== n || !t.h1) throw new Error(`internal: threeWayOpen: ${v1.length} elements for a truncation of ${n}${t.h1 ? '' : ' (P0\'s pads not received)'}`);
  const mask = maskOf(f);
  const sigma = t.sigma!, h1 = t.h1, ring = t.ring;
  if (kernel === 'wasm' && n >= THREE_WAY_WASM_MIN) {
    const k = kernels();
    arena.reset();
    const vAt = arena.put(v1), sAt = arena.putBytes(sigma.subarray(0, n)), hAt = arena.putBytes(h1), dAt = arena.allocBytes(n), tAt = arena.alloc(n);
    k.three_way_open(vAt, sAt, hAt, n, f, ring, dAt, tAt);
    return { d: arena.bytes(dAt, n).slice(), t1: arena.view(tAt, n).slice() };
  }
  const d = new Uint8Array(n);
  const t1 = new BigUint64Array(n);
  const vw = wordView(v1), ow = wordView(t1);
  const hiMask = hiMaskOf(ring);
  for (let i = 0; i < n; i++) {
    const lo = vw[2 * i], hi = ring === 64 ? vw[2 * i + 1] : (vw[2 * i + 1] & hiMask) >>> 0;
    const c = topBit(lo, hi, ring);
    const di = (1 - c) ^ (sigma[i] & 1);
    d[i] = di;
    shiftRingInto(ow, i, lo, hi, f, (-(c + di * h1[i]) & mask) >>> 0, ring);
  }
  return { d, t1 };
}

/** P2 online, given P1's d: the f-bit values t2 + q·F it sends back to P1, and its part
 * t2 = −(d·h2 mod 2^f)·F added into `into` (P2's masked selection values, helper-select.ts):
 * element selected[j] (j itself without `selected`) into into[j]. Without `into` t2 is not
 * made (the standalone truncation, where P2 holds no share). */
export function threeWayHelper(t: ThreeWayTruncation, d: Uint8Array, into?: BigUint64Array, selected?: Int32Array | null, kernel: ThreeWayKernel = 'wasm'): Uint32Array {
  const { n, bits: f } = t;
  const mask = maskOf(f);
  const h2 = t.h2!, q = t.q!;
  if (kernel === 'wasm' && n >= THREE_WAY_WASM_MIN) {
    const k = kernels();
    arena.reset();
    // d first: the kernel reads address 0 as "no into" and "no selected", which neither can be.
    const dAt = arena.putBytes(d.subarray(0, n)), hAt = arena.putBytes(h2), qAt = arena.putBytes(q), backAt = arena.allocBytes(4 * n);
    const count = into ? (selected ? selected.length : n) : 0;
    const intoAt = into ? arena.put(into.subarray(0, count)) : 0;
    const selAt = into && selected ? arena.putBytes(new Uint32Array(selected.buffer, selected.byteOffset, selected.length)) : 0;
    k.three_way_helper(dAt, hAt, qAt, n, f, t.ring, backAt, intoAt, selAt, count);
    if (into) into.set(arena.view(intoAt, count));
    return new Uint32Array(arena.bytes(backAt, 4 * n).slice().buffer);
  }
  const back = new Uint32Array(n);
  for (let i = 0; i < n; i++) back[i] = (q[i] - (d[i] ? h2[i] : 0)) & mask;
  if (!into) return back;
  const iw = wordView(into);
  // t2 = top·2^(ℓ−f) with top = −m mod 2^f (m = d·h2) added to a value of Z_2^ℓ kept in 64-bit
  // words: 2^(ℓ−f) lands in the low word (ℓ = 32: the high word means nothing), the high word,
  // or straddles both (then the low word's carry). Mod 2^64, so mod 2^ℓ.
  const p = t.ring - f;
  const count = selected ? selected.length : n;
  for (let j = 0; j < count; j++) {
    const i = selected ? selected[j] : j;
    const top = (-(d[i] ? h2[i] : 0) & mask) >>> 0;
    if (top === 0) continue;
    if (p >= 32) iw[2 * j + 1] = iw[2 * j + 1] + top * 2 ** (p - 32);
    else {
      const lo = iw[2 * j];
      const add = (top << p) >>> 0;
      const sum = (lo + add) >>> 0;
      iw[2 * j] = sum;
      iw[2 * j + 1] = iw[2 * j + 1] + (p === 0 ? 0 : top >>> (32 - p)) + (sum < lo ? 1 : 0);
    }
  }
  return back;
}

/** x + sign·v·2^(ℓ−f) for f-bit values v (P1 adding t2 + q·F, P0 subtracting q·F), on words
 * (ℓ = `ring`, 64 by default), into `out` (a copy of x unless given; x itself when the caller
 * owns x and needs it no more). */
export function addHighValues(x: BigUint64Array, v: Uint32Array, f: number, sign: 1 | -1, ring = 64, out?: BigUint64Array): BigUint64Array {
  if (!out) out = x.slice();
  else if (out !== x) out.set(x);
  const ow = wordView(out);
  const p = ring - f;
  if (p >= 32) {
    const scale = sign * 2 ** (p - 32);
    // v·2^(p−32) < 2^32 lands in the high word only; the typed store reduces mod 2^32.
    for (let i = 0; i < v.length; i++) ow[2 * i + 1] = ow[2 * i + 1] + v[i] * scale;
    return out;
  }
  // v·2^p < 2^ℓ straddles the words: its low word (v << p) and high word v >>> (32 − p), added
  // (or subtracted) with the carry, on 32-bit integers.
  const down = 32 - p;
  for (let i = 0; i < v.length; i++) {
    const aLo = (v[i] << p) >>> 0, aHi = p === 0 ? 0 : v[i] >>> down;
    const lo = ow[2 * i];
    if (sign === 1) {
      const sum = (lo + aLo) >>> 0;
      ow[2 * i] = sum;
      ow[2 * i + 1] = ow[2 * i + 1] + aHi + (sum < lo ? 1 : 0);
    } else {
      const diff = (lo - aLo) >>> 0;
      ow[2 * i] = diff;
      ow[2 * i + 1] = ow[2 * i + 1] - aHi - (diff > lo ? 1 : 0);
    }
  }
  return out;
}

/** Bytes of P0's h1 (P0 → P1, offline), of P1's d and of P2's t2 + q·F. */
export function threeWayBytes(n: number, bits: number): { pad: number; open: number; share: number } {
  return { pad: packedBytes(n, bits), open: packedBytes(n, 1), share: packedBytes(n, bits) };
}

/** P0's h1 message for the offline exchange. */
export function threeWayPadMessage(t: ThreeWayTruncation): { to: PartyId; data: Uint8Array; label: string; phase: 'preprocessing' } {
  return { to: 1, data: packValues(t.h1!, t.bits), label: 'trunc.pad', phase: 'preprocessing' };
}

/** P1: P0's h1 arrived. */
export function receiveThreeWayPad(t: ThreeWayTruncation, bytes: Uint8Array): void {
  t.h1 = unpackValues(bytes, t.n, t.bits);
}

/** The standalone truncation's dealing; P0's output is t0 − q·F. */
export interface TruncateClientOfflineDealing extends ClientOfflineDealing {
  readonly three: ThreeWayTruncation;
}

/** This party's offline part of a client-offline truncation of n elements by `bits` (P0 passes
 * its offline share v0, the others null): P0 → P1 h1 in the offline exchange. */
export function dealTruncateClientOffline(s: Session, n: number, bits: number, v0: BigUint64Array | null, ring = 64): TruncateClientOfflineDealing {
  const three = dealThreeWay(s, n, bits, v0, ring);
  const { pad } = threeWayBytes(n, bits);
  if (s.id === 0) return { three, outgoing: [threeWayPadMessage(three)], expect: {}, receive: () => undefined, output: addHighValues(three.t0!, three.q!, bits, -1, ring) };
  if (s.id === 2) return { three, outgoing: [], expect: {}, receive: () => undefined, output: null };
  return { three, outgoing: [], expect: { 0: pad }, receive: (take) => receiveThreeWayPad(three, takeParts(take, 0, [pad], 'trunc.pad')[0]), output: null };
}

/** Shares of ⌊v/2^bits⌋ (or one less) for v in client-offline form, with the dealing received:
 * two rounds (P1 → P2 d, P2 → P1 t2 + q·F); P0 is silent and returns its offline share, P2
 * passes a placeholder and gets zeros. P1's share must be final (its bias added). */
export async function truncateClientOffline(s: Session, v: BigUint64Array, bits: number, deal: TruncateClientOfflineDealing): Promise<BigUint64Array> {
  const t = deal.three;
  // P0's and P2's v are placeholders they ignore (runtime/program/idle-local-steps.ts may pass empty ones).
  if ((s.id === 1 && t.n !== v.length) || t.bits !== bits) throw new Error(`internal: truncateClientOffline: dealing for ${t.n} elements by ${t.bits} bits, asked ${v.length} by ${bits}`);
  const n = t.n;
  const { open, share } = threeWayBytes(n, bits);
  if (s.id === 0) {
    await s.round([], []);
    await s.round([], []);
    return deal.output!;
  }
  if (s.id === 1) {
    const { d, t1 } = threeWayOpen(t, v);
    await s.round([{ to: 2, data: packBits(d), label: 'trunc.open' }], []);
    const got = await s.round([], [2], { 2: share });
    const [back] = splitFrame(got.get(2), [share], 2, 'trunc.share');
    return addHighValues(t1, unpackValues(back, n, bits), bits, 1, t.ring, t1);
  }
  const got = await s.round([], [1], { 1: open });
  const [d] = splitFrame(got.get(1), [open], 1, 'trunc.open');
  const back = threeWayHelper(t, unpackBits(d, n));
  await s.round([{ to: 1, data: packValues(back, bits), label: 'trunc.share' }], []);
  return new BigUint64Array(n);
}
