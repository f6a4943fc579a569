// Kernels of elementwise ops: pass-through ops and broadcasting binary arithmetic (the
// activations are in ir/interp/activations.ts).
import { Tensor, allocData } from '../tensor.js';
import { numel, stridesOf, type Shape } from '../types.js';
import { defineKernels, type Kernel } from './kernels.js';

/** Element offsets into an operand of shape `from` for every index of the broadcast `to`. */
export function broadcastIndex(from: Shape, to: Shape): Int32Array | undefined {
  if (from.length === to.length && from.every((d, i) => d === to[i])) return undefined;
  const n = numel(to);
  const idx = new Int32Array(n);
  const fs = stridesOf(from);
  const rank = to.length;
  const off = rank - from.length;
  const counter = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let a = off; a < rank; a++) if (from[a - off] !== 1) o += counter[a] * fs[a - off];
    idx[i] = o;
    for (let a = rank - 1; a >= 0; a--) {
      if (++counter[a] < to[a]) break;
      counter[a] = 0;
    }
  }
  return idx;
}

/** A loop over operands of equal shape, written out per op so V8 need not call `fn` per element. */
type SameShapeLoop = (a: ArrayLike<number>, b: ArrayLike<number>, out: { [i: number]: number; length: number }) => void;

function binary(fn: (a: number, b: number) => number, same?: SameShapeLoop): Kernel {
  return ([a, b], ctx) => {
    const t = ctx.outputTypes[0];
    const out = allocData(t.dtype, numel(t.shape));
    const ia = broadcastIndex(a!.shape, t.shape), ib = broadcastIndex(b!.shape, t.shape);
    const da = a!.data, db = b!.data;
    if (!ia && !ib && same) same(da, db, out);
    else for (let i = 0; i < out.length; i++) out[i] = fn(da[ia ? ia[i] : i], db[ib ? ib[i] : i]);
    return [new Tensor(t.dtype, t.shape, out)];
  };
}

defineKernels({
  Identity: ([x]) => [x!],
  Dropout: ([x]) => [x!],
  Add: binary((a, b) => a + b, (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i]; }),
  Sub: binary((a, b) => a - b, (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] - b[i]; }),
  Mul: binary((a, b) => a * b, (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i]; }),
  Div: binary((a, b) => a / b, (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] / b[i]; }),
});
