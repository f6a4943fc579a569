// The kernels every runtime kernels module holds: the ring kernels (ring-kernels.ts) and the
// private compare's kernels (compare-kernels.ts). Both modules the runtime can run are built
// from this one function, so they cannot drift apart: the generic module of the build
// (dist/runtime/kernels/ring-kernels.wasm, emitted by emit-runtime-kernels.ts) and a model's
// own module (OUT/party{0,1,2}/kernels.wasm, model-kernels.ts), which adds its specialized
// kernels beside these. runtime/kernels/ring-wasm.ts checks a model module against the generic one.
import { ModuleBuilder } from '../binaryen.js';
import { addCompareKernels } from './compare-kernels.js';
import { addRingKernels, DEFAULT_TILE, type GemmTile } from './ring-kernels.js';

/** Initial memory of every kernels module, in 64 KiB pages (the runtime grows it on demand). */
export const KERNELS_INITIAL_PAGES = 16;

/** Adds every kernel the runtime calls (the generic ABI) to a module under construction. */
export function addRuntimeKernels(m: ModuleBuilder, tile: GemmTile = DEFAULT_TILE): void {
  addRingKernels(m, tile);
  addCompareKernels(m);
}

/** The runtime's generic kernels module (GEMM tile `tile`): validated, optimized bytes. */
export function emitGenericKernels(tile: GemmTile = DEFAULT_TILE): Uint8Array {
  const m = new ModuleBuilder(KERNELS_INITIAL_PAGES);
  addRuntimeKernels(m, tile);
  return m.emit();
}
