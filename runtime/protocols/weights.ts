// Product of a secret activation with P1's clear weights (conv or matmul: any map bilinear
// in activation and weights), with helper-dealt correlations:
//
//   once per session   P1 and P2 draw a weight mask B from their stream; P1 sends W − B to P0
//                      (phase 'oneTime'). P0 learns nothing: B is uniform.
//   per inference      P0 and P2 draw an activation mask A from their stream; P2 deals
//                      conv(A, B) = C0 + C1 (C0 from its stream with P0, C1 sent to P1:
//                      preprocessing). In one round P0 sends x0 − A to P1, then
//                        P1: y1 = conv(x0 − A + x1, W) + C1 = conv(x − A, W) + C1
//                        P0: y0 = conv(A, W − B) + C0
//                      y0 + y1 = conv(x − A, W) + conv(A, W − B) + conv(A, B) = conv(x, W).
//   Bytes per inference: 8|X| online (P0 → P1) + 8|Y| preprocessing (P2 → P1; in a program run
//   it travels in the offline phase's closing exchange, runtime/program/offline.ts, and P1 keeps
//   it until the step: MaskProduct.sent, Session.prepared('correction')).
// The product carries 2f fractional bits: follow with `truncate` (linear.ts).
//
// One mask for every product that reads the same activation (applyWeightsSharedMask): when a
// second layer W' reads the very x whose masked copy x − A an earlier product already sent, P1
// keeps z = x − A (applyWeightsMasked, or the fused step's in relu-then-weights.ts) and P0 sends
// nothing: P0 and P2 take the same A (kept from the first product, or used by the offline
// phase, runtime/program/offline.ts) with a fresh C0' (P2 deals conv(A, B') = C0' + C1'), and
//   P1: y1' = conv(z, W') + C1'      P0: y0' = conv(A, W' − B') + C0'
// sum to conv(x, W'). Who learns what: P1 receives one masked copy of x instead of two (z is
// uniform: A unknown to P1) and C1' (uniform: C0' fresh and unknown to P1); P0 and P2 receive
// nothing. Bytes: 8|Y'| preprocessing (P2 → P1) only; the round stays (P2's correction).
//
// A product of an activation in client-offline form (applyWeightsClientOffline; the mode of
// helper-select.ts, where P0's share y0 of the activation is input-independent): P0 sends
// Z = y0 − A to P1 in the offline phase ('weights.activation', preprocessing) instead of online,
// P2's correction map(A, B) − C0 goes offline as always, and online P1 computes
// map(y1 + Z, W) + map(A, B) − C0 alone: no message, no round. P0's share is map(A, W − B) + C0.
// P1 receives Z (uniform: A unknown to it) and the correction (uniform: C0); P0 and P2 nothing.
// Two client-offline products of the same activation y share one mask (`shared`, the earlier
// product's dealing; the compiler's mask_from, the step's maskFrom): Z = y0 − A would be the
// same bytes, so P0 sends nothing for the later one, P1 takes the earlier dealing's Z, and P0
// and P2 make the later one's mask product from the same A with a fresh C0' (maskProduct(s, key,
// A)); P2's correction map(A, B') − C0' goes offline as always. P1 receives one Z for both and
// a uniform correction (C0' fresh): as applyWeightsSharedMask, in the offline phase.

import { add, conv2d, matmul, sub } from '../ring/ring.js';
import { conv2dOutShape, type Conv2dParams } from '../ring/windows.js';
import type { Session } from '../session/session.js';
import { packRing, ringBytes, splitFrame, unpackRing } from './wire.js';
import { takeParts, type ClientOfflineDealing } from './client-offline.js';

/** A map bilinear in (activation, weights) over Z_2^64, with its sizes. */
export interface BilinearMap {
  /** Elements of the activation, the weights and the result. */
  xSize: number;
  wSize: number;
  ySize: number;
  /** The map itself, e.g. y = conv2d(x, w). */
  apply(x: BigUint64Array, w: BigUint64Array): BigUint64Array;
}

/** Convolution (NCHW/OIHW, groups, strides, pads, dilations) as a bilinear map; in a program
 * on Z_2^ring (`ring` its bits) the map is exact in that ring only (ring.ts conv2d: at 32 the
 * outputs' high words mean nothing, as every value's of such a program). */
export function convMap(p: Conv2dParams, impl: typeof conv2d = conv2d, ring = 64): BilinearMap {
  const [n, c, h, w] = p.inShape;
  const [o, cg, kh, kw] = p.weightShape;
  const [, , oh, ow] = conv2dOutShape(p);
  return { xSize: n * c * h * w, wSize: o * cg * kh * kw, ySize: n * o * oh * ow, apply: (x, wt) => impl(x, wt, p, undefined, ring) };
}

/** Matrix product x[m, k] · w[k, n] as a bilinear map. */
export function matmulMap(m: number, k: number, n: number, impl: typeof matmul = matmul): BilinearMap {
  return { xSize: m * k, wSize: k * n, ySize: m * n, apply: (x, w) => impl(x, w, m, k, n) };
}

/** What each party keeps of a layer's weights for the whole session. */
export interface WeightKey {
  map: BilinearMap;
  /** P1: W; P0: W − B; P2: B. */
  held: BigUint64Array;
  /** P1 only: B (its correlation with P2). */
  mask: BigUint64Array | null;
  /** Bytes per ring element of the messages, the one-time W − B's included (wire.ts
   * ringWidthBytes: ℓ/8 in a program on Z_2^ℓ; absent: 8). */
  ring?: number;
}

/** Bytes per ring element of a layer's per-inference messages. */
export const keyRing = (key: WeightKey): number => key.ring ?? 8;

/** A weight key whose per-inference messages carry `ring` bytes per element (no `ring` field at
 * 8, as every key of a program on Z_2^64). */
export function weightKey(map: BilinearMap, held: BigUint64Array, mask: BigUint64Array | null, ring = 8): WeightKey {
  return ring === 8 ? { map, held, mask } : { map, held, mask, ring };
}

/** One-time setup of a weight layer: P1 passes its weights W (others null); P1 sends W − B
 * to P0 (phase 'oneTime', one round; `ring` bytes per weight, the low bits a program on Z_2^ℓ
 * reads). `layer` names the layer's mask stream. */
export async function setupWeights(s: Session, map: BilinearMap, weights: BigUint64Array | null, layer: string, ring = 8): Promise<WeightKey> {
  const purpose = `weights/${layer}`;
  if (s.id === 1) {
    if (!weights || weights.length !== map.wSize) throw new Error(`setupWeights: P1 must pass ${map.wSize} weights`);
    const b = s.shared(2, purpose).ring(map.wSize);
    const masked = sub(weights, b);
    await s.round([{ to: 0, data: packRing(masked, ring), label: 'weights.mask', phase: 'oneTime' }], []);
    return weightKey(map, weights, b, ring);
  }
  if (s.id === 2) {
    // In shared memory, as P0's W − B below: the kernel worker reads the kept weights in place.
    const b = new BigUint64Array(new SharedArrayBuffer(8 * map.wSize));
    const prg = s.shared(1, purpose);
    if (prg.fill) prg.fill(ringBytes(b));
    else b.set(prg.ring(map.wSize));
    await s.round([], []);
    return weightKey(map, b, null, ring);
  }
  const got = await s.round([], [1], { 1: ring * map.wSize });
  const [masked] = splitFrame(got.get(1), [ring * map.wSize], 1, 'weights.mask');
  // At 8 bytes a view, no copy: a received frame is this party's (nothing else writes it), and
  // the one-time frame lives as long as the session's keys anyway. Below, unpacked into shared
  // memory, which the kernel worker reads in place (conv-blocks.ts keepPackedWeights).
  return weightKey(map, unpackRing(masked, ring, true), null, ring);
}

/** The one-time setup again for a new client of a serving P1–P2 pair that keeps its keys
 * (runtime/transport/serving.ts): P1 sends W − B from its kept key, P2 has nothing to send,
 * P0 runs setupWeights as always (the same message, the same mask B for every client). */
export async function resendWeights(s: Session, key: WeightKey): Promise<WeightKey> {
  if (s.id === 0) throw new Error('resendWeights: party 0 receives with setupWeights');
  if (s.id === 1) await s.round([{ to: 0, data: packRing(sub(key.held, key.mask!), keyRing(key)), label: 'weights.mask', phase: 'oneTime' }], []);
  else await s.round([], []);
  return key;
}

/** The input-independent part of a product with P1's weights, for P0 and P2: the activation
 * mask A and C0 from their 'weights' stream, and P0's product share map(A, W − B) + C0 or
 * P2's correction map(A, B) − C0. The offline phase (runtime/program/offline.ts) computes it
 * before the input arrives, on the step's own stream, and the step takes it from there
 * (Session.prepared); without it the step computes it now, from the same stream. */
export interface MaskProduct {
  a: BigUint64Array;
  share: BigUint64Array;
  /** P2: its correction already went to P1 in the offline phase's closing exchange (P1 then
   * takes it as this step's prepared 'correction'), so the online step sends nothing. */
  sent?: boolean;
}

/** P1: the correction conv(A, B) − C0 P2 sent in the offline phase for this step, if any. */
export function preparedCorrection(s: Session, ySize: number): BigUint64Array | undefined {
  const c1 = s.prepared?.('correction') as BigUint64Array | undefined;
  if (c1 && c1.length !== ySize) throw new Error(`weights: a prepared correction of ${c1.length} elements, expected ${ySize}`);
  return c1;
}

/** P2's correction message for P1, or none when the offline phase sent it. */
export function correctionMessage(m: MaskProduct, ring = 8): { to: 1; data: Uint8Array; label: string; phase: 'preprocessing' }[] {
  return m.sent ? [] : [{ to: 1, data: packRing(m.share, ring), label: 'weights.correction', phase: 'preprocessing' }];
}

/** This party's MaskProduct for a product step (P0, P2; P1 has none). With `shared`, the
 * activation mask A of an earlier product reading the same activation (applyWeightsSharedMask):
 * only C0 is drawn. */
export function maskProduct(s: Session, key: WeightKey, shared?: BigUint64Array): MaskProduct {
  if (s.id === 1) throw new Error('maskProduct: party 1 has no mask product');
  const ready = s.prepared?.('weights') as MaskProduct | undefined;
  if (ready) return ready;
  const { map } = key;
  if (shared && shared.length !== map.xSize) throw new Error(`maskProduct: a shared mask of ${shared.length} elements, expected ${map.xSize}`);
  const g = s.shared(s.id === 0 ? 2 : 0, 'weights');
  const a = shared ?? g.ring(map.xSize);
  const c0 = g.ring(map.ySize);
  const share = map.apply(a, key.held);
  if (s.id === 0) add(share, c0, share);
  else sub(share, c0, share);
  return { a, share };
}

/** Shares of map(x, W) for a shared activation x (P2 passes a placeholder): one round. */
export async function applyWeights(s: Session, key: WeightKey, x: BigUint64Array): Promise<BigUint64Array> {
  return (await applyWeightsMasked(s, key, x)).product;
}

/** A product's shares and what later products of the same activation need to share its mask
 * (applyWeightsSharedMask): P1's masked activation z = x − A, P0's and P2's mask A. */
export interface MaskedProduct {
  product: BigUint64Array;
  kept: BigUint64Array;
}

/** applyWeights, also returning what a product sharing its mask needs (MaskedProduct.kept). */
export async function applyWeightsMasked(s: Session, key: WeightKey, x: BigUint64Array): Promise<MaskedProduct> {
  const { map } = key;
  if (x.length !== map.xSize) throw new Error(`applyWeights: activation of ${x.length} elements, expected ${map.xSize}`);
  if (s.id === 2) {
    const m = maskProduct(s, key);
    await s.round(correctionMessage(m, keyRing(key)), []);
    return { product: new BigUint64Array(map.ySize), kept: m.a };
  }
  if (s.id === 0) {
    const { a, share } = maskProduct(s, key);
    const masked = sub(x, a);
    await s.round([{ to: 1, data: packRing(masked, keyRing(key)), label: 'weights.activation' }], []);
    return { product: share, kept: a };
  }
  const pre = preparedCorrection(s, map.ySize);
  const rb = keyRing(key);
  const got = await s.round([], pre ? [0] : [0, 2], pre ? { 0: rb * map.xSize } : { 0: rb * map.xSize, 2: rb * map.ySize });
  const [masked] = splitFrame(got.get(0), [rb * map.xSize], 0, 'weights.activation');
  const c1 = pre ?? unpackRing(splitFrame(got.get(2), [rb * map.ySize], 2, 'weights.correction')[0], rb);
  const z = add(unpackRing(masked, rb), x);
  const y = map.apply(z, key.held);
  return { product: add(y, c1, y), kept: z };
}

/** Shares of map(x, W') for an activation x whose masked copy z = x − A an earlier product
 * already brought to P1 (the file comment): `kept` is that product's MaskedProduct.kept (P1: z;
 * P0, P2: A, which the offline phase may already have used to prepare this step's MaskProduct).
 * One round, P2 → P1 only. */
export async function applyWeightsSharedMask(s: Session, key: WeightKey, kept: BigUint64Array): Promise<BigUint64Array> {
  const { map } = key;
  if (s.id === 2) {
    await s.round(correctionMessage(maskProduct(s, key, kept), keyRing(key)), []);
    return new BigUint64Array(map.ySize);
  }
  if (s.id === 0) {
    const { share } = maskProduct(s, key, kept);
    await s.round([], []);
    return share;
  }
  if (kept.length !== map.xSize) throw new Error(`applyWeightsSharedMask: masked activation of ${kept.length} elements, expected ${map.xSize}`);
  const pre = preparedCorrection(s, map.ySize);
  const rb = keyRing(key);
  const got = await s.round([], pre ? [] : [2], pre ? {} : { 2: rb * map.ySize });
  const c1 = pre ?? unpackRing(splitFrame(got.get(2), [rb * map.ySize], 2, 'weights.correction')[0], rb);
  const y = map.apply(kept, key.held);
  return add(y, c1, y);
}

/** A client-offline product's dealing; P1 keeps P0's masked activation Z = y0 − A. */
export interface WeightsClientOfflineDealing extends ClientOfflineDealing {
  readonly masked: BigUint64Array | null;
}

/** The offline part of a product whose activation is in client-offline form (P0's share y0 known
 * offline): P0 sends Z = y0 − A to P1 ('weights.activation', preprocessing; A from its
 * MaskProduct, `mask`, maskProduct's when null) and keeps its product share map(A, W − B) + C0
 * as the output; P1 receives Z; P2 has nothing to send here (its correction map(A, B) − C0
 * travels offline as for every product: MaskProduct.sent, Session.prepared('correction')).
 * Who learns what: P1 receives Z, uniform since A is a mask it does not hold. With `shared` (the
 * dealing of an earlier product of the same activation, this party's): no message; P0's `mask`
 * must be maskProduct's from that product's A, P1 reads that dealing's Z (the file comment). */
export function dealWeightsClientOffline(s: Session, key: WeightKey, y0: BigUint64Array | null, mask: MaskProduct | null, shared?: ClientOfflineDealing): WeightsClientOfflineDealing {
  const { map } = key;
  if (s.id === 0) {
    if (!y0 || y0.length !== map.xSize) throw new Error(`internal: dealWeightsClientOffline: P0 must pass its ${map.xSize}-element activation share`);
    if (shared) {
      // The mask product was made from the earlier product's A (maskProduct(s, key, A)): nothing to send.
      if (!mask || mask.a.length !== map.xSize) throw new Error(`internal: dealWeightsClientOffline: a product sharing a mask needs its mask product from the shared ${map.xSize}-element A`);
      return { masked: null, outgoing: [], expect: {}, receive: () => undefined, output: mask.share };
    }
    const m = mask ?? maskProduct(s, key);
    const z = sub(y0, m.a);
    return { masked: null, outgoing: [{ to: 1, data: packRing(z, keyRing(key)), label: 'weights.activation', phase: 'preprocessing' }], expect: {}, receive: () => undefined, output: m.share };
  }
  if (s.id === 2) return { masked: null, outgoing: [], expect: {}, receive: () => undefined, output: null };
  if (shared) {
    // P1: the earlier product's Z (it arrives in the same offline exchange, before the online step).
    const source = shared as Partial<WeightsClientOfflineDealing>;
    if (source.expect?.[0] !== keyRing(key) * map.xSize) throw new Error(`internal: dealWeightsClientOffline: the shared masked activation has ${(source.expect?.[0] ?? 0) / keyRing(key)} elements, expected ${map.xSize}`);
    return {
      get masked() {
        return source.masked ?? null;
      },
      outgoing: [],
      expect: {},
      receive: () => undefined,
      output: null,
    };
  }
  let masked: BigUint64Array | null = null;
  return {
    get masked() {
      return masked;
    },
    outgoing: [],
    expect: { 0: keyRing(key) * map.xSize },
    receive(take) {
      masked = unpackRing(takeParts(take, 0, [keyRing(key) * map.xSize], 'weights.activation')[0], keyRing(key));
    },
    output: null,
  };
}

/** Shares of map(y, W) for an activation y in client-offline form, with the dealing received:
 * no message and no round (Protocol 3 of the mode). P1 computes map(y1 + Z, W) + its correction
 * map(A, B) − C0 (`correction`, received offline); P0 returns its offline share; P2 zeros. */
export async function applyWeightsClientOffline(s: Session, key: WeightKey, y: BigUint64Array, deal: ClientOfflineDealing, correction: BigUint64Array | undefined): Promise<BigUint64Array> {
  const { map } = key;
  if (s.id === 0) return deal.output!;
  if (s.id === 2) return new BigUint64Array(map.ySize);
  const masked = (deal as Partial<WeightsClientOfflineDealing>).masked;
  if (!masked) throw new Error('internal: applyWeightsClientOffline: P0\'s masked activation has not arrived (offline exchange not received)');
  if (y.length !== map.xSize) throw new Error(`applyWeightsClientOffline: activation of ${y.length} elements, expected ${map.xSize}`);
  if (!correction || correction.length !== map.ySize) throw new Error(`internal: applyWeightsClientOffline: P2's correction of ${correction?.length ?? 0} elements, expected ${map.ySize}`);
  const p = map.apply(add(masked, y), key.held);
  return add(p, correction, p);
}
