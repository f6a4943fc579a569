// Emits the kernels of the compare's base-p wire format (runtime/protocols/field-format.ts defines
// the format and holds the TypeScript twins the tests compare these with):
//
//   Digits of Z_p travel in units of 4 or 8 digits (8 when that saves a bit per unit, e.g.
//   p = 67: 49 bits for 8 digits instead of 2·25), a unit being the number Σ d_i·p^i, units
//   back to back in little-endian bit order, then one tail value for the last < unit digits.
//   Inside the runtime the digits are handled as 4-digit groups (u32 values below p^4); a
//   unit of 8 is two groups g0 + p^4·g1 (below 2^53).
//
// ABI (byte addresses; all i32):
//   group_digits(digits, groups, p, out): out[g] = d0 + p·(d1 + p·(d2 + p·d3)) over the 4g..4g+3
//     digits (one byte each).
//   pack_groups(groups, units, gb, pair, p4, out): `units` units of gb ≤ 53 bits; with pair = 1
//     a unit is groups 2u and 2u + 1 as g0 + p4·g1, else group u; out needs 8 bytes of slack.
//   unpack_field(buf, units, gb, pair, p4, p, magic, shift, low, high, out): the inverse down to
//     digits (4 or 8 bytes per unit); buf needs 8 readable bytes of slack.
//   zero_tests(a, b, n, per, gb, pair, p4, p, magic, shift, low, high, out): the two holders'
//     messages, `per` units per element; out[i] = 1 iff a digit pair of element i sums to 0
//     mod p.
// Digits of a group: lo + p²·hi with hi = (g·magic) >> shift (magic = floor(2^shift / p²) + 1,
// shift = 31 + ceil(log2 p²): exact for g < 2^31); low/high tables (bytes per x < p²) give
// x mod p and floor(x / p). A pair splits by an f64 division by p^4 (exact: the unit is below
// 2^53 and never within 2^-26 of a multiple of p^4 without being one).
import type { Expr, FunctionBuilder, Local, ModuleBuilder } from '../binaryen.js';
import { addGenericKernel } from './generic-kernel.js';

/** Adds group_digits, pack_groups, unpack_field and zero_tests (ABI above). */
export function addFieldKernels(m: ModuleBuilder): void {
  addGroupDigits(m);
  addPackGroups(m);
  addUnpackField(m);
  addZeroTests(m);
}

const params = (m: ModuleBuilder, names: string[]) => names.map((name) => [name, 'i32'] as const);

function addGroupDigits(m: ModuleBuilder): void {
  const { add, mul, and, shl, shr_u, const: c } = m.i32;
  addGenericKernel(m, 'group_digits', params(m, ['digits', 'groups', 'p', 'out']), 'none', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const g = f.local('g', 'i32');
    const t = f.local('t', 'i32');
    const byte = (shift: number) => and(shr_u(m.get(t), c(shift)), c(0xff));
    return [
      m.forRange(g, c(0), p('groups'), 1, () => [
        m.set(t, m.i32.load(add(p('digits'), shl(m.get(g), c(2))))),
        m.i32.store(add(p('out'), shl(m.get(g), c(2))), add(byte(0), mul(p('p'), add(byte(8), mul(p('p'), add(byte(16), mul(p('p'), shr_u(m.get(t), c(24))))))))),
      ]),
    ];
  });
}

function addPackGroups(m: ModuleBuilder): void {
  const { add, sub, shl, const: c } = m.i32;
  addGenericKernel(m, 'pack_groups', params(m, ['groups', 'units', 'gb', 'pair', 'p4', 'out']), 'none', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const [u, bits, at, w] = ['u', 'bits', 'at', 'w'].map((name) => f.local(name, 'i32'));
    const acc = f.local('acc', 'i64');
    const v = f.local('v', 'i64');
    const group = (index: Expr) => m.i64.extendU32(m.i32.load(add(p('groups'), shl(index, c(2)))));
    /** Appends the low `width` (≤ 32) bits of `value` (i64) to acc; flushes a full word. */
    const put = (value: Expr, width: Expr): Expr[] => [
      m.set(acc, m.i64.or(m.get(acc), m.i64.shl(value, m.i64.extendU32(m.get(bits))))),
      m.set(bits, add(m.get(bits), width)),
      m.if(m.i32.ge_s(m.get(bits), c(32)), m.seq([
        m.i32.store(m.get(at), m.i32.wrapI64(m.get(acc))),
        m.set(acc, m.i64.shr_u(m.get(acc), m.i64.const(32n))),
        m.set(bits, sub(m.get(bits), c(32))),
        m.set(at, add(m.get(at), c(4))),
      ])),
    ];
    return [
      m.set(at, p('out')),
      m.forRange(u, c(0), p('units'), 1, () => [
        m.set(v, m.if(p('pair'),
          m.i64.add(group(shl(m.get(u), c(1))), m.i64.mul(group(add(shl(m.get(u), c(1)), c(1))), m.i64.extendU32(p('p4')))),
          group(m.get(u)))),
        // Low half (up to 32 bits), then the rest: acc never holds more than 63 bits.
        m.set(w, m.select(m.i32.gt_s(p('gb'), c(32)), c(32), p('gb'))),
        ...put(m.i64.and(m.get(v), m.i64.const(0xffffffffn)), m.get(w)),
        m.if(m.i32.gt_s(p('gb'), c(32)), m.seq(put(m.i64.shr_u(m.get(v), m.i64.const(32n)), sub(p('gb'), c(32))))),
      ]),
      // The last partial word (its unused high bytes fall in the slack).
      m.i64.store(m.get(at), m.get(acc)),
    ];
  });
}

/** Locals and expressions shared by the unpacking kernels. */
function unitReader(m: ModuleBuilder, f: FunctionBuilder) {
  const p = (name: string) => m.get(f.param(name));
  const { add, sub, mul, and, shr_u, const: c } = m.i32;
  const v = f.local('v', 'i64');
  const hiPair = f.local('hiPair', 'i64');
  const mask = f.local('mask', 'i64');
  return {
    /** Sets up the unit mask; call once. */
    init: () => m.set(mask, m.i64.sub(m.i64.shl(m.i64.const(1n), m.i64.extendU32(p('gb'))), m.i64.const(1n))),
    /** Reads the unit at bit offset `bit` of the stream at `base` and splits it into its
     * groups g0 (and g1 when pair). */
    read: (base: string, bit: Local, g0: Local, g1: Local): Expr[] => [
      m.set(v, m.i64.and(m.i64.shr_u(m.i64.load(add(p(base), shr_u(m.get(bit), c(3)))), m.i64.extendU32(and(m.get(bit), c(7)))), m.get(mask))),
      m.if(p('pair'), m.seq([
        m.set(hiPair, m.i64.truncF64U(m.f64.div(m.f64.fromU64(m.get(v)), m.f64.fromU32(p('p4'))))),
        m.set(g1, m.i32.wrapI64(m.get(hiPair))),
        m.set(g0, m.i32.wrapI64(m.i64.sub(m.get(v), m.i64.mul(m.get(hiPair), m.i64.extendU32(p('p4')))))),
      ]), m.set(g0, m.i32.wrapI64(m.get(v)))),
    ],
    /** Splits a group into lo + p²·hi (see the ABI). */
    split: (g: Local, lo: Local, hi: Local): Expr[] => [
      m.set(hi, m.i32.wrapI64(m.i64.shr_u(m.i64.mul(m.i64.extendU32(m.get(g)), m.i64.extendU32(p('magic'))), m.i64.extendU32(p('shift'))))),
      m.set(lo, sub(m.get(g), mul(m.get(hi), mul(p('p'), p('p'))))),
    ],
  };
}

function addUnpackField(m: ModuleBuilder): void {
  const names = ['buf', 'units', 'gb', 'pair', 'p4', 'p', 'magic', 'shift', 'low', 'high', 'out'];
  addGenericKernel(m, 'unpack_field', params(m, names), 'none', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const { add, or, shl, const: c } = m.i32;
    const [u, bit, at, g0, g1, lo, hi] = ['u', 'bit', 'at', 'g0', 'g1', 'lo', 'hi'].map((name) => f.local(name, 'i32'));
    const unit = unitReader(m, f);
    const table = (name: string, x: Local) => m.i32.load8u(add(p(name), m.get(x)));
    /** Stores the four digits of group g at `at` and advances it. */
    const storeGroup = (g: Local): Expr[] => [
      ...unit.split(g, lo, hi),
      m.i32.store(m.get(at), or(or(table('low', lo), shl(table('high', lo), c(8))), or(shl(table('low', hi), c(16)), shl(table('high', hi), c(24))))),
      m.set(at, add(m.get(at), c(4))),
    ];
    return [
      unit.init(),
      m.set(at, p('out')),
      m.forRange(u, c(0), p('units'), 1, () => [
        ...unit.read('buf', bit, g0, g1),
        m.set(bit, add(m.get(bit), p('gb'))),
        ...storeGroup(g0),
        m.if(p('pair'), m.seq(storeGroup(g1))),
      ]),
    ];
  });
}

function addZeroTests(m: ModuleBuilder): void {
  const names = ['a', 'b', 'n', 'per', 'gb', 'pair', 'p4', 'p', 'magic', 'shift', 'low', 'high', 'out'];
  addGenericKernel(m, 'zero_tests', params(m, names), 'none', (f) => {
    const p = (name: string) => m.get(f.param(name));
    const { add, or, const: c } = m.i32;
    const [i, u, bit, hit, a0, a1, b0, b1, la, ha, lb, hb] = ['i', 'u', 'bit', 'hit', 'a0', 'a1', 'b0', 'b1', 'la', 'ha', 'lb', 'hb'].map((name) =>
      f.local(name, 'i32'),
    );
    const unit = unitReader(m, f);
    /** [d ≡ 0 mod p] for a digit sum d < 2p. */
    const isZero = (d: Expr) => or(m.i32.eqz(d), m.i32.eq(m.copy(d), p('p')));
    const sum = (x: Local, y: Local, table: string) => add(m.i32.load8u(add(p(table), m.get(x))), m.i32.load8u(add(p(table), m.get(y))));
    /** ORs into hit whether a digit of group ga plus the same digit of gb is 0 mod p. */
    const testGroups = (ga: Local, gbl: Local): Expr[] => [
      ...unit.split(ga, la, ha),
      ...unit.split(gbl, lb, hb),
      m.set(hit, or(m.get(hit), or(or(isZero(sum(la, lb, 'low')), isZero(sum(la, lb, 'high'))), or(isZero(sum(ha, hb, 'low')), isZero(sum(ha, hb, 'high')))))),
    ];
    return [
      unit.init(),
      m.forRange(i, c(0), p('n'), 1, () => [
        m.set(hit, c(0)),
        m.forRange(u, c(0), p('per'), 1, () => [
          ...unit.read('a', bit, a0, a1),
          ...unit.read('b', bit, b0, b1),
          m.set(bit, add(m.get(bit), p('gb'))),
          ...testGroups(a0, b0),
          m.if(p('pair'), m.seq(testGroups(a1, b1))),
        ]),
        m.i32.store8(add(p('out'), m.get(i)), m.get(hit)),
      ]),
    ];
  });
}
