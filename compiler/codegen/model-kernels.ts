// Codegen of a model's kernels module (party{0,1,2}/kernels.wasm): every kernel the runtime
// calls (runtime-kernels.ts, as the generic module; runProgram runs this module in its place)
// plus one truncation loop per distinct (size, bits) of the model, with the element count
// and shift as constants (no bounds or count arithmetic at run time). Built through the one
// binaryen wrapper (binaryen.ts), which validates before and after its pass list.
import { ModuleBuilder } from './binaryen.js';
import { addRuntimeKernels } from './runtime-kernels.js';
import type { Program } from '../../runtime/program/program.js';

/** A share truncation the model performs: `n` elements by `bits`. */
export interface TruncationShape {
  n: number;
  bits: number;
}

/** The distinct truncations of a program (Truncate steps), sorted. */
export function truncationShapes(p: Program, sizeOf: (value: string) => number): TruncationShape[] {
  const seen = new Map<string, TruncationShape>();
  for (const st of p.steps) {
    if (st.kind !== 'truncate') continue;
    const t = { n: sizeOf(st.inputs[0]), bits: Number(st.params.bits) };
    seen.set(`${t.n}:${t.bits}`, t);
  }
  return [...seen.values()].sort((a, b) => a.n - b.n || a.bits - b.bits);
}

/** Name of the specialized truncation export for party `party` (0: shift, 1: negated shift). */
export function truncName(t: TruncationShape, party: 0 | 1): string {
  return `trunc${party}_${t.n}_${t.bits}`;
}

/** The validated, optimized kernels module of a model. */
export function emitModelKernels(truncations: readonly TruncationShape[]): Uint8Array {
  const m = new ModuleBuilder(16);
  addRuntimeKernels(m);
  for (const t of truncations) {
    for (const party of [0, 1] as const) {
      // (src, dst): dst[i] = src[i] >> bits (party 0) or −((−src[i]) >> bits) (party 1).
      m.func(truncName(t, party), [['src', 'i32'], ['dst', 'i32']], 'none', (f) => {
        const i = f.local('i', 'i32');
        const src = f.param('src');
        const dst = f.param('dst');
        const at = (base: typeof src) => m.i32.add(m.get(base), m.i32.shl(m.get(i), m.i32.const(3)));
        const shift = m.i64.const(BigInt(t.bits));
        const v = m.i64.load(at(src));
        const r = party === 0 ? m.i64.shr_s(v, shift) : m.i64.sub(m.i64.const(0n), m.i64.shr_s(m.i64.sub(m.i64.const(0n), v), shift));
        return [m.forRange(i, m.i32.const(0), m.i32.const(t.n), 1, () => [m.i64.store(at(dst), r)])];
      });
    }
  }
  return m.emit();
}
