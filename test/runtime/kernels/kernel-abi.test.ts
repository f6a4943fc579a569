// The generic kernels' ABI (runtime/kernels/kernel-abi.ts) is what the build emits: the generic
// module exports exactly the declared kernels, in the declared order, with the declared
// parameter counts, and its memory; the generator refuses a kernel off the declaration.
import { expect } from 'chai';
import { ModuleBuilder } from '../../../compiler/codegen/binaryen.js';
import { addGenericKernel } from '../../../compiler/codegen/library/generic-kernel.js';
import { emitGenericKernels } from '../../../compiler/codegen/library/runtime-kernels.js';
import { GENERIC_KERNELS, KERNELS_INITIAL_PAGES, KERNELS_MEMORY, WASM_PAGE_BYTES } from '../../../runtime/kernels/kernel-abi.js';
import { genericKernels } from '../../../runtime/kernels/kernels-module.js';

declare const WebAssembly: {
  Module: { new (bytes: Uint8Array): object; exports(m: object): { name: string; kind: string }[] };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

describe('runtime/kernels/kernel-abi: the generic kernels as declared', () => {
  it('the generic module exports the declared kernels, in order, with their parameter counts, and its memory', () => {
    const bytes = emitGenericKernels();
    const module = new WebAssembly.Module(bytes);
    const exported = WebAssembly.Module.exports(module);
    expect(exported.filter((e) => e.kind === 'function').map((e) => e.name)).to.deep.equal(Object.keys(GENERIC_KERNELS));
    expect(exported.filter((e) => e.kind === 'memory').map((e) => e.name)).to.deep.equal([KERNELS_MEMORY]);
    const instance = new WebAssembly.Instance(module, {}).exports;
    for (const [name, arity] of Object.entries(GENERIC_KERNELS)) expect((instance[name] as (...a: unknown[]) => unknown).length, name).to.equal(arity);
    const memory = instance[KERNELS_MEMORY] as { buffer: ArrayBuffer };
    expect(memory.buffer.byteLength).to.equal(KERNELS_INITIAL_PAGES * WASM_PAGE_BYTES);
  });

  it('the build wrote that module (the runtime loads what the generator emits)', () => {
    expect(new Map(genericKernels().functions)).to.deep.equal(new Map(Object.entries(GENERIC_KERNELS)));
  });

  it('the generator refuses a generic kernel with another parameter count', () => {
    const m = new ModuleBuilder(1);
    expect(() => addGenericKernel(m, 'gemm', [['a', 'i32']], 'none', () => [])).to.throw(/internal: kernel 'gemm' emitted with 1 parameters, the runtime's ABI declares 10/);
  });
});
