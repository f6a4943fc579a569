// The comparison of compare.ts in the client-offline mode (helper-select.ts): the same dealing
// (dealCompare: P2's r and Z_p bit shares, the holders' coins), the same masked reveal and
// digits, but P0's share of the compared value is known offline, so
//   - P0's half of the masked reveal, y0 + r0 mod 2^k, travels in the offline phase
//     ('drelu.reveal', preprocessing), beside P2's bit corrections to P1 ('drelu.bits');
//   - online only P1's half goes to P0 (round 1), then both send their digits to P2 (round 2);
//   - there is no round 3 re-share: P2 keeps u and uses it itself (the helper selects).
// Views as in compare.ts: P1 receives P0's half (uniform: r0), P0 receives P1's (uniform: r1),
// P2 the masked, multiplied, rotated digits (it learns u, a fair coin); e = 1 ⊕ MSB(z) ⊕ β is
// public to P0 and P1 after round 1, unknown to P2.
// This file holds the per-party steps; helper-select.ts merges them into its rounds.

import type { Outgoing, Session } from '../session/session.js';
import { packWords, packedBytes, unpackWords, addWords, type Words } from './bits.js';
import { compareFlips, dealCompare, digitField, helperBits, receiveCompareBits, revealHalf, type BitWindow, type CompareDealing } from './compare.js';
import { compareMessage } from './compare-digits.js';
import { fieldBytes } from './field-format.js';

/** One party's client-offline comparison of n values. */
export interface OfflineRevealCompare {
  readonly deal: CompareDealing;
  readonly w: BitWindow;
  /** P0: its reveal half (made offline); P1: its own half once made online. */
  mine: Words | null;
  /** P0: P1's half (online); P1: P0's half (offline). */
  theirs: Words | null;
  /** P0, P1: z = y + r mod 2^k once both halves are known. */
  z: Words | null;
}

/** The comparison's offline sizes: P0's reveal half (P0 → P1) and P2's bit corrections (P2 → P1). */
export function offlineCompareBytes(n: number, w: BitWindow): { reveal: number; bits: number } {
  return { reveal: packedBytes(n, w.k), bits: fieldBytes(n * (w.k - 1), digitField(w.k).p) };
}

/** This party's dealing of a client-offline comparison of n values on window w (P0 passes its
 * offline share of the compared values, the others null), and its offline messages: P0 → P1
 * its reveal half, P2 → P1 the bit corrections. */
export function dealCompareClientOffline(s: Session, n: number, w: BitWindow, x0: BigUint64Array | null): { cmp: OfflineRevealCompare; outgoing: Outgoing[] } {
  const deal = dealCompare(s, n, w);
  const cmp: OfflineRevealCompare = { deal, w, mine: null, theirs: null, z: null };
  if (s.id === 2) {
    deal.bitsSent = true;
    return { cmp, outgoing: [{ to: 1, data: deal.bits!, label: 'drelu.bits', phase: 'preprocessing' }] };
  }
  if (s.id === 1) return { cmp, outgoing: [] };
  if (!x0 || x0.length !== n) throw new Error(`internal: dealCompareClientOffline: P0 must pass its ${n} offline values`);
  cmp.mine = revealHalf(x0, w, deal);
  return { cmp, outgoing: [{ to: 1, data: packWords(cmp.mine, w.k), label: 'drelu.reveal', phase: 'preprocessing' }] };
}

/** P1: the offline exchange's parts arrived (P0's reveal half, P2's bit corrections). */
export function receiveCompareClientOffline(cmp: OfflineRevealCompare, reveal: Uint8Array, bits: Uint8Array): void {
  cmp.theirs = unpackWords(reveal, cmp.deal.n, cmp.w.k);
  receiveCompareBits(cmp.deal, bits);
}

/** P1, round 1: its reveal half for P0 (it knows z at once: P0's half came offline). */
export function p1RevealHalf(cmp: OfflineRevealCompare, x1: BigUint64Array): Uint8Array {
  cmp.mine = revealHalf(x1, cmp.w, cmp.deal);
  cmp.z = addWords(cmp.mine, cmp.theirs!, cmp.w.k);
  return packWords(cmp.mine, cmp.w.k);
}

/** P0, after round 1: P1's reveal half arrived. */
export function p0Revealed(cmp: OfflineRevealCompare, bytes: Uint8Array): void {
  cmp.theirs = unpackWords(bytes, cmp.deal.n, cmp.w.k);
  cmp.z = addWords(cmp.mine!, cmp.theirs, cmp.w.k);
}

/** P0, P1 once z is known: the flips e (public to both) and the round-2 digits for P2. */
export function holderDigits(me: 0 | 1, cmp: OfflineRevealCompare): { flip: Uint8Array; digits: Uint8Array } {
  const { deal, w } = cmp;
  const coins = deal.coins!;
  const flip = compareFlips(cmp.z!, coins.beta, w.k);
  const digits = compareMessage(me, cmp.z!, deal.rBits!, coins.rot, coins.beta, coins.g, deal.n, w.k, digitField(w.k).p);
  return { flip, digits };
}

/** Bytes of one holder's round-2 digits. */
export function digitBytes(n: number, w: BitWindow): number {
  return fieldBytes(n * w.k, digitField(w.k).p);
}

/** P2, round 2: u per value from the holders' digits (the comparison bit is u ⊕ e). */
export function helperCompareBits(cmp: OfflineRevealCompare, a: Uint8Array, b: Uint8Array): Uint8Array {
  return helperBits(cmp.deal, a, b);
}
