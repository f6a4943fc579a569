// The backward (vector–Jacobian) kernels of the float interpreter: per op, the gradients of
// its operands from the gradients of its results, for a batch of independent probe vectors at
// once. Kernel files register themselves like the forward kernels (ir/interp/kernels.ts);
// ir/interp/grad/index.ts loads them all and the driver is ir/interp/grad/backward.ts.
import type { AttrValue, Node } from '../../graph.js';
import type { Tensor } from '../../tensor.js';
import { numel, type Shape } from '../../types.js';
import { broadcastIndex } from '../elementwise.js';
import type { FloatArray } from '../gemm.js';
import { allocFloats, interpreterThreads } from '../parallel.js';

/** What a backward kernel sees besides its results' gradients. */
export interface GradContext {
  readonly node: Node;
  /** Attribute value, or the op table's default. */
  attr<T extends AttrValue>(name: string): T;
  /** The forward pass's operands (undefined where an optional input is omitted) and results. */
  readonly inputs: readonly (Tensor | undefined)[];
  readonly outputs: readonly Tensor[];
  /** Which operands need a gradient (the others may be left undefined). */
  readonly needs: readonly boolean[];
  /** Probe vectors per gradient: a gradient of a value of shape S holds probes·numel(S) numbers, probe-major. */
  readonly probes: number;
  /** Storage type of the gradients (the forward run's precision). */
  readonly dtype: 'float32' | 'float64';
}

/**
 * Gradients of the operands (probes·numel(operand) numbers each, or undefined where not
 * needed) from the gradients of the results (undefined where a result has none: zero).
 */
export type GradKernel = (dys: readonly (FloatArray | undefined)[], ctx: GradContext) => (FloatArray | undefined)[];

const gradKernels = new Map<string, GradKernel>();

/** Registers backward kernels by op name. */
export function defineGradKernels(entries: Record<string, GradKernel>): void {
  for (const [op, k] of Object.entries(entries)) gradKernels.set(op, k);
}

/** The backward kernel of `op`, or undefined. */
export function lookupGradKernel(op: string): GradKernel | undefined {
  return gradKernels.get(op);
}

/** Ops that have a backward kernel, sorted (for messages). */
export function gradOps(): string[] {
  return [...gradKernels.keys()].sort();
}

/**
 * Zeroed gradient storage of `n` numbers, in ordinary memory: V8 frees shared buffers only on
 * a full collection that their size does not trigger, so a backward pass per sample allocating
 * them piled up gigabytes. Matrix products write into reused shared scratch instead.
 */
export function zeros(ctx: GradContext, n: number): FloatArray {
  return allocFloats(ctx.dtype, n, false);
}

const scratch = new Map<string, FloatArray>();

/**
 * Reusable storage of at least `n` numbers for the operands and result of a matrix product
 * (shared with the GEMM workers when they run), one per `role`; not zeroed.
 */
export function scratchFloats(role: string, dtype: 'float32' | 'float64', n: number): FloatArray {
  const shared = interpreterThreads() > 1, key = `${role}:${dtype}`;
  const cur = scratch.get(key);
  if (cur && cur.length >= n && (cur.buffer instanceof SharedArrayBuffer) === shared) return cur;
  const fresh = allocFloats(dtype, Math.max(n, Math.ceil((cur?.length ?? 0) * 1.25)), shared);
  scratch.set(key, fresh);
  return fresh;
}

/**
 * The gradient of an operand of shape `from` broadcast to `to`: each probe's `dy·factor(i)`
 * summed over the broadcast axes.
 */
export function unbroadcast(dy: FloatArray, from: Shape, to: Shape, ctx: GradContext, factor?: (i: number) => number): FloatArray {
  const n = numel(to), nf = numel(from);
  const out = zeros(ctx, ctx.probes * nf);
  const idx = broadcastIndex(from, to);
  for (let p = 0; p < ctx.probes; p++) {
    const yo = p * n, xo = p * nf;
    if (!idx && !factor) out.set(dy.subarray(yo, yo + n), xo);
    else for (let i = 0; i < n; i++) out[xo + (idx ? idx[i] : i)] += factor ? dy[yo + i] * factor(i) : dy[yo + i];
  }
  return out;
}
