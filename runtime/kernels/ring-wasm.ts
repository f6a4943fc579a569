// The process's active ring kernels instance, and its linear memory as a scratch arena: each
// kernel call copies its operands in, runs, and copies the result out. Calls are synchronous
// (no kernel call spans an await), so the three parties of one process share the instance.
//
// Which instance is active: the generic module's (dist/runtime/kernels/ring-kernels.wasm)
// until useKernels installs a model's own module; runProgram installs the party's
// kernels.wasm (or the generic module when it is given none) before it runs, and it stays
// active afterwards: the last installed wins, process-wide. Code that runs protocols without a
// program gets the generic module, unless a program ran before it in the process. That is safe
// because the choice never changes a result: every model module holds the generic kernels,
// built by the same generator functions (compiler/codegen/library/runtime-kernels.ts) and checked by
// name and arity on load (kernels-module.ts), and each specialized export is named for all
// it computes (runtime/kernels/model-kernels.ts), so any module that has it computes the same thing.
// Two models run concurrently in one process stay correct; they only lose the specialization
// whenever the other's module is active. The kernel worker thread (kernel-threads.ts) has its
// own module state and so its own generic instance: it runs only generic kernels (GEMM
// blocks, zero tests), which compute the same there; specialized kernels run on the caller.
import { WASM_PAGE_BYTES, type RingKernelExports } from './kernel-abi.js';
import { genericKernels, type KernelsModule } from './kernels-module.js';

let active: KernelsModule | undefined;

/** Makes `k` (a model's kernels module, kernels-module.ts) the process's active kernels
 * instance, or with null the generic module again; returns its exports. A module with the
 * bytes of the active one changes nothing: the three parties of one process that install
 * their (identical) kernels.wasm share the first one's instance and its memory. */
export function useKernels(k: KernelsModule | null): RingKernelExports {
  const next = k ?? genericKernels();
  if (active?.hash !== next.hash) active = next;
  return active.exports;
}

/** The active kernels module (the generic one until useKernels installs another). */
export function activeKernels(): KernelsModule {
  if (!active) active = genericKernels();
  return active;
}

/** The exports of the active kernels instance: every kernel call goes through this. */
export function kernels(): RingKernelExports {
  return (active ?? activeKernels()).exports;
}

/** The active module's export `name` when it is a function (a model's specialized kernel),
 * else undefined: the caller then runs the generic kernels. */
export function specializedKernel<F extends (...args: never[]) => unknown>(name: string): F | undefined {
  const f = (kernels() as unknown as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as F) : undefined;
}

let detachSettled = false;

/** Detaches a throwaway ArrayBuffer, once per thread (isolate). The first detach of a process —
 * and a kernels memory's first grow (Arena.alloc) detaches its old buffer — invalidates V8's
 * ArrayBufferDetaching protector, and with it deoptimizes every optimized function that reads a
 * typed array: a model's first inference grew its memory after the warm-up (warm-up.ts), so the
 * online phase recompiled the loops the warm-up had compiled (BENCHMARKS.md, "The first
 * inference's extra time"). Called before any hot code runs, it makes the code V8 compiles
 * from then on safe against detaching, so no later grow throws it away. */
export function settleDetachProtector(): void {
  if (detachSettled) return;
  detachSettled = true;
  const b = new ArrayBuffer(8);
  structuredClone(b, { transfer: [b] });
}

/** A bump allocator over the kernels' memory; reset() at the start of every kernel call. */
export class Arena {
  private top = 0;

  /** Forgets every allocation (the memory stays grown). */
  reset(): void {
    this.top = 0;
  }

  /** Reserves `n` ring elements (16-byte aligned) and returns their byte address. */
  alloc(n: number): number {
    const at = this.top;
    this.top = at + ((n * 8 + 15) & ~15);
    const mem = kernels().memory;
    if (this.top > mem.buffer.byteLength) mem.grow(Math.ceil((this.top - mem.buffer.byteLength) / WASM_PAGE_BYTES));
    return at;
  }

  /** Reserves `bytes` bytes (16-byte aligned) and returns their byte address. */
  allocBytes(bytes: number): number {
    return this.alloc(Math.ceil(bytes / 8));
  }

  /** Reserves space for the bytes of a typed array and copies them in; returns the address. */
  putBytes(src: Uint8Array | Uint16Array | Uint32Array): number {
    const at = this.allocBytes(src.byteLength);
    this.bytes(at, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return at;
  }

  /** A byte view of `n` bytes at byte address `at` (invalid after the next alloc). */
  bytes(at: number, n: number): Uint8Array {
    return new Uint8Array(kernels().memory.buffer, at, n);
  }

  /** Reserves space for `src` and copies it in; returns the byte address. */
  put(src: BigUint64Array): number {
    const at = this.alloc(src.length);
    this.view(at, src.length).set(src);
    return at;
  }

  /** A view of `n` elements at byte address `at` (invalid after the next alloc). */
  view(at: number, n: number): BigUint64Array {
    return new BigUint64Array(kernels().memory.buffer, at, n);
  }
}

/** The arena every runtime kernel call uses. */
export const arena = new Arena();
