// Emits the exact uniform samplers of the private compare (runtime/protocols/digit-sampling.ts holds
// their TypeScript twins): Lemire's multiply-shift with rejection on 16-bit stream words,
// eight words per step with wasm SIMD. A rejected word leaves a gap that a left-pack closes:
// the accept mask's eight bits index a 16-byte shuffle pattern (the caller's `table`) that
// moves the accepted lanes to the front; the cursor then advances by their count. A scalar
// tail takes the words past the last whole vector, so every word of raw..rawEnd is judged in
// order, exactly as the twin does, and the values come out in the same sequence.
//
// ABI: byte addresses into the module's memory; all i32.
//   sample_below(raw, rawEnd, out, i0, count, bound, threshold, table) → min(filled, count)
//     out[i] = (w·bound) >> 16 for each accepted word w ((w·bound) mod 2^16 ≥ threshold),
//     from i0 until count values are filled or the words run out; `table`: 256 patterns of
//     16 bytes for byte lanes (sampleTables().bytes); out needs 16 bytes of slack past count.
//   compare_pairs(raw, rawEnd, wCell, out, i0, count, span, threshold, divM, divS, pm1, p, isP0, table) → i
//     the compare's (s, ρ) pairs (digit-sampling.ts pairSampler(p − 1, 1, p)): for an accepted word,
//     q = (w·span) >> 16, d = floor(q / (p − 1)) = (q·divM) >> divS, s = 1 + q − d·(p − 1),
//     and out[i] (u16) = (s << 8) | ρ-term with ρ-term = d for P0, p − d for P1. Runs while
//     i < count and words are left; may fill up to 7 values past count (the caller carries
//     them: they are the stream's next accepted values); writes the word cursor to wCell.
//     `table`: 256 patterns for 16-bit lanes (sampleTables().pairs).
import type { Expr, ModuleBuilder } from '../binaryen.js';
import { addGenericKernel } from './generic-kernel.js';

/** Bytes 2–3 of each 32-bit lane of a‖b: the high halves of eight u16×u16 products. */
const HIGH_HALVES = [2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31];

/** Adds sample_below and compare_pairs (ABI above) to a module under construction. */
export function addSampleKernels(m: ModuleBuilder): void {
  addSampleBelow(m);
  addComparePairs(m);
}

/** (w·c) >> 16 for the eight u16 lanes of w and c. */
function mulHigh(m: ModuleBuilder, w: Expr, c: Expr): Expr {
  return m.shuffle(m.i32x4.extmulLowU16(w, c), m.i32x4.extmulHighU16(m.copy(w), m.copy(c)), HIGH_HALVES);
}

function addSampleBelow(m: ModuleBuilder): void {
  const names = ['raw', 'rawEnd', 'out', 'i0', 'count', 'bound', 'threshold', 'table'];
  addGenericKernel(m, 'sample_below', names.map((n) => [n, 'i32'] as const), 'i32', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const [i, w, x, bm] = ['i', 'w', 'x', 'bm'].map((n) => f.local(n, 'i32'));
    const [words, boundV, thrV, values] = ['words', 'boundV', 'thrV', 'values'].map((n) => f.local(n, 'v128'));
    const { add, and, shl, shr_u, const: c } = m.i32;
    const g = m.get.bind(m);
    return [
      m.set(i, p('i0')),
      m.set(w, p('raw')),
      m.set(boundV, m.i16x8.splat(p('bound'))),
      m.set(thrV, m.i16x8.splat(p('threshold'))),
      m.while(() => and(m.i32.lt_s(g(i), p('count')), m.i32.le_u(add(g(w), c(16)), p('rawEnd'))), [
        m.set(words, m.v128.load(g(w))),
        m.set(values, mulHigh(m, g(words), g(boundV))),
        m.set(bm, m.i16x8.bitmask(m.i16x8.ge_u(m.i16x8.mul(g(words), g(boundV)), g(thrV)))),
        m.v128.store(add(p('out'), g(i)), m.v128.swizzle(m.v128.narrowU16(g(values), g(values)), m.v128.load(add(p('table'), shl(g(bm), c(4)))))),
        m.set(i, add(g(i), m.i32.popcnt(g(bm)))),
        m.set(w, add(g(w), c(16))),
      ]),
      // The words past the last whole vector, one by one (the twin's loop).
      m.while(() => and(m.i32.lt_s(g(i), p('count')), m.i32.lt_u(g(w), p('rawEnd'))), [
        m.set(x, m.i32.mul(m.i32.load16u(g(w)), p('bound'))),
        m.set(w, add(g(w), c(2))),
        m.i32.store8(add(p('out'), g(i)), shr_u(g(x), c(16))),
        m.set(i, add(g(i), m.i32.ge_u(and(g(x), c(0xffff)), p('threshold')))),
      ]),
      m.select(m.i32.lt_s(g(i), p('count')), g(i), p('count')),
    ];
  });
}

function addComparePairs(m: ModuleBuilder): void {
  const names = ['raw', 'rawEnd', 'wCell', 'out', 'i0', 'count', 'span', 'threshold', 'divM', 'divS', 'pm1', 'p', 'isP0', 'table'];
  addGenericKernel(m, 'compare_pairs', names.map((n) => [n, 'i32'] as const), 'i32', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const [i, w, x, q, d, bm, base, flip] = ['i', 'w', 'x', 'q', 'd', 'bm', 'base', 'flip'].map((n) => f.local(n, 'i32'));
    const vec = ['words', 'spanV', 'thrV', 'divMV', 'pm1V', 'baseV', 'flipV', 'qV', 'dV', 'one'].map((n) => f.local(n, 'v128'));
    const [words, spanV, thrV, divMV, pm1V, baseV, flipV, qV, dV, one] = vec;
    const { add, sub, mul, and, or, xor, shl, shr_u, const: c } = m.i32;
    const v = m.v128;
    const h = m.i16x8;
    const g = m.get.bind(m);
    return [
      m.set(i, p('i0')),
      m.set(w, p('raw')),
      // ρ-term = base + (d ^ flip) − flip: d for P0 (0, 0), p − d for P1 (p, −1).
      m.set(base, m.select(p('isP0'), c(0), p('p'))),
      m.set(flip, m.select(p('isP0'), c(0), c(-1))),
      m.set(spanV, h.splat(p('span'))),
      m.set(thrV, h.splat(p('threshold'))),
      m.set(divMV, h.splat(p('divM'))),
      m.set(pm1V, h.splat(p('pm1'))),
      m.set(baseV, h.splat(g(base))),
      m.set(flipV, h.splat(g(flip))),
      m.set(one, h.splat(c(1))),
      m.while(() => and(m.i32.lt_s(g(i), p('count')), m.i32.le_u(add(g(w), c(16)), p('rawEnd'))), [
        m.set(words, v.load(g(w))),
        m.set(qV, mulHigh(m, g(words), g(spanV))),
        m.set(dV, h.narrowU32(m.i32x4.shr_u(m.i32x4.extmulLowU16(g(qV), g(divMV)), p('divS')), m.i32x4.shr_u(m.i32x4.extmulHighU16(g(qV), g(divMV)), p('divS')))),
        m.set(bm, h.bitmask(h.ge_u(h.mul(g(words), g(spanV)), g(thrV)))),
        v.store(
          add(p('out'), shl(g(i), c(1))),
          v.swizzle(
            v.or(h.shl(h.add(h.sub(g(qV), h.mul(g(dV), g(pm1V))), g(one)), c(8)), h.add(g(baseV), h.sub(v.xor(g(dV), g(flipV)), g(flipV)))),
            v.load(add(p('table'), shl(g(bm), c(4)))),
          ),
        ),
        m.set(i, add(g(i), m.i32.popcnt(g(bm)))),
        m.set(w, add(g(w), c(16))),
      ]),
      m.while(() => and(m.i32.lt_s(g(i), p('count')), m.i32.lt_u(g(w), p('rawEnd'))), [
        m.set(x, mul(m.i32.load16u(g(w)), p('span'))),
        m.set(w, add(g(w), c(2))),
        m.set(q, shr_u(g(x), c(16))),
        m.set(d, shr_u(mul(g(q), p('divM')), p('divS'))),
        m.i32.store16(
          add(p('out'), shl(g(i), c(1))),
          or(shl(add(sub(g(q), mul(g(d), p('pm1'))), c(1)), c(8)), sub(add(g(base), xor(g(d), g(flip))), g(flip))),
        ),
        m.set(i, add(g(i), m.i32.ge_u(and(g(x), c(0xffff)), p('threshold')))),
      ]),
      m.i32.store(p('wCell'), g(w)),
      g(i),
    ];
  });
}
