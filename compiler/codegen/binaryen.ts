// The one wrapper of binaryen in mpcc: typed expression handles, named locals, structured
// loops, and emit() that validates, runs an explicit pass list, validates again and returns the
// module's bytes. Every other file builds WebAssembly through this API and never imports
// binaryen, so the binaryen surface the project depends on is exactly what is listed here.
import binaryen from 'binaryen';

/** A value type of the generated code. */
export type ValType = 'i32' | 'i64' | 'f64' | 'v128' | 'none';

/** A handle to a binaryen expression (opaque; only this file looks inside). */
export type Expr = number & { readonly __wasmExpr: unique symbol };

/** A parameter or local variable of a function under construction. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
  readonly name: string;
}

const TYPES: Record<ValType, number> = {
  i32: binaryen.i32,
  i64: binaryen.i64,
  f64: binaryen.f64,
  v128: binaryen.v128,
  none: binaryen.none,
};

/** WebAssembly features the generated modules may use; all are in Node 20's V8 by default. */
const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt | // memory.copy/fill (binaryen splits them from bulk memory)
  binaryen.Features.SignExt;

/** Optimization passes run on every emitted module, in order. The kernels are written with
 * explicit loops and register tiles already, and V8's TurboFan does register allocation and
 * scheduling itself, so these passes only tidy what the builder emits. */
const PASSES: readonly string[] = [
  'precompute', //            fold constant index arithmetic from unrolled tiles
  'optimize-instructions', // peephole: shifts, adds of 0, comparisons
  'simplify-locals', //       sink single-use local.set into their use
  'vacuum', //                drop nops and empty blocks left by the builder
  'remove-unused-brs', //     turn block/br patterns of loops into br_if
  'merge-blocks', //          flatten nested blocks from helper combinators
  'coalesce-locals', //       share local slots with disjoint live ranges
  'reorder-locals', //        frequently used locals first (smaller encoding)
  'vacuum', //                clean up after the passes above
];

let labelCounter = 0;
function freshLabel(prefix: string): string {
  return `${prefix}${labelCounter++}`;
}

/** Builds the body of one function: parameters, locals and statements. */
export class FunctionBuilder {
  private readonly locals: Local[] = [];
  /** Parameters in declaration order. */
  readonly params: readonly Local[];

  constructor(params: readonly (readonly [string, ValType])[]) {
    this.params = params.map(([name, type], index) => this.push({ index, type, name }));
  }

  private push(l: Local): Local {
    this.locals.push(l);
    return l;
  }

  /** The parameter called `name`. */
  param(name: string): Local {
    const p = this.params.find((l) => l.name === name);
    if (!p) throw new Error(`internal: no parameter '${name}'`);
    return p;
  }

  /** Declares a new local variable. */
  local(name: string, type: ValType): Local {
    return this.push({ index: this.locals.length, type, name });
  }

  /** Types of the non-parameter locals, for binaryen's addFunction. */
  varTypes(): number[] {
    return this.locals.slice(this.params.length).map((l) => TYPES[l.type]);
  }
}

/** Typed constructors of expressions: a thin, explicit subset of binaryen's module API. */
export class ModuleBuilder {
  private readonly m: binaryen.Module;
  private emitted = false;

  /** A module with one memory of `initialPages` 64 KiB pages exported as `memory`. */
  constructor(initialPages: number, maxPages = 65536) {
    this.m = new binaryen.Module();
    this.m.setFeatures(FEATURES);
    this.m.setMemory(initialPages, maxPages, 'memory');
  }

  /** Adds an exported function; `body` gets the builder and returns the statements. */
  func(
    name: string,
    params: readonly (readonly [string, ValType])[],
    result: ValType,
    body: (f: FunctionBuilder) => Expr[],
  ): void {
    const f = new FunctionBuilder(params);
    const stmts = body(f);
    const paramType = binaryen.createType(params.map(([, t]) => TYPES[t]));
    const block = this.m.block(null, stmts, TYPES[result]);
    this.m.addFunction(name, paramType, TYPES[result], f.varTypes(), block);
    this.m.addFunctionExport(name, name);
  }

  // ---- locals and control flow
  /** Reads a local. */
  get(l: Local): Expr {
    return this.m.local.get(l.index, TYPES[l.type]) as Expr;
  }
  /** Writes a local. */
  set(l: Local, v: Expr): Expr {
    return this.m.local.set(l.index, v) as Expr;
  }
  /** A sequence of statements. */
  seq(stmts: Expr[]): Expr {
    return this.m.block(null, stmts, binaryen.none) as Expr;
  }
  /** if (cond) then else. */
  if(cond: Expr, then: Expr, otherwise?: Expr): Expr {
    return this.m.if(cond, then, otherwise) as Expr;
  }
  /** `for (i = from; i < to; i += step) body` over i32 (signed compare); skips when empty.
   * `to` is evaluated before every iteration: pass a local or a constant. */
  forRange(i: Local, from: Expr, to: Expr, step: number, body: (brk: string) => Expr[]): Expr {
    const brk = freshLabel('brk');
    const top = freshLabel('loop');
    const m = this.m;
    return m.block(brk, [
      m.local.set(i.index, from),
      // `to` appears twice; binaryen trees must not share nodes, hence the copy.
      m.br(brk, m.i32.ge_s(m.local.get(i.index, binaryen.i32), m.copyExpression(to))),
      m.loop(
        top,
        m.block(null, [
          ...body(brk),
          m.local.set(i.index, m.i32.add(m.local.get(i.index, binaryen.i32), m.i32.const(step))),
          m.br(top, m.i32.lt_s(m.local.get(i.index, binaryen.i32), to)),
        ]),
      ),
    ]) as Expr;
  }
  /** A deep copy of an expression (binaryen trees must not share nodes). */
  copy(e: Expr): Expr {
    return this.m.copyExpression(e) as Expr;
  }
  /** A labelled block: `body` gets the label, which `breakIf` leaves. */
  block(body: (brk: string) => Expr[]): Expr {
    const brk = freshLabel('blk');
    return this.m.block(brk, body(brk), binaryen.none) as Expr;
  }
  /** Leaves the block or loop labelled `label` when cond is non-zero. */
  breakIf(label: string, cond: Expr): Expr {
    return this.m.br(label, cond) as Expr;
  }
  /** `while (cond) body`; `cond` is evaluated before every iteration. */
  while(cond: () => Expr, body: Expr[]): Expr {
    const brk = freshLabel('brk');
    const top = freshLabel('loop');
    const m = this.m;
    return m.block(brk, [
      m.loop(top, m.block(null, [m.br(brk, m.i32.eqz(cond())), ...body, m.br(top)])),
    ]) as Expr;
  }
  /** cond ? a : b, both evaluated (no branch). */
  select(cond: Expr, a: Expr, b: Expr): Expr {
    return this.m.select(cond, a, b) as Expr;
  }
  /** memory.copy(dest, src, bytes). */
  memcpy(dest: Expr, src: Expr, bytes: Expr): Expr {
    return this.m.memory.copy(dest, src, bytes) as Expr;
  }
  /** memory.fill(dest, byte, bytes). */
  memfill(dest: Expr, byte: Expr, bytes: Expr): Expr {
    return this.m.memory.fill(dest, byte, bytes) as Expr;
  }

  // ---- i32
  /** i32 operations. */
  readonly i32 = {
    const: (v: number) => this.m.i32.const(v) as Expr,
    add: (a: Expr, b: Expr) => this.m.i32.add(a, b) as Expr,
    sub: (a: Expr, b: Expr) => this.m.i32.sub(a, b) as Expr,
    mul: (a: Expr, b: Expr) => this.m.i32.mul(a, b) as Expr,
    div_u: (a: Expr, b: Expr) => this.m.i32.div_u(a, b) as Expr,
    rem_u: (a: Expr, b: Expr) => this.m.i32.rem_u(a, b) as Expr,
    shl: (a: Expr, b: Expr) => this.m.i32.shl(a, b) as Expr,
    and: (a: Expr, b: Expr) => this.m.i32.and(a, b) as Expr,
    or: (a: Expr, b: Expr) => this.m.i32.or(a, b) as Expr,
    xor: (a: Expr, b: Expr) => this.m.i32.xor(a, b) as Expr,
    shr_u: (a: Expr, b: Expr) => this.m.i32.shr_u(a, b) as Expr,
    gt_s: (a: Expr, b: Expr) => this.m.i32.gt_s(a, b) as Expr,
    ne: (a: Expr, b: Expr) => this.m.i32.ne(a, b) as Expr,
    lt_s: (a: Expr, b: Expr) => this.m.i32.lt_s(a, b) as Expr,
    lt_u: (a: Expr, b: Expr) => this.m.i32.lt_u(a, b) as Expr,
    le_u: (a: Expr, b: Expr) => this.m.i32.le_u(a, b) as Expr,
    ge_s: (a: Expr, b: Expr) => this.m.i32.ge_s(a, b) as Expr,
    ge_u: (a: Expr, b: Expr) => this.m.i32.ge_u(a, b) as Expr,
    eq: (a: Expr, b: Expr) => this.m.i32.eq(a, b) as Expr,
    eqz: (a: Expr) => this.m.i32.eqz(a) as Expr,
    popcnt: (a: Expr) => this.m.i32.popcnt(a) as Expr,
    wrapI64: (a: Expr) => this.m.i32.wrap(a) as Expr,
    /** Little-endian 32-bit load at byte address ptr + offset. */
    load: (ptr: Expr, offset = 0) => this.m.i32.load(offset, 4, ptr) as Expr,
    store: (ptr: Expr, v: Expr, offset = 0) => this.m.i32.store(offset, 4, ptr, v) as Expr,
    /** Unsigned byte load, unsigned 16-bit load (little-endian), byte store. */
    load8u: (ptr: Expr, offset = 0) => this.m.i32.load8_u(offset, 1, ptr) as Expr,
    load16u: (ptr: Expr, offset = 0) => this.m.i32.load16_u(offset, 2, ptr) as Expr,
    store8: (ptr: Expr, v: Expr, offset = 0) => this.m.i32.store8(offset, 1, ptr, v) as Expr,
    store16: (ptr: Expr, v: Expr, offset = 0) => this.m.i32.store16(offset, 2, ptr, v) as Expr,
  };

  // ---- i64
  /** i64 operations (the ring Z_2^64: add/sub/mul wrap mod 2^64). */
  readonly i64 = {
    const: (v: bigint) => this.m.i64.const(v) as Expr,
    add: (a: Expr, b: Expr) => this.m.i64.add(a, b) as Expr,
    sub: (a: Expr, b: Expr) => this.m.i64.sub(a, b) as Expr,
    mul: (a: Expr, b: Expr) => this.m.i64.mul(a, b) as Expr,
    and: (a: Expr, b: Expr) => this.m.i64.and(a, b) as Expr,
    or: (a: Expr, b: Expr) => this.m.i64.or(a, b) as Expr,
    xor: (a: Expr, b: Expr) => this.m.i64.xor(a, b) as Expr,
    shl: (a: Expr, b: Expr) => this.m.i64.shl(a, b) as Expr,
    shr_s: (a: Expr, b: Expr) => this.m.i64.shr_s(a, b) as Expr,
    shr_u: (a: Expr, b: Expr) => this.m.i64.shr_u(a, b) as Expr,
    gt_u: (a: Expr, b: Expr) => this.m.i64.gt_u(a, b) as Expr,
    extendU32: (a: Expr) => this.m.i64.extend_u(a) as Expr,
    extendS32: (a: Expr) => this.m.i64.extend_s(a) as Expr,
    /** Truncation of a non-negative f64 below 2^64 (traps outside: callers guarantee range). */
    truncF64U: (a: Expr) => this.m.i64.trunc_u.f64(a) as Expr,
    /** 64-bit load at byte address ptr + offset (8-byte aligned hint). */
    load: (ptr: Expr, offset = 0) => this.m.i64.load(offset, 8, ptr) as Expr,
    /** A u32 at ptr + offset, zero-extended. (Write this, not extendU32 of an i32 load: binaryen
     * 132's optimize-instructions turned `extend_u(load) | (extend_u(load) << 32)` into two
     * sign-extending loads, measured wrong in the compare's digit kernel.) */
    load32u: (ptr: Expr, offset = 0) => this.m.i64.load32_u(offset, 4, ptr) as Expr,
    /** An i32 at ptr + offset, sign-extended. */
    load32s: (ptr: Expr, offset = 0) => this.m.i64.load32_s(offset, 4, ptr) as Expr,
    store: (ptr: Expr, v: Expr, offset = 0) => this.m.i64.store(offset, 8, ptr, v) as Expr,
  };

  // ---- f64 (exact integer division of values below 2^53)
  /** f64 operations. */
  readonly f64 = {
    fromU64: (a: Expr) => this.m.f64.convert_u.i64(a) as Expr,
    fromU32: (a: Expr) => this.m.f64.convert_u.i32(a) as Expr,
    div: (a: Expr, b: Expr) => this.m.f64.div(a, b) as Expr,
  };

  // ---- v128 as two i64 lanes
  /** SIMD operations on two 64-bit lanes. */
  readonly i64x2 = {
    load: (ptr: Expr, offset = 0) => this.m.v128.load(offset, 8, ptr) as Expr,
    store: (ptr: Expr, v: Expr, offset = 0) => this.m.v128.store(offset, 8, ptr, v) as Expr,
    splat: (a: Expr) => this.m.i64x2.splat(a) as Expr,
    /** Loads one i64 and splats it to both lanes. */
    loadSplat: (ptr: Expr, offset = 0) => this.m.v128.load64_splat(offset, 8, ptr) as Expr,
    add: (a: Expr, b: Expr) => this.m.i64x2.add(a, b) as Expr,
    sub: (a: Expr, b: Expr) => this.m.i64x2.sub(a, b) as Expr,
    mul: (a: Expr, b: Expr) => this.m.i64x2.mul(a, b) as Expr,
    neg: (a: Expr) => this.m.i64x2.neg(a) as Expr,
    shl: (a: Expr, s: Expr) => this.m.i64x2.shl(a, s) as Expr,
    shr_s: (a: Expr, s: Expr) => this.m.i64x2.shr_s(a, s) as Expr,
    shr_u: (a: Expr, s: Expr) => this.m.i64x2.shr_u(a, s) as Expr,
    lane: (a: Expr, i: 0 | 1) => this.m.i64x2.extract_lane(a, i) as Expr,
    /** Full 64-bit products of the unsigned 32-bit lanes 0,1 (low) or 2,3 (high). */
    extmulLowU32: (a: Expr, b: Expr) => this.m.i64x2.extmul_low_i32x4_u(a, b) as Expr,
    extmulHighU32: (a: Expr, b: Expr) => this.m.i64x2.extmul_high_i32x4_u(a, b) as Expr,
    /** Full 64-bit products of the signed 32-bit lanes 0,1 (low) or 2,3 (high). */
    extmulLowS32: (a: Expr, b: Expr) => this.m.i64x2.extmul_low_i32x4_s(a, b) as Expr,
    extmulHighS32: (a: Expr, b: Expr) => this.m.i64x2.extmul_high_i32x4_s(a, b) as Expr,
    /** Zero-extends 32-bit lanes 0,1 (low) or 2,3 (high) to 64 bits. */
    extendLowU32: (a: Expr) => this.m.i64x2.extend_low_i32x4_u(a) as Expr,
    extendHighU32: (a: Expr) => this.m.i64x2.extend_high_i32x4_u(a) as Expr,
    /** Sign-extends 32-bit lanes 0,1 (low) or 2,3 (high) to 64 bits. */
    extendLowS32: (a: Expr) => this.m.i64x2.extend_low_i32x4_s(a) as Expr,
    extendHighS32: (a: Expr) => this.m.i64x2.extend_high_i32x4_s(a) as Expr,
  };

  /** SIMD operations on four 32-bit lanes. */
  readonly i32x4 = {
    add: (a: Expr, b: Expr) => this.m.i32x4.add(a, b) as Expr,
    mul: (a: Expr, b: Expr) => this.m.i32x4.mul(a, b) as Expr,
    splat: (a: Expr) => this.m.i32x4.splat(a) as Expr,
    shr_u: (a: Expr, s: Expr) => this.m.i32x4.shr_u(a, s) as Expr,
    /** Loads one i32 and splats it to all four lanes. */
    loadSplat: (ptr: Expr, offset = 0) => this.m.v128.load32_splat(offset, 4, ptr) as Expr,
    zero: () => this.m.v128.const([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) as Expr,
    /** Full 32-bit products of the unsigned 16-bit lanes 0–3 (low) or 4–7 (high). */
    extmulLowU16: (a: Expr, b: Expr) => this.m.i32x4.extmul_low_i16x8_u(a, b) as Expr,
    extmulHighU16: (a: Expr, b: Expr) => this.m.i32x4.extmul_high_i16x8_u(a, b) as Expr,
    /** Lane i: a[2i]·b[2i] + a[2i+1]·b[2i+1] of the signed 16-bit lanes (pmaddwd). */
    dotI16: (a: Expr, b: Expr) => this.m.i32x4.dot_i16x8_s(a, b) as Expr,
  };

  /** SIMD operations on eight 16-bit lanes. */
  readonly i16x8 = {
    splat: (a: Expr) => this.m.i16x8.splat(a) as Expr,
    add: (a: Expr, b: Expr) => this.m.i16x8.add(a, b) as Expr,
    sub: (a: Expr, b: Expr) => this.m.i16x8.sub(a, b) as Expr,
    mul: (a: Expr, b: Expr) => this.m.i16x8.mul(a, b) as Expr,
    shl: (a: Expr, s: Expr) => this.m.i16x8.shl(a, s) as Expr,
    shr_u: (a: Expr, s: Expr) => this.m.i16x8.shr_u(a, s) as Expr,
    ne: (a: Expr, b: Expr) => this.m.i16x8.ne(a, b) as Expr,
    lt_s: (a: Expr, b: Expr) => this.m.i16x8.lt_s(a, b) as Expr,
    ge_u: (a: Expr, b: Expr) => this.m.i16x8.ge_u(a, b) as Expr,
    /** Bit i of the result is the sign bit of lane i. */
    bitmask: (a: Expr) => this.m.i16x8.bitmask(a) as Expr,
    /** Lanes of two i32x4 vectors narrowed to 16 bits, unsigned saturation (a: lanes 0–3). */
    narrowU32: (a: Expr, b: Expr) => this.m.i16x8.narrow_i32x4_u(a, b) as Expr,
    /** Lane i (0–7), zero-extended. */
    lane: (a: Expr, i: number) => this.m.i16x8.extract_lane_u(a, i as unknown as number) as Expr,
  };

  /** SIMD operations on sixteen 8-bit lanes. */
  readonly i8x16 = {
    splat: (a: Expr) => this.m.i8x16.splat(a) as Expr,
    add: (a: Expr, b: Expr) => this.m.i8x16.add(a, b) as Expr,
    sub: (a: Expr, b: Expr) => this.m.i8x16.sub(a, b) as Expr,
    min_u: (a: Expr, b: Expr) => this.m.i8x16.min_u(a, b) as Expr,
  };

  /** Bitwise and byte-level SIMD operations on whole vectors. */
  readonly v128 = {
    load: (ptr: Expr, offset = 0) => this.m.v128.load(offset, 1, ptr) as Expr,
    store: (ptr: Expr, v: Expr, offset = 0) => this.m.v128.store(offset, 1, ptr, v) as Expr,
    /** Eight bytes zero-extended to eight 16-bit lanes. */
    load8x8U: (ptr: Expr, offset = 0) => this.m.v128.load8x8_u(offset, 1, ptr) as Expr,
    /** Stores the low eight bytes. */
    store64: (ptr: Expr, v: Expr, offset = 0) => this.m.v128.store64_lane(offset, 1, 0, ptr, v) as Expr,
    const: (bytes: readonly number[]) => this.m.v128.const(bytes) as Expr,
    and: (a: Expr, b: Expr) => this.m.v128.and(a, b) as Expr,
    or: (a: Expr, b: Expr) => this.m.v128.or(a, b) as Expr,
    xor: (a: Expr, b: Expr) => this.m.v128.xor(a, b) as Expr,
    /** Bytes of 16-bit lanes narrowed to 8 bits, unsigned saturation (a: bytes 0–7). */
    narrowU16: (a: Expr, b: Expr) => this.m.i8x16.narrow_i16x8_u(a, b) as Expr,
    /** Byte i of the result is byte idx[i] of a (0 where idx[i] ≥ 16). */
    swizzle: (a: Expr, idx: Expr) => this.m.i8x16.swizzle(a, idx) as Expr,
  };

  /** Byte shuffle of two vectors: lane i of the result is byte mask[i] of a‖b (0..31). */
  shuffle(a: Expr, b: Expr, mask: readonly number[]): Expr {
    return this.m.i8x16.shuffle(a, b, mask) as Expr;
  }

  /** Validates, optimizes with PASSES, validates again and returns the binary. Single use. */
  emit(): Uint8Array {
    if (this.emitted) throw new Error('internal: module emitted twice');
    this.emitted = true;
    if (!this.m.validate()) throw new Error('internal: generated WebAssembly does not validate (before passes)');
    binaryen.setOptimizeLevel(3);
    binaryen.setShrinkLevel(0);
    this.m.runPasses(PASSES);
    if (!this.m.validate()) throw new Error('internal: generated WebAssembly does not validate (after passes)');
    const bytes = this.m.emitBinary();
    this.m.dispose();
    return bytes;
  }

  /** The module's text format (for debugging and golden tests); before emit(). */
  text(): string {
    return this.m.emitText();
  }
}
