// Selection x · b for a comparison bit b = u ⊕ e (compare.ts: e public to P0 and P1, u known
// to the helper P2). Since x·b = e·x + (1 − 2e)·x·u, only x·u needs a product, and its second
// factor is the helper's own bit: with a helper-dealt a (a_j from the streams P2 shares with
// each holder) and c = a·u shared (P0's half from a stream, P1's half a correction), P0 and P1
// open d = x − a to each other and take x·u = d·u + c locally. Per element: 16 bytes of opening
// plus 8 bytes of correction, and nothing more per bit when one bit serves a whole patch.
// The opening rides on the comparison's first round and the correction on its last, so a
// ReLU takes the comparison's three rounds. On a full 64-bit window (lo = 0) the selection
// reuses the comparison's mask: a = −r, so d = x − a = z, which the comparison opens anyway,
// and the 16 bytes of opening disappear (P2 knows r, hence a·u).

import { add, gatherByIndex, mul, neg, sub } from '../ring/ring.js';
import type { Session } from '../session/session.js';
import { flipSubInPlace, takeByBitMinus } from './bits.js';
import type { BitWindow, CompareBit, Rider, RiderMessage } from './compare.js';
import { bytesRing, ringBytes, splitFrame } from './wire.js';

/** The input-independent randomness of a selection of n elements, from the step's 'select'
 * streams in the order the online selection draws them: P0 and P1 their share of the mask a
 * (none with a shared mask: the comparison's), P0 and P2 c0; P2 a = a0 + a1. The offline
 * phase (runtime/program/offline.ts) draws it before the input arrives; the selection takes
 * it from there (Session.prepared), else draws it now. */
export interface SelectDealing {
  n: number;
  sharedMask: boolean;
  /** P0/P1: its share of a; P2: a (empty with a shared mask: set from the comparison's r). */
  a: BigUint64Array;
  /** P0 and P2: c0; P1: null. */
  c: BigUint64Array | null;
}

/** This party's dealing of a selection of n elements (all three call it). */
export function dealSelect(s: Session, n: number, sharedMask: boolean): SelectDealing {
  if (sharedMask) return { n, sharedMask, a: new BigUint64Array(0), c: s.id === 1 ? null : s.shared(s.id === 0 ? 2 : 0, 'select').ring(n) };
  if (s.id === 2) {
    const g0 = s.shared(0, 'select');
    const a0 = g0.ring(n);
    const c = g0.ring(n);
    const a1 = s.shared(1, 'select').ring(n);
    return { n, sharedMask, a: add(a0, a1, a0), c };
  }
  const g = s.shared(2, 'select');
  const a = g.ring(n);
  return { n, sharedMask, a, c: s.id === 0 ? g.ring(n) : null };
}

/** The selection of every element of x by bit patchOf[i] (or bit i when patchOf is null). */
export class Selection implements Rider {
  readonly openBytes: number;
  readonly correctionBytes: number;
  private a: BigUint64Array; // P0/P1: own share of a; P2: a = a0 + a1
  private readonly c: BigUint64Array | null; // P0: c0 (stream); P2: c0; P1: null (cP1 from corrected())
  private d: BigUint64Array | null = null;
  private cP1: BigUint64Array | null = null;

  /** With sharedMask (only for x itself compared on the full window lo = 0, k = 64), the mask
   * is the comparison's: a = −r (see the file comment). */
  constructor(
    private readonly s: Session,
    private readonly x: BigUint64Array,
    private readonly patchOf: Int32Array | null,
    readonly sharedMask = false,
  ) {
    const n = x.length;
    if (sharedMask && patchOf) throw new Error('selection: a shared mask needs the compared elements themselves (no patches)');
    this.openBytes = sharedMask ? 0 : 8 * n;
    this.correctionBytes = 8 * n;
    const ready = s.prepared?.('select') as SelectDealing | undefined;
    if (ready && (ready.n !== n || ready.sharedMask !== sharedMask)) throw new Error(`selection: the offline dealing is for ${ready.n} elements (shared mask ${ready.sharedMask}), the selection has ${n} (${sharedMask})`);
    const deal = ready ?? dealSelect(s, n, sharedMask);
    this.a = deal.a;
    this.c = deal.c;
  }

  /** With sharedMask: a = −(this party's share of r), or −r for P2. */
  shareMask(r: BigUint64Array): void {
    this.a = neg(r);
  }

  /** With sharedMask: d = x − a = x + r = z, opened by the comparison. */
  revealed(z: BigUint64Array): void {
    this.d = z;
  }

  /** d_j = x_j − a_j. */
  open(): Uint8Array {
    // Sent: the runtime owns this vector now, opened() writes the sum to a fresh one.
    const d = sub(this.x, this.a);
    this.d = d;
    return ringBytes(d);
  }

  opened(theirs: Uint8Array): void {
    // A fresh vector: the one sent belongs to the runtime now.
    this.d = add(this.d!, bytesRing(theirs));
  }

  /** P2: c1 = a·u − c0, elementwise, u taken at each element's bit. */
  correction(bit: CompareBit): RiderMessage[] {
    // Into c0's own vector (drawn for this selection, read nowhere after): one fresh vector
    // of the selection's size fewer per comparison.
    const c1 = takeByBitMinus(this.a, bit.u, this.patchOf, this.c!, this.c!);
    return [{ data: ringBytes(c1), label: 'select.correction' }];
  }

  corrected(c: Uint8Array): void {
    this.cP1 = bytesRing(c);
  }

  /** This party's share of x · bit (P2: zeros). */
  finish(bit: CompareBit): BigUint64Array {
    const n = this.x.length;
    if (this.s.id === 2) return new BigUint64Array(n);
    const c = this.s.id === 0 ? this.c! : this.cP1!;
    const map = this.patchOf;
    // xu = d·u + c by the ring kernels, then x − xu where the flip is set.
    const u = map ? gatherByIndex(bit.uShare, map) : bit.uShare;
    const xu = mul(this.d!, u);
    add(xu, c, xu);
    return flipSubInPlace(this.x, xu, bit.flip, map);
  }
}

/** x · bit for a comparison bit computed earlier (one round: 24 bytes per element). */
export async function select(s: Session, x: BigUint64Array, bit: CompareBit, patchOf: Int32Array | null = null): Promise<BigUint64Array> {
  const sel = new Selection(s, x, patchOf);
  if (s.id === 2) {
    await s.round(sel.correction(bit).map((m) => ({ to: 1 as const, ...m })), []);
    return sel.finish(bit);
  }
  const peer = s.id === 0 ? 1 : 0;
  const got = await s.round([{ to: peer, data: sel.open(), label: 'select.open' }], s.id === 0 ? [1] : [0, 2], s.id === 0 ? { 1: sel.openBytes } : { 0: sel.openBytes, 2: sel.correctionBytes });
  sel.opened(splitFrame(got.get(peer), [sel.openBytes], peer, 'select.open')[0]);
  if (s.id === 1) sel.corrected(splitFrame(got.get(2), [sel.correctionBytes], 2, 'select.correction')[0]);
  return sel.finish(bit);
}

/** True for the window on which a ReLU's selection reuses the comparison's mask. */
export function fullWindow(w: BitWindow): boolean {
  return w.k === 64 && w.lo === 0;
}
