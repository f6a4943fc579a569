// The kernels every runtime kernels module holds: the ring kernels (ring-kernels.ts) and the
// private compare's kernels (compare-kernels.ts). Both modules the runtime can run are built
// from this one function, so they cannot drift apart: the generic module of the build
// (dist/runtime/kernels/ring-kernels.wasm, emitted by emit-runtime-kernels.ts) and a model's
// own module (OUT/party{0,1,2}/kernels.wasm, model-kernels.ts), which adds its specialized
// kernels beside these. Names, parameter counts and memory are the runtime's ABI
// (runtime/kernels/kernel-abi.ts), against which runtime/kernels/kernels-module.ts checks every module it loads.
import { ModuleBuilder } from '../binaryen.js';
import { addCompareKernels } from './compare-kernels.js';
import { addThreeWayKernels } from './three-way-kernels.js';
import { addRingKernels, DEFAULT_TILE, RING32_TILE, RING48_TILE, type GemmTile, type Ring32Tile, type Ring48Tile } from './ring-kernels.js';
import { KERNELS_INITIAL_PAGES } from '../../../runtime/kernels/kernel-abi.js';

/** Adds every kernel the runtime calls (the generic ABI) to a module under construction. */
export function addRuntimeKernels(m: ModuleBuilder, tile: GemmTile = DEFAULT_TILE, ring32: Ring32Tile = RING32_TILE, ring48: Ring48Tile = RING48_TILE): void {
  addRingKernels(m, tile, ring32, ring48);
  addCompareKernels(m);
  addThreeWayKernels(m);
}

/** The runtime's generic kernels module (GEMM tiles `tile`, in Z_2^32 `ring32` with rows from
 * `tile`, in Z_2^48 `ring48`): validated, optimized bytes. */
export function emitGenericKernels(tile: GemmTile = DEFAULT_TILE, ring32: Ring32Tile = RING32_TILE, ring48: Ring48Tile = RING48_TILE): Uint8Array {
  const m = new ModuleBuilder(KERNELS_INITIAL_PAGES);
  addRuntimeKernels(m, tile, ring32, ring48);
  return m.emit();
}
