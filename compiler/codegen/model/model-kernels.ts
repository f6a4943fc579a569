// Codegen of a model's kernels module (party{0,1,2}/kernels.wasm): every kernel the runtime
// calls, built by the same function as the runtime's generic module (runtime-kernels.ts), so
// the runtime runs this module in place of the generic one (runProgram installs it), plus
// the truncations of the model's Truncate steps specialized to their sizes, P1's fused with
// the bias it adds first (truncation-kernels.ts). The three parties get the same module (it
// holds shapes, never a weight), so parties run in one process share one instance.
import { ModuleBuilder } from '../binaryen.js';
import { addRuntimeKernels } from '../library/runtime-kernels.js';
import { KERNELS_INITIAL_PAGES } from '../../../runtime/kernels/kernel-abi.js';
import { addTruncationKernel, emitsTruncationKernel, truncationKernelName, type TruncationKernel } from './truncation-kernels.js';
import type { Program } from '../../../runtime/program/program.js';

/** The specialized truncations the Truncate steps of `p` call, for P0 and P1, sorted by name:
 * `sizeOf` gives a value's element count, `constantSize` a P1 constant's (its bias). */
export function truncationKernels(p: Program, sizeOf: (value: string) => number, constantSize: (key: string) => number): TruncationKernel[] {
  const byName = new Map<string, TruncationKernel>();
  const add = (t: TruncationKernel) => emitsTruncationKernel(t) && byName.set(truncationKernelName(t), t);
  for (const st of p.steps) {
    if (st.kind !== 'truncate') continue;
    const n = sizeOf(st.inputs[0]);
    const bits = Number(st.params.bits);
    add({ n, bits, party: 0 });
    const bias = st.params.bias;
    add(bias === undefined ? { n, bits, party: 1 } : { n, bits, party: 1, bias: { channels: constantSize(String(bias)), inner: Number(st.params.inner ?? 1) } });
  }
  return [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}

/** The validated, optimized kernels module of a model with these specialized truncations. */
export function emitModelKernels(truncations: readonly TruncationKernel[]): Uint8Array {
  const m = new ModuleBuilder(KERNELS_INITIAL_PAGES);
  addRuntimeKernels(m);
  for (const t of truncations) addTruncationKernel(m, t);
  return m.emit();
}
