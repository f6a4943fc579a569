// Patch and bit helpers over Z_2^64 for block-ReLU and comparisons: sums over bh×bw patches of
// NCHW maps (tiled from the top-left, edge patches partial), broadcast of a per-patch value back
// to its elements, index-map versions of both (per-channel block sizes), selection by bits and
// bit extraction. Re-exported by runtime/ring/ring.ts; runtime/ring/ring-reference.ts holds the oracles.
// Loops store BigInt sums straight into BigUint64Arrays, which V8 compiles to int64 code.

/** [N, C, H, W] of an activation. */
export type Nchw = readonly [number, number, number, number];

/** Patches per channel of a bh×bw tiling: [ceil(H/bh), ceil(W/bw)]. */
export function patchGrid(shape: Nchw, bh: number, bw: number): [number, number] {
  return [Math.ceil(shape[2] / bh), Math.ceil(shape[3] / bw)];
}

/** Patch column of every x coordinate (x / bw, rounded down). */
function columnPatch(w: number, bw: number): Int32Array {
  const col = new Int32Array(w);
  for (let x = 0; x < w; x++) col[x] = Math.floor(x / bw);
  return col;
}

/** Sum of every bh×bw patch of every channel: result [N, C, ceil(H/bh), ceil(W/bw)]. */
export function patchSums(x: BigUint64Array, shape: Nchw, bh: number, bw: number, out?: BigUint64Array): BigUint64Array {
  const [n, c, h, w] = shape;
  const [ph, pw] = patchGrid(shape, bh, bw);
  const sums = out ? out.fill(0n) : new BigUint64Array(n * c * ph * pw);
  const col = columnPatch(w, bw);
  for (let plane = 0; plane < n * c; plane++) {
    const src = plane * h * w;
    const dst = plane * ph * pw;
    for (let y = 0; y < h; y++) {
      const row = dst + Math.floor(y / bh) * pw;
      const at = src + y * w;
      for (let xx = 0; xx < w; xx++) sums[row + col[xx]] += x[at + xx];
    }
  }
  return sums;
}

/** Every element gets its patch's value: out[n, c, y, x] = v[n, c, y / bh, x / bw]. */
export function broadcastPatches(v: BigUint64Array, shape: Nchw, bh: number, bw: number, out?: BigUint64Array): BigUint64Array {
  const [n, c, h, w] = shape;
  const [ph, pw] = patchGrid(shape, bh, bw);
  const y = out ?? new BigUint64Array(n * c * h * w);
  const col = columnPatch(w, bw);
  for (let plane = 0; plane < n * c; plane++) {
    const src = plane * ph * pw;
    const dst = plane * h * w;
    for (let yy = 0; yy < h; yy++) {
      const row = src + Math.floor(yy / bh) * pw;
      const at = dst + yy * w;
      for (let xx = 0; xx < w; xx++) y[at + xx] = v[row + col[xx]];
    }
  }
  return y;
}

/** out[g] = sum of x[i] over the i with index[i] = g (elements with index −1 are skipped);
 * `groups` entries. For patch maps with a block size per channel. */
export function sumByIndex(x: BigUint64Array, index: Int32Array, groups: number, out?: BigUint64Array): BigUint64Array {
  const sums = out ? out.fill(0n) : new BigUint64Array(groups);
  for (let i = 0; i < x.length; i++) {
    const g = index[i];
    if (g >= 0) sums[g] += x[i];
  }
  return sums;
}

/** out[i] = v[index[i]], or `fill` (default 0) where index[i] = −1. */
export function gatherByIndex(v: BigUint64Array, index: Int32Array, out?: BigUint64Array, fill = 0n): BigUint64Array {
  const y = out ?? new BigUint64Array(index.length);
  const f = BigInt.asUintN(64, fill);
  for (let i = 0; i < index.length; i++) {
    const g = index[i];
    y[i] = g >= 0 ? v[g] : f;
  }
  return y;
}

/** out[i] = a[i] where bits[i] is 1, else 0. */
export function selectBits(a: BigUint64Array, bits: Uint8Array, out = new BigUint64Array(a.length)): BigUint64Array {
  for (let i = 0; i < a.length; i++) out[i] = bits[i] ? a[i] : 0n;
  return out;
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

/** Bits of 0/1 values as ring elements (0 or 1). */
export function bitsToRing(bits: Uint8Array, out = new BigUint64Array(bits.length)): BigUint64Array {
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] ? 1n : 0n;
  return out;
}
