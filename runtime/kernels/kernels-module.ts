// Compiling and checking ring kernels modules. Two kinds of module share one ABI
// (kernel-abi.ts): the runtime's generic module (dist/runtime/kernels/ring-kernels.wasm,
// written by the build) and a model's own module (OUT/party{0,1,2}/kernels.wasm, written by
// `mpcc compile`: the generic kernels built by the same generator functions plus kernels
// specialized to the model's shapes, runtime/kernels/model-kernels.ts). Every module must
// export every kernel of GENERIC_KERNELS with its parameter count: the declaration the
// compiler emits from is the one the load check reads. ring-wasm.ts makes one compiled module
// the process's active instance.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runtimeError } from '../diagnostics.js';
import { GENERIC_KERNELS, KERNELS_MEMORY, type RingKernelExports } from './kernel-abi.js';

// The project compiles against lib es2022 without DOM typings, which is where TypeScript declares
// WebAssembly; this module-scoped declaration covers the little used here.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** A compiled, checked kernels module and its own instance (linear memory included). */
export interface KernelsModule {
  /** Where the bytes come from (a file path), for messages. */
  readonly source: string;
  /** sha256 of the bytes, hex: modules with equal bytes are interchangeable. */
  readonly hash: string;
  /** The instance's exports. */
  readonly exports: RingKernelExports;
  /** Every exported function's parameter count, by name. */
  readonly functions: ReadonlyMap<string, number>;
}

const GENERIC_URL = new URL('./ring-kernels.wasm', import.meta.url);
/** Compiled code by sha256, so the three parties of one process compile their (identical)
 * module once; bounded, since a test process may load many models. Code only, no memory. */
const compiled = new Map<string, object>();
const COMPILED_KEPT = 4;
let generic: KernelsModule | undefined;

/** Compiles `bytes` (read from `source`) and instantiates it: MPCC5102 when they are no valid
 * module, MPCC5103 when they lack a generic kernel (or one takes other parameters). */
export function compileKernels(bytes: Uint8Array, source: string): KernelsModule {
  return checked(instantiate(bytes, source));
}

/** `k` when it exports every generic kernel with its declared parameter count, else MPCC5103. */
function checked(k: KernelsModule): KernelsModule {
  const wrong: string[] = [];
  for (const [name, arity] of Object.entries(GENERIC_KERNELS)) {
    const got = k.functions.get(name);
    if (got === undefined) wrong.push(`'${name}' missing`);
    else if (got !== arity) wrong.push(`'${name}' takes ${got} parameters, not ${arity}`);
  }
  if (wrong.length) {
    const list = wrong.length > 4 ? `${wrong.slice(0, 4).join(', ')} and ${wrong.length - 4} more` : wrong.join(', ');
    throw runtimeError('MPCC5103', [k.source, list]);
  }
  return k;
}

/** The runtime's generic kernels module (MPCC5101 when the build did not write it). */
export function genericKernels(): KernelsModule {
  if (!generic) {
    // The build always writes this file; a missing file is a broken install, not a fallback case.
    const path = fileURLToPath(GENERIC_URL);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw runtimeError('MPCC5101', [path, (e as Error).message]);
    }
    generic = checked(instantiate(bytes, path));
  }
  return generic;
}

function instantiate(bytes: Uint8Array, source: string): KernelsModule {
  const hash = createHash('sha256').update(bytes).digest('hex');
  // Optimize the kernels when they are compiled, not after: a kernel call is long (a whole
  // layer's GEMM or compare) and wasm has no on-stack replacement, so under V8's default
  // tiering a party process runs its first calls of each kernel in baseline (Liftoff) code,
  // measured ~0.4 s of a resnet18-cifar inference over TCP. The modules are small, so
  // compiling them optimized up front costs milliseconds.
  setFlagsFromString('--no-liftoff');
  try {
    let module = compiled.get(hash);
    if (!module) {
      module = new WebAssembly.Module(bytes);
      if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
      compiled.set(hash, module);
    }
    const exports = new WebAssembly.Instance(module, {}).exports;
    const memory = exports[KERNELS_MEMORY] as { buffer?: unknown } | undefined;
    if (!memory || !(memory.buffer instanceof ArrayBuffer)) throw new Error(`no exported memory '${KERNELS_MEMORY}'`);
    const functions = new Map<string, number>();
    for (const [name, v] of Object.entries(exports)) if (typeof v === 'function') functions.set(name, v.length);
    return { source, hash, exports: exports as unknown as RingKernelExports, functions };
  } catch (e) {
    throw runtimeError('MPCC5102', [source, (e as Error).message]);
  }
}
