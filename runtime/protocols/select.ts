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
import { compareWindow } from './compare.js';
import type { BitWindow, CompareBit, Rider, RiderMessage } from './compare.js';
import { bytesRing, ringBytes, splitFrame } from './wire.js';

/** The selection of every element of x by bit patchOf[i] (or bit i when patchOf is null). */
export class Selection implements Rider {
  readonly openBytes: number;
  readonly correctionBytes: number;
  private a: BigUint64Array; // P0/P1: own share of a; P2: a = a0 + a1
  private readonly c: BigUint64Array | null; // P0: c0 (stream); P2: c0; P1: set by corrected()
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
    if (sharedMask) {
      this.a = new BigUint64Array(0); // set by shareMask
      this.c = s.id === 1 ? null : s.shared(s.id === 0 ? 2 : 0, 'select').ring(n);
    } else if (s.id === 2) {
      const g0 = s.shared(0, 'select');
      const a0 = g0.ring(n);
      this.c = g0.ring(n);
      const a1 = s.shared(1, 'select').ring(n);
      this.a = add(a0, a1, a0);
    } else {
      const g = s.shared(2, 'select');
      this.a = g.ring(n);
      this.c = s.id === 0 ? g.ring(n) : null;
    }
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

/** ReLU on a bit window: x · [x ≥ 0], comparison and selection fused into three rounds. */
export async function relu(s: Session, x: BigUint64Array, w: BitWindow): Promise<BigUint64Array> {
  const sel = new Selection(s, x, null, fullWindow(w));
  const bit = await compareWindow(s, x, w, sel);
  return sel.finish(bit);
}

/** True for the window on which a ReLU's selection reuses the comparison's mask. */
export function fullWindow(w: BitWindow): boolean {
  return w.k === 64 && w.lo === 0;
}

/** Block sizes of one channel: a patch [bh, bw], or no ReLU at all. */
export type BlockSize = readonly [number, number] | 'identity';

/** For a block-ReLU over NCHW data: for every element its patch index (−1 for identity
 * channels), the number of patches, and the non-identity elements in order. Typed arrays
 * sized up front (a ResNet50 layer has ~800 k elements; growing a JS array of them cost
 * about as much as the layer's selection arithmetic). */
export function blockLayout(shape: readonly [number, number, number, number], blocks: readonly BlockSize[]) {
  const [n, c, h, w] = shape;
  if (blocks.length !== c) throw new Error(`block-relu: ${blocks.length} block sizes for ${c} channels`);
  const plane = h * w;
  const patchOf = new Int32Array(n * c * plane).fill(-1);
  let kept = 0;
  for (const blk of blocks) if (blk !== 'identity') kept++;
  // Non-identity channels are whole planes, in order: their elements are the selected ones.
  const selected = new Int32Array(n * kept * plane);
  /** Patch column of each x coordinate, per block width. */
  const columnPatch = new Map<number, Int32Array>();
  let patches = 0;
  let at = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const blk = blocks[ch];
      if (blk === 'identity') continue;
      const [bh, bw] = blk;
      const ph = Math.ceil(h / bh);
      const pw = Math.ceil(w / bw);
      let col = columnPatch.get(bw);
      if (!col) columnPatch.set(bw, (col = Int32Array.from({ length: w }, (_, xx) => Math.floor(xx / bw))));
      const base = (b * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        const row = patches + Math.floor(y / bh) * pw;
        const line = base + y * w;
        for (let xx = 0; xx < w; xx++) patchOf[line + xx] = row + col[xx];
      }
      for (let i = 0; i < plane; i++) selected[at++] = base + i;
      patches += ph * pw;
    }
  return { patchOf, patches, selected };
}

/** The local part of a block-ReLU: patch sums to compare, the non-identity elements to
 * select (with their patch), and how to put the selected values back. */
export function blockPlan(x: BigUint64Array, shape: readonly [number, number, number, number], blocks: readonly BlockSize[]) {
  const { patchOf, patches, selected } = blockLayout(shape, blocks);
  const sums = new BigUint64Array(patches);
  const xs = new BigUint64Array(selected.length);
  const map = new Int32Array(selected.length);
  for (let j = 0; j < selected.length; j++) {
    const i = selected[j];
    xs[j] = x[i];
    map[j] = patchOf[i];
    sums[patchOf[i]] += x[i];
  }
  /** The whole activation from the selected values (identity elements unchanged). */
  const assemble = (ys: BigUint64Array): BigUint64Array => {
    const out = x.slice();
    for (let j = 0; j < selected.length; j++) out[selected[j]] = ys[j];
    return out;
  };
  return { patches, sums, xs, map, assemble };
}

/** Block-ReLU: every bh×bw patch (tiled from the top-left, edge patches partial) of a channel
 * passes or becomes zero by the sign of its sum (one comparison per patch, on the window w),
 * one selection per element; identity channels pass unchanged at no cost. Three rounds, or
 * none when every channel is identity. */
export async function blockRelu(
  s: Session,
  x: BigUint64Array,
  shape: readonly [number, number, number, number],
  blocks: readonly BlockSize[],
  w: BitWindow,
): Promise<BigUint64Array> {
  const plan = blockPlan(x, shape, blocks);
  if (plan.patches === 0) return x.slice();
  const sel = new Selection(s, plan.xs, plan.map);
  const bit = await compareWindow(s, plan.sums, w, sel);
  return plan.assemble(sel.finish(bit));
}

/** Clip(x, lo, hi) = lo + ReLU(x − lo) − ReLU(x − hi) for public lo < hi (ReLU6: lo = 0,
 * hi = 6·2^f): both comparisons in the same three rounds. */
export async function clip(s: Session, x: BigUint64Array, lo: bigint, hi: bigint, w: BitWindow): Promise<BigUint64Array> {
  const n = x.length;
  const v = new BigUint64Array(2 * n);
  const p0 = s.id === 0;
  for (let i = 0; i < n; i++) {
    v[i] = p0 ? x[i] - lo : x[i];
    v[n + i] = p0 ? x[i] - hi : x[i];
  }
  const r = await relu(s, v, w);
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) out[i] = (p0 ? lo : 0n) + r[i] - r[n + i];
  return out;
}
