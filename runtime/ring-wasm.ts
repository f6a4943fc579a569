// Loads the ring kernels WebAssembly module (written into dist/runtime/kernels/ by the build,
// from compiler/codegen/ring-kernels.ts) once per process, and manages its linear memory as a
// scratch arena: each kernel call copies its operands in, runs, and copies the result out.
// Calls are synchronous, so the three parties of one process can share the one instance.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runtimeError } from './errors.js';

// The project compiles against lib es2022 without DOM typings, which is where TypeScript declares
// WebAssembly; this module-scoped declaration covers the little used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

/** The exported functions of ring-kernels.wasm (pointers are byte addresses, counts elements). */
export interface RingKernelExports {
  memory: WasmMemory;
  add(a: number, b: number, out: number, n: number): void;
  sub(a: number, b: number, out: number, n: number): void;
  mul(a: number, b: number, out: number, n: number): void;
  neg(a: number, unused: number, out: number, n: number): void;
  scale(a: number, c: bigint, out: number, n: number): void;
  shr_s(a: number, f: number, out: number, n: number): void;
  trunc_neg(a: number, f: number, out: number, n: number): void;
  im2col(
    x: number, cg: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, dh: number, dw: number, ow: number, p0: number, pn: number, out: number,
  ): void;
  depthwise(
    x: number, w: number, y: number, c: number, h: number, wd: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, dh: number, dw: number, oh: number, ow: number, mult: number,
  ): void;
  /** Columns of the GEMM's register tile. */
  tileCols(): number;
  packA(a: number, lda: number, m: number, k: number, out: number): void;
  gemm(ap: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number): void;
  /** The private compare's kernels (ABI in compiler/codegen/compare-kernels.ts and sample-kernels.ts). */
  compare_digits(
    zlo: number, zhi: number, rbits: number, rot: number, beta: number, pairs: number, out: number, tmp: number,
    i0: number, i1: number, k: number, p: number, isP0: number, modM: number, modS: number, grouped: number,
  ): void;
  compare_pairs(
    raw: number, rawEnd: number, wCell: number, out: number, i0: number, count: number, span: number, threshold: number,
    divM: number, divS: number, pm1: number, p: number, isP0: number, table: number,
  ): number;
  sample_below(raw: number, rawEnd: number, out: number, i0: number, count: number, bound: number, threshold: number, table: number): number;
  group_digits(digits: number, groups: number, p: number, out: number): void;
  pack_groups(groups: number, units: number, gb: number, pair: number, p4: number, out: number): void;
  unpack_field(buf: number, units: number, gb: number, pair: number, p4: number, p: number, magic: number, shift: number, low: number, high: number, out: number): void;
  zero_tests(a: number, b: number, n: number, per: number, gb: number, pair: number, p4: number, p: number, magic: number, shift: number, low: number, high: number, out: number): void;
  bit_corrections(rlo: number, rhi: number, bits0: number, n: number, m: number, p: number, out: number): void;
}

const WASM_URL = new URL('./kernels/ring-kernels.wasm', import.meta.url);
const PAGE = 65536;

let instance: RingKernelExports | undefined;

/** The process-wide kernels instance (compiled on first use). */
export function kernels(): RingKernelExports {
  if (!instance) {
    // The build always writes this file; a missing file is a broken install, not a fallback case.
    const path = fileURLToPath(WASM_URL);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw runtimeError('MPCC5101', [path, (e as Error).message]);
    }
    // Optimize the kernels when they are compiled, not after: a kernel call is long (a whole
    // layer's GEMM or compare) and wasm has no on-stack replacement, so under V8's default
    // tiering a party process runs its first calls of each kernel in baseline (Liftoff) code,
    // measured ~0.4 s of a resnet18-cifar inference over TCP. The module is small, so
    // compiling it optimized up front costs milliseconds. (Later modules compile the same way.)
    setFlagsFromString('--no-liftoff');
    try {
      const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as RingKernelExports;
      if (typeof exports.gemm !== 'function' || typeof exports.tileCols !== 'function') throw new Error('exports gemm/tileCols missing');
      instance = exports;
    } catch (e) {
      throw runtimeError('MPCC5102', [path, (e as Error).message]);
    }
  }
  return instance;
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
    if (this.top > mem.buffer.byteLength) mem.grow(Math.ceil((this.top - mem.buffer.byteLength) / PAGE));
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
