// Emits the private compare's digit kernel (runtime/protocols/compare-digits.ts holds the
// protocol, the TypeScript twin of this kernel and the ABI's caller): per element, the k
// masked compare digits, rotated, folded into base-p groups of four. SIMD over the digit
// positions of one element, eight at a time in 16-bit lanes: the bits of z, the Z_p shares of
// r's bits and the element's (s, ρ) pairs (drawn beforehand by compare_pairs,
// sample-kernels.ts) load as vectors, the suffix sums Σ_{l>j} R_l ⊕ Z_l are a scan inside
// the vector plus a carry from the vectors above (reduced mod p, so every lane stays below
// 2^16), and x mod p is x − p·((x·modM) >> modS) on widened lanes. The rotation reads the
// digits back from a doubled row; the groups are two multiply-adds on the row's bytes.
//
// ABI: byte addresses into the module's memory; all i32.
//   compare_digits(zlo, zhi, rbits, rot, beta, pairs, out, tmp, i0, i1, k, p, isP0, modM, modS, grouped)
//   for elements i0 ≤ i < i1: zlo/zhi: u32 words of z per element (index i); rbits: k − 1
//   bytes per element (index i); rot, beta: a byte per element (index i); pairs: k u16 per
//   element from element i0 on, in draw order (position k − 1 first), (s << 8) | ρ-term;
//   out: k/4 u32 groups per element when grouped (k % 4 = 0), else k digit bytes per element
//   (index i); tmp: 2k + 32 scratch bytes. modM < 2^16 and modS make (x·modM) >> modS =
//   floor(x/p) for every x the kernel forms (x < 2^16; the caller checks). Slack: 16
//   readable bytes before pairs and before rbits, 16 writable bytes past the end of out.
//   bit_corrections(rlo, rhi, bits0, n, m, p, out): out[i·m + b] = (bit b of r_i − bits0[i·m + b])
//   mod p, the helper's correction making the two Z_p shares of r's bits (m ≤ 63; 16 readable
//   bytes past bits0's end, 16 writable past out's).
//   (The samplers are in sample-kernels.ts, the base-p wire format's kernels in field-kernels.ts.)
import type { Expr, ModuleBuilder } from '../binaryen.js';
import { addGenericKernel } from './generic-kernel.js';
import { addFieldKernels } from './field-kernels.js';
import { addSampleKernels } from './sample-kernels.js';

/** Adds compare_digits, sample_below and bit_corrections (ABI above) and the wire-format
 * kernels of field-kernels.ts to a module under construction. */
export function addCompareKernels(m: ModuleBuilder): void {
  addDigitKernel(m);
  addSampleKernels(m);
  addCorrectionKernel(m);
  addFieldKernels(m);
}

function addCorrectionKernel(m: ModuleBuilder): void {
  const { add, mul, shl, const: c } = m.i32;
  addGenericKernel(m, 'bit_corrections', ['rlo', 'rhi', 'bits0', 'n', 'm', 'p', 'out'].map((name) => [name, 'i32'] as const), 'none', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const [i, b, at] = ['i', 'b', 'at'].map((name) => f.local(name, 'i32'));
    const r = f.local('r', 'i64');
    const [bitsV, one, pV, v] = ['bitsV', 'one', 'pV', 'v'].map((name) => f.local(name, 'v128'));
    const g = m.get.bind(m);
    const b8 = m.i8x16;
    // Sixteen bits of r a vector: the two bytes spread over lanes 0–7 and 8–15, one bit each.
    const SPREAD = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
    return [
      m.set(bitsV, m.v128.const([1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128])),
      m.set(one, b8.splat(c(1))),
      m.set(pV, b8.splat(p('p'))),
      m.forRange(i, c(0), p('n'), 1, () => [
        m.set(r, m.i64.or(m.i64.shl(m.i64.load32u(add(p('rhi'), shl(g(i), c(2)))), m.i64.const(32n)), m.i64.load32u(add(p('rlo'), shl(g(i), c(2)))))),
        m.set(at, mul(g(i), p('m'))),
        // Sixteen positions b at a time (the last vector's extra lanes land where the next
        // element's first vector writes afterwards, or in the caller's 16 bytes of slack).
        m.forRange(b, c(0), p('m'), 16, () => [
          m.set(v, b8.min_u(m.v128.and(m.v128.swizzle(m.i16x8.splat(m.i32.wrapI64(m.i64.shr_u(g(r), m.i64.extendU32(g(b))))), m.v128.const(SPREAD)), g(bitsV)), g(one))),
          // (bit + p − bits0) mod p, from [1, p + 1]: min(v, v − p) in bytes (v − p wraps high when v < p).
          m.set(v, b8.sub(b8.add(g(v), g(pV)), m.v128.load(add(add(p('bits0'), g(at)), g(b))))),
          m.v128.store(add(add(p('out'), g(at)), g(b)), b8.min_u(g(v), b8.sub(g(v), g(pV)))),
        ]),
      ]),
    ];
  });
}

/** Byte shuffles on 16-bit lanes: lane l takes lane l + d (zeros shifted in), or lane 7 − l. */
const down = (d: number) => Array.from({ length: 16 }, (_, b) => b + 2 * d);
const REVERSE = [14, 15, 12, 13, 10, 11, 8, 9, 6, 7, 4, 5, 2, 3, 0, 1];

function addDigitKernel(m: ModuleBuilder): void {
  const names = ['zlo', 'zhi', 'rbits', 'rot', 'beta', 'pairs', 'out', 'tmp', 'i0', 'i1', 'k', 'p', 'isP0', 'modM', 'modS', 'grouped'];
  addGenericKernel(m, 'compare_digits', names.map((n) => [n, 'i32'] as const), 'none', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const [i, ch, byte, carry, cc, neg, pe, rb, src, o, at] = ['i', 'ch', 'byte', 'carry', 'cc', 'neg', 'pe', 'rb', 'src', 'o', 'at'].map((n) => f.local(n, 'i32'));
    const [zz, kmask] = ['zz', 'kmask'].map((n) => f.local(n, 'i64'));
    const vecNames = ['lanes', 'bitsV', 'zero', 'pV', 'isP0V', 'pIsP0V', 'kV', 'modMV', 'negMask', 'offV', 'lowByte', 'low16', 'p2V'];
    const [lanes, bitsV, zero, pV, isP0V, pIsP0V, kV, modMV, negMask, offV, lowByte, low16, p2V] = vecNames.map((n) => f.local(n, 'v128'));
    const [jv, zm, rv, t, incl, x, q, dg, u] = ['jv', 'zm', 'rv', 't', 'incl', 'x', 'q', 'dg', 'u'].map((n) => f.local(n, 'v128'));
    const { add, sub, mul, and, shl, shr_u, const: c } = m.i32;
    const g = m.get.bind(m);
    const h = m.i16x8;
    const v = m.v128;
    const w4 = m.i32x4;
    const i16s = (xs: number[]) => v.const(xs.flatMap((e) => [e & 0xff, (e >> 8) & 0xff]));
    const sh = (e: Expr, d: number) => m.shuffle(e, g(zero), down(d));
    const ch8 = () => shl(g(ch), c(3));

    /** One vector of eight positions j = 8·ch … 8·ch + 7 (lanes at or past k masked off). */
    const chunk: Expr[] = [
      m.set(jv, h.add(g(lanes), h.splat(ch8()))),
      // Z_j = bit j of Z = 2z' + 1 (bits from k on cleared in zz): a byte splat, a bit per lane.
      m.set(byte, and(m.i32.wrapI64(m.i64.shr_u(g(zz), m.i64.extendU32(ch8()))), c(0xff))),
      m.set(zm, h.ne(v.and(h.splat(g(byte)), g(bitsV)), g(zero))),
      // R_j = rbits[j − 1] for 1 ≤ j < k, R_0 = 0.
      m.set(rv, v.and(v.load8x8U(sub(add(g(rb), ch8()), c(1))), v.and(h.lt_s(g(zero), g(jv)), h.lt_s(g(jv), g(kV))))),
      // t_j = share of R_j ⊕ Z_j = R_j + Z_j·(p + [P0] − 2R_j); Σ_{l≥j} t_l inside the vector by a scan.
      m.set(t, h.add(g(rv), v.and(g(zm), h.sub(g(pIsP0V), h.shl(g(rv), c(1)))))),
      m.set(incl, h.add(g(t), sh(g(t), 1))),
      m.set(incl, h.add(g(incl), sh(g(incl), 2))),
      m.set(incl, h.add(g(incl), sh(g(incl), 4))),
      // c = off ± (Z_j·[P0] − R_j + p) + suffix (β picks the sign by two's-complement negation).
      m.set(x, h.add(h.sub(v.and(g(zm), g(isP0V)), g(rv)), g(pV))),
      m.set(x, h.add(h.add(g(offV), h.sub(v.xor(g(x), g(negMask)), g(negMask))), h.add(h.sub(g(incl), g(t)), h.splat(g(carry))))),
      m.set(cc, add(g(carry), h.lane(g(incl), 0))),
      m.set(carry, sub(g(cc), mul(p('p'), shr_u(mul(g(cc), p('modM')), p('modS'))))),
      // x = s·c + ρ-term with the pairs of positions j (drawn from position k − 1 down).
      m.set(u, m.shuffle(v.load(add(g(pe), shl(sub(sub(p('k'), c(8)), ch8()), c(1)))), g(zero), REVERSE)),
      m.set(x, h.add(h.mul(h.shr_u(g(u), c(8)), g(x)), v.and(g(u), g(lowByte)))),
      m.set(q, h.narrowU32(w4.shr_u(w4.extmulLowU16(g(x), g(modMV)), p('modS')), w4.shr_u(w4.extmulHighU16(g(x), g(modMV)), p('modS')))),
      m.set(dg, h.sub(g(x), h.mul(g(q), g(pV)))),
      m.set(dg, v.narrowU16(g(dg), g(dg))),
      v.store64(add(p('tmp'), ch8()), g(dg)),
      v.store64(add(add(p('tmp'), p('k')), ch8()), g(dg)),
    ];
    return [
      m.set(lanes, i16s([0, 1, 2, 3, 4, 5, 6, 7])),
      m.set(bitsV, i16s([1, 2, 4, 8, 16, 32, 64, 128])),
      m.set(zero, w4.zero()),
      m.set(pV, h.splat(p('p'))),
      m.set(isP0V, h.splat(p('isP0'))),
      m.set(pIsP0V, h.splat(add(p('p'), p('isP0')))),
      m.set(kV, h.splat(p('k'))),
      m.set(modMV, h.splat(p('modM'))),
      m.set(lowByte, h.splat(c(0xff))),
      m.set(low16, w4.splat(c(0xffff))),
      m.set(p2V, w4.splat(mul(p('p'), p('p')))),
      m.set(kmask, m.select(m.i32.ge_s(p('k'), c(64)), m.i64.const(-1n), m.i64.sub(m.i64.shl(m.i64.const(1n), m.i64.extendU32(p('k'))), m.i64.const(1n)))),
      m.set(pe, p('pairs')),
      m.forRange(i, p('i0'), p('i1'), 1, () => [
        m.set(zz, m.i64.or(m.i64.shl(m.i64.load32u(add(p('zhi'), shl(g(i), c(2)))), m.i64.const(32n)), m.i64.load32u(add(p('zlo'), shl(g(i), c(2)))))),
        m.set(zz, m.i64.and(m.i64.or(m.i64.shl(g(zz), m.i64.const(1n)), m.i64.const(1n)), g(kmask))),
        m.set(neg, and(m.i32.load8u(add(p('beta'), g(i))), c(1))),
        m.set(negMask, h.splat(sub(c(0), g(neg)))),
        m.set(offV, h.splat(add(mul(shl(p('p'), c(1)), g(neg)), p('isP0')))),
        m.set(rb, add(p('rbits'), mul(g(i), sub(p('k'), c(1))))),
        m.set(carry, c(0)),
        // Vectors from the top: the carry is the suffix sum of every position above.
        m.set(ch, sub(shr_u(add(p('k'), c(7)), c(3)), c(1))),
        m.while(() => m.i32.ge_s(g(ch), c(0)), [...chunk, m.set(ch, sub(g(ch), c(1)))]),
        // Digit j goes to position (j + rot) mod k: read the doubled row from k − rot.
        m.set(src, sub(add(p('tmp'), p('k')), m.i32.load8u(add(p('rot'), g(i))))),
        m.set(at, add(p('out'), mul(g(i), p('k')))),
        m.if(
          p('grouped'),
          m.forRange(o, c(0), p('k'), 16, () => [
            // Bytes d0 d1 d2 d3 → (d0 + p·d1, d2 + p·d3) in 16-bit lanes → d0 + p·d1 + p²·(d2 + p·d3).
            m.set(u, v.load(add(g(src), g(o)))),
            m.set(u, h.add(v.and(g(u), g(lowByte)), h.mul(h.shr_u(g(u), c(8)), g(pV)))),
            v.store(add(g(at), g(o)), w4.add(v.and(g(u), g(low16)), w4.mul(w4.shr_u(g(u), c(16)), g(p2V)))),
          ]),
          m.forRange(o, c(0), p('k'), 16, () => [v.store(add(g(at), g(o)), v.load(add(g(src), g(o))))]),
        ),
        m.set(pe, add(g(pe), shl(p('k'), c(1)))),
      ]),
    ];
  });
}
