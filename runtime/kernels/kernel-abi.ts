// The generic kernels' ABI, declared once: every function a ring kernels module exports for the
// runtime (name, parameters, the types the runtime calls it with) and the module's memory. The
// compiler emits every generic kernel under these names and parameter counts
// (compiler/codegen/library/, which checks each against GENERIC_KERNELS as it emits it), and
// kernels-module.ts checks every module it loads against the same table (MPCC5103). A model's
// specialized kernels have their own names, declared in model-kernels.ts. A leaf module.
//
// Pointers are byte addresses into the module's exported memory (16-byte aligned when the
// arena allocates them), counts and strides are in elements (8 bytes for ring elements);
// compiler/codegen/library/README.md lists each kernel's generator, twin, caller and test.

/** A WebAssembly.Memory as the runtime uses it (the project compiles without DOM typings,
 * where TypeScript declares WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The generic exports every kernels module has (pointers are byte addresses, counts elements). */
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
  /** packA for A with 32-bit entries: 1 when every entry fits (A packed as i32), else 0. */
  packA32(a: number, lda: number, m: number, k: number, out: number): number;
  /** B's full column tiles laid out for gemm32. */
  prepB32(b: number, ldb: number, k: number, n: number, out: number): void;
  /** gemm with A packed by packA32 and B laid out by prepB32 (same result); a and b are read
   * only for the columns past the last full tile. */
  gemm32(ap: number, a: number, lda: number, bp: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number): void;
  /** Columns of gemmRing32's register tile (a multiple of 4). */
  tileColsRing32(): number;
  /** B's full column tiles (of tileColsRing32 columns) laid out for gemmRing32: their low words. */
  prepBRing32(b: number, ldb: number, k: number, n: number, out: number): void;
  /** gemm32's product mod 2^32 (a program on Z_2^32): A packed by packA32 (its low words,
   * whatever its fit flag), B laid out by prepBRing32; C's low words are A·B's mod 2^32. */
  gemmRing32(ap: number, a: number, lda: number, bp: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number): void;
  /** Columns of gemmRing48's register tile (a multiple of 4). */
  tileColsRing48(): number;
  /** A in panels for gemmRing48: 1 when every entry lies in [−(2^15 − 1), 2^15 − 1] (A packed as
   * i16, k in pairs), else 0 (out garbage). */
  packA16(a: number, lda: number, m: number, k: number, out: number): number;
  /** B's full column tiles (of tileColsRing48 columns) laid out for gemmRing48: per k pair three
   * balanced 16-bit digits of every element. */
  prepBRing48(b: number, ldb: number, k: number, n: number, out: number): void;
  /** gemm's product mod 2^48 (a program on Z_2^40 or Z_2^48): A packed by packA16, B laid out by
   * prepBRing48; C's low 48 bits are A·B's. */
  gemmRing48(ap: number, a: number, lda: number, bp: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number): void;
  /** The private compare's kernels (semantics in compiler/codegen/library/compare-kernels.ts and sample-kernels.ts). */
  compare_digits(
    zlo: number, zhi: number, rbits: number, rot: number, beta: number, pairs: number, out: number, tmp: number,
    i0: number, i1: number, k: number, p: number, isP0: number, modM: number, modS: number, grouped: number,
  ): void;
  compare_pairs(
    raw: number, rawEnd: number, wCell: number, out: number, i0: number, count: number, span: number, threshold: number,
    divM: number, divS: number, pm1: number, p: number, isP0: number, table: number,
  ): number;
  sample_below(raw: number, rawEnd: number, out: number, i0: number, count: number, bound: number, threshold: number, table: number): number;
  /** The base-p wire format's kernels (semantics in compiler/codegen/library/field-kernels.ts). */
  group_digits(digits: number, groups: number, p: number, out: number): void;
  pack_groups(groups: number, units: number, gb: number, pair: number, p4: number, out: number): void;
  unpack_field(buf: number, units: number, gb: number, pair: number, p4: number, p: number, magic: number, shift: number, low: number, high: number, out: number): void;
  zero_tests(a: number, b: number, n: number, per: number, gb: number, pair: number, p4: number, p: number, magic: number, shift: number, low: number, high: number, out: number): void;
  /** The client-offline truncation's loops: P0's dealing, P1's opening, the helper's reply (semantics in compiler/codegen/library/three-way-kernels.ts). */
  three_way_deal(v0: number, sigma: number, h2: number, n: number, f: number, ring: number, h1: number, t0: number): void;
  three_way_open(v: number, sigma: number, h1: number, n: number, f: number, ring: number, d: number, t: number): void;
  three_way_helper(d: number, h2: number, q: number, n: number, f: number, ring: number, back: number, into: number, selected: number, count: number): void;
  bit_corrections(rlo: number, rhi: number, bits0: number, n: number, m: number, p: number, out: number): void;
}

/** Name of a generic kernel (an exported function of every kernels module). */
export type GenericKernel = Exclude<keyof RingKernelExports, 'memory'>;

/** Every generic kernel's parameter count, in the order the generic module exports them (the
 * load check reports missing kernels in this order). Typed from RingKernelExports, so a
 * kernel added to or changed in the interface without this table does not compile. */
export const GENERIC_KERNELS: { readonly [K in GenericKernel]: Parameters<RingKernelExports[K]>['length'] } = {
  add: 4,
  sub: 4,
  mul: 4,
  neg: 4,
  scale: 4,
  shr_s: 4,
  trunc_neg: 4,
  im2col: 16,
  depthwise: 17,
  packA: 5,
  gemm: 10,
  packA32: 5,
  prepB32: 5,
  gemm32: 11,
  prepBRing32: 5,
  gemmRing32: 11,
  tileCols: 0,
  tileColsRing32: 0,
  packA16: 5,
  prepBRing48: 5,
  gemmRing48: 11,
  tileColsRing48: 0,
  compare_digits: 16,
  sample_below: 8,
  compare_pairs: 14,
  bit_corrections: 7,
  group_digits: 4,
  pack_groups: 6,
  unpack_field: 11,
  zero_tests: 13,
  three_way_deal: 8,
  three_way_open: 8,
  three_way_helper: 10,
};

/** Name of the exported linear memory every kernels module has. */
export const KERNELS_MEMORY = 'memory';

/** Bytes of a WebAssembly memory page (the unit of memory.grow). */
export const WASM_PAGE_BYTES = 65536;

/** Initial memory of every kernels module, in pages (the runtime grows it on demand). */
export const KERNELS_INITIAL_PAGES = 16;
