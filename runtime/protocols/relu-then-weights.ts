// A (block-)ReLU whose output feeds a product with P1's weights, in the ReLU's three rounds:
// P0's share of the ReLU output is complete after round 1 (its halves of u and of the
// selection's c come from streams, d = x − a is open), so P0 sends the next layer's masked
// activation y0 − A to P1 in round 2, beside its compare digits; P2 adds conv(A, B) − C0 to
// its round-3 correction; P1 finishes both after round 3. Bytes are those of the ReLU plus
// those of the product; the product's round disappears.

import { add, sub } from '../ring/ring.js';
import type { Session } from '../session/session.js';
import { compareWindow } from './compare.js';
import type { BitWindow, CompareBit, Rider, RiderMessage } from './compare.js';
import { Selection, fullWindow } from './select.js';
import { blockPlan, type BlockSize } from './block-relu.js';
import { applyWeights, maskProduct } from './weights.js';
import type { MaskProduct, WeightKey } from './weights.js';
import { bytesRing, ringBytes } from './wire.js';

/** A selection rider that also carries the next weight layer's messages. */
class SelectThenWeights implements Rider {
  readonly sharedMask: boolean;
  readonly openBytes: number;
  readonly correctionBytes: number;
  readonly round2Bytes: number;
  private masked: BigUint64Array | null = null;
  private corr: BigUint64Array | null = null;
  /** P0: its product share, computed in round 2. */
  product: BigUint64Array | null = null;
  /** P0: its activation share, computed in round 2. */
  activation: BigUint64Array | null = null;
  /** P0, P2: the activation mask A and P0's product share or P2's correction (maskProduct). */
  private readonly masks: MaskProduct | null = null;

  constructor(
    private readonly s: Session,
    private readonly sel: Selection,
    private readonly assemble: (ys: BigUint64Array) => BigUint64Array,
    private readonly key: WeightKey,
  ) {
    const { map } = key;
    this.sharedMask = sel.sharedMask;
    this.openBytes = sel.openBytes;
    this.correctionBytes = sel.correctionBytes + 8 * map.ySize;
    this.round2Bytes = 8 * map.xSize;
    // Same stream and order as applyWeights (weights.ts); prepared offline when it ran.
    if (s.id !== 1) this.masks = maskProduct(s, key);
  }

  shareMask(r: BigUint64Array): void {
    this.sel.shareMask(r);
  }
  revealed(z: BigUint64Array): void {
    this.sel.revealed(z);
  }
  open(): Uint8Array {
    return this.sel.open();
  }
  opened(theirs: Uint8Array): void {
    this.sel.opened(theirs);
  }

  /** P0: finishes its activation share, sends it masked, computes its product share. */
  round2(bit: CompareBit): Uint8Array {
    const y0 = this.assemble(this.sel.finish(bit));
    this.activation = y0;
    const masked = sub(y0, this.masks!.a);
    this.product = this.masks!.share;
    return ringBytes(masked);
  }
  received2(b: Uint8Array): void {
    this.masked = bytesRing(b);
  }

  /** P2: the selection's correction, then conv(A, B) − C0 (preprocessing, as in applyWeights). */
  correction(bit: CompareBit): RiderMessage[] {
    return [...this.sel.correction(bit), { data: ringBytes(this.masks!.share), label: 'weights.correction', phase: 'preprocessing' }];
  }
  corrected(c: Uint8Array): void {
    const n = this.sel.correctionBytes;
    this.sel.corrected(c.subarray(0, n));
    this.corr = bytesRing(c.subarray(n));
  }

  /** This party's shares of the activation and of the product (P2: zeros). */
  finish(bit: CompareBit): { activation: BigUint64Array; product: BigUint64Array } {
    const { map } = this.key;
    if (this.s.id === 0) return { activation: this.activation!, product: this.product! };
    if (this.s.id === 2) return { activation: this.assemble(this.sel.finish(bit)), product: new BigUint64Array(map.ySize) };
    const y1 = this.assemble(this.sel.finish(bit));
    const p = map.apply(add(this.masked!, y1), this.key.held);
    add(p, this.corr!, p);
    return { activation: y1, product: p };
  }
}

/** Block-ReLU (every block [1, 1]: a plain ReLU) followed by the product with a weight layer
 * (setupWeights), in three rounds: shares of the activation (for residual branches) and of
 * the product (before truncation). With every channel identity there is no comparison and
 * the product takes its usual one round. */
export async function blockReluThenWeights(
  s: Session,
  x: BigUint64Array,
  shape: readonly [number, number, number, number],
  blocks: readonly BlockSize[],
  w: BitWindow,
  key: WeightKey,
): Promise<{ activation: BigUint64Array; product: BigUint64Array }> {
  const plan = blockPlan(x, shape, blocks);
  if (plan.patches === 0) {
    return { activation: x.slice(), product: await applyWeights(s, key, x) };
  }
  const rider = new SelectThenWeights(s, new Selection(s, plan.xs, plan.map), plan.assemble, key);
  const bit = await compareWindow(s, plan.sums, w, rider);
  return rider.finish(bit);
}

/** ReLU followed by the product with a weight layer, in three rounds. */
export async function reluThenWeights(s: Session, x: BigUint64Array, w: BitWindow, key: WeightKey): Promise<{ activation: BigUint64Array; product: BigUint64Array }> {
  const rider = new SelectThenWeights(s, new Selection(s, x, null, fullWindow(w)), (ys) => ys, key);
  const bit = await compareWindow(s, x, w, rider);
  return rider.finish(bit);
}
