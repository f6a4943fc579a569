// The generic ring kernels: arithmetic on Z_2^64 (i64 wraps mod 2^64 natively)
// over arrays in linear memory, im2col for convolutions, and the register-tiled GEMM of
// gemm-kernels.ts. The runtime
// (runtime/ring/ring.ts) loads the modules built from it (runtime-kernels.ts); it never imports this file.
//
// ABI: every pointer is a byte address in the module's exported memory, 16-byte aligned; every
// count and stride is in elements (8 bytes each). All functions are pure loops, no allocation.
import type { Expr, Local, ModuleBuilder, ValType } from '../binaryen.js';
import { addGenericKernel } from './generic-kernel.js';
import { DEFAULT_TILE, emitGemm, emitGemm32, emitGemmRing32, emitPackA, RING32_TILE, type GemmTile, type Ring32Tile } from './gemm-kernels.js';
import type { GenericKernel } from '../../../runtime/kernels/kernel-abi.js';
import { emitGemmRing48, RING48_TILE, type Ring48Tile } from './gemm-ring48-kernels.js';

export { DEFAULT_TILE, RING32_TILE, type GemmTile, type Ring32Tile } from './gemm-kernels.js';
export { RING48_TILE, type Ring48Tile } from './gemm-ring48-kernels.js';

type Binary = (m: ModuleBuilder, a: Expr, b: Expr) => Expr;

/** out[i] = op(a[i], b[i]): two lanes at a time with i64x2, then a scalar tail. */
function elementwiseBinary(m: ModuleBuilder, name: GenericKernel, vec: Binary, scalar: Binary): void {
  addGenericKernel(m, name, [['a', 'i32'], ['b', 'i32'], ['out', 'i32'], ['n', 'i32']], 'none', (f) => {
    const [a, b, out, n] = f.params;
    const i = f.local('i', 'i32');
    const pairs = f.local('pairs', 'i32');
    const at = (p: Local) => m.i32.add(m.get(p), m.get(i));
    return [
      m.set(pairs, m.i32.shl(m.i32.and(m.get(n), m.i32.const(~1)), m.i32.const(3))),
      m.forRange(i, m.i32.const(0), m.get(pairs), 16, () => [
        m.i64x2.store(at(out), vec(m, m.i64x2.load(at(a)), m.i64x2.load(at(b)))),
      ]),
      m.forRange(i, m.get(pairs), m.i32.shl(m.get(n), m.i32.const(3)), 8, () => [
        m.i64.store(at(out), scalar(m, m.i64.load(at(a)), m.i64.load(at(b)))),
      ]),
    ];
  });
}

type Unary = (m: ModuleBuilder, a: Expr, arg: Expr) => Expr;

/** out[i] = op(a[i], arg) with one extra scalar argument (a constant, a shift). */
function elementwiseUnary(
  m: ModuleBuilder,
  name: GenericKernel,
  argType: ValType,
  vec: Unary,
  scalar: Unary,
  vecArg: (m: ModuleBuilder, arg: Expr) => Expr = (_m, x) => x,
): void {
  addGenericKernel(m, name, [['a', 'i32'], ['arg', argType], ['out', 'i32'], ['n', 'i32']], 'none', (f) => {
    const [a, arg, out, n] = f.params;
    const i = f.local('i', 'i32');
    const pairs = f.local('pairs', 'i32');
    const varg = f.local('varg', argType === 'i64' ? 'v128' : argType);
    const at = (p: Local) => m.i32.add(m.get(p), m.get(i));
    return [
      m.set(varg, vecArg(m, m.get(arg))),
      m.set(pairs, m.i32.shl(m.i32.and(m.get(n), m.i32.const(~1)), m.i32.const(3))),
      m.forRange(i, m.i32.const(0), m.get(pairs), 16, () => [
        m.i64x2.store(at(out), vec(m, m.i64x2.load(at(a)), m.get(varg))),
      ]),
      m.forRange(i, m.get(pairs), m.i32.shl(m.get(n), m.i32.const(3)), 8, () => [
        m.i64.store(at(out), scalar(m, m.i64.load(at(a)), m.get(arg))),
      ]),
    ];
  });
}

/** The elementwise kernels: add, sub, mul, neg, scale, truncation of shares. */
function emitElementwise(m: ModuleBuilder): void {
  elementwiseBinary(m, 'add', (m, a, b) => m.i64x2.add(a, b), (m, a, b) => m.i64.add(a, b));
  elementwiseBinary(m, 'sub', (m, a, b) => m.i64x2.sub(a, b), (m, a, b) => m.i64.sub(a, b));
  elementwiseBinary(m, 'mul', (m, a, b) => m.i64x2.mul(a, b), (m, a, b) => m.i64.mul(a, b));
  // neg ignores its argument; it shares the unary shape to keep one loop generator.
  elementwiseUnary(m, 'neg', 'i32', (m, a) => m.i64x2.neg(a), (m, a) => m.i64.sub(m.i64.const(0n), a));
  elementwiseUnary(
    m,
    'scale',
    'i64',
    (m, a, c) => m.i64x2.mul(a, c),
    (m, a, c) => m.i64.mul(a, c),
    (m, c) => m.i64x2.splat(c),
  );
  // Party 0: arithmetic shift. Party 1: -((-a) >> f). Shift counts are taken mod 64 by wasm;
  // the runtime only calls these with 0 <= f < 64.
  elementwiseUnary(m, 'shr_s', 'i32', (m, a, f) => m.i64x2.shr_s(a, f), (m, a, f) => m.i64.shr_s(a, m.i64.extendU32(f)));
  elementwiseUnary(
    m,
    'trunc_neg',
    'i32',
    (m, a, f) => m.i64x2.neg(m.i64x2.shr_s(m.i64x2.neg(a), f)),
    (m, a, f) => m.i64.sub(m.i64.const(0n), m.i64.shr_s(m.i64.sub(m.i64.const(0n), a), m.i64.extendU32(f))),
  );
}

/** im2col of one image and channel group: out[k][pp] for k = (ic, ky, kx) in weight order and
 * pp over output positions p0 .. p0+pn-1 (row-major over [oh, ow]); zero outside the image.
 * Walks each output row's segment at once: with unit horizontal stride the in-image part of a
 * segment is one contiguous run of the input row (memory.copy) between zero fills. */
function emitIm2col(m: ModuleBuilder): void {
  const params: [string, ValType][] = [
    ['x', 'i32'], ['cg', 'i32'], ['h', 'i32'], ['w', 'i32'], ['kh', 'i32'], ['kw', 'i32'],
    ['sh', 'i32'], ['sw', 'i32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'i32'], ['dw', 'i32'],
    ['ow', 'i32'], ['p0', 'i32'], ['pn', 'i32'], ['out', 'i32'],
  ];
  addGenericKernel(m, 'im2col', params, 'none', (f) => {
    const p = (n: string) => m.get(f.param(n));
    const [ic, ky, kx, q, oy, ox, iy, ix, plane, dst, oy0, ox0, left, cnt, base, z1, z2] = [
      'ic', 'ky', 'kx', 'q', 'oy', 'ox', 'iy', 'ix', 'plane', 'dst', 'oy0', 'ox0', 'left', 'cnt', 'base', 'z1', 'z2',
    ].map((n) => f.local(n, 'i32'));
    const g = (l: Local) => m.get(l);
    const c = (v: number) => m.i32.const(v);
    const { add, mul, sub, shl } = m.i32;
    const bytes = (e: Expr) => shl(e, c(3));
    const min = (a: () => Expr, b: () => Expr) => m.select(m.i32.lt_s(a(), b()), a(), b());
    const max = (a: () => Expr, b: () => Expr) => m.select(m.i32.lt_s(a(), b()), b(), a());
    // One segment: `cnt` positions of output row oy from column ox, written at dst.
    const unitStride = [
      // First input column of the segment, then the in-image range [z1, z2) of the segment.
      m.set(base, add(sub(g(ox), p('pl')), mul(g(kx), p('dw')))),
      m.set(z1, min(() => max(() => sub(c(0), g(base)), () => c(0)), () => g(cnt))),
      m.set(z2, min(() => max(() => sub(p('w'), g(base)), () => g(z1)), () => g(cnt))),
      m.memfill(g(dst), c(0), bytes(g(z1))),
      m.memcpy(add(g(dst), bytes(g(z1))), add(g(plane), bytes(add(mul(g(iy), p('w')), add(g(base), g(z1))))), bytes(sub(g(z2), g(z1)))),
      m.memfill(add(g(dst), bytes(g(z2))), c(0), bytes(sub(g(cnt), g(z2)))),
    ];
    const anyStride = [
      m.forRange(q, c(0), g(cnt), 1, () => [
        m.set(ix, add(sub(mul(add(g(ox), g(q)), p('sw')), p('pl')), mul(g(kx), p('dw')))),
        m.i64.store(add(g(dst), bytes(g(q))),
          m.if(m.i32.lt_u(g(ix), p('w')), m.i64.load(add(g(plane), bytes(add(mul(g(iy), p('w')), g(ix))))), m.i64.const(0n))),
      ]),
    ];
    return [
      m.set(oy0, m.i32.div_u(p('p0'), p('ow'))),
      m.set(ox0, m.i32.rem_u(p('p0'), p('ow'))),
      m.set(dst, p('out')),
      m.forRange(ic, c(0), p('cg'), 1, () => [
        m.set(plane, add(p('x'), bytes(mul(g(ic), mul(p('h'), p('w')))))),
        m.forRange(ky, c(0), p('kh'), 1, () => [
          m.forRange(kx, c(0), p('kw'), 1, () => [
            m.set(oy, g(oy0)),
            m.set(ox, g(ox0)),
            m.set(left, p('pn')),
            m.while(() => m.i32.lt_s(c(0), g(left)), [
              m.set(cnt, min(() => sub(p('ow'), g(ox)), () => g(left))),
              m.set(iy, add(sub(mul(g(oy), p('sh')), p('pt')), mul(g(ky), p('dh')))),
              m.if(
                m.i32.lt_u(g(iy), p('h')),
                m.if(m.i32.eq(p('sw'), c(1)), m.seq(unitStride), m.seq(anyStride)),
                m.memfill(g(dst), c(0), bytes(g(cnt))),
              ),
              m.set(dst, add(g(dst), bytes(g(cnt)))),
              m.set(left, sub(g(left), g(cnt))),
              m.set(ox, c(0)),
              m.set(oy, add(g(oy), c(1))),
            ]),
          ]),
        ]),
      ]),
    ];
  });
}

/** Depthwise convolution of one image (group = channels, one input channel per group, `mult`
 * output channels per input channel), direct: for every weight, y's output rows get
 * weight · (the matching input row segment) added, a scalar multiply-add over contiguous runs
 * (no im2col: a depthwise layer is too shallow for the GEMM's tiles). y is overwritten. */
function emitDepthwise(m: ModuleBuilder): void {
  const params: [string, ValType][] = [
    ['x', 'i32'], ['w', 'i32'], ['y', 'i32'], ['c', 'i32'], ['h', 'i32'], ['wd', 'i32'], ['kh', 'i32'], ['kw', 'i32'],
    ['sh', 'i32'], ['sw', 'i32'], ['pt', 'i32'], ['pl', 'i32'], ['dh', 'i32'], ['dw', 'i32'], ['oh', 'i32'], ['ow', 'i32'],
    ['mult', 'i32'],
  ];
  addGenericKernel(m, 'depthwise', params, 'none', (f) => {
    const p = (n: string) => m.get(f.param(n));
    const [oc, ky, kx, oy, ox, iy, xin, yout, oxa, oxb, num, src, dst, step] = [
      'oc', 'ky', 'kx', 'oy', 'ox', 'iy', 'xin', 'yout', 'oxa', 'oxb', 'num', 'src', 'dst', 'step',
    ].map((n) => f.local(n, 'i32'));
    const wv = f.local('wv', 'i64');
    const g = (l: Local) => m.get(l);
    const c = (v: number) => m.i32.const(v);
    const { add, mul, sub, shl } = m.i32;
    const bytes = (e: Expr) => shl(e, c(3));
    return [
      m.memfill(p('y'), c(0), bytes(mul(mul(p('c'), p('mult')), mul(p('oh'), p('ow'))))),
      m.set(step, bytes(p('sw'))),
      m.forRange(oc, c(0), mul(p('c'), p('mult')), 1, () => [
        m.set(xin, add(p('x'), bytes(mul(m.i32.div_u(g(oc), p('mult')), mul(p('h'), p('wd')))))),
        m.set(yout, add(p('y'), bytes(mul(g(oc), mul(p('oh'), p('ow')))))),
        m.forRange(ky, c(0), p('kh'), 1, () => [
          m.forRange(kx, c(0), p('kw'), 1, () => [
            m.set(wv, m.i64.load(add(p('w'), bytes(add(mul(add(mul(g(oc), p('kh')), g(ky)), p('kw')), g(kx)))))),
            // Output columns whose input column ox·sw − pl + kx·dw lies in [0, wd).
            m.set(num, sub(p('pl'), mul(g(kx), p('dw')))),
            m.set(oxa, m.select(m.i32.lt_s(g(num), c(1)), c(0), m.i32.div_u(add(g(num), sub(p('sw'), c(1))), p('sw')))),
            m.set(num, add(sub(p('wd'), c(1)), g(num))),
            m.set(oxb, m.select(m.i32.lt_s(g(num), c(0)), c(0), add(m.i32.div_u(g(num), p('sw')), c(1)))),
            m.set(oxb, m.select(m.i32.lt_s(p('ow'), g(oxb)), p('ow'), g(oxb))),
            m.forRange(oy, c(0), p('oh'), 1, () => [
              m.set(iy, add(sub(mul(g(oy), p('sh')), p('pt')), mul(g(ky), p('dh')))),
              m.if(m.i32.lt_u(g(iy), p('h')), m.seq([
                m.set(src, add(g(xin), bytes(add(mul(g(iy), p('wd')), add(sub(mul(g(oxa), p('sw')), p('pl')), mul(g(kx), p('dw'))))))),
                m.set(dst, add(g(yout), bytes(add(mul(g(oy), p('ow')), g(oxa))))),
                m.forRange(ox, g(oxa), g(oxb), 1, () => [
                  m.i64.store(g(dst), m.i64.add(m.i64.load(g(dst)), m.i64.mul(g(wv), m.i64.load(g(src))))),
                  m.set(src, add(g(src), g(step))),
                  m.set(dst, add(g(dst), c(8))),
                ]),
              ])),
            ]),
          ]),
        ]),
      ]),
    ];
  });
}

/** Adds the generic ring kernels (add, sub, mul, neg, scale, shr_s, trunc_neg, im2col, depthwise,
 * packA, gemm, packA32, prepB32, gemm32, tileCols, prepBRing32, gemmRing32, tileColsRing32, packA16,
 * prepBRing48, gemmRing48, tileColsRing48; ABI above) to a module under construction (runtime-kernels.ts adds
 * them with the compare's kernels to every kernels module the runtime runs). */
export function addRingKernels(m: ModuleBuilder, tile: GemmTile = DEFAULT_TILE, ring32: Ring32Tile = RING32_TILE, ring48: Ring48Tile = RING48_TILE): void {
  emitElementwise(m);
  emitIm2col(m);
  emitDepthwise(m);
  emitPackA(m, tile);
  emitGemm(m, tile);
  emitGemm32(m, tile);
  emitGemmRing32(m, tile.rows, ring32);
  // The runtime sizes its column blocks as multiples of the tile width.
  addGenericKernel(m, 'tileCols', [], 'i32', () => [m.i32.const(tile.cols)]);
  addGenericKernel(m, 'tileColsRing32', [], 'i32', () => [m.i32.const(ring32.cols)]);
  emitGemmRing48(m, ring48);
}
