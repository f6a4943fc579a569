// DReLU with a bit window: [x ≥ 0] judged on bits [lo, lo+k) of x, helper-assisted
// comparison of the SecureNN family, three rounds:
//
//   y = (x >>> lo) mod 2^k on each share (local; the carry lost from the low bits is at most
//   one unit at bit lo). The helper deals r = r0 + r1 mod 2^k (r0, r1 from its streams with P0
//   and P1: no message) and Z_p shares of the bits of r' = r mod 2^(k−1): P0's from a stream,
//   P1's as a correction. p is the smallest prime above k + 1 (a digit below never exceeds
//   k + 1, so only a true zero vanishes mod p): 67 at k = 64, 19 at k = 16; digits travel
//   packed in base p, four to a group (6.25 bits a digit at p = 67, 4.25 at p = 19).
//   Round 1  P0 ↔ P1: z_j = y_j + r_j mod 2^k (k bits each way); P2 → P1: bit-share correction.
//            z = y + r is public to P0 and P1 and uniform to them.
//   Since y = z − r mod 2^k, MSB(y) = MSB(z) ⊕ MSB(r) ⊕ [r' > z'] (' = low k−1 bits).
//   Round 2  P0, P1 → P2: private compare of R = 2r' against Z = 2z' + 1 (k digits each).
//            A bit β shared by P0 and P1 picks the direction: β = 0 asks
//            R > Z (⇔ r' > z'), β = 1 asks Z > R (⇔ r' ≤ z'); the odd Z never equals the
//            even R, so both answers are strict. Digit j is c_j = ±(Z_j − R_j) + 1 + Σ_{l>j} R_l ⊕ Z_l,
//            zero exactly at the deciding bit; each digit is multiplied by a random s_j ∈ Z_p*,
//            masked by a zero-sharing of Z_p, and the k digits of an element are rotated by a
//            random offset. P2 sees only whether a zero occurs, t = [r' > z'] ⊕ β: a uniform bit.
//            (A random rotation suffices: the non-zero digits are i.i.d. uniform on Z_p*, so the
//            zero's position is all the order could tell, and the rotation makes it uniform.)
//   Round 3  P2 → P1: u = t ⊕ MSB(r) re-shared over Z_2^64 (P0's share from a stream).
//   Then DReLU(x) = u ⊕ e with e = 1 ⊕ MSB(z) ⊕ β public to P0 and P1, unknown to P2; the
//   arithmetic bit share is [P0]·e + (1 − 2e)·u_j, local.
//
// P2 knows u in the clear and both of its shares; a selection x·DReLU(x) uses that (see
// select.ts): it rides on rounds 1 and 3, so a ReLU costs three rounds in total.

import type { Outgoing, PartyId, Phase, Session } from '../session/session.js';
import { addWords, bitWindow, packWords, packedBytes, randomWords, unpackWords, wordView, wordsRing, type Words } from './bits.js';
import { compareMessage, packedBitCorrections, zeroTests } from './compare-digits.js';
import { uniformBelow } from './digit-sampling.js';
import { fieldBytes, unpackField } from './field-format.js';
import { bytesRing, ringBytes, splitFrame } from './wire.js';

/** The compare digits' field for a k-bit window: the smallest prime p > k + 1 (a digit
 * c_j is at most k + 1, so only a true zero is 0 mod p), and the bits of a packed digit:
 * p = 67 in 7 bits at k = 64, p = 37 in 6 bits at k = 32, p = 19 in 5 bits at k = 16. */
export function digitField(k: number): { p: number; bits: number } {
  let p = k + 2;
  for (;;) {
    let prime = p > 1;
    for (let d = 2; d * d <= p; d++) if (p % d === 0) prime = false;
    if (prime) return { p, bits: Math.ceil(Math.log2(p)) };
    p++;
  }
}

/** Bits [lo, lo + k) of x decide the sign; 2 ≤ k ≤ 64, lo + k ≤ 64. */
export interface BitWindow {
  lo: number;
  k: number;
}

/** A comparison result: the bit is u ⊕ e, with e known to P0 and P1 and u known to P2. */
export interface CompareBit {
  /** Number of bits. */
  n: number;
  /** P0/P1: the public-to-them flip e per bit (P2: empty). */
  flip: Uint8Array;
  /** P0/P1: this party's Z_2^64 share of u; P2: P0's share (P2 knows both). */
  uShare: BigUint64Array;
  /** P2: u in the clear (P0/P1: empty). */
  u: Uint8Array;
}

/** A message a rider adds to a round (to the party the round's step sends to). */
export interface RiderMessage {
  data: Uint8Array;
  label: string;
  phase?: Phase;
}

/** Rides a selection on a comparison's rounds (filled by select.ts). */
export interface Rider {
  /** The rider masks its opening with the compare's own mask (−r): only for a full window
   * (k = 64, lo = 0) over the rider's own elements, where z = x + r is public to P0 and P1
   * after round 1, so the rider needs no opening message of its own. */
  readonly sharedMask?: boolean;
  /** With sharedMask, before round 1: this party's share of r (P2: r itself). */
  shareMask?(r: BigUint64Array): void;
  /** With sharedMask, after round 1 (P0/P1): z = x + r mod 2^64. */
  revealed?(z: BigUint64Array): void;
  /** Round 1: bytes this share holder sends its fellow holder. */
  open?(): Uint8Array;
  /** Size of the fellow holder's round-1 bytes. */
  openBytes: number;
  /** Round 1: the fellow holder's bytes arrived. */
  opened?(theirs: Uint8Array): void;
  /** Round 3 (P2): the messages for P1, given u and P0's u-shares. */
  correction?(bit: CompareBit): RiderMessage[];
  /** Size of P2's round-3 correction. */
  correctionBytes: number;
  /** Round 3 (P1): the correction arrived. */
  corrected?(c: Uint8Array): void;
  /** Size of P0's round-2 bytes for P1 (absent or 0: none). */
  round2Bytes?: number;
  /** Round 2 (P0): bytes for P1, given P0's complete bit (its flips and u-shares are known
   * after round 1), e.g. the next layer's masked activation. */
  round2?(bit: CompareBit): Uint8Array;
  /** Round 2 (P1): P0's round-2 bytes arrived. */
  received2?(b: Uint8Array): void;
}

/** Checks a bit window. */
export function checkWindow(w: BitWindow): void {
  if (!Number.isInteger(w.k) || !Number.isInteger(w.lo) || w.k < 2 || w.k > 64 || w.lo < 0 || w.lo + w.k > 64)
    throw new Error(`invalid bit window lo=${w.lo} k=${w.k} (need 2 ≤ k ≤ 64, lo ≥ 0, lo + k ≤ 64)`);
}

/** Comparison [x ≥ 0] on bits [lo, lo+k) of every element of the shared vector x; P2 passes
 * a placeholder of the same length. An optional rider carries a selection in rounds 1 and 3. */
export async function compareWindow(s: Session, x: BigUint64Array, w: BitWindow, rider?: Rider): Promise<CompareBit> {
  checkWindow(w);
  if (rider?.sharedMask && (w.k !== 64 || w.lo !== 0)) throw new Error(`compare: a rider sharing the mask needs the full window (lo=0, k=64), got lo=${w.lo} k=${w.k}`);
  return s.id === 2 ? helperSide(s, x.length, w, rider) : holderSide(s, s.id, x, w, rider);
}

/** The randomness P0 and P1 share for the compare (same draws on both sides): the rotation
 * and direction bit β per element; the digit multipliers and zero-sharings follow on the same
 * stream, drawn by compareMessage. */
function holderCoins(s: Session, peer: PartyId, n: number, k: number) {
  const g = s.shared(peer, 'drelu');
  const rot = uniformBelow(g, n, k);
  const beta = g.bytes(n); // bit 0 of each byte
  return { g, rot, beta };
}

/** The input-independent part of a comparison of n elements on a k-bit window: the helper's
 * dealing, drawn from the step's 'drelu' streams in the order the online part continues them.
 * The offline phase (runtime/program/offline.ts) makes it before the input arrives and moves
 * P2's bit corrections to P1 into its own exchange (`bitsSent`); the online part takes it from
 * there (Session.prepared), else deals it now and sends the corrections in round 1. */
export interface CompareDealing {
  n: number;
  k: number;
  /** P0/P1: its share of r; P2: r. */
  r: Words;
  /** P0/P1: the coins they share (rotation, direction bit β, and the stream the digits' coins continue on). */
  coins: ReturnType<typeof holderCoins> | null;
  /** P0: its Z_p shares of the bits of r'; P1: the same from P2's correction, once received; P2: null. */
  rBits: Uint8Array | null;
  /** P0 and P2: P0's share of u (the same draw on their stream); P1: empty. */
  uShare: BigUint64Array;
  /** P2: P1's bit corrections ('drelu.bits'); others: null. */
  bits: Uint8Array | null;
  /** Bytes of the bit corrections; true once they travelled in the offline exchange. */
  bitsBytes: number;
  bitsSent: boolean;
}

/** This party's dealing of a comparison of n elements on window w (all three call it). */
export function dealCompare(s: Session, n: number, w: BitWindow): CompareDealing {
  checkWindow(w);
  const { k } = w;
  const m = k - 1;
  const { p } = digitField(k);
  const bitsBytes = fieldBytes(n * m, p);
  if (s.id === 2) {
    const d0 = s.shared(0, 'drelu');
    const d1 = s.shared(1, 'drelu');
    const r = addWords(randomWords(d0, n, k), randomWords(d1, n, k), k);
    const bits0 = uniformBelow(d0, n * m, p);
    // P0's share of u next, as P0 draws it: several dealings of one step (a MaxPool's levels)
    // made in a row then keep both streams in step.
    const u0 = d0.ring(n);
    return { n, k, r, coins: null, rBits: null, uShare: u0, bits: packedBitCorrections(r, bits0, n, m, p), bitsBytes, bitsSent: false };
  }
  const me = s.id;
  const dealer = s.shared(2, 'drelu');
  const r = randomWords(dealer, n, k);
  const coins = holderCoins(s, me === 0 ? 1 : 0, n, k);
  const rBits = me === 0 ? uniformBelow(dealer, n * m, p) : null;
  // P0's share of u comes next on its stream with P2 (P2 draws it in the same order).
  const uShare = me === 0 ? dealer.ring(n) : new BigUint64Array(0);
  return { n, k, r, coins, rBits, uShare, bits: null, bitsBytes, bitsSent: false };
}

/** P1: P2's bit corrections of `d` arrived (in the offline exchange). */
export function receiveCompareBits(d: CompareDealing, bytes: Uint8Array): void {
  d.rBits = unpackField(bytes, d.n * (d.k - 1), digitField(d.k).p);
  d.bitsSent = true;
}

/** The step's prepared dealing when it fits this comparison, else a fresh one. */
function dealing(s: Session, n: number, w: BitWindow): CompareDealing {
  const ready = s.prepared?.('drelu') as CompareDealing | undefined;
  if (!ready) return dealCompare(s, n, w);
  if (ready.n !== n || ready.k !== w.k) throw new Error(`compare: the offline dealing is for ${ready.n} elements at k = ${ready.k}, the comparison has ${n} at k = ${w.k}`);
  return ready;
}

async function holderSide(s: Session, me: 0 | 1, x: BigUint64Array, w: BitWindow, rider?: Rider): Promise<CompareBit> {
  const n = x.length;
  const { k } = w;
  const m = k - 1;
  const peer = me === 0 ? 1 : 0;
  const deal = dealing(s, n, w);
  const rShare = deal.r;
  const coins = deal.coins!;
  const { p } = digitField(k);
  let rBits: Uint8Array | null = deal.rBits;
  let uShare: BigUint64Array = deal.uShare;
  const bitsNow = me === 1 && !deal.bitsSent;

  if (rider?.sharedMask) rider.shareMask!(wordsRing(rShare));
  // Round 1: masked reveal of y + r (and the rider's opening); P1 also gets its bit shares.
  const zMine = revealHalf(x, w, deal);
  const zBytes = packedBytes(n, k);
  const out1 = [{ to: peer as PartyId, data: packWords(zMine, k), label: 'drelu.reveal' }];
  if (rider?.open && rider.openBytes > 0) out1.push({ to: peer, data: rider.open(), label: 'select.open' });
  const peerBytes = zBytes + (rider ? rider.openBytes : 0);
  const got1 = await s.round(out1, me === 0 ? [1] : bitsNow ? [0, 2] : [0], me === 0 ? { 1: peerBytes } : { 0: peerBytes, 2: fieldBytes(n * m, p) });
  const [zTheirs, openTheirs] = splitFrame(got1.get(peer), [zBytes, rider ? rider.openBytes : 0], peer, 'drelu.reveal');
  if (rider && rider.openBytes > 0) rider.opened?.(openTheirs);
  if (bitsNow) {
    const [corr] = splitFrame(got1.get(2), [fieldBytes(n * m, p)], 2, 'drelu.bits');
    rBits = unpackField(corr, n * m, p);
  }
  const z = addWords(zMine, unpackWords(zTheirs, n, k), k);
  if (rider?.sharedMask) rider.revealed!(wordsRing(z));

  const flip = compareFlips(z, coins.beta, k);

  // Round 2: the masked, rotated compare digits to P2 (and the rider's bytes P0 → P1).
  const digits = compareMessage(me, z, rBits!, coins.rot, coins.beta, coins.g, n, k, p);
  const out2 = [{ to: 2 as PartyId, data: digits, label: 'drelu.compare' }];
  const extra2 = rider?.round2Bytes ?? 0;
  if (me === 0 && extra2 > 0) out2.push({ to: 1, data: rider!.round2!({ n, flip, uShare, u: new Uint8Array(0) }), label: 'weights.activation' });
  const got2 = await s.round(out2, me === 1 && extra2 > 0 ? [0] : [], me === 1 && extra2 > 0 ? { 0: extra2 } : undefined);
  if (me === 1 && extra2 > 0) rider!.received2!(splitFrame(got2.get(0), [extra2], 0, 'weights.activation')[0]);

  // Round 3: P1 receives its share of u (and the rider's correction).
  if (me === 0) {
    await s.round([], []);
  } else {
    const got3 = await s.round([], [2], { 2: 8 * n + (rider ? rider.correctionBytes : 0) });
    const [u1, corr] = splitFrame(got3.get(2), [8 * n, rider ? rider.correctionBytes : 0], 2, 'drelu.reshare');
    uShare = bytesRing(u1); // a view: received frames are this party's, never rewritten
    rider?.corrected?.(corr);
  }
  return { n, flip, uShare, u: new Uint8Array(0) };
}

async function helperSide(s: Session, n: number, w: BitWindow, rider?: Rider): Promise<CompareBit> {
  const { k } = w;
  const deal = dealing(s, n, w);
  const r = deal.r;
  if (rider?.sharedMask) rider.shareMask!(wordsRing(r));
  const { p: P } = digitField(k);
  // Round 1: P1's half of the bit shares (input-independent: preprocessing), unless the
  // offline exchange carried it.
  await s.round(deal.bitsSent ? [] : [{ to: 1, data: deal.bits!, label: 'drelu.bits', phase: 'preprocessing' }], []);

  // Round 2: the two holders' digits; a zero digit in an element means t = 1.
  const size = fieldBytes(n * k, P);
  const got = await s.round([], [0, 1], { 0: size, 1: size });
  const [a] = splitFrame(got.get(0), [size], 0, 'drelu.compare');
  const [b] = splitFrame(got.get(1), [size], 1, 'drelu.compare');
  const u = helperBits(deal, a, b);

  // Round 3: re-share u over Z_2^64 (P0's share from the stream, drawn with the dealing; P1's sent).
  const u0 = deal.uShare;
  const u1 = new BigUint64Array(n);
  // u1 = u − u0 mod 2^64 on 32-bit words (a BigInt per element costs more than the compare).
  const a0 = wordView(u0);
  const a1 = wordView(u1);
  for (let i = 0; i < n; i++) {
    const lo = a0[2 * i];
    a1[2 * i] = u[i] - lo;
    a1[2 * i + 1] = -a0[2 * i + 1] - (u[i] < lo ? 1 : 0);
  }
  const bit: CompareBit = { n, flip: new Uint8Array(0), uShare: u0, u };
  const out3: Outgoing[] = [{ to: 1, data: ringBytes(u1), label: 'drelu.reshare' }];
  if (rider?.correction) for (const m of rider.correction(bit)) out3.push({ to: 1, ...m });
  await s.round(out3, []);
  return bit;
}

/** A holder's half of round 1's masked reveal: (x >>> lo) mod 2^k of its share plus its share
 * of r, mod 2^k (the two halves sum to z = y + r). */
export function revealHalf(x: BigUint64Array, w: BitWindow, deal: CompareDealing): Words {
  return addWords(bitWindow(x, w.lo, w.k), deal.r, w.k);
}

/** The flips e = 1 ⊕ MSB(z) ⊕ β, public to both holders once z is. */
export function compareFlips(z: Words, beta: Uint8Array, k: number): Uint8Array {
  const n = z.lo.length;
  const flip = new Uint8Array(n);
  const top = k - 1;
  const zTop = top < 32 ? z.lo : z.hi;
  const zShift = top & 31;
  for (let i = 0; i < n; i++) flip[i] = 1 ^ ((zTop[i] >>> zShift) & 1) ^ (beta[i] & 1);
  return flip;
}

/** P2: u = t ⊕ MSB(r) per element from the holders' packed round-2 digits (t: a zero among
 * an element's digits). */
export function helperBits(deal: CompareDealing, a: Uint8Array, b: Uint8Array): Uint8Array {
  const { n, k, r } = deal;
  const t = zeroTests(a, b, n, k, digitField(k).p);
  const u = new Uint8Array(n);
  const top = k - 1;
  const rTop = top < 32 ? r.lo : r.hi;
  const topShift = top & 31;
  for (let i = 0; i < n; i++) u[i] = t[i] ^ ((rTop[i] >>> topShift) & 1);
  return u;
}

/** Arithmetic shares over Z_2^64 of the comparison bits (P2 gets zeros). */
export function bitShares(s: Session, bit: CompareBit): BigUint64Array {
  const out = new BigUint64Array(bit.n);
  if (s.id === 2) return out;
  // Where the flip e is 1: P0 holds 1 − u0, P1 holds −u1; on 32-bit words, no BigInt.
  const one = s.id === 0 ? 1 : 0;
  const u = wordView(bit.uShare);
  const o = wordView(out);
  const flip = bit.flip;
  for (let i = 0; i < bit.n; i++) {
    const lo = u[2 * i];
    const hi = u[2 * i + 1];
    if (flip[i]) {
      o[2 * i] = one - lo;
      o[2 * i + 1] = -hi - (one < lo ? 1 : 0);
    } else {
      o[2 * i] = lo;
      o[2 * i + 1] = hi;
    }
  }
  return out;
}

/** DReLU on a bit window: arithmetic shares of [x ≥ 0] (judged on bits [lo, lo+k)). */
export async function drelu(s: Session, x: BigUint64Array, w: BitWindow): Promise<BigUint64Array> {
  return bitShares(s, await compareWindow(s, x, w));
}
