// The step library: what each kind of program step does on this party's shares. Every
// kind calls the runtime's protocols (runtime/protocols), local kernels or a model's
// specialized kernels (runtime/kernels/model-kernels.ts, with generic fallbacks); the compiler only
// chooses kinds and parameters. P2 runs every step on placeholder vectors.

import { decode, encode, scale } from '../ring/ring.js';
import { InternalError, runtimeError } from '../diagnostics.js';
import { truncateExact, truncateExactOnline, type TruncationDealing } from '../protocols/truncate-exact.js';
import { addShares, applyWeightsMasked, applyWeightsSharedMask, avgPool, blockRelu, blockReluThenWeights, clip, convMap, hardSigmoid, matmulMap, maxPool, mulBroadcast, relu, reluThenWeights, revealToClient, shareInput, sigmoid, subShares } from '../protocols/index.js';
import { applyWeightsClientOffline, preparedCorrection } from '../protocols/weights.js';
import { AVG_SHIFT } from '../protocols/linear.js';
import { helperSelect, type HelperSelectDealing, type HelperSelectSpec } from '../protocols/helper-select.js';
import { truncateClientOffline, type TruncateClientOfflineDealing } from '../protocols/truncate-client-offline.js';
import { addRepeating, truncateShare, type RepeatingConstant } from '../kernels/model-kernels.js';
import type { BilinearMap, BitWindow, BlockSize, ProductShapes, WeightKey } from '../protocols/index.js';
import type { PoolParams } from '../ring/windows.js';
import type { Session } from '../session/session.js';
import { ringWidthBytes } from '../protocols/wire.js';
import type { MapSpec } from './program.js';
import { broadcast, concat, globalAveragePool, pad, resize, slice, transpose } from '../local/index.js';
import type { BroadcastParams, ConcatParams, GlobalPoolParams, PadParams, ResizeParams, SliceParams, TransposeParams } from '../local/index.js';

/** What a step sees besides its inputs. */
export interface StepContext {
  session: Session;
  frac: number;
  params: Record<string, unknown>;
  /** Weight keys of the one-time setup, by layer name. */
  keys: Map<string, WeightKey>;
  /** P1: its encoded constants by key; others: empty. */
  weights: Map<string, BigUint64Array>;
  /** P0: the client's input (reals); others: null. */
  input: ArrayLike<number> | null;
  /** P0: revealed values (decoded), filled by 'reveal' steps. */
  revealed: Map<string, Float64Array>;
  /** The step's name (for errors). */
  step?: string;
}

/** A step kind: shares in, shares out. */
export type StepFn = (ctx: StepContext, inputs: BigUint64Array[]) => Promise<BigUint64Array[]> | BigUint64Array[];

/** A ring map of a layer from its spec, in a program on Z_2^ring (`ring` its bits, absent: 64). */
export function bilinearMap(spec: MapSpec, ring = 64): BilinearMap {
  return spec.kind === 'conv' ? convMap(spec.conv, undefined, ring) : matmulMap(spec.m, spec.k, spec.n);
}

function key(ctx: StepContext): WeightKey {
  const k = ctx.keys.get(String(ctx.params.layer));
  if (!k) throw runtimeError('MPCC5204', [String(ctx.params.layer)]);
  return k;
}

/** P1's constant `name` (weights.bin) as it repeats over a vector of `n` elements, or
 * undefined for the other parties and when the step names none. */
function p1Constant(ctx: StepContext, n: number, name: unknown): RepeatingConstant | undefined {
  if (ctx.session.id !== 1 || name === undefined || name === null) return undefined;
  const c = ctx.weights.get(String(name));
  if (!c) throw runtimeError('MPCC5205', [String(name)]);
  // Constants repeat over the trailing positions: a bias of O values over [N, O, H, W] when
  // `inner` = H·W, or over rows of a matmul (inner = 1, repeating every O).
  const inner = Number(ctx.params.inner ?? 1);
  if (!Number.isInteger(n / c.length) || !Number.isInteger(inner) || inner < 1) throw runtimeError('MPCC5205', [`${String(name)} (${c.length} values for ${n} elements, inner ${inner})`]);
  return { values: c, inner };
}

/** P1 adds its (secret) constant; the others keep their share. */
function plusP1Constant(ctx: StepContext, y: BigUint64Array, name: unknown): BigUint64Array {
  const c = p1Constant(ctx, y.length, name);
  return c ? addRepeating(y, c) : y;
}

/** The operands broadcast to the step's `outShape` where its `shapes` say they differ (local:
 * each party repeats its own share). */
function broadcastOperands(ctx: StepContext, xs: BigUint64Array[]): BigUint64Array[] {
  const shapes = ctx.params.shapes as number[][] | undefined, outShape = ctx.params.outShape as number[] | undefined;
  if (!shapes || !outShape) return xs;
  return xs.map((x, i) => (shapes[i].join() === outShape.join() ? x : broadcast(x, { shape: shapes[i], outShape })));
}

const window = (ctx: StepContext): BitWindow => ctx.params.window as BitWindow;

/** A 'helperSelect' step's protocol parameters (validate.ts checks them). */
export function helperSelectSpec(params: Record<string, unknown>): HelperSelectSpec {
  const spec: HelperSelectSpec = { n: Number(params.size), bits: Number(params.bits), window: params.window as BitWindow };
  if (params.ring !== undefined) spec.ring = Number(params.ring);
  if (params.copyRing !== undefined) spec.copyRing = Number(params.copyRing);
  if (params.shape) spec.shape = params.shape as [number, number, number, number];
  if (params.blocks) spec.blocks = params.blocks as BlockSize[];
  return spec;
}

/** A 'truncateClientOffline' step's operand: with `lift` (a SecureLift), each share shifted up by
 * `bits`, so that the exact truncation by `bits` sign-extends the value of the smaller ring
 * Z_2^(ring − bits) it was computed in (exact while |x| < 2^(ring − bits − 2)). */
export function liftInput(params: Record<string, unknown>, v: BigUint64Array): BigUint64Array {
  return params.lift === true ? scale(v, 1n << BigInt(Number(params.bits))) : v;
}

/** A client-offline step's dealing from the offline phase (client-offline-pass.ts); without
 * one, MPCC5053 naming the step (never a fallback: P0's share was computed offline). */
function clientOfflineDealing<T>(ctx: StepContext, kind: string): T {
  const d = ctx.session.prepared?.('clientOffline') as T | undefined;
  if (!d) throw runtimeError('MPCC5053', [ctx.step ?? '(unnamed)', kind]);
  return d;
}

/** The step kinds' names: what a program step's `kind` may be (an op's facts name its kind, ir/ops/facts.ts). */
export type StepKind =
  | 'input' | 'reveal' | 'weights' | 'weightsSharedMask' | 'reluWeights' | 'relu' | 'blockRelu' | 'clip' | 'maxPool' | 'avgPool' | 'truncate'
  | 'add' | 'sub' | 'addConst' | 'identity' | 'transpose' | 'slice' | 'concat' | 'pad' | 'broadcast' | 'resize' | 'globalAvgPool'
  | 'mul' | 'hardSigmoid' | 'sigmoid' | 'truncateExact' | 'truncateExactOnline'
  | 'weightsClientOffline' | 'helperSelect' | 'truncateClientOffline';

/** The step kinds by name. */
export const STEP_KINDS: Record<StepKind, StepFn> = {
  /** P0 encodes its input at frac bits and shares it (no message). */
  input: (ctx) => {
    const n = Number(ctx.params.size);
    const x = ctx.session.id === 0 ? encode(ctx.input!, ctx.frac) : null;
    return [shareInput(ctx.session, x, n)];
  },
  /** The value to P0, decoded (frac bits) into `revealed`. */
  reveal: async (ctx, [x]) => {
    const v = await revealToClient(ctx.session, x, ringWidthBytes(ctx.params.ring));
    if (v) ctx.revealed.set(String(ctx.params.value), decode(v, Number(ctx.params.frac ?? ctx.frac)));
    return [];
  },
  /** Product with P1's weights (2·frac bits), plus P1's bias encoded at 2·frac; with
   * `keepMasked`, also what the products sharing its mask read (P1: x − A; P0, P2: A). */
  weights: async (ctx, [x]) => {
    const r = await applyWeightsMasked(ctx.session, key(ctx), x);
    const product = plusP1Constant(ctx, r.product, ctx.params.bias);
    return ctx.params.keepMasked === true ? [product, r.kept] : [product];
  },
  /** Product with P1's weights of an activation whose masked copy the step `maskFrom` brought
   * to P1 (its `keepMasked` result, the operand): the same mask A, no message from P0. */
  weightsSharedMask: async (ctx, [kept]) => [plusP1Constant(ctx, await applyWeightsSharedMask(ctx.session, key(ctx), kept), ctx.params.bias)],
  /** The client-offline mode's product (weights.ts applyWeightsClientOffline) of an activation
   * whose P0 share was known offline: no round; P1 adds the bias, as for 'weights'. */
  weightsClientOffline: async (ctx, [y]) => {
    const k = key(ctx);
    const d = clientOfflineDealing<Parameters<typeof applyWeightsClientOffline>[3]>(ctx, 'weightsClientOffline');
    const correction = ctx.session.id === 1 ? preparedCorrection(ctx.session, k.map.ySize) : undefined;
    return [plusP1Constant(ctx, await applyWeightsClientOffline(ctx.session, k, y, d, correction), ctx.params.bias)];
  },
  /** The client-offline mode's optional exact truncation, optional residual and (block-)ReLU, the
   * helper selecting (helper-select.ts): inputs [v] or [v, res]; P0 returns its offline share. */
  helperSelect: async (ctx, [v, res]) => [await helperSelect(ctx.session, helperSelectSpec(ctx.params), v, res ?? null, clientOfflineDealing<HelperSelectDealing>(ctx, 'helperSelect'))],
  /** The client-offline mode's exact truncation where no selection follows
   * (truncate-client-offline.ts): two rounds, P0's pads offline. */
  truncateClientOffline: async (ctx, [v]) => [await truncateClientOffline(ctx.session, liftInput(ctx.params, v), Number(ctx.params.bits), clientOfflineDealing<TruncateClientOfflineDealing>(ctx, 'truncateClientOffline'))],
  /** ReLU then the next weight layer in the ReLU's rounds: activation and product (and, with
   * `keepMasked`, P1's masked activation, as for 'weights'). */
  reluWeights: async (ctx, [x]) => {
    const blocks = ctx.params.blocks as BlockSize[] | undefined;
    const shape = ctx.params.shape as [number, number, number, number] | undefined;
    const r = blocks && shape ? await blockReluThenWeights(ctx.session, x, shape, blocks, window(ctx), key(ctx)) : await reluThenWeights(ctx.session, x, window(ctx), key(ctx));
    const product = plusP1Constant(ctx, r.product, ctx.params.bias);
    return ctx.params.keepMasked === true ? [r.activation, product, r.kept] : [r.activation, product];
  },
  relu: async (ctx, [x]) => [await relu(ctx.session, x, window(ctx))],
  /** Block-ReLU over NCHW `shape`, one block size per channel (identity channels pass unchanged). */
  blockRelu: async (ctx, [x]) => [await blockRelu(ctx.session, x, ctx.params.shape as [number, number, number, number], ctx.params.blocks as BlockSize[], window(ctx))],
  clip: async (ctx, [x]) => {
    const [lo, hi] = encode([Number(ctx.params.min), Number(ctx.params.max)], ctx.frac);
    return [await clip(ctx.session, x, lo, hi, window(ctx))];
  },
  maxPool: async (ctx, [x]) => [await maxPool(ctx.session, x, ctx.params.pool as PoolParams, window(ctx))],
  avgPool: (ctx, [x]) => [avgPool(ctx.session, x, ctx.params.pool as PoolParams, Boolean(ctx.params.countIncludePad), Boolean(ctx.params.untruncated), (ctx.params.divideBits as number | undefined) ?? AVG_SHIFT)],
  /** Share truncation; P1 first adds the bias the compiler moved here from the product's step
   * (in one pass, by the model's fused kernel). P2 holds no share: zeros. */
  truncate: (ctx, [x]) => {
    const id = ctx.session.id;
    if (id === 2) return [new BigUint64Array(x.length)];
    return [truncateShare(x, Number(ctx.params.bits), id, p1Constant(ctx, x.length, ctx.params.bias))];
  },
  /** Exact truncation after a product with P1's weights (runtime/protocols/truncate-exact.ts):
   * its dealing comes from the offline phase (offline.ts); P1 adds the moved bias first. */
  truncateExact: async (ctx, [x]) => {
    const d = ctx.session.prepared?.('trunc') as TruncationDealing | undefined;
    if (!d) throw new InternalError(`exact truncation step without its offline dealing (bits ${String(ctx.params.bits)})`);
    return [await truncateExact(ctx.session, plusP1Constant(ctx, x, ctx.params.bias), Number(ctx.params.bits), d)];
  },
  /** Exact truncation where P0's share is input-dependent (after a product of two activations):
   * a bit triple the step deals itself, one round (truncate-exact.ts truncateExactOnline). */
  truncateExactOnline: async (ctx, [x]) => [await truncateExactOnline(ctx.session, plusP1Constant(ctx, x, ctx.params.bias), Number(ctx.params.bits))],
  /** Sum of two activations; with `shapes` and `outShape`, each operand first broadcast (numpy rules). */
  add: (ctx, [a, b]) => {
    const [x, y] = broadcastOperands(ctx, [a, b]);
    return [addShares(x, y)];
  },
  sub: (ctx, [a, b]) => {
    const [x, y] = broadcastOperands(ctx, [a, b]);
    return [subShares(x, y)];
  },
  /** Add a model constant (P1's, encoded at `frac`) to an activation (broadcast first with
   * `shapes` and `outShape`; negated first with `negate`: a constant minus an activation). */
  addConst: (ctx, [a]) => {
    const [x] = broadcastOperands(ctx, [a]);
    const y = x === a ? x.slice() : x;
    if (ctx.params.negate === true) for (let i = 0; i < y.length; i++) y[i] = BigInt.asUintN(64, -y[i]);
    return [plusP1Constant(ctx, y, ctx.params.constant)];
  },
  /** Data movement that keeps the values (Reshape, Flatten, Squeeze, Unsqueeze). */
  identity: (_ctx, [x]) => [x],
  // Local kernels of runtime/local, on this party's share.
  transpose: (ctx, [x]) => [transpose(x, ctx.params as unknown as TransposeParams)],
  slice: (ctx, [x]) => [slice(x, ctx.params as unknown as SliceParams)],
  concat: (ctx, xs) => [concat(xs, ctx.params as unknown as ConcatParams)],
  pad: (ctx, [x]) => [pad(x, ctx.params as unknown as PadParams)],
  broadcast: (ctx, [x]) => [broadcast(x, ctx.params as unknown as BroadcastParams)],
  resize: (ctx, [x]) => [resize(ctx.session, x, ctx.params as unknown as ResizeParams)],
  globalAvgPool: (ctx, [x]) => [globalAveragePool(ctx.session, x, ctx.params as unknown as GlobalPoolParams)],
  /** Product of two activations with broadcasting (2·frac bits; a truncate step follows). */
  mul: async (ctx, [x, y]) => [await mulBroadcast(ctx.session, x, y, ctx.params as unknown as ProductShapes)],
  /** max(0, min(1, alpha·x + beta)): local affine map, then Clip to [0, 1]. */
  hardSigmoid: async (ctx, [x]) => [await hardSigmoid(ctx.session, x, Number(ctx.params.alpha), Number(ctx.params.beta), ctx.frac)],
  /** The piecewise-linear sigmoid of runtime/protocols/sigmoid.ts. */
  sigmoid: async (ctx, [x]) => [await sigmoid(ctx.session, x, ctx.frac)],
};

/** The step function of a kind (MPCC5206 for an unknown one). */
export function stepKind(kind: string): StepFn {
  const fn = Object.hasOwn(STEP_KINDS, kind) ? STEP_KINDS[kind as StepKind] : undefined;
  if (!fn) throw runtimeError('MPCC5206', [kind]);
  return fn;
}
