// Share truncation kernels specialized to one vector of a model: the element count, the shift
// and (P1) the bias's layout are constants, so the loops carry no count or bounds arithmetic,
// and P1 adds its bias in the same pass as it truncates (no separate add over the vector). Two
// lanes at a time (i64x2), a scalar tail when a run is odd. Names and ABI are the runtime's
// (runtime/kernels/model-kernels.ts), which calls them and falls back to the generic kernels.
import type { Expr, Local, ModuleBuilder } from '../binaryen.js';
import { biasTruncName, truncName } from '../../../runtime/kernels/model-kernels.js';

/** One specialized truncation: `n` elements by `bits` for share holder `party`, after adding a
 * bias of `channels` values each repeated over `inner` consecutive elements when `bias` is set. */
export interface TruncationKernel {
  n: number;
  bits: number;
  party: 0 | 1;
  bias?: { channels: number; inner: number };
}

/** Largest vector (elements) a kernel is emitted for: source and bias in one arena stay
 * below 2^31 bytes, where the i32 loop bounds would overflow. */
const MAX_ELEMENTS = 1 << 26;

/** The export name of `t` (the runtime computes the same from the step it runs). */
export function truncationKernelName(t: TruncationKernel): string {
  return t.bias ? biasTruncName(t.n, t.bits, t.party, t.bias.channels, t.bias.inner) : truncName(t.n, t.bits, t.party);
}

/** Whether `t` gets a kernel: sizes the loops below cover exactly (whole runs of the bias). */
export function emitsTruncationKernel(t: TruncationKernel): boolean {
  if (!Number.isInteger(t.n) || t.n < 1 || t.n > MAX_ELEMENTS || !Number.isInteger(t.bits) || t.bits < 0) return false;
  if (!t.bias) return true;
  const { channels, inner } = t.bias;
  if (!Number.isInteger(channels) || !Number.isInteger(inner) || channels < 1 || inner < 1) return false;
  return inner === 1 ? t.n % channels === 0 : t.n % inner === 0;
}

/** Adds the kernel of `t` (emitsTruncationKernel(t) must hold). */
export function addTruncationKernel(m: ModuleBuilder, t: TruncationKernel): void {
  if (!emitsTruncationKernel(t)) throw new Error(`internal: no truncation kernel for ${JSON.stringify(t)}`);
  // As truncShare: a shift by 64 or more is a shift by 63 (wasm would take the count mod 64).
  const shift = Math.min(t.bits, 63);
  const vec = (v: Expr) =>
    t.party === 0 ? m.i64x2.shr_s(v, m.i32.const(shift)) : m.i64x2.neg(m.i64x2.shr_s(m.i64x2.neg(v), m.i32.const(shift)));
  const one = (v: Expr) => {
    const s = m.i64.const(BigInt(shift));
    return t.party === 0 ? m.i64.shr_s(v, s) : m.i64.sub(m.i64.const(0n), m.i64.shr_s(m.i64.sub(m.i64.const(0n), v), s));
  };
  const name = truncationKernelName(t);
  if (!t.bias) {
    m.func(name, [['src', 'i32'], ['dst', 'i32']], 'none', (f) => {
      const [src, dst] = f.params;
      return run(m, f.local('i', 'i32'), src, dst, t.n, (at) => vec(m.i64x2.load(at)), (at) => one(m.i64.load(at)));
    });
    return;
  }
  const { channels, inner } = t.bias;
  m.func(name, [['src', 'i32'], ['bias', 'i32'], ['dst', 'i32']], 'none', (f) => {
    const [src, bias, dst] = f.params;
    const [i, blk, ch] = ['i', 'blk', 'ch'].map((n) => f.local(n, 'i32'));
    const { add, const: c } = m.i32;
    if (inner === 1) {
      // A matmul's bias: one value per column, rows of `channels` elements.
      const biasAt = () => add(m.get(bias), m.get(i));
      return [
        m.forRange(blk, c(0), c(t.n / channels), 1, () => [
          ...run(m, i, src, dst, channels,
            (at) => vec(m.i64x2.add(m.i64x2.load(at), m.i64x2.load(biasAt()))),
            (at) => one(m.i64.add(m.i64.load(at), m.i64.load(biasAt())))),
          m.set(src, add(m.get(src), c(8 * channels))),
          m.set(dst, add(m.get(dst), c(8 * channels))),
        ]),
      ];
    }
    // A conv's bias: one value per output channel, runs of `inner` = H·W elements.
    const value = f.local('value', 'i64');
    const splat = f.local('splat', 'v128');
    return [
      m.set(ch, c(0)),
      m.forRange(blk, c(0), c(t.n / inner), 1, () => [
        m.set(value, m.i64.load(add(m.get(bias), m.get(ch)))),
        m.set(splat, m.i64x2.splat(m.get(value))),
        ...run(m, i, src, dst, inner,
          (at) => vec(m.i64x2.add(m.i64x2.load(at), m.get(splat))),
          (at) => one(m.i64.add(m.i64.load(at), m.get(value)))),
        m.set(src, add(m.get(src), c(8 * inner))),
        m.set(dst, add(m.get(dst), c(8 * inner))),
        m.set(ch, add(m.get(ch), c(8))),
        m.if(m.i32.eq(m.get(ch), c(8 * channels)), m.set(ch, c(0))),
      ]),
    ];
  });
}

/** dst[j] = op(src[j]) for `count` elements (i: the byte offset, shared by src and dst): pairs
 * by `pair`, the odd last element by `single`. Both get the source address. */
function run(m: ModuleBuilder, i: Local, src: Local, dst: Local, count: number, pair: (at: Expr) => Expr, single: (at: Expr) => Expr): Expr[] {
  const at = (p: Local) => m.i32.add(m.get(p), m.get(i));
  const pairsEnd = 16 * Math.floor(count / 2);
  const out: Expr[] = [m.forRange(i, m.i32.const(0), m.i32.const(pairsEnd), 16, () => [m.i64x2.store(at(dst), pair(at(src)))])];
  if (count % 2 === 1) out.push(m.set(i, m.i32.const(pairsEnd)), m.i64.store(at(dst), single(at(src))));
  return out;
}
