// Reference arithmetic on the ring Z_2^64 over BigUint64Array (BigInt loops): the test oracle
// for runtime/ring/ring.ts, which must match these results bit for bit. Deliberately simple and slow;
// protocols import runtime/ring/ring.ts, never this file.

import { conv2dOutShape, type Conv2dParams } from './windows.js';

const MASK = (1n << 64n) - 1n;

/** out[i] = a[i] + b[i] mod 2^64. */
export function add(a: BigUint64Array, b: BigUint64Array, out = new BigUint64Array(a.length)): BigUint64Array {
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i]; // BigUint64Array stores mod 2^64
  return out;
}

/** out[i] = a[i] - b[i] mod 2^64. */
export function sub(a: BigUint64Array, b: BigUint64Array, out = new BigUint64Array(a.length)): BigUint64Array {
  for (let i = 0; i < a.length; i++) out[i] = (a[i] - b[i]) & MASK;
  return out;
}

/** out[i] = -a[i] mod 2^64. */
export function neg(a: BigUint64Array, out = new BigUint64Array(a.length)): BigUint64Array {
  for (let i = 0; i < a.length; i++) out[i] = (-a[i]) & MASK;
  return out;
}

/** out[i] = a[i] * b[i] mod 2^64. */
export function mul(a: BigUint64Array, b: BigUint64Array, out = new BigUint64Array(a.length)): BigUint64Array {
  for (let i = 0; i < a.length; i++) out[i] = a[i] * b[i];
  return out;
}

/** out[i] = a[i] * c mod 2^64 for a public constant c (any bigint, taken mod 2^64). */
export function scale(a: BigUint64Array, c: bigint, out = new BigUint64Array(a.length)): BigUint64Array {
  const k = c & MASK;
  for (let i = 0; i < a.length; i++) out[i] = a[i] * k;
  return out;
}

/** Share truncation by `f` bits (SecureML style): party 0 shifts its share arithmetically,
 * party 1 negates, shifts and negates back. The sum is x >> f up to ±1 in the last place,
 * and wrong with probability ~|x|/2^63 (negligible for 64-bit shares of small values). */
export function truncShare(a: BigUint64Array, f: number, party: 0 | 1, out = new BigUint64Array(a.length)): BigUint64Array {
  const s = BigInt(f);
  const signed = new BigInt64Array(a.buffer, a.byteOffset, a.length);
  if (party === 0) {
    for (let i = 0; i < a.length; i++) out[i] = BigInt.asUintN(64, signed[i] >> s);
  } else {
    for (let i = 0; i < a.length; i++) out[i] = BigInt.asUintN(64, -(BigInt.asIntN(64, -a[i]) >> s));
  }
  return out;
}

/** Plaintext arithmetic shift of every element by `f` bits (x as a signed 64-bit value). */
export function truncPublic(a: BigUint64Array, f: number, out = new BigUint64Array(a.length)): BigUint64Array {
  const s = BigInt(f);
  const signed = new BigInt64Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt.asUintN(64, signed[i] >> s);
  return out;
}

/** Encodes reals as fixed point with `f` fractional bits (round to nearest) in Z_2^64. */
export function encode(x: ArrayLike<number>, f: number): BigUint64Array {
  const out = new BigUint64Array(x.length);
  const k = 2 ** f;
  for (let i = 0; i < x.length; i++) out[i] = BigInt.asUintN(64, BigInt(Math.round(x[i] * k)));
  return out;
}

/** Decodes fixed point with `f` fractional bits (two's complement) to float64. */
export function decode(a: BigUint64Array, f: number): Float64Array {
  const out = new Float64Array(a.length);
  const k = 2 ** -f;
  const signed = new BigInt64Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number(signed[i]) * k;
  return out;
}

/** Convolution over Z_2^64 (no bias): y = conv(x, w), every product and sum mod 2^64. */
export function conv2d(x: BigUint64Array, w: BigUint64Array, p: Conv2dParams): BigUint64Array {
  const [n, c, h, wd] = p.inShape;
  const [o, cg, kh, kw] = p.weightShape;
  const [, , oh, ow] = conv2dOutShape(p);
  const og = o / p.group;
  const y = new BigUint64Array(n * o * oh * ow);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let acc = 0n;
          for (let ic = 0; ic < cg; ic++) {
            const cin = g * cg + ic;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * p.strides[0] - p.pads[0] + ky * p.dilations[0];
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * p.strides[1] - p.pads[1] + kx * p.dilations[1];
                if (ix < 0 || ix >= wd) continue;
                acc += x[((b * c + cin) * h + iy) * wd + ix] * w[((oc * cg + ic) * kh + ky) * kw + kx];
              }
            }
          }
          y[((b * o + oc) * oh + oy) * ow + ox] = acc & MASK;
        }
    }
  return y;
}

/** Matrix product over Z_2^64: a is [m, k], b is [k, n], result [m, n]. */
export function matmul(a: BigUint64Array, b: BigUint64Array, m: number, k: number, n: number): BigUint64Array {
  const y = new BigUint64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0n;
      for (let t = 0; t < k; t++) acc += a[i * k + t] * b[t * n + j];
      y[i * n + j] = acc & MASK;
    }
  return y;
}

/** Reference of ring.ts's matmulT: transposes, then the plain product, then the row bias. */
export function matmulT(a: BigUint64Array, b: BigUint64Array, m: number, k: number, n: number, transA: boolean, transB: boolean, bias?: BigUint64Array): BigUint64Array {
  const at = (i: number, t: number) => (transA ? a[t * m + i] : a[i * k + t]);
  const bt = (t: number, j: number) => (transB ? b[j * k + t] : b[t * n + j]);
  const y = new BigUint64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = bias ? bias[j] : 0n;
      for (let t = 0; t < k; t++) acc += at(i, t) * bt(t, j);
      y[i * n + j] = acc & MASK;
    }
  return y;
}

/** Reference of conv2d with a per-output-channel bias. */
export function conv2dBias(x: BigUint64Array, w: BigUint64Array, p: Conv2dParams, bias: BigUint64Array): BigUint64Array {
  const y = conv2d(x, w, p);
  const [, o, oh, ow] = conv2dOutShape(p);
  for (let i = 0; i < y.length; i++) y[i] = (y[i] + bias[Math.floor(i / (oh * ow)) % o]) & MASK;
  return y;
}

/** Reference bit extraction by BigInt shift. */
export function bitOf(a: BigUint64Array, j: number): Uint8Array {
  return Uint8Array.from(a, (v) => Number((v >> BigInt(j)) & 1n));
}
