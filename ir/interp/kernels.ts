// The interpreter's kernel table: one function per IR op computing its results from its
// operand tensors. Kernel files register themselves; ir/interp/index.ts loads them all.
import type { AttrValue, Node } from '../graph.js';
import type { Tensor } from '../tensor.js';
import type { TensorType } from '../types.js';

/** Arithmetic precision of a run: float32 (like onnxruntime) or float64 (a tighter reference). */
export type Precision = 'float32' | 'float64';

/** What a kernel sees besides its operands. */
export interface KernelContext {
  readonly node: Node;
  /** Attribute value, or the op table's default. */
  attr<T extends AttrValue>(name: string): T;
  /** Static types of the node's results (float results carry the run's precision). */
  readonly outputTypes: readonly TensorType[];
  readonly precision: Precision;
}

/** Computes a node's results; operands are undefined where an optional input is omitted. */
export type Kernel = (inputs: readonly (Tensor | undefined)[], ctx: KernelContext) => Tensor[];

const kernels = new Map<string, Kernel>();

/** Registers kernels by op name. */
export function defineKernels(entries: Record<string, Kernel>): void {
  for (const [op, k] of Object.entries(entries)) kernels.set(op, k);
}

/** The kernel of `op`, or undefined. */
export function lookupKernel(op: string): Kernel | undefined {
  return kernels.get(op);
}
