// Ring kernels of the fixed-point interpreter, one per op of a quantized graph. Each computes
// on plaintext ring values exactly what the three parties compute on shares, by calling the
// same runtime functions (runtime/ring/ring.ts, runtime/protocols/linear.ts, runtime/local/) with a
// party-0 session, where share truncation is the exact floor. Weights are encoded by the
// convention of the quantize pass: W at the bits of the Truncate after the product
// (ir/ops/fixed.ts weightBitsByNode; the graph's frac without one), biases at the product's scale.
import { applyPublicLinear, avgPool } from '../../../runtime/protocols/linear.js';
import * as local from '../../../runtime/local/index.js';
import { blockPlan } from '../../../runtime/protocols/block-relu.js';
import { hardSigmoidAffine, unitInterval } from '../../../runtime/protocols/hard-sigmoid.js';
import { sigmoidCombine, sigmoidShifted } from '../../../runtime/protocols/sigmoid.js';
import { blockSizesFrom } from '../../ops/block-relu.js';
import { add, bitOf, conv2d, encode, matmul, mul, sub, truncShare } from '../../../runtime/ring/ring.js';
import type { Session } from '../../../runtime/session/session.js';
import type { AttrValue, Node } from '../../graph.js';
import { InternalError } from '../../../runtime/diagnostics.js';
import type { Tensor } from '../../tensor.js';
import { concatParamsOf, convParamsOf, padParamsOf, poolParamsOf, resizeParamsOf, sliceParamsOf, transposeParamsOf } from './params.js';
import type { RingValue } from './value.js';
import { type CompareSimulation, windowNegative } from './compare-window.js';
import { maxPoolWith } from '../../../runtime/protocols/maxpool.js';

/** What a ring kernel sees besides its operands. */
export interface FixedContext {
  readonly node: Node;
  /** Attribute value, or the op table's default. */
  attr<T extends AttrValue>(name: string): T;
  /** Static output shapes of the node. */
  readonly outShapes: readonly (readonly number[])[];
  /** The graph's fractional bits. */
  readonly frac: number;
  /** The fractional bits of this node's weights (the graph's frac unless its Truncate says otherwise). */
  readonly weightFrac: number;
  /** How windowed comparisons are simulated and observed (compare-window.ts). */
  readonly compare?: CompareSimulation;
}

/** An operand: a ring value (activation) or a float constant (weights, biases). */
export type FixedOperand = RingValue | Tensor | undefined;

/** Computes a node's ring results. */
export type FixedKernel = (inputs: readonly FixedOperand[], ctx: FixedContext) => RingValue[];

/** The plaintext "party" of local share operations: P0's truncation is floor(x / 2^f). */
export const PLAINTEXT_PARTY = { id: 0 } as Session;

const isRing = (v: FixedOperand): v is RingValue => v !== undefined && 'frac' in v;

function ring(v: FixedOperand, ctx: FixedContext, what = 'operand'): RingValue {
  if (!isRing(v)) throw new InternalError(`fixed-point interpreter: node '${ctx.node.name}' (${ctx.node.op}): ${what} must be an activation`);
  return v;
}

function constant(v: FixedOperand, ctx: FixedContext): Tensor {
  if (v === undefined || isRing(v)) throw new InternalError(`fixed-point interpreter: node '${ctx.node.name}' (${ctx.node.op}): weights must be constants (run quantize)`);
  return v;
}

const out = (data: BigUint64Array, shape: readonly number[], frac: number): RingValue => ({ data, shape, frac });

/** Operands of an elementwise op at the output shape and a common scale (constants encoded at the activation's scale). */
function elementwise(inputs: readonly FixedOperand[], ctx: FixedContext): BigUint64Array[] {
  const shape = ctx.outShapes[0];
  const act = inputs.filter(isRing);
  const frac = act[0].frac;
  if (act.some((v) => v.frac !== frac)) throw new InternalError(`fixed-point interpreter: node '${ctx.node.name}' adds values of scales ${act.map((v) => v.frac).join(' and ')}`);
  return inputs.map((v) => {
    const data = isRing(v) ? v.data : encode(constant(v, ctx).data, frac);
    const from = isRing(v) ? v.shape : constant(v, ctx).shape;
    return sameShape(from, shape) ? data : local.broadcast(data, { shape: from, outShape: shape });
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Ring semantics of a DReLU on the bit window [lo, lo+k): x ≥ 0 iff bit lo+k−1 of x is 0
 * (no lost carry; with `node`, the comparison is simulated and observed as `sim` says). */
export function reluWindow(x: BigUint64Array, lo: number, k: number, node?: Node, sim?: CompareSimulation): BigUint64Array {
  const sign = node ? windowNegative(x, lo, k, node, sim) : bitOf(x, Math.min(lo + k, 64) - 1);
  const y = new BigUint64Array(x.length);
  for (let i = 0; i < x.length; i++) if (!sign[i]) y[i] = x[i];
  return y;
}

/** The node's bit window attributes. */
const windowAttrs = (ctx: FixedContext) => ({ lo: ctx.attr<number>('window_lo'), k: ctx.attr<number>('window_k') });

const noop: FixedKernel = ([x], ctx) => {
  const v = ring(x, ctx);
  return [out(local.reshape(v.data), ctx.outShapes[0], v.frac)];
};

/** Ring kernels by op name. */
export const FIXED_KERNELS: Readonly<Record<string, FixedKernel>> = {
  Truncate: ([x], ctx) => {
    const v = ring(x, ctx), bits = ctx.attr<number>('bits');
    return [out(truncShare(v.data, bits, 0), v.shape, v.frac - bits)];
  },
  Conv: ([x, w, b], ctx) => {
    const v = ring(x, ctx), wt = constant(w, ctx);
    const frac = v.frac + ctx.weightFrac;
    const bias = b ? encode(constant(b, ctx).data, frac) : undefined;
    const params = convParamsOf(ctx.node, v.shape, wt.shape);
    return [out(conv2d(v.data, encode(wt.data, ctx.weightFrac), params, bias), ctx.outShapes[0], frac)];
  },
  Gemm: ([a, b, c], ctx) => {
    if (ctx.attr<number>('transA') || ctx.attr<number>('transB') || ctx.attr<number>('alpha') !== 1 || ctx.attr<number>('beta') !== 1) {
      throw new InternalError(`fixed-point interpreter: Gemm '${ctx.node.name}' is not normalized (run quantize)`);
    }
    const v = ring(a, ctx), wt = constant(b, ctx);
    const [m, k] = v.shape, n = wt.shape[1], frac = v.frac + ctx.weightFrac;
    const y = matmul(v.data, encode(wt.data, ctx.weightFrac), m, k, n);
    if (c) {
      const bias = encode(constant(c, ctx).data, frac);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j] += bias[bias.length === 1 ? 0 : j];
    }
    return [out(y, ctx.outShapes[0], frac)];
  },
  MatMul: ([a, b], ctx) => {
    const v = ring(a, ctx), wt = constant(b, ctx);
    const [k, n] = wt.shape, m = v.data.length / k;
    return [out(matmul(v.data, encode(wt.data, ctx.weightFrac), m, k, n), ctx.outShapes[0], v.frac + ctx.weightFrac)];
  },
  Mul: ([a, b], ctx) => {
    const v = ring(a, ctx);
    if (isRing(b)) {
      // Two activations (SecureMul): the product at the sum of their scales; a Truncate follows.
      const shape = ctx.outShapes[0];
      const at = (u: RingValue) => (sameShape(u.shape, shape) ? u.data : local.broadcast(u.data, { shape: u.shape, outShape: shape }));
      return [out(mul(at(v), at(b)), shape, v.frac + b.frac)];
    }
    const c = constant(b, ctx);
    const shape = ctx.outShapes[0];
    const x = sameShape(v.shape, shape) ? v.data : local.broadcast(v.data, { shape: v.shape, outShape: shape });
    const k = local.broadcast(encode(c.data, ctx.weightFrac), { shape: c.shape, outShape: shape });
    return [out(mul(x, k), shape, v.frac + ctx.weightFrac)];
  },
  Add: (inputs, ctx) => {
    const [x, y] = elementwise(inputs, ctx), frac = inputs.filter(isRing)[0].frac;
    return [out(add(x, y), ctx.outShapes[0], frac)];
  },
  Sub: (inputs, ctx) => {
    const [x, y] = elementwise(inputs, ctx), frac = inputs.filter(isRing)[0].frac;
    return [out(sub(x, y), ctx.outShapes[0], frac)];
  },
  Relu: ([x], ctx) => {
    const v = ring(x, ctx);
    const { lo, k } = windowAttrs(ctx);
    return [out(reluWindow(v.data, lo, k, ctx.node, ctx.compare), v.shape, v.frac)];
  },
  BlockRelu: ([x], ctx) => {
    // As runtime blockRelu computes it: tile sums in the ring (blockPlan, the parties' own
    // tiling), each sign read from the bit window, the tile's elements kept or zeroed.
    const v = ring(x, ctx);
    const plan = blockPlan(v.data, v.shape as [number, number, number, number], blockSizesFrom(ctx.attr<number[]>('blocks')));
    const { lo, k } = windowAttrs(ctx);
    const sign = windowNegative(plan.sums, lo, k, ctx.node, ctx.compare);
    const ys = plan.xs.map((e, j) => (sign[plan.map[j]] ? 0n : e));
    return [out(plan.assemble(ys), v.shape, v.frac)];
  },
  Clip: ([x], ctx) => {
    // As runtime clip computes it: lo + ReLU(x − lo) − ReLU(x − hi), both on the bit window.
    const v = ring(x, ctx), wlo = ctx.attr<number>('window_lo'), k = ctx.attr<number>('window_k');
    const bound = (name: string) => {
      const b = ctx.attr<number>(name);
      return Number.isFinite(b) ? encode([b], v.frac)[0] : undefined;
    };
    const lo = bound('min'), hi = bound('max');
    const y = new BigUint64Array(v.data.length);
    // both comparisons as one vector, as the runtime's clip sends them to one relu
    const n = v.data.length;
    const both = new BigUint64Array((lo === undefined ? 0 : n) + (hi === undefined ? 0 : n));
    if (lo !== undefined) for (let i = 0; i < n; i++) both[i] = v.data[i] - lo;
    if (hi !== undefined) for (let i = 0, at = lo === undefined ? 0 : n; i < n; i++) both[at + i] = v.data[i] - hi;
    const r = reluWindow(both, wlo, k, ctx.node, ctx.compare);
    const rl = lo === undefined ? v.data : r.subarray(0, n);
    const rh = hi === undefined ? undefined : r.subarray(lo === undefined ? 0 : n);
    for (let i = 0; i < y.length; i++) y[i] = (lo ?? 0n) + rl[i] - (rh ? rh[i] : 0n);
    return [out(y, v.shape, v.frac)];
  },
  HardSigmoid: ([x], ctx) => {
    // As runtime hardSigmoid computes it: the affine map with P0's exact truncation, then
    // lo + ReLU(y − lo) − ReLU(y − hi) on the full window with [lo, hi] = [0, 1].
    const v = ring(x, ctx);
    const y = hardSigmoidAffine(v.data, ctx.attr<number>('alpha'), ctx.attr<number>('beta'), v.frac, 0);
    const [lo, hi] = unitInterval(v.frac);
    const rl = reluWindow(y.map((e) => e - lo), 0, 64), rh = reluWindow(y.map((e) => e - hi), 0, 64);
    return [out(rl.map((e, i) => lo + e - rh[i]), v.shape, v.frac)];
  },
  Sigmoid: ([x], ctx) => {
    // As runtime sigmoid computes it: ReLU(x − t_i) per knot, the weighted sum truncated once.
    const v = ring(x, ctx);
    const r = reluWindow(sigmoidShifted(v.data, v.frac, 0), 0, 64);
    return [out(sigmoidCombine(r, v.data.length, v.frac, 0), v.shape, v.frac)];
  },
  MaxPool: ([x], ctx) => {
    // As runtime maxPool computes it: trees of max(a, b) = b + ReLU(a − b), each level's
    // differences compared on the bit window (the full window gives the exact maximum).
    const v = ring(x, ctx);
    const { lo, k } = windowAttrs(ctx);
    return [out(maxPoolWith(v.data, poolParamsOf(ctx.node, v.shape), (diff) => reluWindow(diff, lo, k, ctx.node, ctx.compare)), ctx.outShapes[0], v.frac)];
  },
  AveragePool: ([x], ctx) => {
    const v = ring(x, ctx);
    return [out(avgPool(PLAINTEXT_PARTY, v.data, poolParamsOf(ctx.node, v.shape), ctx.attr<number>('count_include_pad') === 1, false, ctx.attr<number>('divide_bits')), ctx.outShapes[0], v.frac)];
  },
  GlobalAveragePool: ([x], ctx) => {
    const v = ring(x, ctx);
    const [n, c, h, w] = v.shape;
    return [out(local.globalAveragePool(PLAINTEXT_PARTY, v.data, { inShape: [n, c, h, w], divideBits: ctx.attr<number>('divide_bits') }), ctx.outShapes[0], v.frac)];
  },
  Concat: (inputs, ctx) => {
    const vs = inputs.map((v) => ring(v, ctx));
    if (vs.some((v) => v.frac !== vs[0].frac)) throw new InternalError(`fixed-point interpreter: Concat '${ctx.node.name}' joins values of different scales`);
    return [out(local.concat(vs.map((v) => v.data), concatParamsOf(ctx.node, vs.map((v) => v.shape))), ctx.outShapes[0], vs[0].frac)];
  },
  Transpose: ([x], ctx) => {
    const v = ring(x, ctx);
    return [out(local.transpose(v.data, transposeParamsOf(ctx.node, v.shape)), ctx.outShapes[0], v.frac)];
  },
  Pad: ([x], ctx) => {
    const v = ring(x, ctx);
    if (ctx.attr<number>('value') !== 0) throw new InternalError(`fixed-point interpreter: Pad '${ctx.node.name}' pads with a non-zero value`);
    return [out(local.pad(v.data, padParamsOf(ctx.node, v.shape)), ctx.outShapes[0], v.frac)];
  },
  Slice: ([x], ctx) => {
    const v = ring(x, ctx);
    return [out(local.slice(v.data, sliceParamsOf(ctx.node, v.shape)), ctx.outShapes[0], v.frac)];
  },
  Resize: ([x], ctx) => {
    const v = ring(x, ctx);
    const map = local.resizeMap(resizeParamsOf(ctx.node, v.shape, ctx.outShapes[0]));
    return [out(applyPublicLinear(PLAINTEXT_PARTY, v.data, map), ctx.outShapes[0], v.frac)];
  },
  Reshape: noop,
  Flatten: noop,
  Squeeze: noop,
  Unsqueeze: noop,
  Identity: noop,
  Dropout: noop,
};
