// Emits the private compare's digit kernel (runtime/protocols/compare-digits.ts holds the
// protocol, the TypeScript twin of this kernel and the ABI's caller): per element, the k
// masked compare digits, rotated, folded into base-p groups of four. The loop is the same as
// the TypeScript one; in WebAssembly it runs without typed-array bounds checks and in plain
// i32 registers (measured about 3× the TypeScript loop at k = 16).
//
// ABI: byte addresses into the module's memory; all i32.
//   compare_digits(zlo, zhi, rbits, rot, beta, raw, rawEnd, wCell, split, mod, groups, tmp,
//                  i0, n, k, p, span, threshold, isP0) → the first element not done
//   zlo/zhi: u32 words of z per element; rbits: k − 1 bytes per element (Z_p shares of r's
//   bits); rot, beta: a byte per element; raw..rawEnd: the pair stream's 16-bit words, the
//   next unread at the u32 in wCell (updated); split: u16 per q < span; mod: bytes x mod p;
//   groups: k/4 u32 per element (k % 4 = 0); tmp: k scratch bytes. The kernel stops before
//   an element when fewer than 2k + 16 stream words are left, so the caller can refill.
import type { Expr, ModuleBuilder } from './binaryen.js';

/** Adds compare_digits (ABI above) to a module under construction. */
export function addCompareKernels(m: ModuleBuilder): void {
  const params = [
    'zlo', 'zhi', 'rbits', 'rot', 'beta', 'raw', 'rawEnd', 'wCell', 'split', 'mod', 'groups', 'tmp',
    'i0', 'n', 'k', 'p', 'span', 'threshold', 'isP0',
  ].map((name) => [name, 'i32'] as const);
  m.func('compare_digits', params, 'i32', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const L = (name: string) => f.local(name, 'i32');
    const [i, j, w, neg, negMask, r, zl, zh, rb, suffix, off, pos, zj, rj, c, x, v, g, t, rhoBase, flipRho, km1, margin] = [
      'i', 'j', 'w', 'neg', 'negMask', 'r', 'zl', 'zh', 'rb', 'suffix', 'off', 'pos', 'zj', 'rj', 'c', 'x', 'v', 'g', 't',
      'rhoBase', 'flipRho', 'km1', 'margin',
    ].map(L);
    const { add, sub, mul, and, xor, shl, shr_u, const: k32 } = m.i32;
    const g_ = (l: typeof i) => m.get(l);
    const P = p('p');

    /** Draws an accepted pair word into v (Lemire multiply-shift with rejection). */
    const drawPair = (): Expr[] => [
      m.set(x, mul(m.i32.load16u(g_(w)), p('span'))),
      m.set(w, add(g_(w), k32(2))),
      m.while(() => and(m.i32.lt_u(and(g_(x), k32(0xffff)), p('threshold')), m.i32.lt_u(g_(w), p('rawEnd'))), [
        m.set(x, mul(m.i32.load16u(g_(w)), p('span'))),
        m.set(w, add(g_(w), k32(2))),
      ]),
      m.set(v, m.i32.load16u(add(p('split'), shl(shr_u(g_(x), k32(16)), k32(1))))),
    ];
    /** tmp[at] = (s·c + ρ-term) mod p for the drawn pair v = (s << 8) | ρ. */
    const storeDigit = (at: Expr): Expr =>
      m.i32.store8(
        add(p('tmp'), at),
        m.i32.load8u(
          add(
            p('mod'),
            add(add(mul(shr_u(g_(v), k32(8)), g_(c)), g_(rhoBase)), sub(xor(and(g_(v), k32(0xff)), g_(flipRho)), g_(flipRho))),
          ),
        ),
      );
    /** ±diff (β picks the sign by two's-complement negation) + off + suffix. */
    const digitValue = (diff: Expr): Expr => add(add(g_(off), add(xor(diff, g_(negMask)), g_(neg))), g_(suffix));

    return [
      m.set(km1, sub(p('k'), k32(1))),
      m.set(rhoBase, m.select(p('isP0'), k32(0), P)),
      m.set(flipRho, sub(k32(0), m.i32.eqz(p('isP0')))),
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
          m.set(off, add(mul(shl(P, k32(1)), g_(neg)), p('isP0'))),
          m.set(pos, add(g_(r), g_(km1))),
          m.if(m.i32.ge_s(g_(pos), p('k')), m.set(pos, sub(g_(pos), p('k')))),
          // Positions j = k − 1 … 1 hold bit j − 1 of z' and r'.
          m.set(j, g_(km1)),
          m.while(() => m.i32.gt_s(g_(j), k32(0)), [
            m.set(zj, and(m.select(m.i32.gt_s(g_(j), k32(32)), shr_u(g_(zh), sub(g_(j), k32(33))), shr_u(g_(zl), sub(g_(j), k32(1)))), k32(1))),
            m.set(rj, m.i32.load8u(add(g_(rb), g_(j)))),
            // c = ±(Z_j − R_j share) + [P0] + suffix, with the share zj·[P0] − rj + p.
            m.set(c, digitValue(add(sub(mul(g_(zj), p('isP0')), g_(rj)), P))),
            ...drawPair(),
            storeDigit(g_(pos)),
            m.set(pos, m.select(m.i32.eqz(g_(pos)), g_(km1), sub(g_(pos), k32(1)))),
            // Share of R_j ⊕ Z_j = R_j + Z_j − 2 Z_j R_j, left unreduced.
            m.set(suffix, add(g_(suffix), add(g_(rj), mul(g_(zj), add(sub(P, shl(g_(rj), k32(1))), p('isP0')))))),
            m.set(j, sub(g_(j), k32(1))),
          ]),
          // Position 0: Z_0 = 1, R_0 = 0.
          m.set(c, digitValue(add(p('isP0'), P))),
          ...drawPair(),
          storeDigit(g_(r)),
          // Fold the k digits into k/4 base-p groups.
          m.forRange(g, k32(0), shr_u(p('k'), k32(2)), 1, () => [
            m.set(t, m.i32.load(add(p('tmp'), shl(g_(g), k32(2))))),
            m.i32.store(
              add(p('groups'), shl(add(mul(g_(i), shr_u(p('k'), k32(2))), g_(g)), k32(2))),
              add(and(g_(t), k32(0xff)), mul(P, add(and(shr_u(g_(t), k32(8)), k32(0xff)), mul(P, add(and(shr_u(g_(t), k32(16)), k32(0xff)), mul(P, shr_u(g_(t), k32(24)))))))),
            ),
          ]),
        ]),
      ]),
      m.i32.store(p('wCell'), g_(w)),
      g_(i),
    ];
  });
}
