// The loops of the client-offline mode's exact truncation (runtime/protocols/
// truncate-client-offline.ts, "three-way"), per element in i64 arithmetic: P0's offline dealing
// (dealThreeWay: its pad h1 for P1 and its part t0), P1's opening (threeWayOpen: the masked bit d
// and its part t1) and the helper's reply (threeWayHelper: the f-bit values t2 + q·F and its part
// t2 added into its masked selection values). Their TypeScript twins are the loops of those
// three functions (the tests hold them equal bit for bit).
// Values are elements of Z_2^ring in 64-bit words (bits above `ring` ignored on input); bytes
// of d and σ are 0/1 (σ's low bit counts); h1, h2, q are f-bit values in 32-bit words.
import type { Expr, Local, ModuleBuilder } from '../binaryen.js';
import { addGenericKernel } from './generic-kernel.js';

/** Adds three_way_deal, three_way_open and three_way_helper to `m`. */
export function addThreeWayKernels(m: ModuleBuilder): void {
  const { add, and, shl, sub } = m.i32;
  const c = (v: number) => m.i32.const(v);
  const g = (l: Local) => m.get(l);
  const i64 = (v: Expr) => m.i64.extendU32(v);

  // three_way_deal(v0, sigma, h2, n, f, ring, h1, t0): for i < n, with K = 2^(ring − 2),
  // x = (v0[i] + K) mod 2^ring, a = its bit ring − 1, s = σ[i]'s low bit: h1[i] = (h − h2[i]) mod 2^f
  // with h = a·(1 − 2s) mod 2^f, and t0[i] = (x >> f) + ((−(a·s)) mod 2^f)·2^(ring − f) − 2^(ring − 2 − f)
  // mod 2^64.
  addGenericKernel(m, 'three_way_deal', [['v0', 'i32'], ['sigma', 'i32'], ['h2', 'i32'], ['n', 'i32'], ['f', 'i32'], ['ring', 'i32'], ['h1', 'i32'], ['t0', 'i32']], 'none', (fb) => {
    const [v0, sigma, h2, n, f, ring, h1, t0] = fb.params;
    const [i, ai, si, mask] = ['i', 'ai', 'si', 'mask'].map((x) => fb.local(x, 'i32'));
    const [x, keep, k, kf, f64, p64, top1] = ['x', 'keep', 'k', 'kf', 'f64', 'p64', 'top1'].map((x) => fb.local(x, 'i64'));
    return [
      m.set(keep, m.i64.shr_u(m.i64.const(-1n), i64(sub(c(64), g(ring))))),
      m.set(mask, m.i32.shr_u(c(-1), sub(c(32), g(f)))),
      m.set(k, m.i64.shl(m.i64.const(1n), i64(sub(g(ring), c(2))))),
      m.set(f64, i64(g(f))),
      m.set(kf, m.i64.shr_u(g(k), g(f64))),
      m.set(p64, i64(sub(g(ring), g(f)))),
      m.set(top1, i64(sub(g(ring), c(1)))),
      m.forRange(i, c(0), g(n), 1, () => [
        m.set(x, m.i64.and(m.i64.add(m.i64.load(add(g(v0), shl(g(i), c(3)))), g(k)), g(keep))),
        m.set(ai, m.i32.wrapI64(m.i64.and(m.i64.shr_u(g(x), g(top1)), m.i64.const(1n)))),
        m.set(si, and(m.i32.load8u(add(g(sigma), g(i))), c(1))),
        // h = a ? (s ? −1 : 1) : 0, as a·(1 − 2s)
        m.i32.store(add(g(h1), shl(g(i), c(2))), and(sub(m.i32.mul(g(ai), sub(c(1), shl(g(si), c(1)))), m.i32.load(add(g(h2), shl(g(i), c(2))))), g(mask))),
        m.i64.store(add(g(t0), shl(g(i), c(3))), m.i64.sub(m.i64.or(m.i64.shr_u(g(x), g(f64)),
          m.i64.shl(i64(and(sub(c(0), and(g(ai), g(si))), g(mask))), g(p64))), g(kf))),
      ]),
    ];
  });

  // three_way_open(v, sigma, h1, n, f, ring, d, t): for i < n, with x = v[i] mod 2^ring and
  // c = its bit ring − 1: d[i] = (1 − c) ⊕ σ[i], t[i] = (x >> f) + ((−(c + d[i]·h1[i])) mod 2^f)·2^(ring − f).
  addGenericKernel(m, 'three_way_open', [['v', 'i32'], ['sigma', 'i32'], ['h1', 'i32'], ['n', 'i32'], ['f', 'i32'], ['ring', 'i32'], ['d', 'i32'], ['t', 'i32']], 'none', (fb) => {
    const [v, sigma, h1, n, f, ring, d, t] = fb.params;
    const [i, ci, di, mask] = ['i', 'ci', 'di', 'mask'].map((x) => fb.local(x, 'i32'));
    const [x, keep, f64, p64, top1] = ['x', 'keep', 'f64', 'p64', 'top1'].map((x) => fb.local(x, 'i64'));
    return [
      // keep = 2^ring − 1 (all ones at 64), mask = 2^f − 1 (f ≤ 32).
      m.set(keep, m.i64.shr_u(m.i64.const(-1n), i64(sub(c(64), g(ring))))),
      m.set(mask, m.i32.shr_u(c(-1), sub(c(32), g(f)))),
      m.set(f64, i64(g(f))),
      m.set(p64, i64(sub(g(ring), g(f)))),
      m.set(top1, i64(sub(g(ring), c(1)))),
      m.forRange(i, c(0), g(n), 1, () => [
        m.set(x, m.i64.and(m.i64.load(add(g(v), shl(g(i), c(3)))), g(keep))),
        m.set(ci, m.i32.wrapI64(m.i64.and(m.i64.shr_u(g(x), g(top1)), m.i64.const(1n)))),
        m.set(di, m.i32.xor(sub(c(1), g(ci)), and(m.i32.load8u(add(g(sigma), g(i))), c(1)))),
        m.i32.store8(add(g(d), g(i)), g(di)),
        m.i64.store(add(g(t), shl(g(i), c(3))), m.i64.or(m.i64.shr_u(g(x), g(f64)),
          m.i64.shl(i64(and(sub(c(0), add(g(ci), m.select(g(di), m.i32.load(add(g(h1), shl(g(i), c(2)))), c(0)))), g(mask))), g(p64)))),
      ]),
    ];
  });

  // three_way_helper(d, h2, q, n, f, ring, back, into, selected, count): back[i] = (q[i] −
  // d[i]·h2[i]) mod 2^f for i < n; with into ≠ 0, for j < count (i = selected[j], or j when
  // selected = 0): into[j] += ((−d[i]·h2[i]) mod 2^f)·2^(ring − f) mod 2^64.
  addGenericKernel(m, 'three_way_helper', [['d', 'i32'], ['h2', 'i32'], ['q', 'i32'], ['n', 'i32'], ['f', 'i32'], ['ring', 'i32'], ['back', 'i32'], ['into', 'i32'], ['selected', 'i32'], ['count', 'i32']], 'none', (fb) => {
    const [d, h2, q, n, f, ring, back, into, selected, count] = fb.params;
    const [i, j, mask, hd] = ['i', 'j', 'mask', 'hd'].map((x) => fb.local(x, 'i32'));
    const p64 = fb.local('p64', 'i64');
    const dh = (idx: Local) => m.select(m.i32.load8u(add(g(d), g(idx))), m.i32.load(add(g(h2), shl(g(idx), c(2)))), c(0));
    return [
      m.set(mask, m.i32.shr_u(c(-1), sub(c(32), g(f)))),
      m.set(p64, i64(sub(g(ring), g(f)))),
      m.forRange(i, c(0), g(n), 1, () => [
        m.i32.store(add(g(back), shl(g(i), c(2))), and(sub(m.i32.load(add(g(q), shl(g(i), c(2)))), dh(i)), g(mask))),
      ]),
      m.if(m.i32.ne(g(into), c(0)), m.seq([
        m.forRange(j, c(0), g(count), 1, () => [
          m.set(i, m.if(m.i32.eqz(g(selected)), g(j), m.i32.load(add(g(selected), shl(g(j), c(2)))))),
          m.set(hd, and(sub(c(0), dh(i)), g(mask))),
          m.i64.store(add(g(into), shl(g(j), c(3))), m.i64.add(m.i64.load(add(g(into), shl(g(j), c(3)))), m.i64.shl(i64(g(hd)), g(p64)))),
        ]),
      ])),
    ];
  });
}
