// A (block-)ReLU whose output feeds a product with P1's weights, in the ReLU's three rounds.
//
// In DESIGN terms (P0 client, P1 server with W, P2 helper; x = x0 + x1 shared by P0 and P1;
// the comparison bit b = e ⊕ u of compare.ts: e public to P0 and P1 after round 1, u known
// to P2 after round 2; A and C0 from the P0–P2 stream, B the weight mask of setupWeights):
//   round 1  P0 ↔ P1  the comparison's masked reveal; the selection's opening d = x − a
//                     (a = a0 + a1, a0 with P2 from P0's stream, a1 from P1's): 8 B each way
//                     per selected element, none on the full 64-bit window (a = −r, d = z).
//            P2 → P1  the comparison's bit corrections (preprocessing).
//   round 2  P0, P1 → P2  compare digits.  P0 → P1  M0 = y0 − A, P0's share of the selected
//                     activation y = x·b masked by the product's mask: y0 = e·x0 + (1 − 2e)·
//                     (d·u0 + c0) needs only P0's stream values (u0, c0) and e, d.
//   round 3  P2 → P1  u1 = u − u0 (8 B per patch), c1 = a·u − c0 (8 B per selected element),
//                     conv(A, B) − C0 (8 B per output element, preprocessing).
//   P1: y1 = e·x1 + (1 − 2e)·(d·u1 + c1); product share conv(M0 + y1, W) + conv(A, B) − C0;
//   P0: conv(A, W − B) + C0. Their sum is conv(y, W) (weights.ts).
// Who learns what: P0 receives z (uniform: r from the streams), x1 − a1 (uniform: a1), and
// nothing after round 1, so P0's view is independent of b; P1 receives z, x0 − a0, the
// bit corrections, M0 (uniform: A is unknown to P1), u1 (uniform: u0), c1 (uniform: c0) and
// the product's correction (uniform: C0); P2 receives only the digits (masked, multiplied by
// random units and rotated: compare.ts), so it learns u, a fair coin independent of x.
// Activation shares (y0, y1) are returned for residual branches, and P1's y − A = M0 + y1 (P0's
// and P2's A) for later products of y that share the mask (weights.ts applyWeightsSharedMask:
// they send no M0);
// identity channels are not selected and pay only M0. Per selected element: 16 B (full window) or 32 B (8 B opened
// each way, c1, M0) beyond the comparisons; per identity element 8 B.
//
// Why not fewer bytes per element (the 16 B target for every block-ReLU; DESIGN's
// selection budget is met). With x additively shared and the bit split into e (P0, P1) and u
// (P2), every design in three rounds pays four ring elements per selected element unless the
// comparison already opens the element itself:
//  - P1 must send something that depends on x1: otherwise its result M(x1) = b·(x0 + x1) − A
//    (A unknown to P1) gives M(x1 + δ) − M(x1) = b·δ, the bit. P0 likewise for x0.
//  - P1 must receive M0 or a value carrying it (8 B), and b's two halves must both act on x:
//    b = e ⊕ u has rank 2 as a function of (e, u), so one message scaled by P1 by its e
//    cannot carry both halves; the e-half comes from P0 (M0), the u-half from P2 (round 3,
//    the only round after P2 learns u).
//  - P2 can apply u only to x masked by randomness m it does not know; u·m must then be
//    removed by a party that knows m and a share of u, i.e. one more message (P0's M0 in the
//    Beaver form above, or a dealt per-element correlation: bytes move offline, never away).
// So 8 B per element (the product's M0 alone) needs P1's share to be known to another party
// (after a product it carries W, so only by re-masking, 8 B at that product); 16 B needs the
// element opened to P0 and P1 with a mask P2 knows, which the 64-bit comparison of the plain
// ReLU does for free and a block's per-patch comparison does not. What would move bytes:
// a 64-bit element reveal serving both the selection and a narrowed or per-patch comparison
// (saves the comparison's own reveal, 2k/8 B per compared value), a smaller ring for d, c1
// and M0 (issue 21 point 4), or P0's half of the opening sent offline where P0's share does
// not depend on the input (after a product: online bytes only, issue 21 point 3).
//
// How close to 8 B: 16 B online, 32 B in all (P0's masked copy for P2 and the product's masked
// activation, 8 B each, offline), built as the client-offline mode
// (runtime/protocols/helper-select.ts, "the helper selects"); that mode's exact truncations let it
// compute in a smaller ring Z_2^ℓ (wire.ts RING_BITS, `--ring`), where each of the four elements
// is ℓ/8 bytes: 20 B in all (10 B online) at ℓ = 40, 16 B (8 B online) at ℓ = 32 (where `--ring auto`
// finds the range for it: resnet50 and resnet18-cifar under a uniform 4×4 plan at 11 fractional
// bits, their average pools' reciprocals chosen with the ring). The two copies the helper selects
// on need only the selected value's own bits: in Z_2^24 or Z_2^32 (copy-ring.ts), lifted back by
// their sum's top bit at the cost of ℓ − r bits of wrap share riding with V, so 3ℓ + r bits in all
// (21 B at ℓ = 48, r = 24; 22 B at r = 32; 18 and 19 B at ℓ = 40) and the same online. Four ring elements per selected
// element is conserved by every variant tried: two depend on P1's share (one leaves P1, one
// reaches it: the bounds above), two carry P0's share to where it is needed (to P1, or to P2
// together with a re-share of the product that makes P2 know P0's output share: 8 B per output
// element instead). Since P0's share of a product's output is input-independent, those two can
// go offline, which takes P0 out of the online phase but for its digits: P0 sends x0 + m0 to
// P2 offline and computes its output share there; online P1 sends x1 + m1 to P2 (round 1), P0
// sends e ⊕ ρ with its digits (round 2), P2 selects on x + m with γ = b ⊕ ρ and sends V and
// γ1 to P1 (round 3). Every later tensor stays in that form (P0's share known offline), so the
// product reading the selection sends its masked activation offline too (weights.ts
// applyWeightsClientOffline: no online message, no round), and the exact truncation before the
// ReLU folds into the selection's three rounds (its bit rides in round 1, P2's part in round 3;
// truncate-client-offline.ts): 3 rounds per truncation + ReLU + product instead of 4.
// 8 B per element would need P0's share known to P1's peer for free, which a fresh mask per
// inference rules out (re-sharing a product output costs the 8 B it saves). Nor does a two-party
// online phase with P0 as the dealer (P2 holding the non-P1 share x2 of every tensor, P1 x1): the
// bit's half known to P1 (ρ, or e) then meets x2 at P2, and that cross term costs one element,
// offline from a party knowing both (P0, if it knew x2: but x2 carries conv(A, W) and P0 knows A)
// or online as an oblivious transfer (two elements per element, sent by P2 for both values of the
// bit): four again. In the mask-and-open form of ASTRA (Chaudhari et al., CCSW 2019; P0 the
// dealer of λ, P1 and P2 online) the same count comes out: its multiplication, the best known
// for semi-honest 3PC over rings (3 elements, 2 of them online; Harth-Kitzerow and Carle 2024
// match it), is the selection b·x, and the product with P1's private weights needs W·λ_y at P1,
// one more element from P0 offline. Each of P0's two offline elements carries a product of
// P0–P1 and P0–P2 randomness (γ0·m, the selection's ρ·x0 beside the product's mask) that
// neither peer can make alone; every variant above only moves them between P1 and P2. So 16 B
// in all at ℓ = 64 (two elements) would need a multiplication cheaper than the best known; at
// ℓ = 32 the four elements are 15 B (copies in Z_2^24).

import { add, sub } from '../ring/ring.js';
import type { Session } from '../session/session.js';
import { compareWindow } from './compare.js';
import type { BitWindow, CompareBit, Rider, RiderMessage } from './compare.js';
import { Selection, fullWindow } from './select.js';
import { blockPlan, type BlockSize } from './block-relu.js';
import { applyWeightsMasked, correctionMessage, maskProduct, preparedCorrection } from './weights.js';
import type { MaskProduct, WeightKey } from './weights.js';

/** A fused step's results: shares of the activation and of the product (before truncation),
 * and what a later product of the activation needs to share the mask (MaskedProduct.kept in
 * weights.ts: P1's y − A, P0's and P2's A). */
export interface ReluProduct {
  activation: BigUint64Array;
  product: BigUint64Array;
  kept: BigUint64Array;
}
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
  /** P1: P2's product correction when the offline phase brought it (weights.ts). */
  private readonly preCorr: BigUint64Array | undefined;

  constructor(
    private readonly s: Session,
    private readonly sel: Selection,
    private readonly assemble: (ys: BigUint64Array) => BigUint64Array,
    private readonly key: WeightKey,
  ) {
    const { map } = key;
    this.sharedMask = sel.sharedMask;
    this.openBytes = sel.openBytes;
    this.round2Bytes = 8 * map.xSize;
    // Same stream and order as applyWeights (weights.ts); prepared offline when it ran.
    if (s.id !== 1) this.masks = maskProduct(s, key);
    this.preCorr = s.id === 1 ? preparedCorrection(s, map.ySize) : undefined;
    // P2's product correction rides in round 3 unless the offline phase already sent it.
    const offline = s.id === 1 ? this.preCorr !== undefined : this.masks!.sent === true;
    this.correctionBytes = sel.correctionBytes + (offline ? 0 : 8 * map.ySize);
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
    return [...this.sel.correction(bit), ...correctionMessage(this.masks!).map(({ data, label, phase }) => ({ data, label, phase }))];
  }
  corrected(c: Uint8Array): void {
    const n = this.sel.correctionBytes;
    this.sel.corrected(c.subarray(0, n));
    this.corr = this.preCorr ?? bytesRing(c.subarray(n));
  }

  /** This party's shares of the activation and of the product (P2: zeros), and what it keeps
   * for products sharing the mask (P1: y − A; P0, P2: A). */
  finish(bit: CompareBit): ReluProduct {
    const { map } = this.key;
    if (this.s.id === 0) return { activation: this.activation!, product: this.product!, kept: this.masks!.a };
    if (this.s.id === 2) return { activation: this.assemble(this.sel.finish(bit)), product: new BigUint64Array(map.ySize), kept: this.masks!.a };
    const y1 = this.assemble(this.sel.finish(bit));
    const z = add(this.masked!, y1);
    const p = map.apply(z, this.key.held);
    add(p, this.corr!, p);
    return { activation: y1, product: p, kept: z };
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
): Promise<ReluProduct> {
  const plan = blockPlan(x, shape, blocks);
  if (plan.patches === 0) {
    return { activation: x.slice(), ...(await applyWeightsMasked(s, key, x)) };
  }
  const rider = new SelectThenWeights(s, new Selection(s, plan.xs, plan.map), plan.assemble, key);
  const bit = await compareWindow(s, plan.sums, w, rider);
  return rider.finish(bit);
}

/** ReLU followed by the product with a weight layer, in three rounds. */
export async function reluThenWeights(s: Session, x: BigUint64Array, w: BitWindow, key: WeightKey): Promise<ReluProduct> {
  const rider = new SelectThenWeights(s, new Selection(s, x, null, fullWindow(w)), (ys) => ys, key);
  const bit = await compareWindow(s, x, w, rider);
  return rider.finish(bit);
}
