// Arithmetic on the ring Z_2^64 over BigUint64Array, and fixed-point encoding.
// This is the contract the protocols call. Convolution and matrix products run in the ring
// kernels WebAssembly module (runtime/kernels/ring-wasm.ts; native i64 arithmetic wraps mod 2^64);
// elementwise ops on short vectors are typed-array loops V8 compiles to int64 code, on longer
// ones wasm kernels too; encode/decode run on the
// Uint32 halves of the 64-bit words. Every result is bit for bit that of the BigInt reference in
// runtime/ring/ring-reference.ts, which the tests compare against. A convolution's parameters and
// output shape are windows.ts's; its blocks of work, conv-blocks.ts's.
import { convBlocks, convRingOf, convTileCols, keepPackedWeights, keptPacking, keptWide, layoutConv, runConvBlock, type ConvRing } from './conv-blocks.js';
import { conv2dOutShape, type Conv2dParams } from './windows.js';
import { parallelConv } from '../kernels/kernel-threads.js';
import { arena, kernels } from '../kernels/ring-wasm.js';
import type { RingKernelExports } from '../kernels/kernel-abi.js';

/** Rows of the GEMM's register tile (packA packs A in panels of this many rows). */
const GEMM_ROW_TILE = 2;

/** Output positions per GEMM column block, about: with the GEMM's k slabs of 256 rows, a slab
 * of the block (~256 KB) stays in L2 while every panel of weights passes over it. Rounded to a
 * multiple of the tile width so only a layer's last block has scalar edge columns. */
const COLUMN_BLOCK = 128;

/** COLUMN_BLOCK rounded to a multiple of a tile's `cols` columns. */
function convColumnBlock(cols: number): number {
  return Math.max(cols, Math.round(COLUMN_BLOCK / cols) * cols);
}

// Elementwise ops: below WASM_MIN elements, plain loops over the typed arrays (V8's optimizing
// tier lowers BigInt arithmetic stored into a BigUint64Array to int64 code; writing
// `a[i] - b[i]` without a `& (2^64 - 1)` mask matters, the mask defeats the lowering). From
// WASM_MIN up, chunks copied through the wasm kernels: measured ~2.5× the loops while the data
// is cache-resident (10^4–10^5 elements), equal at 10^6 (memory-bound), slower below ~10^3.

/** Length from which elementwise ops go through wasm. */
const WASM_MIN = 2048;
/** Elements per chunk of the elementwise kernels: three chunks stay in L2 and bound the arena. */
const CHUNK = 1 << 14;

/** out[i] = op(a[i], b[i]) through a wasm kernel, chunk by chunk (out may alias a or b). */
function binaryWasm(kernel: (a: number, b: number, out: number, n: number) => void, a: BigUint64Array, b: BigUint64Array, out: BigUint64Array): BigUint64Array {
  const n = a.length;
  arena.reset();
  const len = Math.min(n, CHUNK);
  const pa = arena.alloc(len);
  const pb = arena.alloc(len);
  const po = arena.alloc(len);
  const va = arena.view(pa, len);
  const vb = arena.view(pb, len);
  const vo = arena.view(po, len);
  for (let s = 0; s < n; s += CHUNK) {
    const e = Math.min(n, s + CHUNK);
    va.set(a.subarray(s, e));
    vb.set(b.subarray(s, e));
    kernel(pa, pb, po, e - s);
    out.set(e - s === len ? vo : vo.subarray(0, e - s), s);
  }
  return out;
}

/** out[i] = a[i] + b[i] mod 2^64. */
export function add(a: BigUint64Array, b: BigUint64Array, out: BigUint64Array = new BigUint64Array(a.length)): BigUint64Array {
  if (a.length >= WASM_MIN) return binaryWasm(kernels().add, a, b, out);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** out[i] = a[i] - b[i] mod 2^64. */
export function sub(a: BigUint64Array, b: BigUint64Array, out: BigUint64Array = new BigUint64Array(a.length)): BigUint64Array {
  if (a.length >= WASM_MIN) return binaryWasm(kernels().sub, a, b, out);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

/** out[i] = -a[i] mod 2^64. */
export function neg(a: BigUint64Array, out: BigUint64Array = new BigUint64Array(a.length)): BigUint64Array {
  if (a.length >= WASM_MIN) return throughWasm(kernels().neg, a, 0, out);
  for (let i = 0; i < a.length; i++) out[i] = -a[i];
  return out;
}

/** out[i] = a[i] * b[i] mod 2^64. */
export function mul(a: BigUint64Array, b: BigUint64Array, out: BigUint64Array = new BigUint64Array(a.length)): BigUint64Array {
  if (a.length >= WASM_MIN) return binaryWasm(kernels().mul, a, b, out);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * b[i];
  return out;
}

/** out[i] = a[i] * c mod 2^64 for a public constant c (any bigint, taken mod 2^64). */
export function scale(a: BigUint64Array, c: bigint, out: BigUint64Array = new BigUint64Array(a.length)): BigUint64Array {
  if (a.length >= WASM_MIN) return throughWasm(kernels().scale, a, BigInt.asIntN(64, c), out);
  const k = BigInt.asUintN(64, c);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * k;
  return out;
}


/** Shift count for the wasm kernels: a shift by 64 or more equals a shift by 63 (sign fill). */
function shiftCount(f: number): number {
  if (!Number.isInteger(f) || f < 0) throw new RangeError(`shift by ${f} bits: expected an integer >= 0`);
  return Math.min(f, 63);
}

/** Runs a kernel out[i] = op(a[i], arg) over chunks copied through wasm memory. The shifts
 * always take this path: V8 lowers BigInt shifts to int64 code only for constant counts. */
function throughWasm<T>(kernel: (a: number, arg: T, out: number, n: number) => void, a: BigUint64Array, arg: T, out: BigUint64Array): BigUint64Array {
  const n = a.length;
  arena.reset();
  const len = Math.min(n, CHUNK);
  const pa = arena.alloc(len);
  const po = arena.alloc(len);
  const va = arena.view(pa, len);
  const vo = arena.view(po, len);
  for (let s = 0; s < n; s += CHUNK) {
    const e = Math.min(n, s + CHUNK);
    va.set(a.subarray(s, e));
    kernel(pa, arg, po, e - s);
    out.set(e - s === len ? vo : vo.subarray(0, e - s), s);
  }
  return out;
}

/** Share truncation by `f` bits (SecureML style): party 0 shifts its share arithmetically,
 * party 1 negates, shifts and negates back. The sum is x >> f up to ±1 in the last place,
 * and wrong with probability ~|x|/2^63 (negligible for 64-bit shares of small values). */
export function truncShare(a: BigUint64Array, f: number, party: 0 | 1, out = new BigUint64Array(a.length)): BigUint64Array {
  const k = kernels();
  return throughWasm(party === 0 ? k.shr_s : k.trunc_neg, a, shiftCount(f), out);
}

/** Plaintext arithmetic shift of every element by `f` bits (x as a signed 64-bit value). */
export function truncPublic(a: BigUint64Array, f: number, out = new BigUint64Array(a.length)): BigUint64Array {
  return throughWasm(kernels().shr_s, a, shiftCount(f), out);
}

const TWO32 = 4294967296;

/** Encodes reals as fixed point with `f` fractional bits (round to nearest) in Z_2^64. */
export function encode(x: ArrayLike<number>, f: number): BigUint64Array {
  const out = new BigUint64Array(x.length);
  const words = new Uint32Array(out.buffer);
  const k = 2 ** f;
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i] * k);
    if (!Number.isFinite(v)) BigInt(v); // throws the reference's RangeError
    // v is an integer-valued double, so v = hi * 2^32 + lo exactly with hi = floor(v / 2^32),
    // and ToUint32 (>>> 0) reduces each half mod 2^32: together v mod 2^64.
    words[2 * i] = v >>> 0;
    words[2 * i + 1] = Math.floor(v / TWO32) >>> 0;
  }
  return out;
}

/** Decodes fixed point with `f` fractional bits (two's complement) to float64. */
export function decode(a: BigUint64Array, f: number): Float64Array {
  const out = new Float64Array(a.length);
  const k = 2 ** -f;
  const lo = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const hi = new Int32Array(a.buffer, a.byteOffset, a.length * 2);
  // hi * 2^32 is exact and the single addition rounds the exact 64-bit value once, as Number()
  // of a BigInt does.
  for (let i = 0; i < a.length; i++) out[i] = (hi[2 * i + 1] * TWO32 + lo[2 * i]) * k;
  return out;
}

/** Convolution over Z_2^64: y = conv(x, w) (+ bias[o] on every element of output channel o
 * when a bias is given), every product and sum mod 2^64. With `ring` 32 (a program on Z_2^32,
 * runtime/protocols/wire.ts RING_BITS) only the low 32 bits of each output are conv's (the
 * GEMM layers run gemmRing32, one 32-bit multiply per product; the high bits mean nothing);
 * with 40 or 48 only the low 48 bits (gemmRing48 where the weights fit in 16 bits, P1's clear
 * weights: pmaddwd on 16-bit digits); with 56 or 64 all of them (conv-blocks.ts convRingOf). */
export function conv2d(x: BigUint64Array, w: BigUint64Array, p: Conv2dParams, bias?: BigUint64Array, ring = 64): BigUint64Array {
  const [n, c, h, wd] = p.inShape;
  const [o, cg, kh, kw] = p.weightShape;
  const [, , oh, ow] = conv2dOutShape(p);
  const og = o / p.group;
  if (x.length < n * c * h * wd || w.length < o * cg * kh * kw || c !== cg * p.group || !Number.isInteger(og) || oh < 0 || ow < 0) {
    throw new Error(`conv2d: inconsistent shapes (x ${x.length} for ${p.inShape}, w ${w.length} for ${p.weightShape}, group ${p.group}, output ${oh}×${ow})`);
  }
  const plane = oh * ow;
  const y = new BigUint64Array(n * o * plane);
  if (y.length === 0) return y;
  const k = kernels();
  if (isDepthwise(p)) {
    depthwise(k, x, w, y, p);
  } else {
    gemmConv(k, x, w, y, p, convRingOf(ring));
  }
  if (bias) addChannelBias(y, bias, n, o, plane);
  return y;
}

/** Declares `w` the unchanging weights of convolution `p` for a whole session (P1's clear
 * weights, P0's W − B, P2's B) and, unless the layer is depthwise, packs them now for every
 * later conv2d in `ring` (one-time work, not an inference's: conv-blocks.ts keepPackedWeights). */
export function keepConvWeights(w: BigUint64Array, p: Conv2dParams, ring = 64): void {
  keepPackedWeights(w);
  // Depthwise layers keep nothing; weights kept by an earlier inference of the session are done.
  const cr = convRingOf(ring);
  if (isDepthwise(p) || keptPacking(w, p, cr) || keptWide(w, p)) return;
  const k = kernels();
  layoutConv(k, w, p, convTileCols(k, cr), null, cr);
}

/** Whether conv2d runs `p` by the direct depthwise kernel (one input channel per group, a
 * window larger than 1×1) rather than im2col and the GEMM. */
function isDepthwise(p: Conv2dParams): boolean {
  const [, c] = p.inShape;
  const [, cg, kh, kw] = p.weightShape;
  return cg === 1 && p.group === c && kh * kw > 1;
}

/** Depthwise layers (one input channel per group) by the direct kernel, image by image. */
function depthwise(k: RingKernelExports, x: BigUint64Array, w: BigUint64Array, y: BigUint64Array, p: Conv2dParams): void {
  const [n, c, h, wd] = p.inShape;
  const [o, , kh, kw] = p.weightShape;
  const [, , oh, ow] = conv2dOutShape(p);
  arena.reset();
  const wAt = arena.put(w.subarray(0, o * kh * kw));
  const xAt = arena.alloc(c * h * wd);
  const yAt = arena.alloc(o * oh * ow);
  const xView = arena.view(xAt, c * h * wd);
  const yView = arena.view(yAt, o * oh * ow);
  for (let b = 0; b < n; b++) {
    xView.set(x.subarray(b * c * h * wd, (b + 1) * c * h * wd));
    k.depthwise(xAt, wAt, yAt, c, h, wd, kh, kw, p.strides[0], p.strides[1], p.pads[0], p.pads[1], p.dilations[0], p.dilations[1], oh, ow, o / c);
    y.set(yView, b * o * oh * ow);
  }
}

/** Every other layer as im2col + GEMM in blocks of output positions (runtime/ring/conv-blocks.ts),
 * on two threads when the layer is big enough (runtime/kernels/kernel-threads.ts). */
function gemmConv(k: RingKernelExports, x: BigUint64Array, w: BigUint64Array, y: BigUint64Array, p: Conv2dParams, ring: ConvRing): void {
  const [, , oh, ow] = conv2dOutShape(p);
  const cols = convTileCols(k, ring);
  const block = Math.min(Math.ceil((oh * ow) / cols) * cols, convColumnBlock(cols));
  const both = parallelConv(x, w, p, y.length, block, GEMM_ROW_TILE, ring);
  if (both) {
    y.set(both);
    return;
  }
  const lay = layoutConv(k, w, p, block, null, ring);
  for (const blk of convBlocks(p, block, 1, GEMM_ROW_TILE)) runConvBlock(k, lay, x, blk, y);
}

/** y[b, o, :] += bias[o] for y laid out [n, channels, plane]. */
function addChannelBias(y: BigUint64Array, bias: BigUint64Array, n: number, channels: number, plane: number): void {
  for (let b = 0; b < n; b++)
    for (let o = 0; o < channels; o++) {
      const v = bias[o];
      const base = (b * channels + o) * plane;
      for (let i = base; i < base + plane; i++) y[i] += v;
    }
}

/** Matrix product over Z_2^64: a is [m, k], b is [k, n], result [m, n]. */
export function matmul(a: BigUint64Array, b: BigUint64Array, m: number, k: number, n: number): BigUint64Array {
  return matmulT(a, b, m, k, n, false, false);
}

/** Copies `rows`×`cols` row-major src transposed ([cols, rows]) into the arena. */
function putTransposed(src: BigUint64Array, rows: number, cols: number): number {
  const at = arena.alloc(rows * cols);
  const dst = arena.view(at, rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
  return at;
}

/** Matrix product with optional transposes (ONNX Gemm's transA/transB): a is [m, k] (or
 * [k, m] when transA), b is [k, n] (or [n, k] when transB); result [m, n]. An optional bias of
 * n elements is added to every row. */
export function matmulT(
  a: BigUint64Array,
  b: BigUint64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  bias?: BigUint64Array,
): BigUint64Array {
  if (a.length < m * k || b.length < k * n) throw new Error(`matmul: ${a.length} and ${b.length} elements for ${m}×${k} · ${k}×${n}`);
  const y = new BigUint64Array(m * n);
  if (y.length === 0) return y;
  const kern = kernels();
  arena.reset();
  const aAt = transA ? putTransposed(a, k, m) : arena.put(a.subarray(0, m * k));
  const apAt = arena.alloc(m * k);
  const bAt = transB ? putTransposed(b, n, k) : arena.put(b.subarray(0, k * n));
  const yAt = arena.alloc(m * n);
  kern.packA(aAt, k, m, k, apAt);
  kern.gemm(apAt, aAt, k, bAt, n, yAt, n, m, k, n);
  y.set(arena.view(yAt, m * n));
  if (bias) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j] += bias[j];
  return y;
}

/** out[i] = v[index[i]], or `fill` (default 0) where index[i] = −1 (a value per patch spread
 * over its elements, a window's candidates gathered from a map). */
export function gatherByIndex(v: BigUint64Array, index: Int32Array, out?: BigUint64Array, fill = 0n): BigUint64Array {
  const y = out ?? new BigUint64Array(index.length);
  const f = BigInt.asUintN(64, fill);
  // On 32-bit halves: a BigInt read per element allocates (measured ~4× slower on ResNet50's
  // selections, most of it garbage collection).
  const V = new Uint32Array(v.buffer, v.byteOffset, 2 * v.length);
  const Y = new Uint32Array(y.buffer, y.byteOffset, 2 * y.length);
  const fLo = Number(f & 0xffffffffn);
  const fHi = Number(f >> 32n);
  for (let i = 0; i < index.length; i++) {
    const g = index[i];
    if (g >= 0) {
      Y[2 * i] = V[2 * g];
      Y[2 * i + 1] = V[2 * g + 1];
    } else {
      Y[2 * i] = fLo;
      Y[2 * i + 1] = fHi;
    }
  }
  return y;
}

/** Bit j (0 = least significant, 63 = sign) of every element, as 0/1 bytes. */
export function bitOf(a: BigUint64Array, j: number, out = new Uint8Array(a.length)): Uint8Array {
  if (!Number.isInteger(j) || j < 0 || j > 63) throw new RangeError(`bit ${j}: expected 0..63`);
  const words = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const word = j < 32 ? 0 : 1;
  const shift = j & 31;
  for (let i = 0; i < a.length; i++) out[i] = (words[2 * i + word] >>> shift) & 1;
  return out;
}
