// The GEMM of a program on Z_2^40 or Z_2^48 whose A (a layer's clear weights, P1's) fits in 16
// bits: C = A·B mod 2^48 on pmaddwd (i32x4.dot_i16x8_s), eight multiplies per instruction
// against gemm32's two extmuls and an i32x4.mul per four (ring-kernels.ts adds it to every
// kernels module; the ABI is runtime/kernels/kernel-abi.ts).
//
// B's elements are written in three balanced 16-bit digits, b ≡ d0 + 2^16·d1 + 2^32·d2 (mod 2^48),
// each d in [−2^15, 2^15) (prepBRing48), so Σ_k a·b ≡ S0 + 2^16·S1 + 2^32·S2 with S_i = Σ_k a·d_i:
// S0 is needed mod 2^48 (accumulated in i64 lanes), S1 mod 2^32 and S2 mod 2^16 (i32 lanes, whose
// wrap-around is harmless). A is packed in panels of `rows` rows with k in pairs (packA16: per pair
// and row the i16 pair (a[k], a[k+1]), 0 past k's end), B per column tile and k pair as three
// i16x8 vectors per four columns (digit i of (b[k][j], b[k+1][j]) for j in the four), so one dot
// gives four columns' sums over the pair. |a| ≤ 2^15 − 1 keeps every dot lane below 2^31.
import type { Expr, FunctionBuilder, Local, ModuleBuilder } from '../binaryen.js';
import { addGenericKernel } from './generic-kernel.js';
import { gemmFrame, gemmLocals, LAID_OUT_GEMM_PARAMS } from './gemm-kernels.js';

/** The register tile of gemmRing48: `rows` rows (packA16's panels) × 4·`vectors` columns. */
export interface Ring48Tile {
  rows: number;
  vectors: number;
  /** k slab depth (even). */
  depth: number;
}

/** The tile gemmRing48 uses; chosen by measurement (bench/ring.ts). */
export const RING48_TILE: Ring48Tile = { rows: 2, vectors: 1, depth: 256 };

/** Adds packA16, prepBRing48, gemmRing48 and tileColsRing48 to `m`. */
export function emitGemmRing48(m: ModuleBuilder, tile: Ring48Tile = RING48_TILE): void {
  const RM = tile.rows;
  const V = tile.vectors;
  const RN = 4 * V;
  if (tile.depth % 2 !== 0) throw new Error(`internal: gemmRing48 slab depth ${tile.depth} (even)`);
  /** Bytes per k pair of a laid-out column tile: three digits' V vectors. */
  const PAIR_BYTES = 3 * 16 * V;
  const { add, mul, shl, sub } = m.i32;
  const c = (v: number) => m.i32.const(v);
  const g = (l: Local) => m.get(l);

  // packA16(a, lda, m, k, out) → 1 when every entry of A[m][k] lies in [−(2^15 − 1), 2^15 − 1].
  // Row i's panel (RM rows, or one past the last full panel) starts at out + i·kp·4, kp = ⌈k/2⌉.
  addGenericKernel(m, 'packA16', [['a', 'i32'], ['lda', 'i32'], ['m', 'i32'], ['k', 'i32'], ['out', 'i32']], 'i32', (f) => {
    const [a, lda, rows, k, out] = f.params;
    const [i, t, r, dst, kp, n, rr, col] = ['i', 't', 'r', 'dst', 'kp', 'n', 'rr', 'col'].map((x) => f.local(x, 'i32'));
    const v = f.local('v', 'i64');
    const bad = f.local('bad', 'i32');
    const at = (row: Expr, col: Expr) => add(g(a), shl(add(mul(row, g(lda)), col), c(3)));
    // Stores a[rr][col] (0 past k) as i16 at dst + off, noting entries out of range.
    const entry = (off: number): Expr[] => [
      m.set(v, m.if(m.i32.lt_s(g(col), g(k)), m.i64.load(at(g(rr), g(col))), m.i64.const(0n))),
      m.set(bad, m.i32.or(g(bad), m.i64.gt_u(m.i64.add(g(v), m.i64.const(32767n)), m.i64.const(65534n)))),
      m.i32.store16(g(dst), m.i32.wrapI64(g(v)), off),
    ];
    // A panel of `count` rows from row i: per pair t, per row, the i16 pair.
    const panel = (count: Expr): Expr[] => [
      m.forRange(t, c(0), g(kp), 1, () => [
        m.forRange(r, c(0), count, 1, () => [
          m.set(rr, add(g(i), g(r))),
          m.set(col, shl(g(t), c(1))),
          ...entry(0),
          m.set(col, add(g(col), c(1))),
          ...entry(2),
          m.set(dst, add(g(dst), c(4))),
        ]),
      ]),
    ];
    return [
      m.set(bad, c(0)),
      m.set(kp, m.i32.shr_u(add(g(k), c(1)), c(1))),
      m.set(dst, g(out)),
      m.set(n, sub(g(rows), m.i32.rem_u(g(rows), c(RM)))),
      m.forRange(i, c(0), g(n), RM, () => panel(c(RM))),
      m.forRange(i, g(n), g(rows), 1, () => panel(c(1))),
      m.i32.eqz(g(bad)),
    ];
  });

  // prepBRing48(b, ldb, k, n, out): per full column tile of RN columns and k pair, digit 0's V
  // vectors, digit 1's, digit 2's; each vector the four columns' (d(b[k][j]), d(b[k+1][j])). The
  // balanced digits of x are those of x + 0x8000_8000_8000_8000 in base 2^16, each less 2^15 (an
  // xor of the lane's top bit): two elements per i64x2 add and xor, then byte shuffles pair rows
  // k and k + 1 (zeros past k's end: the digits of 0).
  const bias = [0, 0x80, 0, 0x80, 0, 0x80, 0, 0x80, 0, 0x80, 0, 0x80, 0, 0x80, 0, 0x80];
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  // Digits 0 and 1 of two columns from rows a (bytes 0–15) and b (16–31): lanes a.0, b.0, a.4, b.4, a.1, b.1, a.5, b.5.
  const PAIR01 = [0, 1, 16, 17, 8, 9, 24, 25, 2, 3, 18, 19, 10, 11, 26, 27];
  // Digit 2 of two columns: lanes a.2, b.2, a.6, b.6 (twice).
  const PAIR2 = [4, 5, 20, 21, 12, 13, 28, 29, 4, 5, 20, 21, 12, 13, 28, 29];
  const LOW = [...range(0, 8), ...range(16, 8)];
  const HIGH = [...range(8, 8), ...range(24, 8)];
  addGenericKernel(m, 'prepBRing48', [['b', 'i32'], ['ldb', 'i32'], ['k', 'i32'], ['n', 'i32'], ['out', 'i32']], 'none', (f) => {
    const [b, ldb, k, n, out] = f.params;
    const [j, t, dst, nn, src, kp] = ['j', 't', 'dst', 'nn', 'src', 'kp'].map((x) => f.local(x, 'i32'));
    const [ra, rb, sa, sb, t1, t2] = ['ra', 'rb', 'sa', 'sb', 't1', 't2'].map((x) => f.local(x, 'v128'));
    const digits = (at: Expr, offset: number) => m.v128.xor(m.i64x2.add(m.i64x2.load(at, offset), m.v128.const(bias)), m.v128.const(bias));
    const rowK1 = () => add(g(src), shl(g(ldb), c(3)));
    return [
      m.set(dst, g(out)),
      m.set(kp, m.i32.shr_u(add(g(k), c(1)), c(1))),
      m.set(nn, sub(g(n), m.i32.rem_u(g(n), c(RN)))),
      m.forRange(j, c(0), g(nn), RN, () => [
        m.forRange(t, c(0), g(kp), 1, () => [
          m.set(src, add(g(b), shl(add(mul(shl(g(t), c(1)), g(ldb)), g(j)), c(3)))),
          ...Array.from({ length: V }, (_, q) => [
            m.set(ra, digits(g(src), 32 * q)),
            m.set(rb, digits(g(src), 32 * q + 16)),
            m.if(m.i32.lt_s(add(shl(g(t), c(1)), c(1)), g(k)),
              m.seq([m.set(sa, digits(rowK1(), 32 * q)), m.set(sb, digits(rowK1(), 32 * q + 16))]),
              m.seq([m.set(sa, m.i32x4.zero()), m.set(sb, m.i32x4.zero())])),
            m.set(t1, m.shuffle(g(ra), g(sa), PAIR01)),
            m.set(t2, m.shuffle(g(rb), g(sb), PAIR01)),
            m.i64x2.store(g(dst), m.shuffle(g(t1), g(t2), LOW), q * 16),
            m.i64x2.store(g(dst), m.shuffle(g(t1), g(t2), HIGH), (V + q) * 16),
            m.i64x2.store(g(dst), m.shuffle(m.shuffle(g(ra), g(sa), PAIR2), m.shuffle(g(rb), g(sb), PAIR2), LOW), (2 * V + q) * 16),
          ]).flat(),
          m.set(dst, add(g(dst), c(PAIR_BYTES))),
        ]),
      ]),
    ];
  });

  // gemmRing48(ap, a, lda, bp, b, ldb, c, ldc, m, k, n): C's low 48 bits = A·B's; A itself and B
  // itself are read only for the columns past the last full tile (gemmFrame's edge, mod 2^64).
  addGenericKernel(m, 'gemmRing48', LAID_OUT_GEMM_PARAMS, 'none', (f: FunctionBuilder) => {
    const p = (n: string) => m.get(f.param(n));
    const l = gemmLocals(f);
    const [panel, pc, kp, tp, kbp] = ['panel', 'pc', 'kp', 'tp', 'kbp'].map((x) => f.local(x, 'i32'));
    const bd = [0, 1, 2].map((digit) => Array.from({ length: V }, (_, q) => f.local(`b${digit}_${q}`, 'v128')));
    const av = f.local('av', 'v128');
    const d0 = f.local('d0', 'v128');
    const lo = Array.from({ length: RM }, (_, r) => Array.from({ length: V }, (_, q) => f.local(`lo${r}_${q}`, 'v128')));
    const hi = Array.from({ length: RM }, (_, r) => Array.from({ length: V }, (_, q) => f.local(`hi${r}_${q}`, 'v128')));
    const s1 = Array.from({ length: RM }, (_, r) => Array.from({ length: V }, (_, q) => f.local(`s1_${r}_${q}`, 'v128')));
    const s2 = Array.from({ length: RM }, (_, r) => Array.from({ length: V }, (_, q) => f.local(`s2_${r}_${q}`, 'v128')));
    const tileBody = (rows: number, aStart: () => Expr): Expr[] => {
      const R = Array.from({ length: rows }, (_, r) => r);
      const Q = Array.from({ length: V }, (_, q) => q);
      const step = (): Expr[] => [
        ...[0, 1, 2].flatMap((digit) => Q.map((q) => m.set(bd[digit][q], m.i64x2.load(g(l.pb), (digit * V + q) * 16)))),
        ...R.flatMap((r) => [
          m.set(av, m.i32x4.loadSplat(g(l.pa), r * 4)),
          ...Q.flatMap((q) => [
            m.set(d0, m.i32x4.dotI16(g(bd[0][q]), g(av))),
            m.set(lo[r][q], m.i64x2.add(g(lo[r][q]), m.i64x2.extendLowS32(g(d0)))),
            m.set(hi[r][q], m.i64x2.add(g(hi[r][q]), m.i64x2.extendHighS32(g(d0)))),
            m.set(s1[r][q], m.i32x4.add(g(s1[r][q]), m.i32x4.dotI16(g(bd[1][q]), g(av)))),
            m.set(s2[r][q], m.i32x4.add(g(s2[r][q]), m.i32x4.dotI16(g(bd[2][q]), g(av)))),
          ]),
        ]),
        m.set(l.pa, add(g(l.pa), c(rows * 4))),
        m.set(l.pb, add(g(l.pb), c(PAIR_BYTES))),
      ];
      const rowAt = (r: number) => add(g(pc), shl(mul(c(r), p('ldc')), c(3)));
      const put = (accumulate: boolean, r: number, offset: number, v: Expr) => m.i64x2.store(rowAt(r), accumulate ? m.i64x2.add(v, m.i64x2.load(rowAt(r), offset)) : v, offset);
      const sum = (acc: Local, s1v: Local, s2v: Local, high: boolean): Expr => {
        const ext = (v: Local) => (high ? m.i64x2.extendHighU32(g(v)) : m.i64x2.extendLowU32(g(v)));
        return m.i64x2.add(g(acc), m.i64x2.add(m.i64x2.shl(ext(s1v), c(16)), m.i64x2.shl(ext(s2v), c(32))));
      };
      const store = (accumulate: boolean): Expr[] => R.flatMap((r) => Q.flatMap((q) => [
        put(accumulate, r, 32 * q, sum(lo[r][q], s1[r][q], s2[r][q], false)),
        put(accumulate, r, 32 * q + 16, sum(hi[r][q], s1[r][q], s2[r][q], true)),
      ]));
      return [
        ...R.flatMap((r) => Q.flatMap((q) => [lo, hi, s1, s2].map((acc) => m.set(acc[r][q], m.i32x4.zero())))),
        m.set(l.pa, aStart()),
        // Tile j/RN of the laid-out B, at pair k0/2.
        m.set(l.pb, add(p('bp'), mul(add(mul(m.i32.div_u(g(l.j), c(RN)), g(kp)), m.i32.shr_u(g(l.k0), c(1))), c(PAIR_BYTES)))),
        m.forRange(tp, c(0), g(kbp), 1, step),
        m.set(pc, add(p('c'), shl(add(mul(g(l.i), p('ldc')), g(l.j)), c(3)))),
        m.if(m.i32.eqz(g(l.k0)), m.seq(store(false)), m.seq(store(true))),
      ];
    };
    const slab = (): Expr[] => [
      m.set(kbp, m.i32.shr_u(add(g(l.kb), c(1)), c(1))),
      // Full panels: row i's at ap + (i·kp + (k0/2)·RM)·4.
      m.forRange(l.i, c(0), g(l.mm), RM, () => [
        m.set(panel, add(p('ap'), shl(add(mul(g(l.i), g(kp)), mul(m.i32.shr_u(g(l.k0), c(1)), c(RM))), c(2)))),
        m.forRange(l.j, c(0), g(l.nn), RN, () => tileBody(RM, () => g(panel))),
      ]),
      ...(RM > 1
        ? [m.forRange(l.i, g(l.mm), p('m'), 1, () => [
          m.forRange(l.j, c(0), g(l.nn), RN, () => tileBody(1, () => add(p('ap'), shl(add(mul(g(l.i), g(kp)), m.i32.shr_u(g(l.k0), c(1))), c(2))))),
        ])]
        : []),
    ];
    return [m.set(kp, m.i32.shr_u(add(p('k'), c(1)), c(1))), ...gemmFrame(m, f, l, RM, RN, tile.depth, slab)];
  });
  addGenericKernel(m, 'tileColsRing48', [], 'i32', () => [c(RN)]);
}
