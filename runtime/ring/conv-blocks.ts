// A convolution as independent blocks of work for the ring kernels: one block is an
// (image, group, column block of output positions, part of the output channels) quadruple,
// computed by im2col of its columns and one GEMM into a scratch C, whose valid columns are
// then copied to the output. Any thread holding the layer's arena layout can run any block,
// in any order (runtime/kernels/kernel-threads.ts shares them with a worker thread); a block writes
// only its own rows and columns of the output.
import { arena } from '../kernels/ring-wasm.js';
import type { RingKernelExports } from '../kernels/kernel-abi.js';
import { conv2dOutShape, type Conv2dParams } from './windows.js';

/** One block of a convolution's output. */
export interface ConvBlock {
  /** Image, group, first output position and number of positions, first row (output channel
   * within the group) and number of rows. */
  b: number;
  g: number;
  p0: number;
  pn: number;
  r0: number;
  rn: number;
}

/** The ring a convolution is computed in (convRingOf): 32, only the outputs' low 32 bits
 * (gemmRing32); 48, their low 48 bits (gemmRing48 when the weights fit in 16 bits, else as 64);
 * 64, all of them (gemm32 when the weights fit in 32 bits, else gemm). */
export type ConvRing = 32 | 48 | 64;

/** The ConvRing of a program on Z_2^ring (wire.ts RING_BITS): Z_2^40 and Z_2^48 need 48 bits. */
export function convRingOf(ring: number): ConvRing {
  return ring === 32 ? 32 : ring <= 48 ? 48 : 64;
}

/** The GEMM every block of a layout runs: gemm (packA), gemm32 (packA32: every weight fits in
 * 32 bits), gemmRing32 (packA32 of the low words: a product in Z_2^32) or gemmRing48 (packA16:
 * every weight fits in 16 bits, a product in Z_2^48 or less). */
export type ConvGemm = 'gemm' | 'gemm32' | 'ring32' | 'ring48';

/** A kept packing of a layer's weights: 32-bit (packA32) or 16-bit (packA16) entries. */
export interface KeptPacking {
  data: Uint32Array;
  i16: boolean;
}

/** A layer's operands in one thread's kernels memory (see layoutConv). */
export interface ConvLayout {
  p: Conv2dParams;
  /** Packed weights, unpacked weights, one image, the im2col columns, the scratch C. */
  wpAt: number;
  /** The GEMM of every block (B laid out at b32At for all but gemm). */
  gemm: ConvGemm;
  /** Columns of the layout's GEMM tile (tileCols, tileColsRing32 or tileColsRing48): a block's
   * columns are padded to a multiple of it. */
  cols: number;
  b32At: number;
  wAt: number;
  xAt: number;
  colAt: number;
  scratchAt: number;
  /** Columns per block (a multiple of the GEMM tile width), channels per group, GEMM depth. */
  block: number;
  og: number;
  depth: number;
  plane: number;
  /** The image currently copied to xAt (−1: none). */
  image: number;
}

/** A copy of `a` in shared memory. */
function sharedCopy(a: Uint32Array): Uint32Array {
  const out = new Uint32Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** Weights `w` in shared memory: `w` itself when it is there already (P0's W − B and P2's B,
 * weights.ts setupWeights), else a copy. */
function sharedWeights(w: BigUint64Array): BigUint64Array {
  if (w.buffer instanceof SharedArrayBuffer) return w;
  const out = new BigUint64Array(new SharedArrayBuffer(w.byteLength));
  out.set(w);
  return out;
}

/** Output height and width (conv2dOutShape of windows.ts). */
function outHW(p: Conv2dParams): [number, number] {
  const [, , oh, ow] = conv2dOutShape(p);
  return [oh, ow];
}

/** Weights whose owner keeps them unchanged while it holds them (keepPackedWeights). */
const constantWeights = new WeakSet<BigUint64Array>();

/** What a kept weight array keeps for one layer shape (packingKey), in shared memory so the
 * kernel worker (kernel-threads.ts) reads it without a copy: its 32-bit packing (packA32 of its
 * low words) when every weight fits in 32 bits (`fits`: gemm32 may read it) or when it was laid
 * out for a product in Z_2^32 (gemmRing32 reads only low words: a one-time mask W − B or B of a
 * program on that ring); else, for the worker, the weights themselves (`wide`). Laid out for a
 * product in Z_2^48 it keeps the 16-bit packing too when every weight fits (`packed16`, packA16;
 * `tried16` once packA16 has run, fit or not). */
interface KeptWeights {
  key: string;
  packed: Uint32Array | null;
  fits: boolean;
  wide: BigUint64Array | null;
  packed16: Uint32Array | null;
  tried16: boolean;
}
const packings = new WeakMap<BigUint64Array, KeptWeights>();

/** The packing key of a layer's weights: their shape and group. */
function packingKey(p: Conv2dParams): string {
  return `${p.weightShape}/${p.group}`;
}

/** The kept packing of `w` as the weights of `p` (keepPackedWeights) that a product in `ring`
 * reads, or null: in Z_2^48 the 16-bit one, else the 32-bit one when the weights fit; in Z_2^64
 * the 32-bit one when they fit; in Z_2^32 the 32-bit one (low words). Null also for a product in
 * Z_2^48 whose weights have not been tried in 16 bits yet. */
export function keptPacking(w: BigUint64Array, p: Conv2dParams, ring: ConvRing = 64): KeptPacking | null {
  const kept = packings.get(w);
  if (kept?.key !== packingKey(p)) return null;
  if (ring === 48) {
    if (kept.packed16) return { data: kept.packed16, i16: true };
    if (!kept.tried16) return null;
  }
  return kept.packed && (kept.fits || ring === 32) ? { data: kept.packed, i16: false } : null;
}

/** The kept shared copy of weights `w` of `p` that have no usable packing, or null. */
export function keptWide(w: BigUint64Array, p: Conv2dParams): BigUint64Array | null {
  const kept = packings.get(w);
  return kept?.key === packingKey(p) ? kept.wide : null;
}

/** Declares `w` unchanged for as long as it is referenced (every party's weights of a session:
 * P1's clear W, P0's W − B, P2's B, read by every inference): its convolutions keep its 32-bit
 * packing (half its size) or a shared copy instead of copying and packing it on every call. */
export function keepPackedWeights(w: BigUint64Array): void {
  constantWeights.add(w);
}

/** The columns a layer's column blocks are multiples of, for a product in `ring`: the GEMM
 * tile's (in Z_2^48 both gemmRing48's and gemm32's, whichever the weights allow). */
export function convTileCols(k: RingKernelExports, ring: ConvRing): number {
  if (ring === 32) return k.tileColsRing32();
  if (ring === 64) return k.tileCols();
  const a = k.tileCols(), b = k.tileColsRing48();
  let x = a, y = b;
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}

/** Resets the arena and lays out the layer: weights copied and packed, room for one image,
 * one block's columns and one block's scratch C. `block` columns per block (a multiple of
 * convTileCols). With `packed` (a kept packing, keptPacking) w is not read. The product is
 * computed in `ring` (ConvRing): in Z_2^32 the low 32 bits of every output are conv's, in Z_2^48
 * the low 48, the others meaning nothing. */
export function layoutConv(k: RingKernelExports, w: BigUint64Array, p: Conv2dParams, block: number, packed: KeptPacking | null = null, ring: ConvRing = 64): ConvLayout {
  const [, c, h, wd] = p.inShape;
  const [o, cg, kh, kw] = p.weightShape;
  const [oh, ow] = outHW(p);
  const og = o / p.group;
  const depth = cg * kh * kw;
  const kp = (depth + 1) >> 1;
  arena.reset();
  const key = packingKey(p);
  const usable = packed ?? keptPacking(w, p, ring);
  let wAt = 0;
  let wpAt: number;
  let gemm: ConvGemm;
  if (usable) {
    // Only the packing: the laid-out GEMMs read A itself for no column of a convolution block.
    // (In Z_2^32 it may hold only the weights' low words.)
    wpAt = arena.putBytes(usable.data);
    gemm = usable.i16 ? 'ring48' : ring === 32 ? 'ring32' : 'gemm32';
  } else {
    const kept = packings.get(w);
    const same = kept?.key === key;
    wAt = arena.put(w.subarray(0, o * depth));
    wpAt = arena.alloc(o * depth);
    // P1's clear weights in fixed point mostly fit in 16 bits at up to 14 fractional bits: in
    // Z_2^48 the fastest GEMM, tried once per kept array.
    let packed16: Uint32Array | null = null;
    if (ring === 48 && !(same && kept.tried16)) {
      let fits16 = true;
      for (let g = 0; g < p.group && fits16; g++) fits16 = k.packA16(wAt + g * og * depth * 8, depth, og, depth, wpAt + g * og * kp * 4) === 1;
      if (fits16) packed16 = new Uint32Array(k.memory.buffer, wpAt, o * kp);
    }
    if (packed16) {
      gemm = 'ring48';
      if (constantWeights.has(w)) packings.set(w, { key, fits: same ? kept.fits : false, packed: same ? kept.packed : null, wide: same ? kept.wide : null, packed16: sharedCopy(packed16), tried16: true });
    } else {
      // A layer's clear weights in fixed point nearly always fit in 32 bits: the faster GEMM. In
      // Z_2^32 only the weights' low words matter: packA32's packing whether they fit or not (a
      // one-time mask W − B does not), every group packed.
      const ring32 = ring === 32;
      let fits32 = ring32 || (!(same && !kept.fits) && k.tileCols() >= 4);
      for (let g = 0; g < p.group && (fits32 || ring32); g++) fits32 = k.packA32(wAt + g * og * depth * 8, depth, og, depth, wpAt + g * og * depth * 4) === 1 && fits32;
      if (constantWeights.has(w)) {
        const whole = fits32 || ring32;
        packings.set(w, { key, fits: fits32, packed: whole ? sharedCopy(new Uint32Array(k.memory.buffer, wpAt, o * depth)) : null, wide: whole ? null : same && kept.wide ? kept.wide : sharedWeights(w.subarray(0, o * depth)), packed16: null, tried16: ring === 48 || (same && kept.tried16) });
      }
      if (!fits32 && !ring32) for (let g = 0; g < p.group; g++) k.packA(wAt + g * og * depth * 8, depth, og, depth, wpAt + g * og * depth * 8);
      gemm = ring32 ? 'ring32' : fits32 ? 'gemm32' : 'gemm';
    }
  }
  const cols = gemm === 'ring32' ? k.tileColsRing32() : gemm === 'ring48' ? k.tileColsRing48() : k.tileCols();
  if (block % cols !== 0) throw new Error(`internal: layoutConv: column blocks of ${block}, not a multiple of the tile's ${cols} columns`);
  const xAt = arena.alloc(c * h * wd);
  const colAt = arena.alloc(depth * block);
  // gemmRing48's layout: 12 bytes per k pair and column (three i16 pairs), within (depth + 1)·block elements.
  const b32At = gemm === 'gemm' ? 0 : arena.alloc((depth + 1) * block);
  const scratchAt = arena.alloc(og * block);
  return { p, wpAt, wAt, gemm, cols, b32At, xAt, colAt, scratchAt, block, og, depth, plane: oh * ow, image: -1 };
}

/** The blocks of a layer: column blocks of `block` positions, each split into `parts` row
 * ranges (whole GEMM row tiles of `rowTile` rows) when a layer has few column blocks. */
export function convBlocks(p: Conv2dParams, block: number, parts: number, rowTile: number): ConvBlock[] {
  const [n] = p.inShape;
  const [o] = p.weightShape;
  const [oh, ow] = outHW(p);
  const og = o / p.group;
  const plane = oh * ow;
  const rowsPer = Math.max(rowTile, Math.ceil(og / parts / rowTile) * rowTile);
  const out: ConvBlock[] = [];
  for (let b = 0; b < n; b++)
    for (let g = 0; g < p.group; g++)
      for (let p0 = 0; p0 < plane; p0 += block)
        for (let r0 = 0; r0 < og; r0 += rowsPer) out.push({ b, g, p0, pn: Math.min(block, plane - p0), r0, rn: Math.min(rowsPer, og - r0) });
  return out;
}

/** Computes one block into y (laid out [n, o, plane]); x is the layer's whole input. */
export function runConvBlock(k: RingKernelExports, lay: ConvLayout, x: BigUint64Array, blk: ConvBlock, y: BigUint64Array): void {
  const { p, og, depth, plane, cols } = lay;
  const [, c, h, wd] = p.inShape;
  const [o, cg, kh, kw] = p.weightShape;
  const ow = outHW(p)[1];
  if (lay.image !== blk.b) {
    arena.view(lay.xAt, c * h * wd).set(x.subarray(blk.b * c * h * wd, (blk.b + 1) * c * h * wd));
    lay.image = blk.b;
  }
  const xg = lay.xAt + blk.g * cg * h * wd * 8;
  const padded = Math.ceil(blk.pn / cols) * cols;
  // A 1×1 kernel with unit stride and no padding reads the image itself as the GEMM's B.
  const pointwise = kh === 1 && kw === 1 && p.strides[0] === 1 && p.strides[1] === 1 && p.pads.every((v) => v === 0);
  let b: number;
  let ldb: number;
  if (pointwise && padded === blk.pn) {
    b = xg + blk.p0 * 8;
    ldb = plane;
  } else {
    // The last, partial block is padded to the tile width: im2col fills the padding from
    // positions past the plane (in bounds, ignored) and only valid columns are copied out.
    k.im2col(xg, cg, h, wd, kh, kw, p.strides[0], p.strides[1], p.pads[0], p.pads[1], p.dilations[0], p.dilations[1], ow, blk.p0, padded, lay.colAt);
    b = lay.colAt;
    ldb = padded;
  }
  const row = blk.g * og + blk.r0;
  if (lay.gemm === 'ring48') {
    // packA16's panels: row i's at wpAt + i·⌈depth/2⌉·4 (row a panel start: r0 and og's rows).
    k.prepBRing48(b, ldb, depth, padded, lay.b32At);
    k.gemmRing48(lay.wpAt + row * ((depth + 1) >> 1) * 4, 0, depth, lay.b32At, b, ldb, lay.scratchAt, padded, blk.rn, depth, padded);
  } else if (lay.gemm === 'ring32') {
    k.prepBRing32(b, ldb, depth, padded, lay.b32At);
    k.gemmRing32(lay.wpAt + row * depth * 4, 0, depth, lay.b32At, b, ldb, lay.scratchAt, padded, blk.rn, depth, padded);
  } else if (lay.gemm === 'gemm32') {
    k.prepB32(b, ldb, depth, padded, lay.b32At);
    // A itself (wAt) is not read: padded is a whole number of tiles (the kernels' tileCols).
    k.gemm32(lay.wpAt + row * depth * 4, 0, depth, lay.b32At, b, ldb, lay.scratchAt, padded, blk.rn, depth, padded);
  } else {
    k.gemm(lay.wpAt + row * depth * 8, lay.wAt + row * depth * 8, depth, b, ldb, lay.scratchAt, padded, blk.rn, depth, padded);
  }
  const scratch = arena.view(lay.scratchAt, blk.rn * padded);
  const base = (blk.b * o + row) * plane + blk.p0;
  for (let r = 0; r < blk.rn; r++) y.set(scratch.subarray(r * padded, r * padded + blk.pn), base + r * plane);
}
