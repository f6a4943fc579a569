// A model's specialized kernels as the runtime calls them: their export names (the compiler
// emits them under these names, compiler/codegen/model/model-kernels.ts) and the calls, each with
// the generic kernels as fallback when the active module lacks the export (the generic
// module, another model's, or a size the compiler did not see). A name states everything its
// kernel computes, so any module that exports it computes the same function.
//
// ABI (byte addresses into the module's memory, i32; src may equal dst):
//   trunc{p}_{n}_{bits}(src, dst): the share truncation of truncShare (runtime/ring/ring.ts) for
//     party p of n elements by bits: p = 0: x >> bits, p = 1: −((−x) >> bits) (arithmetic).
//   trunc{p}_{n}_{bits}_bias{c}x{inner}(src, bias, dst): the same of x + bias[⌊i/inner⌋ mod c]:
//     P1's bias add fused into its truncation (c values at bias, each over inner elements).
// Shifts by 64 bits or more act as shifts by 63, as in truncShare.
import { arena, specializedKernel } from './ring-wasm.js';
import { truncShare } from '../ring/ring.js';

/** A constant of P1 repeated over a vector: element i gets values[⌊i / inner⌋ mod values.length]. */
export interface RepeatingConstant {
  values: BigUint64Array;
  inner: number;
}

/** Export name of the truncation of `n` elements by `bits` for share holder `party`. */
export function truncName(n: number, bits: number, party: 0 | 1): string {
  return `trunc${party}_${n}_${bits}`;
}

/** Export name of that truncation after adding a constant of `channels` values, each repeated
 * over `inner` consecutive elements. */
export function biasTruncName(n: number, bits: number, party: 0 | 1, channels: number, inner: number): string {
  return `${truncName(n, bits, party)}_bias${channels}x${inner}`;
}

/** y[i] += c.values[⌊i / c.inner⌋ mod c.values.length], in place; returns y. */
export function addRepeating(y: BigUint64Array, c: RepeatingConstant): BigUint64Array {
  const { values, inner } = c;
  const len = values.length;
  // Runs of `inner` elements with one value each: the typed-array loop V8 lowers to int64 code
  // once optimized (the index arithmetic of a per-element division would dominate).
  for (let start = 0, k = 0; start < y.length; start += inner, k = k + 1 === len ? 0 : k + 1) {
    const v = values[k];
    const end = Math.min(start + inner, y.length);
    for (let i = start; i < end; i++) y[i] += v;
  }
  return y;
}

type Trunc = (src: number, dst: number) => void;
type BiasTrunc = (src: number, bias: number, dst: number) => void;

/** This party's share of x (+ `bias`, when given) truncated by `bits` (SecureML share
 * truncation, truncShare): by the active module's specialized kernel when it has one. */
export function truncateShare(x: BigUint64Array, bits: number, party: 0 | 1, bias?: RepeatingConstant): BigUint64Array {
  const n = x.length;
  if (bias) {
    const fused = specializedKernel<BiasTrunc>(biasTruncName(n, bits, party, bias.values.length, bias.inner));
    if (!fused) {
      const y = x.slice();
      addRepeating(y, bias);
      return truncShare(y, bits, party, y);
    }
    arena.reset();
    const at = arena.put(x);
    const b = arena.put(bias.values);
    fused(at, b, at);
    return arena.view(at, n).slice();
  }
  const spec = specializedKernel<Trunc>(truncName(n, bits, party));
  if (!spec) return truncShare(x, bits, party);
  arena.reset();
  const at = arena.put(x);
  spec(at, at);
  return arena.view(at, n).slice();
}
