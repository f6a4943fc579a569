// Emitting a generic kernel under the runtime's ABI (runtime/kernels/kernel-abi.ts): its name
// must be one GENERIC_KERNELS declares (checked by the compiler), and a parameter list of
// another length is an internal error when the module is built, long before a party's load
// check (MPCC5103) would meet it.
import type { Expr, FunctionBuilder, ModuleBuilder, ValType } from '../binaryen.js';
import { GENERIC_KERNELS, type GenericKernel } from '../../../runtime/kernels/kernel-abi.js';

/** Adds the generic kernel `name` to `m` (as ModuleBuilder.func), checked against the ABI. */
export function addGenericKernel(
  m: ModuleBuilder,
  name: GenericKernel,
  params: readonly (readonly [string, ValType])[],
  result: ValType,
  body: (f: FunctionBuilder) => Expr[],
): void {
  const want = GENERIC_KERNELS[name];
  if (params.length !== want) throw new Error(`internal: kernel '${name}' emitted with ${params.length} parameters, the runtime's ABI declares ${want}`);
  m.func(name, params, result, body);
}
