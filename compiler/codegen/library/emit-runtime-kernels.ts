// Build step: writes the runtime's generic WebAssembly kernels next to the compiled runtime
// (dist/runtime/kernels/), where runtime/kernels/ring-wasm.ts loads them. Run by the build, test and
// prepare npm scripts after tsc, so the .wasm always exists wherever the runtime is built.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emitGenericKernels } from './runtime-kernels.js';

/** Where the runtime expects the ring kernels (relative to this compiled file in dist/). */
export const RING_KERNELS_URL = new URL('../../../runtime/kernels/ring-kernels.wasm', import.meta.url);

/** Emits every runtime kernels module to its file. */
export function emitRuntimeKernels(): void {
  const path = fileURLToPath(RING_KERNELS_URL);
  mkdirSync(fileURLToPath(new URL('.', RING_KERNELS_URL)), { recursive: true });
  writeFileSync(path, emitGenericKernels());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) emitRuntimeKernels();
