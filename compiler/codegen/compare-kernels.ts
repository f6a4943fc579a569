// Emits the private compare's digit kernel (runtime/protocols/compare-digits.ts holds the
// protocol, the TypeScript twin of this kernel and the ABI's caller): per element, the k
// masked compare digits, rotated, folded into base-p groups of four. The loop is the same as
// the TypeScript one; in WebAssembly it runs without typed-array bounds checks and in plain
// i32 registers (measured about 3× the TypeScript loop at k = 16).
//
// ABI: byte addresses into the module's memory; all i32.
//   compare_digits(zlo, zhi, rbits, rot, beta, raw, rawEnd, wCell, split, magic, groups, tmp,
//                  i0, n, k, p, span, threshold, isP0) → the first element not done
//   zlo/zhi: u32 words of z per element; rbits: k − 1 bytes per element (Z_p shares of r's
//   bits); rot, beta: a byte per element; raw..rawEnd: the pair stream's 16-bit words, the
//   next unread at the u32 in wCell (updated); split: u16 per q < span, (s << 8) | ρ-term
//   with ρ-term = ρ for P0 and p − ρ for P1; magic: floor(2^32/p) + 1
//   (x mod p = x − p·((x·magic) >> 32), exact for x < 2^32/p);
//   groups: k/4 u32 per element (k % 4 = 0); tmp: k scratch bytes. The kernel stops before
//   an element when fewer than 2k + 16 stream words are left, so the caller can refill.
//   sample_below(raw, rawEnd, out, i0, count, bound, threshold) → first value not drawn
//   (stream words raw..rawEnd all consumed unless count is reached first; the caller knows
//   where by the return value and its own twin's rule): Lemire multiply-shift on 16-bit words.
//   (The base-p wire format's kernels are in field-kernels.ts.)
//   bit_corrections(rlo, rhi, bits0, n, m, p, out): out[i·m + b] = (bit b of r_i − bits0[i·m + b])
//   mod p, the helper's correction making the two Z_p shares of r's bits.
import type { Expr, ModuleBuilder } from './binaryen.js';
import { addFieldKernels } from './field-kernels.js';

/** Adds compare_digits, sample_below and bit_corrections (ABI above) and the wire-format
 * kernels of field-kernels.ts to a module under construction. */
export function addCompareKernels(m: ModuleBuilder): void {
  addDigitKernel(m);
  addSampleKernel(m);
  addCorrectionKernel(m);
  addFieldKernels(m);
}

function addCorrectionKernel(m: ModuleBuilder): void {
  const { add, sub, mul, and, shl, shr_u, const: c } = m.i32;
  m.func('bit_corrections', ['rlo', 'rhi', 'bits0', 'n', 'm', 'p', 'out'].map((name) => [name, 'i32'] as const), 'none', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const [i, b, lo, hi, at, v] = ['i', 'b', 'lo', 'hi', 'at', 'v'].map((name) => f.local(name, 'i32'));
    return [
      m.forRange(i, c(0), p('n'), 1, () => [
        m.set(lo, m.i32.load(add(p('rlo'), shl(m.get(i), c(2))))),
        m.set(hi, m.i32.load(add(p('rhi'), shl(m.get(i), c(2))))),
        m.set(at, mul(m.get(i), p('m'))),
        m.forRange(b, c(0), p('m'), 1, () => [
          // bit b of r, from the high word for b ≥ 32 (select: both shifts are harmless).
          m.set(v, and(m.select(m.i32.lt_s(m.get(b), c(32)), shr_u(m.get(lo), m.get(b)), shr_u(m.get(hi), sub(m.get(b), c(32)))), c(1))),
          m.set(v, sub(add(m.get(v), p('p')), m.i32.load8u(add(p('bits0'), add(m.get(at), m.get(b)))))),
          m.i32.store8(add(p('out'), add(m.get(at), m.get(b))), m.select(m.i32.ge_s(m.get(v), p('p')), sub(m.get(v), p('p')), m.get(v))),
        ]),
      ]),
    ];
  });
}

function addSampleKernel(m: ModuleBuilder): void {
  const params = ['raw', 'rawEnd', 'out', 'i0', 'count', 'bound', 'threshold'].map((name) => [name, 'i32'] as const);
  m.func('sample_below', params, 'i32', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const i = f.local('i', 'i32');
    const w = f.local('w', 'i32');
    const x = f.local('x', 'i32');
    const { add, and, shr_u, const: c } = m.i32;
    return [
      m.set(i, p('i0')),
      m.set(w, p('raw')),
      m.while(() => and(m.i32.lt_s(m.get(i), p('count')), m.i32.lt_u(m.get(w), p('rawEnd'))), [
        m.set(x, m.i32.mul(m.i32.load16u(m.get(w)), p('bound'))),
        m.set(w, add(m.get(w), c(2))),
        // Accept unless the low half is below 2^16 mod bound (branch-free on the store).
        m.i32.store8(add(p('out'), m.get(i)), shr_u(m.get(x), c(16))),
        m.set(i, add(m.get(i), m.i32.ge_u(and(m.get(x), c(0xffff)), p('threshold')))),
      ]),
      m.get(i),
    ];
  });
}

function addDigitKernel(m: ModuleBuilder): void {
  const params = [
    'zlo', 'zhi', 'rbits', 'rot', 'beta', 'raw', 'rawEnd', 'wCell', 'split', 'magic', 'groups', 'tmp',
    'i0', 'n', 'k', 'p', 'span', 'threshold', 'isP0',
  ].map((name) => [name, 'i32'] as const);
  m.func('compare_digits', params, 'i32', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const L = (name: string) => f.local(name, 'i32');
    const [i, j, w, neg, negMask, r, zl, zh, rb, suffix, off, pos, zj, rj, c, x, v, g, t, km1, margin] = [
      'i', 'j', 'w', 'neg', 'negMask', 'r', 'zl', 'zh', 'rb', 'suffix', 'off', 'pos', 'zj', 'rj', 'c', 'x', 'v', 'g', 't',
      'km1', 'margin',
    ].map(L);
    const { add, sub, mul, and, xor, shl, shr_u, const: k32 } = m.i32;
    const g_ = (l: typeof i) => m.get(l);

    /** Draws an accepted pair word into v (Lemire multiply-shift with rejection). */
    const drawPair = (): Expr[] => [
      m.set(x, mul(m.i32.load16u(g_(w)), p('span'))),
      m.set(w, add(g_(w), k32(2))),
      m.while(() => m.i32.lt_u(and(g_(x), k32(0xffff)), p('threshold')), [
        m.set(x, mul(m.i32.load16u(g_(w)), p('span'))),
        m.set(w, add(g_(w), k32(2))),
        // Out of words (never with the caller's slack): accept a dummy and mark the overrun
        // (w past rawEnd), which the caller turns into an error.
        m.if(m.i32.ge_u(g_(w), p('rawEnd')), m.seq([m.set(x, k32(0xffff)), m.set(w, add(p('rawEnd'), k32(2)))])),
      ]),
      m.set(v, m.i32.load16u(add(p('split'), shl(shr_u(g_(x), k32(16)), k32(1))))),
    ];
    /** tmp[at] = (s·c + ρ-term) mod p for the drawn pair v = (s << 8) | ρ-term (the caller's
     * split table holds this party's ρ-term: ρ for P0, p − ρ for P1). */
    const storeDigit = (at: Expr): Expr =>
      m.seq([
        m.set(x, add(mul(shr_u(g_(v), k32(8)), g_(c)), and(g_(v), k32(0xff)))),
        // x mod p as x − p·((x·magic) >> 32): no table, so no cache misses at large k.
        m.i32.store8(
          add(p('tmp'), at),
          sub(g_(x), mul(p('p'), m.i32.wrapI64(m.i64.shr_u(m.i64.mul(m.i64.extendU32(g_(x)), m.i64.extendU32(p('magic'))), m.i64.const(32n))))),
        ),
      ]);
    /** One position j (then j − 1): digit, rotation, suffix; `bit` gives z_j. */
    const digitStep = (bit: () => Expr): Expr[] => [
      m.set(zj, bit()),
      m.set(rj, m.i32.load8u(add(g_(rb), g_(j)))),
      // c = ±(Z_j − R_j share) + [P0] + suffix, with the share zj·[P0] − rj + p.
      m.set(c, digitValue(add(sub(mul(g_(zj), p('isP0')), g_(rj)), p('p')))),
      ...drawPair(),
      storeDigit(g_(pos)),
      m.set(pos, m.select(m.i32.eqz(g_(pos)), g_(km1), sub(g_(pos), k32(1)))),
      // Share of R_j ⊕ Z_j = R_j + Z_j − 2 Z_j R_j, left unreduced.
      m.set(suffix, add(g_(suffix), add(g_(rj), mul(g_(zj), add(sub(p('p'), shl(g_(rj), k32(1))), p('isP0')))))),
      m.set(j, sub(g_(j), k32(1))),
    ];
    /** ±diff (β picks the sign by two's-complement negation) + off + suffix. */
    const digitValue = (diff: Expr): Expr => add(add(g_(off), add(xor(diff, g_(negMask)), g_(neg))), g_(suffix));

    return [
      m.set(km1, sub(p('k'), k32(1))),
      // Stream words an element may need: k draws and k + 16 rejections (bytes).
      m.set(margin, shl(add(shl(p('k'), k32(1)), k32(16)), k32(1))),
      m.set(w, m.i32.load(p('wCell'))),
      m.block((done) => [
        m.forRange(i, p('i0'), p('n'), 1, () => [
          m.breakIf(done, m.i32.gt_s(add(g_(w), g_(margin)), p('rawEnd'))),
          m.set(neg, and(m.i32.load8u(add(p('beta'), g_(i))), k32(1))),
          m.set(negMask, sub(k32(0), g_(neg))),
          m.set(r, m.i32.load8u(add(p('rot'), g_(i)))),
          m.set(zl, m.i32.load(add(p('zlo'), shl(g_(i), k32(2))))),
          m.set(zh, m.i32.load(add(p('zhi'), shl(g_(i), k32(2))))),
          m.set(rb, sub(add(p('rbits'), mul(g_(i), g_(km1))), k32(1))),
          m.set(suffix, k32(0)),
          m.set(off, add(mul(shl(p('p'), k32(1)), g_(neg)), p('isP0'))),
          m.set(pos, add(g_(r), g_(km1))),
          m.if(m.i32.ge_s(g_(pos), p('k')), m.set(pos, sub(g_(pos), p('k')))),
          // Positions j = k − 1 … 1 hold bit j − 1 of z' and r': those above 32 from the high
          // word, the rest from the low word (two loops, no per-digit word choice).
          m.set(j, g_(km1)),
          m.while(() => m.i32.gt_s(g_(j), k32(32)), digitStep(() => and(shr_u(g_(zh), sub(g_(j), k32(33))), k32(1)))),
          m.while(() => m.i32.gt_s(g_(j), k32(0)), digitStep(() => and(shr_u(g_(zl), sub(g_(j), k32(1))), k32(1)))),
          // Position 0: Z_0 = 1, R_0 = 0.
          m.set(c, digitValue(add(p('isP0'), p('p')))),
          ...drawPair(),
          storeDigit(g_(r)),
          // Fold the k digits into k/4 base-p groups.
          m.forRange(g, k32(0), shr_u(p('k'), k32(2)), 1, () => [
            m.set(t, m.i32.load(add(p('tmp'), shl(g_(g), k32(2))))),
            m.i32.store(
              add(p('groups'), shl(add(mul(g_(i), shr_u(p('k'), k32(2))), g_(g)), k32(2))),
              add(and(g_(t), k32(0xff)), mul(p('p'), add(and(shr_u(g_(t), k32(8)), k32(0xff)), mul(p('p'), add(and(shr_u(g_(t), k32(16)), k32(0xff)), mul(p('p'), shr_u(g_(t), k32(24)))))))),
            ),
          ]),
        ]),
      ]),
      m.i32.store(p('wCell'), g_(w)),
      g_(i),
    ];
  });
}
