// "The helper selects" (Protocol 2 of the client-offline mode): an optional exact truncation by
// f, an optional residual and a (block-)ReLU, with P0's (the client's) share of the output made
// in the offline phase, 16 B online per selected element, and the truncation folded into the
// selection's three rounds.
//
// In DESIGN terms. Every tensor is in client-offline form: x = x0 + x1 with x0 at P0 known
// offline (input-independent), x1 at P1. Inputs v (before the truncation) and res (or none);
// x = T_f(v) + res; the comparison value c = v + (res << f) (x's sign up to the truncation's
// carry; the window w = {lo, k} is on c's scale); b per patch = [Σ_patch c ≥ 0] on bits
// [lo, lo + k) (compare.ts); y = b·x on selected elements, y = x on identity channels.
// x's three-way form (truncate-client-offline.ts): x0 = t0 + res0 (P0, offline), x1 = t1 + res1
// (P1), x2 = t2 (P2; none when f = 0). Randomness: m0, m1 (ring, per selected element) and ρ
// (bit per patch) on the P0–P1 'hsel' stream; T (ring per selected element), γ0 (ring per
// patch) on the P0–P2 'hsel' stream; the truncation's σ, h2, q on the 'trunc' streams; the
// comparison's dealing on the 'drelu' streams (compare-client-offline.ts).
//   offline  P0 → P2  x0 + m0 per selected element                      'hsel.masked'  8 B
//            P0 → P1  its reveal half of Σ c0 (window bits + r0)        'drelu.reveal'
//            P0 → P1  h1 (truncation)                                   'trunc.pad'    f bits
//            P2 → P1  the comparison's bit corrections                  'drelu.bits'
//            P0: y0 = ρ·(x0 − q·F) + (1 − 2ρ)·(T − γ0·m) on selected elements (m = m0 + m1),
//                y0 = x0 − q·F on identity elements: its output share, before any input.
//   round 1  P1 → P0  its reveal half                                   'drelu.reveal'
//            P1 → P2  d (truncation, 1 bit per element)                 'trunc.open'
//            P1 → P2  x1 + m1 per selected element                      'hsel.masked'  8 B
//            P2: s = (x0 + m0) + (x1 + m1) + t2 = x + m.
//   round 2  P0, P1 → P2  the comparison's digits                       'drelu.compare'
//            P0 → P2  e ⊕ ρ per patch (e the comparison's flip, public to P0 and P1 after
//                     round 1)                                          'hsel.flip'    1 bit
//            P2: u from the digits, γ = u ⊕ e ⊕ ρ = b ⊕ ρ.
//   round 3  P2 → P1  V = γ·s − T per selected element                  'hsel.select'  8 B
//            P2 → P1  γ1 = γ − γ0 per patch                             'hsel.flipshare' 8 B
//            P2 → P1  t2 + q·F per element (truncation)                 'trunc.share'  f bits
//            P1: y1 = ρ·(x1 + t2 + q·F) + (1 − 2ρ)·(V − γ1·m) on selected elements,
//                y1 = x1 + t2 + q·F on identity elements.
// Check: y0 + y1 = ρ·x + (1 − 2ρ)·(γ·(x + m) − γ·m) = ρ·x + (1 − 2ρ)·γ·x = b·x (ρ = 0: γ = b;
// ρ = 1: γ = 1 − b); on identity elements x0 + x1 + t2 = x.
// Who learns what: P2 receives x0 + m0 and x1 + m1 (uniform: m0, m1 are pads it does not hold;
// two pads, since one would give it x0 − x1), d (uniform: σ), the digits (compare.ts: masked,
// multiplied by random units, rotated; it learns u, a fair coin) and e ⊕ ρ (uniform: ρ), so the
// γ = b ⊕ ρ it computes is a fair coin too. P1 receives P0's reveal half (uniform: r0), h1
// (uniform: h2), V (uniform: T), γ1 (uniform: γ0) and t2 + q·F (uniform: q). P0 receives P1's
// reveal half (uniform: r1) and nothing else. No re-share of u: P1 never needs it.
// In a program on Z_2^ℓ (wire.ts RING_BITS; HelperSelectSpec.ring) every ring element travels in
// ℓ/8 bytes, the truncation reads bit ℓ − 1 (truncate-client-offline.ts) and the window lies in
// [0, ℓ): the views are the same, uniform mod 2^ℓ (the pads are uniform mod 2^64).
// With copyRing r (copy-ring.ts: 24 or 32 below ℓ, |x| < 2^(r − 2) on the selected elements) the
// two masked copies are x0 + o + m0 and x1 + m1 mod 2^r (o = 2^(r−2); m0, m1 reduced to r bits),
// P2 reduces s mod 2^r and sends besides V the wrap's share g1 = γ·(1 − s_msb) − g0 mod 2^(ℓ−r)
// ('hsel.wrap', g0 on the P0–P2 'hsel' stream after γ0), and P0 and P1 replace m by m + o and add
// 2^r·μ·g0, 2^r·μ·g1 (μ = m's bit r − 1) to T − γ0·(m + o) and V − γ1·(m + o): the same check
// with γ·s + 2^r·μ·g = γ·(x + o + m). Per selected element r/8 B offline, r/8 B + (ℓ − r) bits
// online: ℓ − r bits fewer than 2ℓ/8 + ℓ/8 in all, the same online, the same three rounds.
// Per selected element 16 B online (x1 + m1, V) and 8 B offline (x0 + m0) at ℓ = 64 (2ℓ/8 and ℓ/8); per patch the
// comparison (P0's reveal half offline), 1 bit and 8 B; per element the truncation's bit and
// f bits online. P0's online work is its digits and e ⊕ ρ; its output comes from the offline
// phase. With every channel identity there is no comparison: the standalone truncation
// (truncate-client-offline.ts, two rounds) or, with f = 0, no round at all.

import { add, gatherByIndex, mul, scale, sub } from '../ring/ring.js';
import type { Outgoing, Session } from '../session/session.js';
import { flipSubInPlace, packedBytes, randomLow, takeByBitMinus } from './bits.js';
import { blockLayout, selectionOf, tileSums, type BlockLayout, type BlockSize } from './block-relu.js';
import { takeParts, type ClientOfflineDealing } from './client-offline.js';
import { checkWindow, type BitWindow } from './compare.js';
import {
  dealCompareClientOffline,
  digitBytes,
  helperCompareBits,
  holderDigits,
  offlineCompareBytes,
  p0Revealed,
  p1RevealHalf,
  receiveCompareClientOffline,
  type OfflineRevealCompare,
} from './compare-client-offline.js';
import { packBits, packValues, unpackBits, unpackValues } from './truncate-exact.js';
import {
  addHighValues,
  dealThreeWay,
  dealTruncateClientOffline,
  receiveThreeWayPad,
  threeWayBytes,
  threeWayHelper,
  threeWayOpen,
  threeWayPadMessage,
  truncateClientOffline,
  type ThreeWayTruncation,
  type TruncateClientOfflineDealing,
} from './truncate-client-offline.js';
import { packRing, ringWidthBytes, splitFrame, unpackRing } from './wire.js';
import { addWrap, checkCopyRing, copyMasks, offsetCopy, wrapShare } from './copy-ring.js';

/** What a helperSelect step computes: n elements; the truncation's shift (0: none); the
 * comparison's window on c; the block structure (shape NCHW and a block size per channel, as
 * block-relu.ts), absent for a plain ReLU (every element its own patch). */
export interface HelperSelectSpec {
  n: number;
  bits: number;
  window: BitWindow;
  shape?: [number, number, number, number];
  blocks?: BlockSize[];
  /** The ring's bits ℓ (wire.ts RING_BITS; absent: 64): ring elements travel in ℓ/8 bytes, the
   * truncation reads bit ℓ − 1, the window lies in [0, ℓ). */
  ring?: number;
  /** The ring r of the helper's masked copies (copy-ring.ts: 24 or 32, below `ring`, ring − r ≤
   * 32; absent: `ring`): x + o + m travels to P2 in r/8 bytes and P2 lifts it by its top bit, the
   * wrap's share riding to P1 in round 3 in ring − r bits; needs |x| < 2^(r − 2) on the selected
   * elements. */
  copyRing?: number;
}

/** A spec's ring: its bits and bytes per element, and the helper's copies' ring (copyBits,
 * copyBytes; the ring itself without copyRing) and the lift's bits ℓ − r (0 without). */
function ringOf(spec: HelperSelectSpec): { bits: number; bytes: number; copyBits: number; copyBytes: number; lift: number } {
  const bits = spec.ring ?? 64;
  const bytes = ringWidthBytes(bits);
  if (spec.window.lo + spec.window.k > bits) throw new Error(`internal: helperSelect: window lo=${spec.window.lo} k=${spec.window.k} beyond the ring's ${bits} bits`);
  if (spec.copyRing === undefined) return { bits, bytes, copyBits: bits, copyBytes: bytes, lift: 0 };
  checkCopyRing(spec.copyRing, bits);
  return { bits, bytes, copyBits: spec.copyRing, copyBytes: spec.copyRing / 8, lift: bits - spec.copyRing };
}

/** The patches of a spec: a block layout, or none for a plain ReLU (patch i = element i). */
interface Patches {
  layout: BlockLayout | null;
  patches: number;
  selected: number;
  /** The patch of every selected element (null: element i is patch i). */
  map: Int32Array | null;
}

function patchesOf(spec: HelperSelectSpec): Patches {
  if (!spec.blocks) return { layout: null, patches: spec.n, selected: spec.n, map: null };
  if (!spec.shape) throw new Error('internal: helperSelect: blocks without a shape');
  const layout = blockLayout(spec.shape, spec.blocks);
  if (layout.patchOf.length !== spec.n) throw new Error(`internal: helperSelect: shape ${spec.shape.join('×')} for ${spec.n} elements`);
  return { layout, patches: layout.patches, selected: layout.selected.length, map: layout.selectedPatch };
}

/** One party's offline part of a helperSelect. */
export interface HelperSelectDealing extends ClientOfflineDealing {
  readonly spec: HelperSelectSpec;
  /** With every channel identity and f > 0: the standalone truncation's dealing. */
  readonly trunc: TruncateClientOfflineDealing | null;
  /** P0, P1: ρ per patch; P2 null. */
  readonly rho: Uint8Array | null;
  /** P1: m = m0 + m1 (with copyRing: m + o, copy-ring.ts) and m1 per selected element; others null. */
  readonly m: BigUint64Array | null;
  readonly m1: BigUint64Array | null;
  /** With copyRing: P1, μ per selected element (copy-ring.ts); P2, g0; others null. */
  readonly mu?: Uint8Array | null;
  readonly g0?: Uint32Array | null;
  /** P2: T per selected element and γ0 per patch; others null. */
  readonly pad: BigUint64Array | null;
  readonly gamma0: BigUint64Array | null;
  /** P2: x0 + m0 once received. */
  masked0: BigUint64Array | null;
  /** The comparison's and the three-way truncation's parts (null when every channel is
   * identity, or f = 0). */
  readonly cmp: OfflineRevealCompare | null;
  readonly three: ThreeWayTruncation | null;
}

/** The comparison value's share c = v + (res << f) (a fresh vector, or v itself when equal). */
function compared(v: BigUint64Array, res: BigUint64Array | null, f: number): BigUint64Array {
  if (!res) return v;
  const c = scale(res, 1n << BigInt(f));
  return add(v, c, c);
}

/** The patch sums of c (c itself for a plain ReLU). */
function patchSums(c: BigUint64Array, p: Patches): BigUint64Array {
  return p.layout ? tileSums(c, p.layout) : c;
}

/** x's selected elements and how to put them back (x itself for a plain ReLU; with `own`, the
 * caller's fresh x, which assemble may fill in place). */
function selection(x: BigUint64Array, p: Patches, own = false) {
  return p.layout ? selectionOf(p.layout, x, own) : { xs: x, assemble: (ys: BigUint64Array) => ys };
}

/** w − γ·m per selected element, γ per patch (w: T at P0, V at P1; the γ·m products). */
function minusFlipTimesMask(w: BigUint64Array, gamma: BigUint64Array, m: BigUint64Array, map: Int32Array | null): BigUint64Array {
  const gm = map ? gatherByIndex(gamma, map) : gamma.slice();
  return sub(w, mul(gm, m, gm), gm);
}

/** This party's offline part of a helperSelect on the step's streams: P0 passes its offline
 * shares of v and res (res null without a residual), the others null. */
export function dealHelperSelect(s: Session, spec: HelperSelectSpec, p0: { v: BigUint64Array; res: BigUint64Array | null } | null): HelperSelectDealing {
  const { n, bits: f, window } = spec;
  checkWindow(window);
  const ring = ringOf(spec), cb = ring.copyBytes;
  if (!Number.isInteger(f) || f < 0 || f > 32) throw new Error(`internal: helperSelect: truncation by ${f} bits (0..32)`);
  if (s.id === 0 && (!p0 || p0.v.length !== n || (p0.res && p0.res.length !== n))) throw new Error(`internal: dealHelperSelect: P0 must pass its ${n}-element offline shares`);
  const p = patchesOf(spec);
  const base = { spec, rho: null, m: null, m1: null, pad: null, gamma0: null, masked0: null, cmp: null, three: null };
  if (p.patches === 0) {
    // Every channel identity: y = x, the truncation alone (or nothing).
    if (f === 0) {
      const output = s.id === 0 ? (p0!.res ? add(p0!.v, p0!.res) : p0!.v.slice()) : null;
      return { ...base, trunc: null, outgoing: [], expect: {}, receive: () => undefined, output };
    }
    const trunc = dealTruncateClientOffline(s, n, f, s.id === 0 ? p0!.v : null, ring.bits);
    const output = s.id === 0 && p0!.res ? add(trunc.output!, p0!.res) : trunc.output;
    return { ...base, trunc, outgoing: trunc.outgoing, expect: trunc.expect, receive: trunc.receive, output };
  }
  const three = f > 0 ? dealThreeWay(s, n, f, s.id === 0 ? p0!.v : null, ring.bits) : null;
  const c0 = s.id === 0 ? patchSums(compared(p0!.v, p0!.res, f), p) : null;
  const { cmp, outgoing: cmpOut } = dealCompareClientOffline(s, p.patches, window, c0);
  const sizes = offlineCompareBytes(p.patches, window);
  const padBytes = f > 0 ? threeWayBytes(n, f).pad : 0;
  const sel = p.selected;

  if (s.id === 2) {
    const g = s.shared(0, 'hsel');
    const deal: HelperSelectDealing = {
      ...base,
      cmp,
      three,
      trunc: null,
      pad: g.ring(sel),
      gamma0: g.ring(p.patches),
      g0: ring.lift > 0 ? randomLow(g, sel, ring.lift) : null,
      outgoing: cmpOut,
      expect: { 0: cb * sel },
      receive(take) {
        deal.masked0 = unpackRing(takeParts(take, 0, [cb * sel], 'hsel.masked')[0], cb);
      },
      output: null,
    };
    return deal;
  }
  const g = s.shared(s.id === 0 ? 1 : 0, 'hsel');
  const m0 = g.ring(sel);
  const m1 = g.ring(sel);
  const rho = g.bytes(p.patches);
  for (let i = 0; i < rho.length; i++) rho[i] &= 1;
  // With copyRing: m0, m1 reduced to r bits, m + o and μ (copy-ring.ts).
  const copy = ring.lift > 0 ? copyMasks(m0, m1, ring.copyBits) : null;
  if (s.id === 1) {
    const deal: HelperSelectDealing = {
      ...base,
      cmp,
      three,
      trunc: null,
      rho,
      m: copy ? copy.mo : add(m0, m1),
      m1,
      mu: copy ? copy.mu : null,
      outgoing: [],
      expect: { 0: sizes.reveal + padBytes, 2: sizes.bits },
      receive(take) {
        const [reveal, pad] = takeParts(take, 0, [sizes.reveal, padBytes], 'drelu.reveal');
        const [bitsBytes] = takeParts(take, 2, [sizes.bits], 'drelu.bits');
        receiveCompareClientOffline(cmp, reveal, bitsBytes);
        if (three) receiveThreeWayPad(three, pad);
      },
      output: null,
    };
    return deal;
  }
  // P0: x0 = t0 + res0 (three-way form), its masked copy for P2, and its output share.
  const g2 = s.shared(2, 'hsel');
  const pad = g2.ring(sel);
  const gamma0 = g2.ring(p.patches);
  const g0 = copy ? randomLow(g2, sel, ring.lift) : null;
  let x0 = three ? three.t0! : p0!.v;
  if (p0!.res) x0 = add(x0, p0!.res);
  const { xs } = selection(x0, p);
  const masked0 = copy ? offsetCopy(xs, m0, ring.copyBits) : add(xs, m0);
  // x0 − q·F: P0's part of the two-way truncation (q's other end rides to P1 in round 3).
  const x0Two = three ? addHighValues(x0, three.q!, f, -1, ring.bits) : x0;
  const two = selection(x0Two, p);
  const m = copy ? copy.mo : add(m0, m1, m0);
  const w0 = minusFlipTimesMask(pad, gamma0, m, p.map);
  if (copy) addWrap(w0, copy.mu, g0!, ring.copyBits);
  const ySel = flipSubInPlace(two.xs, w0, rho, p.map);
  const output = two.assemble(ySel);
  const outgoing: Outgoing[] = [...cmpOut, ...(three ? [threeWayPadMessage(three)] : []), { to: 2, data: packRing(masked0, cb), label: 'hsel.masked', phase: 'preprocessing' }];
  return { ...base, cmp, three, trunc: null, rho, outgoing, expect: {}, receive: () => undefined, output };
}

/** The online part of a helperSelect, with the dealing received: three rounds (none, or the
 * standalone truncation's two, when every channel is identity). P0 returns its offline output
 * share (v, res are placeholders for it), P1 its share y1, P2 zeros. P1's shares must be final. */
export async function helperSelect(s: Session, spec: HelperSelectSpec, v: BigUint64Array, res: BigUint64Array | null, deal: HelperSelectDealing): Promise<BigUint64Array> {
  const { n, bits: f, window } = spec;
  if (deal.spec.n !== n || deal.spec.bits !== f) throw new Error(`internal: helperSelect: a dealing for ${deal.spec.n} elements by ${deal.spec.bits} bits, asked ${n} by ${f}`);
  if (s.id === 1 && v.length !== n) throw new Error(`internal: helperSelect: ${v.length} elements, expected ${n}`);
  const p = patchesOf(spec);
  if (p.patches === 0) {
    if (f === 0) return s.id === 0 ? deal.output! : s.id === 1 ? (res ? add(v, res) : v.slice()) : new BigUint64Array(n);
    const y = await truncateClientOffline(s, v, f, deal.trunc!);
    return s.id === 0 ? deal.output! : s.id === 1 && res ? add(y, res) : y;
  }
  const { cmp, three } = deal;
  const ring = ringOf(spec);
  const rb = ring.bytes, cb = ring.copyBytes;
  // With copyRing: the wrap's shares g1, ℓ − r bits per selected element (copy-ring.ts).
  const wrapBytes = ring.lift > 0 ? packedBytes(p.selected, ring.lift) : 0;
  const reveal = packedBytes(p.patches, window.k);
  const digits = digitBytes(p.patches, window);
  const flipBytes = packedBytes(p.patches, 1);
  const tb = f > 0 ? threeWayBytes(n, f) : { open: 0, share: 0 };
  const sel = p.selected;
  if (s.id === 0) {
    const got = await s.round([], [1], { 1: reveal });
    p0Revealed(cmp!, splitFrame(got.get(1), [reveal], 1, 'drelu.reveal')[0]);
    const { flip, digits: d } = holderDigits(0, cmp!);
    const masked = new Uint8Array(p.patches);
    for (let i = 0; i < masked.length; i++) masked[i] = flip[i] ^ deal.rho![i];
    await s.round([{ to: 2, data: d, label: 'drelu.compare' }, { to: 2, data: packBits(masked), label: 'hsel.flip' }], []);
    await s.round([], []);
    return deal.output!;
  }
  if (s.id === 1) {
    // x1 = t1 + res1, and the truncation's bit d for P2. `own`: x1 is this step's fresh vector
    // (never the input v, which other steps may read), so later steps may write into it.
    const open = three ? threeWayOpen(three, v) : null;
    let x1 = open ? open.t1 : v;
    let own = open !== null;
    if (res) {
      x1 = add(x1, res, own ? x1 : undefined);
      own = true;
    }
    const half = p1RevealHalf(cmp!, patchSums(compared(v, res, f), p));
    const { xs } = selection(x1, p);
    const out1: Outgoing[] = [{ to: 0, data: half, label: 'drelu.reveal' }];
    if (open) out1.push({ to: 2, data: packBits(open.d), label: 'trunc.open' });
    // x1 + m1 (into the gathered copy of the selected elements, when there is one).
    out1.push({ to: 2, data: packRing(add(xs, deal.m1!, xs === x1 ? undefined : xs), cb), label: 'hsel.masked' });
    await s.round(out1, []);
    const { digits: d } = holderDigits(1, cmp!);
    await s.round([{ to: 2, data: d, label: 'drelu.compare' }], []);
    const got = await s.round([], [2], { 2: rb * sel + rb * p.patches + wrapBytes + tb.share });
    const [vBytes, g1Bytes, wrap, back] = splitFrame(got.get(2), [rb * sel, rb * p.patches, wrapBytes, tb.share], 2, 'hsel.select');
    const x1Two = three ? addHighValues(x1, unpackValues(back, n, f), f, 1, three.ring, own ? x1 : undefined) : x1;
    const two = selection(x1Two, p, own);
    const w1 = minusFlipTimesMask(unpackRing(vBytes, rb), unpackRing(g1Bytes, rb), deal.m!, p.map);
    if (ring.lift > 0) addWrap(w1, deal.mu!, wrap, ring.copyBits, ring.lift);
    return two.assemble(flipSubInPlace(two.xs, w1, deal.rho!, p.map));
  }
  // P2: s = x + m after round 1, γ = b ⊕ ρ after round 2, V and γ1 (and t2 + q·F) in round 3.
  const got1 = await s.round([], [1], { 1: tb.open + cb * sel });
  const [dBytes, masked1] = splitFrame(got1.get(1), [tb.open, cb * sel], 1, 'hsel.masked');
  const received = unpackRing(masked1, cb);
  const sum = add(deal.masked0!, received, received);
  // With the truncation, P2's part t2 goes into s on the selected elements (and t2 + q·F back).
  const back = three ? threeWayHelper(three, unpackBits(dBytes, n), sum, p.layout ? p.layout.selected : null) : null;
  const got2 = await s.round([], [0, 1], { 0: digits + flipBytes, 1: digits });
  const [d0, flipMasked] = splitFrame(got2.get(0), [digits, flipBytes], 0, 'drelu.compare');
  const [d1] = splitFrame(got2.get(1), [digits], 1, 'drelu.compare');
  const u = helperCompareBits(cmp!, d0, d1);
  const flips = unpackBits(flipMasked, p.patches);
  for (let i = 0; i < u.length; i++) u[i] ^= flips[i];
  // With copyRing: s reduced mod 2^r, and the wrap's share g1 (copy-ring.ts).
  const wrap = ring.lift > 0 ? wrapShare(sum, u, p.map, deal.g0!, ring.copyBits, ring.lift) : null;
  // V = γ·s − T into T's vector (drawn for this step only); γ1 = γ − γ0 into γ0's.
  const V = takeByBitMinus(sum, u, p.map, deal.pad!, deal.pad!);
  const gamma1 = takeByBitMinus(new BigUint64Array(p.patches).fill(1n), u, null, deal.gamma0!, deal.gamma0!);
  const out3: Outgoing[] = [
    { to: 1, data: packRing(V, rb), label: 'hsel.select' },
    { to: 1, data: packRing(gamma1, rb), label: 'hsel.flipshare' },
  ];
  if (wrap) out3.push({ to: 1, data: wrap, label: 'hsel.wrap' });
  if (back) out3.push({ to: 1, data: packValues(back, f), label: 'trunc.share' });
  await s.round(out3, []);
  return new BigUint64Array(n);
}
