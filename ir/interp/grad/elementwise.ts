// Backward of the broadcasting binary arithmetic (Add, Sub, Mul, Div: each operand's gradient
// summed over the axes it was broadcast along) and of the pass-through ops.
import { broadcastIndex } from '../elementwise.js';
import type { FloatArray } from '../gemm.js';
import { defineGradKernels, type GradContext, type GradKernel, unbroadcast } from './kernels.js';

/** Factor of operand `side`'s gradient at output index i, given both operands' values there. */
type Partial = (a: number, b: number) => number;

function binaryGrad(da: Partial | undefined, db: Partial | undefined): GradKernel {
  return ([dy], ctx) => {
    if (!dy) return [];
    const [a, b] = ctx.inputs;
    const to = ctx.outputs[0].shape;
    const ia = broadcastIndex(a!.shape, to), ib = broadcastIndex(b!.shape, to);
    const av = (i: number): number => a!.data[ia ? ia[i] : i], bv = (i: number): number => b!.data[ib ? ib[i] : i];
    return [
      ctx.needs[0] ? unbroadcast(dy, a!.shape, to, ctx, da && ((i) => da(av(i), bv(i)))) : undefined,
      ctx.needs[1] ? unbroadcast(dy, b!.shape, to, ctx, db && ((i) => db(av(i), bv(i)))) : undefined,
    ];
  };
}

/** The result's gradient, unchanged, for the first operand. */
const passThrough: GradKernel = ([dy], ctx: GradContext) => [ctx.needs[0] ? (dy as FloatArray) : undefined];

defineGradKernels({
  Identity: passThrough,
  Dropout: passThrough,
  Add: binaryGrad(undefined, undefined),
  Sub: binaryGrad(undefined, () => -1),
  Mul: binaryGrad((_a, b) => b, (a) => a),
  Div: binaryGrad((_a, b) => 1 / b, (a, b) => -a / (b * b)),
});
