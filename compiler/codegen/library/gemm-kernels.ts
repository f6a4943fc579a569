// The ring kernels' register-tiled GEMM (C = A · B mod 2^64) and its packing: rows of A in
// panels (packA, packA32), B re-laid per block for 32-bit weights (prepB32), and the micro-kernel
// tiles measured in bench/ring.ts (scalar, i64x2, 32-bit halves, hybrid). Split from
// ring-kernels.ts, which adds them to every kernels module (addRingKernels); the ABI is there.
import type { Expr, FunctionBuilder, Local, ModuleBuilder, ValType } from '../binaryen.js';
import { addGenericKernel } from './generic-kernel.js';

/** Register tile of the GEMM micro-kernel: rows of A (output channels) × columns of B. */
export interface GemmTile {
  rows: number;
  cols: number;
  /** scalar: i64 mul/add; simd64: i64x2.mul; simd32: 32-bit halves, i64x2.extmul for the low
   * product and i32x4.mul for the cross terms (cols a multiple of 4, resp. 2 for simd64). */
  kind: 'scalar' | 'simd64' | 'simd32' | 'hybrid';
  /** Depth of a k slab: rows of B kept in L2 while all panels of A pass over them. */
  depth: number;
  /** k steps per loop iteration (1 or 2). */
  unroll?: 1 | 2;
}

/** The tile the runtime's GEMM uses; chosen by measurement (bench/ring.ts). */
export const DEFAULT_TILE: GemmTile = { rows: 2, cols: 6, kind: 'hybrid', depth: 256 };

/** packA(a, lda, m, k, out): rows of A in panels of `tile.rows`, each panel stored k-major
 * ([k][rows]) so the micro-kernel reads one contiguous run per step. Rows past the last full
 * panel are not packed (the GEMM's edge loop reads A directly). */
export function emitPackA(m: ModuleBuilder, tile: GemmTile): void {
  addGenericKernel(m, 'packA', [['a', 'i32'], ['lda', 'i32'], ['m', 'i32'], ['k', 'i32'], ['out', 'i32']], 'none', (f) => {
    const [a, lda, rows, k, out] = f.params;
    const i = f.local('i', 'i32');
    const t = f.local('t', 'i32');
    const r = f.local('r', 'i32');
    const dst = f.local('dst', 'i32');
    const { add, mul, shl, sub } = m.i32;
    const c = (v: number) => m.i32.const(v);
    return [
      m.set(dst, m.get(out)),
      m.forRange(i, c(0), sub(m.get(rows), c(tile.rows - 1)), tile.rows, () => [
        m.forRange(t, c(0), m.get(k), 1, () => [
          m.forRange(r, c(0), c(tile.rows), 1, () => [
            m.i64.store(m.get(dst), m.i64.load(add(m.get(a), shl(add(mul(add(m.get(i), m.get(r)), m.get(lda)), m.get(t)), c(3))))),
            m.set(dst, add(m.get(dst), c(8))),
          ]),
        ]),
      ]),
    ];
  });
}

/** A register tile: zero the accumulators, one step of k (A panel at pa, B row at pb), and
 * the stores of the accumulators to C (row r's address given by rowAt). */
interface MicroKernel {
  init: Expr[];
  /** Builds the statements of one k step (fresh nodes on every call, for unrolling). */
  step: () => Expr[];
  /** Stores (or with `accumulate` adds) the accumulators into C. */
  store: (rowAt: (r: number) => Expr, accumulate: boolean) => Expr[];
}

/** i64 scalar tile: rows×cols accumulators in locals. */
function scalarTile(m: ModuleBuilder, f: FunctionBuilder, rows: number, cols: number, pa: Local, pb: Local): MicroKernel {
  const acc: Local[][] = [];
  for (let r = 0; r < rows; r++) acc.push(Array.from({ length: cols }, (_, q) => f.local(`acc${r}_${q}`, 'i64')));
  const av = Array.from({ length: rows }, (_, r) => f.local(`a${r}`, 'i64'));
  const bv = Array.from({ length: cols }, (_, q) => f.local(`b${q}`, 'i64'));
  return {
    init: acc.flat().map((l) => m.set(l, m.i64.const(0n))),
    step: () => [
      ...av.map((l, r) => m.set(l, m.i64.load(m.get(pa), r * 8))),
      ...bv.map((l, q) => m.set(l, m.i64.load(m.get(pb), q * 8))),
      ...acc.flatMap((row, r) => row.map((l, q) => m.set(l, m.i64.add(m.get(l), m.i64.mul(m.get(av[r]), m.get(bv[q])))))),
    ],
    store: (rowAt, accumulate) => acc.flatMap((row, r) => row.map((l, q) =>
      m.i64.store(rowAt(r), accumulate ? m.i64.add(m.get(l), m.i64.load(rowAt(r), q * 8)) : m.get(l), q * 8))),
  };
}

/** i64x2 tile: cols/2 vectors per row, A splat per row, i64x2.mul (emulated by V8 on x64). */
function simd64Tile(m: ModuleBuilder, f: FunctionBuilder, rows: number, cols: number, pa: Local, pb: Local): MicroKernel {
  const v = cols / 2;
  const acc: Local[][] = [];
  for (let r = 0; r < rows; r++) acc.push(Array.from({ length: v }, (_, q) => f.local(`acc${r}_${q}`, 'v128')));
  const av = f.local('asplat', 'v128');
  const bv = Array.from({ length: v }, (_, q) => f.local(`b${q}`, 'v128'));
  return {
    init: acc.flat().map((l) => m.set(l, m.i32x4.zero())),
    step: () => [
      ...bv.map((l, q) => m.set(l, m.i64x2.load(m.get(pb), q * 16))),
      ...acc.flatMap((row, r) => [
        m.set(av, m.i64x2.loadSplat(m.get(pa), r * 8)),
        ...row.map((l, q) => m.set(l, m.i64x2.add(m.get(l), m.i64x2.mul(m.get(av), m.get(bv[q]))))),
      ]),
    ],
    store: (rowAt, accumulate) => acc.flatMap((row, r) => row.map((l, q) =>
      m.i64x2.store(rowAt(r), accumulate ? m.i64x2.add(m.get(l), m.i64x2.load(rowAt(r), q * 16)) : m.get(l), q * 16))),
  };
}

/** 32-bit-halves tile: a*b mod 2^64 = alo*blo + ((alo*bhi + ahi*blo) mod 2^32) << 32. Four
 * columns per group: the full products alo*blo accumulate in two i64x2 (extmul), the cross
 * terms in one i32x4 (only their low 32 bits matter), combined once at the store. */
function simd32Tile(m: ModuleBuilder, f: FunctionBuilder, rows: number, cols: number, pa: Local, pb: Local): MicroKernel {
  const v = cols / 4;
  const lowAcc: Local[][] = [];
  const highAcc: Local[][] = [];
  const crossAcc: Local[][] = [];
  for (let r = 0; r < rows; r++) {
    lowAcc.push(Array.from({ length: v }, (_, q) => f.local(`lo${r}_${q}`, 'v128')));
    highAcc.push(Array.from({ length: v }, (_, q) => f.local(`hi${r}_${q}`, 'v128')));
    crossAcc.push(Array.from({ length: v }, (_, q) => f.local(`x${r}_${q}`, 'v128')));
  }
  const alo = f.local('alo', 'v128');
  const ahi = f.local('ahi', 'v128');
  const blo = Array.from({ length: v }, (_, q) => f.local(`blo${q}`, 'v128'));
  const bhi = Array.from({ length: v }, (_, q) => f.local(`bhi${q}`, 'v128'));
  const x0 = f.local('x0', 'v128');
  const x1 = f.local('x1', 'v128');
  const words = (start: number) => [0, 8, 16, 24].flatMap((o) => [o + start, o + start + 1, o + start + 2, o + start + 3]);
  const all = [...lowAcc.flat(), ...highAcc.flat(), ...crossAcc.flat()];
  return {
    init: all.map((l) => m.set(l, m.i32x4.zero())),
    step: () => [
      ...blo.flatMap((l, q) => [
        m.set(x0, m.i64x2.load(m.get(pb), q * 32)),
        m.set(x1, m.i64x2.load(m.get(pb), q * 32 + 16)),
        m.set(l, m.shuffle(m.get(x0), m.get(x1), words(0))),
        m.set(bhi[q], m.shuffle(m.get(x0), m.get(x1), words(4))),
      ]),
      ...lowAcc.flatMap((row, r) => [
        m.set(alo, m.i32x4.loadSplat(m.get(pa), r * 8)),
        m.set(ahi, m.i32x4.loadSplat(m.get(pa), r * 8 + 4)),
        ...row.flatMap((l, q) => [
          m.set(l, m.i64x2.add(m.get(l), m.i64x2.extmulLowU32(m.get(blo[q]), m.get(alo)))),
          m.set(highAcc[r][q], m.i64x2.add(m.get(highAcc[r][q]), m.i64x2.extmulHighU32(m.get(blo[q]), m.get(alo)))),
          m.set(crossAcc[r][q], m.i32x4.add(m.get(crossAcc[r][q]),
            m.i32x4.add(m.i32x4.mul(m.get(bhi[q]), m.get(alo)), m.i32x4.mul(m.get(blo[q]), m.get(ahi))))),
        ]),
      ]),
    ],
    store: (rowAt, accumulate) => {
      const put = (r: number, offset: number, v: Expr) =>
        m.i64x2.store(rowAt(r), accumulate ? m.i64x2.add(v, m.i64x2.load(rowAt(r), offset)) : v, offset);
      return lowAcc.flatMap((row, r) => row.flatMap((l, q) => [
        put(r, q * 32, m.i64x2.add(m.get(l), m.i64x2.shl(m.i64x2.extendLowU32(m.get(crossAcc[r][q])), m.i32.const(32)))),
        put(r, q * 32 + 16, m.i64x2.add(m.get(highAcc[r][q]), m.i64x2.shl(m.i64x2.extendHighU32(m.get(crossAcc[r][q])), m.i32.const(32)))),
      ]));
    },
  };
}

/** Hybrid tile: the first 4 columns on the vector unit (simd32), the remaining cols − 4 with
 * scalar i64 multiplies, which run on the integer unit in parallel with the vector multiplies. */
function hybridTile(m: ModuleBuilder, f: FunctionBuilder, rows: number, cols: number, pa: Local, pb: Local): MicroKernel {
  const vec = simd32Tile(m, f, rows, 4, pa, pb);
  const extra = cols - 4;
  const acc: Local[][] = [];
  for (let r = 0; r < rows; r++) acc.push(Array.from({ length: extra }, (_, q) => f.local(`sacc${r}_${q}`, 'i64')));
  const av = Array.from({ length: rows }, (_, r) => f.local(`sa${r}`, 'i64'));
  const bv = Array.from({ length: extra }, (_, q) => f.local(`sb${q}`, 'i64'));
  return {
    init: [...vec.init, ...acc.flat().map((l) => m.set(l, m.i64.const(0n)))],
    step: () => [
      ...vec.step(),
      ...av.map((l, r) => m.set(l, m.i64.load(m.get(pa), r * 8))),
      ...bv.map((l, q) => m.set(l, m.i64.load(m.get(pb), 32 + q * 8))),
      ...acc.flatMap((row, r) => row.map((l, q) => m.set(l, m.i64.add(m.get(l), m.i64.mul(m.get(av[r]), m.get(bv[q])))))),
    ],
    store: (rowAt, accumulate) => [
      ...vec.store(rowAt, accumulate),
      ...acc.flatMap((row, r) => row.map((l, q) =>
        m.i64.store(rowAt(r), accumulate ? m.i64.add(m.get(l), m.i64.load(rowAt(r), 32 + q * 8)) : m.get(l), 32 + q * 8))),
    ],
  };
}

/** The locals both GEMMs' frames use (gemmFrame). */
export interface GemmLocals {
  i: Local;
  j: Local;
  mm: Local;
  nn: Local;
  pa: Local;
  pb: Local;
  ldb8: Local;
  t: Local;
  k0: Local;
  kb: Local;
  s: Local;
}

/** Both GEMMs' frame around their register tiles: k blocked in slabs of `depth` rows (the first
 * slab stores into C, later ones add; k = 0 still runs one, empty, slab to zero C), each slab
 * `slab()` (mm, nn: the rows and columns of full tiles, kb: the slab's depth), then the columns
 * past the last full tile of every row as scalar dot products of A and B themselves. */
export function gemmFrame(m: ModuleBuilder, f: FunctionBuilder, l: GemmLocals, rows: number, cols: number, depth: number, slab: () => Expr[]): Expr[] {
  const p = (n: string) => m.get(f.param(n));
  const g = (x: Local) => m.get(x);
  const c = (v: number) => m.i32.const(v);
  const { add, mul, shl, sub } = m.i32;
  const edge = (): Expr[] => [
    m.set(l.s, m.i64.const(0n)),
    m.set(l.pa, add(p('a'), shl(mul(g(l.i), p('lda')), c(3)))),
    m.set(l.pb, add(p('b'), shl(g(l.j), c(3)))),
    m.forRange(l.t, c(0), p('k'), 1, () => [
      m.set(l.s, m.i64.add(g(l.s), m.i64.mul(m.i64.load(g(l.pa)), m.i64.load(g(l.pb))))),
      m.set(l.pa, add(g(l.pa), c(8))),
      m.set(l.pb, add(g(l.pb), g(l.ldb8))),
    ]),
    m.i64.store(add(p('c'), shl(add(mul(g(l.i), p('ldc')), g(l.j)), c(3))), g(l.s)),
  ];
  return [
    m.set(l.ldb8, shl(p('ldb'), c(3))),
    m.set(l.mm, sub(p('m'), m.i32.rem_u(p('m'), c(rows)))),
    m.set(l.nn, sub(p('n'), m.i32.rem_u(p('n'), c(cols)))),
    m.forRange(l.k0, c(0), m.if(m.i32.eqz(p('k')), c(1), p('k')), depth, () => [
      m.set(l.kb, sub(p('k'), g(l.k0))),
      m.if(m.i32.lt_s(c(depth), g(l.kb)), m.set(l.kb, c(depth))),
      ...slab(),
    ]),
    m.forRange(l.i, c(0), p('m'), 1, () => [m.forRange(l.j, g(l.nn), p('n'), 1, edge)]),
  ];
}

/** The GEMMs' frame locals, declared in `f`. */
export function gemmLocals(f: FunctionBuilder): GemmLocals {
  const [i, j, mm, nn, pa, pb, ldb8, t, k0, kb] = ['i', 'j', 'mm', 'nn', 'pa', 'pb', 'ldb8', 't', 'k0', 'kb'].map((x) => f.local(x, 'i32'));
  return { i, j, mm, nn, pa, pb, ldb8, t, k0, kb, s: f.local('s', 'i64') };
}

/** gemm(ap, a, lda, b, ldb, c, ldc, m, k, n): C[m][n] = A[m][k] · B[k][n] mod 2^64 (C is
 * overwritten). `ap` is A packed by packA; `a` is A itself, read for the rows past the last
 * full panel. Blocked over k by tile.depth so the slab of B in use stays in L2 while every
 * panel of A passes over it; the first slab stores into C, later slabs add. */
export function emitGemm(m: ModuleBuilder, tile: GemmTile): void {
  const params: [string, ValType][] = [
    ['ap', 'i32'], ['a', 'i32'], ['lda', 'i32'], ['b', 'i32'], ['ldb', 'i32'], ['c', 'i32'], ['ldc', 'i32'],
    ['m', 'i32'], ['k', 'i32'], ['n', 'i32'],
  ];
  addGenericKernel(m, 'gemm', params, 'none', (f: FunctionBuilder) => {
    const p = (n: string) => m.get(f.param(n));
    const g = (l: Local) => m.get(l);
    const c = (v: number) => m.i32.const(v);
    const { add, mul, shl, sub } = m.i32;
    const RM = tile.rows;
    const RN = tile.cols;
    const KC = tile.depth;
    const frame = gemmLocals(f);
    const { i, j, mm, nn, pa, pb, ldb8, t, k0, kb } = frame;
    const panel = f.local('panel', 'i32');
    const pc = f.local('pc', 'i32');
    const kernel = { scalar: scalarTile, simd64: simd64Tile, simd32: simd32Tile, hybrid: hybridTile }[tile.kind];
    // One register tile of `rows` rows at (i, j) over k0 .. k0+kb; A read from `aStart`
    // advancing rows*8 per k (a packed panel, or for a single row the row of A itself).
    const tileBody = (rows: number, aStart: () => Expr): Expr[] => {
      const micro = kernel(m, f, rows, RN, pa, pb);
      const advance = () => [...micro.step(), m.set(pa, add(g(pa), c(rows * 8))), m.set(pb, add(g(pb), g(ldb8)))];
      const rowAt = (r: number) => add(g(pc), shl(mul(c(r), p('ldc')), c(3)));
      return [
        ...micro.init,
        m.set(pa, aStart()),
        m.set(pb, add(p('b'), shl(add(mul(g(k0), p('ldb')), g(j)), c(3)))),
        ...(tile.unroll === 2
          ? [
            m.forRange(t, c(1), g(kb), 2, () => [...advance(), ...advance()]),
            m.if(m.i32.and(g(kb), c(1)), m.seq(advance())),
          ]
          : [m.forRange(t, c(0), g(kb), 1, advance)]),
        m.set(pc, add(p('c'), shl(add(mul(g(i), p('ldc')), g(j)), c(3)))),
        m.if(m.i32.eqz(g(k0)), m.seq(micro.store(rowAt, false)), m.seq(micro.store(rowAt, true))),
      ];
    };

    const slab = (): Expr[] => [
      // Full panels of RM rows: the packed panel of row i starts at ap + (i·k + k0·RM)·8.
      m.forRange(i, c(0), g(mm), RM, () => [
        m.set(panel, add(p('ap'), shl(add(mul(g(i), p('k')), mul(g(k0), c(RM))), c(3)))),
        m.forRange(j, c(0), g(nn), RN, () => tileBody(RM, () => g(panel))),
      ]),
      // Rows past the last full panel: one-row tiles reading A's rows directly.
      ...(RM > 1
        ? [m.forRange(i, g(mm), p('m'), 1, () => [
          m.forRange(j, c(0), g(nn), RN, () => tileBody(1, () => add(p('a'), shl(add(mul(g(i), p('lda')), g(k0)), c(3))))),
        ])]
        : []),
    ];

    return gemmFrame(m, f, frame, RM, RN, KC, slab);
  });
}

/** The parameters of the GEMMs over a packed A and a laid-out B (gemm32, gemmRing32):
 * (ap, a, lda, bp, b, ldb, c, ldc, m, k, n). */
export const LAID_OUT_GEMM_PARAMS: [string, ValType][] = [
  ['ap', 'i32'], ['a', 'i32'], ['lda', 'i32'], ['bp', 'i32'], ['b', 'i32'], ['ldb', 'i32'], ['c', 'i32'], ['ldc', 'i32'],
  ['m', 'i32'], ['k', 'i32'], ['n', 'i32'],
];

/** The shuffle lanes of the four low (start 0) or high (start 4) words of four 64-bit elements
 * held in two vectors. */
const WORDS = (start: number): number[] => [0, 8, 16, 24].flatMap((o) => [o + start, o + start + 1, o + start + 2, o + start + 3]);

/** A kernel name(b, ldb, k, n, out) laying B's full column tiles of `cols` columns out for a GEMM:
 * per tile and k row, `row(f, src, dst)` writes `tileBytes` at dst from the row's elements at src. */
function addPrepB(m: ModuleBuilder, name: 'prepB32' | 'prepBRing32', cols: number, tileBytes: number, row: (f: FunctionBuilder, src: Local, dst: Local) => Expr[]): void {
  addGenericKernel(m, name, [['b', 'i32'], ['ldb', 'i32'], ['k', 'i32'], ['n', 'i32'], ['out', 'i32']], 'none', (f) => {
    const [b, ldb, k, n, out] = f.params;
    const [j, t, src, dst, nn] = ['j', 't', 'src', 'dst', 'nn'].map((x) => f.local(x, 'i32'));
    const { add, mul, shl, sub } = m.i32;
    const c = (v: number) => m.i32.const(v);
    return [
      m.set(dst, m.get(out)),
      m.set(nn, sub(m.get(n), m.i32.rem_u(m.get(n), c(cols)))),
      m.forRange(j, c(0), m.get(nn), cols, () => [
        m.forRange(t, c(0), m.get(k), 1, () => [
          m.set(src, add(m.get(b), shl(add(mul(m.get(t), m.get(ldb)), m.get(j)), c(3)))),
          ...row(f, src, dst),
          m.set(dst, add(m.get(dst), c(tileBytes))),
        ]),
      ]),
    ];
  });
}

/** A register tile of a GEMM over B laid out per column tile (prepB32, prepBRing32: `tileBytes`
 * per k row of a tile of `cols` columns), at (i, j) over k0 .. k0 + kb: the accumulators zeroed
 * (`init`), A from `aStart`, `step` per k (advancing pa and pb itself), then stored into C (or,
 * after the first slab, added). */
function laidOutTile(m: ModuleBuilder, f: FunctionBuilder, l: GemmLocals, pc: Local, cols: number, tileBytes: number, init: Expr[], aStart: () => Expr, step: () => Expr[], store: (accumulate: boolean) => Expr[]): Expr[] {
  const p = (n: string) => m.get(f.param(n));
  const g = (x: Local) => m.get(x);
  const c = (v: number) => m.i32.const(v);
  const { add, mul, shl } = m.i32;
  return [
    ...init,
    m.set(l.pa, aStart()),
    // Tile j/cols of the laid-out B, at row k0.
    m.set(l.pb, add(p('bp'), mul(add(mul(m.i32.div_u(g(l.j), c(cols)), p('k')), g(l.k0)), c(tileBytes)))),
    m.forRange(l.t, c(0), g(l.kb), 1, step),
    m.set(pc, add(p('c'), shl(add(mul(g(l.i), p('ldc')), g(l.j)), c(3)))),
    m.if(m.i32.eqz(g(l.k0)), m.seq(store(false)), m.seq(store(true))),
  ];
}

/** One k slab of a GEMM whose A is packed by packA32 (gemm32, gemmRing32): the full panels of
 * `rows` rows (row i's panel at ap + (i·k + k0·rows)·4), then one-row tiles for the rows past the
 * last panel; `tileBody(rows, aStart, aStep)` makes a tile at (i, j). */
function packedA32Slab(m: ModuleBuilder, f: FunctionBuilder, l: GemmLocals, panel: Local, rows: number, cols: number, tileBody: (rows: number, aStart: () => Expr, aStep: number) => Expr[]): Expr[] {
  const p = (n: string) => m.get(f.param(n));
  const g = (x: Local) => m.get(x);
  const c = (v: number) => m.i32.const(v);
  const { add, mul, shl } = m.i32;
  return [
    m.forRange(l.i, c(0), g(l.mm), rows, () => [
      m.set(panel, add(p('ap'), shl(add(mul(g(l.i), p('k')), mul(g(l.k0), c(rows))), c(2)))),
      m.forRange(l.j, c(0), g(l.nn), cols, () => tileBody(rows, () => g(panel), rows * 4)),
    ]),
    ...(rows > 1
      ? [m.forRange(l.i, g(l.mm), p('m'), 1, () => [
        m.forRange(l.j, c(0), g(l.nn), cols, () => tileBody(1, () => add(p('ap'), shl(add(mul(g(l.i), p('k')), g(l.k0)), c(2))), 4)),
      ])]
      : []),
  ];
}

/** The GEMM of A with entries that fit in 32 bits (two's complement; a layer's clear weights
 * in fixed point): the same rows × cols register tile as `tile`, with `cols − 4` scalar
 * columns. For a = a_s (signed 32-bit) and b = blo + 2^32·bhi, with blo_s the signed reading
 * of blo: a·b ≡ a_s·blo_s + 2^32·a_s·(bhi + [blo ≥ 2^31]) (mod 2^64). So one signed extmul
 * per two columns gives the first term and one i32x4.mul per four columns the second, against
 * two extmuls and two i32x4.muls of the 64-bit tile (pmulld, the slow one, halved); B is
 * re-laid once per block (prepB32: per column tile and k, the four low words, the four
 * adjusted high words, then the scalar columns' words), so the step needs no shuffle. */
export function emitGemm32(m: ModuleBuilder, tile: GemmTile): void {
  const RM = tile.rows;
  // At least the four vector columns (a narrower test tile only sends more columns to the edge).
  const RN = Math.max(4, tile.cols);
  const S = RN - 4;
  const TILE_BYTES = 32 + 8 * S;
  const { add, mul, shl, sub } = m.i32;
  const c = (v: number) => m.i32.const(v);
  // packA32(a, lda, m, k, out) → 1 when every entry of A[m][k] fits in 32 bits (then A is
  // packed as i32 in panels of RM rows, k-major, and the rows past the last full panel in
  // panels of one row: row i's panel starts at out + i·k·4 either way), else 0 (out garbage).
  addGenericKernel(m, 'packA32', [['a', 'i32'], ['lda', 'i32'], ['m', 'i32'], ['k', 'i32'], ['out', 'i32']], 'i32', (f) => {
    const [a, lda, rows, k, out] = f.params;
    const [i, t, r, dst] = ['i', 't', 'r', 'dst'].map((n) => f.local(n, 'i32'));
    const v = f.local('v', 'i64');
    const bad = f.local('bad', 'i64');
    const at = (row: Expr) => add(m.get(a), shl(add(mul(row, m.get(lda)), m.get(t)), c(3)));
    const check = (e: Expr) => [m.set(v, e), m.set(bad, m.i64.or(m.get(bad), m.i64.xor(m.get(v), m.i64.extendS32(m.i32.wrapI64(m.get(v))))))];
    return [
      m.set(bad, m.i64.const(0n)),
      m.set(dst, m.get(out)),
      m.forRange(i, c(0), sub(m.get(rows), c(RM - 1)), RM, () => [
        m.forRange(t, c(0), m.get(k), 1, () => [
          m.forRange(r, c(0), c(RM), 1, () => [
            ...check(m.i64.load(at(add(m.get(i), m.get(r))))),
            m.i32.store(m.get(dst), m.i32.wrapI64(m.get(v))),
            m.set(dst, add(m.get(dst), c(4))),
          ]),
        ]),
      ]),
      // Rows past the last full panel: panels of one row each (the row itself, as i32).
      m.forRange(i, sub(m.get(rows), m.i32.rem_u(m.get(rows), c(RM))), m.get(rows), 1, () => [
        m.forRange(t, c(0), m.get(k), 1, () => [
          ...check(m.i64.load(at(m.get(i)))),
          m.i32.store(m.get(dst), m.i32.wrapI64(m.get(v))),
          m.set(dst, add(m.get(dst), c(4))),
        ]),
      ]),
      m.i32.eqz(m.i32.or(m.i32.wrapI64(m.get(bad)), m.i32.wrapI64(m.i64.shr_u(m.get(bad), m.i64.const(32n))))),
    ];
  });
  // prepB32(b, ldb, k, n, out): B's full column tiles re-laid for gemm32.
  addPrepB(m, 'prepB32', RN, TILE_BYTES, (f, src, dst) => {
    const [x0, x1, lo] = ['x0', 'x1', 'lo'].map((x) => f.local(x, 'v128'));
    return [
      m.set(x0, m.i64x2.load(m.get(src))),
      m.set(x1, m.i64x2.load(m.get(src), 16)),
      m.set(lo, m.shuffle(m.get(x0), m.get(x1), WORDS(0))),
      m.i64x2.store(m.get(dst), m.get(lo)),
      m.i64x2.store(m.get(dst), m.i32x4.add(m.shuffle(m.get(x0), m.get(x1), WORDS(4)), m.i32x4.shr_u(m.get(lo), c(31))), 16),
      ...Array.from({ length: S }, (_, q) => m.i64.store(m.get(dst), m.i64.load(m.get(src), 32 + 8 * q), 32 + 8 * q)),
    ];
  });
  // gemm32(ap, a, lda, bp, b, ldb, c, ldc, m, k, n): C = A·B mod 2^64 as gemm, for A packed by
  // packA32 (ap) and B's full column tiles laid out by prepB32 (bp). A itself (a, lda) and B
  // itself (b, ldb) are read only for the columns past the last full tile (none when n is a
  // multiple of the tile width, as in every convolution block).
  addGenericKernel(m, 'gemm32', LAID_OUT_GEMM_PARAMS, 'none', (f: FunctionBuilder) => {
    const p = (n: string) => m.get(f.param(n));
    const g = (l: Local) => m.get(l);
    const KC = tile.depth;
    const frame = gemmLocals(f);
    const { pa, pb } = frame;
    const [panel, pc] = ['panel', 'pc'].map((x) => f.local(x, 'i32'));
    const blo = f.local('blo', 'v128');
    const bhi = f.local('bhi', 'v128');
    const av = f.local('av', 'v128');
    const lowAcc = Array.from({ length: RM }, (_, r) => f.local(`lo${r}`, 'v128'));
    const highAcc = Array.from({ length: RM }, (_, r) => f.local(`hi${r}`, 'v128'));
    const crossAcc = Array.from({ length: RM }, (_, r) => f.local(`x${r}`, 'v128'));
    const sacc = Array.from({ length: RM }, (_, r) => Array.from({ length: S }, (_, q) => f.local(`s${r}_${q}`, 'i64')));
    const sa = Array.from({ length: RM }, (_, r) => f.local(`sa${r}`, 'i64'));
    const sb = Array.from({ length: S }, (_, q) => f.local(`sb${q}`, 'i64'));
    // One register tile of `rows` rows at (i, j) over k0 .. k0+kb; A's 32-bit entries read at
    // pa + r·4, advancing `aStep` bytes per k (a packed panel, or one row of A itself).
    const tileBody = (rows: number, aStart: () => Expr, aStep: number): Expr[] => {
      const R = Array.from({ length: rows }, (_, r) => r);
      const step = (): Expr[] => [
        m.set(blo, m.i64x2.load(g(pb))),
        m.set(bhi, m.i64x2.load(g(pb), 16)),
        ...sb.map((l, q) => m.set(l, m.i64.load(g(pb), 32 + 8 * q))),
        ...R.flatMap((r) => [
          m.set(av, m.i32x4.loadSplat(g(pa), r * 4)),
          m.set(lowAcc[r], m.i64x2.add(g(lowAcc[r]), m.i64x2.extmulLowS32(g(blo), g(av)))),
          m.set(highAcc[r], m.i64x2.add(g(highAcc[r]), m.i64x2.extmulHighS32(g(blo), g(av)))),
          m.set(crossAcc[r], m.i32x4.add(g(crossAcc[r]), m.i32x4.mul(g(bhi), g(av)))),
          m.set(sa[r], m.i64.load32s(g(pa), r * 4)),
          ...sb.map((l, q) => m.set(sacc[r][q], m.i64.add(g(sacc[r][q]), m.i64.mul(g(sa[r]), g(l))))),
        ]),
        m.set(pa, add(g(pa), c(aStep))),
        m.set(pb, add(g(pb), c(TILE_BYTES))),
      ];
      const rowAt = (r: number) => add(g(pc), shl(mul(c(r), p('ldc')), c(3)));
      const store = (accumulate: boolean): Expr[] => R.flatMap((r) => {
        const put = (offset: number, v: Expr) => m.i64x2.store(rowAt(r), accumulate ? m.i64x2.add(v, m.i64x2.load(rowAt(r), offset)) : v, offset);
        return [
          put(0, m.i64x2.add(g(lowAcc[r]), m.i64x2.shl(m.i64x2.extendLowU32(g(crossAcc[r])), c(32)))),
          put(16, m.i64x2.add(g(highAcc[r]), m.i64x2.shl(m.i64x2.extendHighU32(g(crossAcc[r])), c(32)))),
          ...sacc[r].map((l, q) => m.i64.store(rowAt(r), accumulate ? m.i64.add(g(l), m.i64.load(rowAt(r), 32 + q * 8)) : g(l), 32 + q * 8)),
        ];
      });
      const init = [
        ...R.flatMap((r) => [lowAcc[r], highAcc[r], crossAcc[r]].map((l) => m.set(l, m.i32x4.zero()))),
        ...R.flatMap((r) => sacc[r].map((l) => m.set(l, m.i64.const(0n)))),
      ];
      return laidOutTile(m, f, frame, pc, RN, TILE_BYTES, init, aStart, step, store);
    };
    return gemmFrame(m, f, frame, RM, RN, KC, () => packedA32Slab(m, f, frame, panel, RM, RN, tileBody));
  });
}

/** The register tile of the Z_2^32 GEMM (gemmRing32): its columns (a multiple of 4, one i32x4
 * per four) and k slab depth; its rows are packA32's panels (the GemmTile's rows). */
export interface Ring32Tile {
  cols: number;
  depth: number;
}

/** The tile gemmRing32 uses; chosen by measurement (bench/ring.ts). */
export const RING32_TILE: Ring32Tile = { cols: 16, depth: 256 };

/** The GEMM of a program on Z_2^32 (wire.ts RING_BITS): only the low 32 bits of every entry
 * mean anything, so a·b mod 2^32 is one i32x4.mul per four columns, against gemm32's two
 * extmuls and an i32x4.mul. A is packed by packA32 in panels of `rows` rows (its low words,
 * whatever its entries' size: its fit flag is ignored), B's full column tiles laid out by
 * prepBRing32 (per tile and k, the tile's low words); C gets each sum's low 32 bits
 * zero-extended to 64 (its high word is 0 or, after a later slab's addition, a carry: neither
 * means anything in Z_2^32). */
export function emitGemmRing32(m: ModuleBuilder, rows: number, tile: Ring32Tile = RING32_TILE): void {
  const RM = rows;
  const RN = tile.cols;
  const V = RN / 4;
  if (!Number.isInteger(V) || V < 1) throw new Error(`internal: gemmRing32 tile of ${RN} columns (a multiple of 4)`);
  const TILE_BYTES = 4 * RN;
  const { add, mul, shl } = m.i32;
  const c = (v: number) => m.i32.const(v);
  // prepBRing32(b, ldb, k, n, out): B's full column tiles, per tile and k the tile's low words.
  addPrepB(m, 'prepBRing32', RN, TILE_BYTES, (_f, src, dst) =>
    Array.from({ length: V }, (_, q) => m.i64x2.store(m.get(dst), m.shuffle(m.i64x2.load(m.get(src), 32 * q), m.i64x2.load(m.get(src), 32 * q + 16), WORDS(0)), 16 * q)));
  // gemmRing32(ap, a, lda, bp, b, ldb, c, ldc, m, k, n): C = A·B mod 2^32 as gemm32's arguments
  // (A itself and B itself read only for the columns past the last full tile, mod 2^64 there).
  addGenericKernel(m, 'gemmRing32', LAID_OUT_GEMM_PARAMS, 'none', (f: FunctionBuilder) => {
    const p = (n: string) => m.get(f.param(n));
    const g = (l: Local) => m.get(l);
    const frame = gemmLocals(f);
    const { pa, pb } = frame;
    const [panel, pc] = ['panel', 'pc'].map((x) => f.local(x, 'i32'));
    const bv = Array.from({ length: V }, (_, q) => f.local(`b${q}`, 'v128'));
    const av = f.local('av', 'v128');
    const acc = Array.from({ length: RM }, (_, r) => Array.from({ length: V }, (_, q) => f.local(`acc${r}_${q}`, 'v128')));
    const tileBody = (rows: number, aStart: () => Expr, aStep: number): Expr[] => {
      const R = Array.from({ length: rows }, (_, r) => r);
      const step = (): Expr[] => [
        ...bv.map((l, q) => m.set(l, m.i64x2.load(g(pb), 16 * q))),
        ...R.flatMap((r) => [
          m.set(av, m.i32x4.loadSplat(g(pa), r * 4)),
          ...acc[r].map((l, q) => m.set(l, m.i32x4.add(g(l), m.i32x4.mul(g(bv[q]), g(av))))),
        ]),
        m.set(pa, add(g(pa), c(aStep))),
        m.set(pb, add(g(pb), c(TILE_BYTES))),
      ];
      const rowAt = (r: number) => add(g(pc), shl(mul(c(r), p('ldc')), c(3)));
      const store = (accumulate: boolean): Expr[] => R.flatMap((r) => acc[r].flatMap((l, q) => {
        const put = (offset: number, v: Expr) => m.i64x2.store(rowAt(r), accumulate ? m.i64x2.add(v, m.i64x2.load(rowAt(r), offset)) : v, offset);
        return [put(32 * q, m.i64x2.extendLowU32(g(l))), put(32 * q + 16, m.i64x2.extendHighU32(g(l)))];
      }));
      return laidOutTile(m, f, frame, pc, RN, TILE_BYTES, R.flatMap((r) => acc[r].map((l) => m.set(l, m.i32x4.zero()))), aStart, step, store);
    };
    return gemmFrame(m, f, frame, RM, RN, tile.depth, () => packedA32Slab(m, f, frame, panel, RM, RN, tileBody));
  });
}
