// The per-op half of `lower`: the secure node (op, operands, attributes with its cost) that
// takes the place of one quantized op, found by the secure op its facts name (LOWERINGS; an
// elementwise comparison with a COMPARE_COSTS entry needs none). passes/secure/lower.ts walks
// the graph and calls these.
import { diag } from '../../runtime/diagnostics.js';
import { type AttrValue, type Node, makeNode } from '../../ir/graph.js';
import { notSupported } from '../../ir/ops/facts.js';
import { withDefaults } from '../../ir/ops/index.js';
import { poolWindowLimits } from '../../ir/ops/pooling.js';
import { WINDOW_ATTRS, windowOf } from '../../ir/ops/window.js';
import type { Tensor } from '../../ir/tensor.js';
import { type TensorType, numel } from '../../ir/types.js';
import { InternalError } from '../../runtime/diagnostics.js';
import { poolOutShape, type PoolParams } from '../../runtime/ring/windows.js';
import { maxPoolLevels } from '../../runtime/protocols/maxpool.js';
import { normalizeGemm } from '../quantize/quantize-gemm.js';
import { type BlockCount, COMPARE_COSTS, SECURE_COSTS, type WeightSizes, costAttrs } from './secure-costs.js';
import { blockDrelus, blockSelected, blockSizesFrom } from '../../ir/ops/block-relu.js';

/** What the per-op lowerings need of the graph being lowered. */
export interface LowerContext {
  type(value: string): TensorType;
  constant(value: string): Tensor | undefined;
  /** The activations' fractional bits (the graph input's encoding). */
  readonly frac: number;
  /** Defines a new constant under a fresh name derived from `base`; returns the name. */
  addConstant(base: string, t: Tensor): string;
}


/** A weight product's operands and attributes in SecureWeights form. */
export interface WeightsForm {
  readonly inputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly sizes: WeightSizes;
}

/** Conv/Gemm/MatMul as a product x · W (+ B) with constant W and B; a Gemm quantize did not
 * normalize (a quantized graph written by hand) is normalized here, by quantize's function. */
export function weightsForm(node: Node, cx: LowerContext): WeightsForm {
  const [x, w, b] = node.inputs;
  const need = (v: string): Tensor => {
    const t = cx.constant(v);
    if (!t) throw diag('MPCC6022', [node.name, node.op, v]);
    return t;
  };
  if (cx.constant(x)) throw notSupported(node, `its activation operand '${x}' is a constant (weights on the left are not supported)`);
  const sizesWith = (wt: Tensor) => ({ xSize: numel(cx.type(x).shape), ySize: numel(cx.type(node.outputs[0]).shape), wSize: wt.size });
  if (node.op === 'Conv') {
    const wt = need(w);
    if (b) need(b);
    const a = withDefaults(node);
    const attrs = { kind: 'conv', strides: a.strides, pads: a.pads, dilations: a.dilations, group: a.group };
    return { inputs: b ? [x, w, b] : [x, w], attrs, sizes: sizesWith(wt) };
  }
  if (node.op === 'MatMul') {
    const wt = need(w);
    if (wt.shape.length !== 2) throw notSupported(node, `weights of shape [${wt.shape.join(',')}] (only 2-D weights are supported)`);
    return { inputs: [x, w], attrs: { kind: 'matmul' }, sizes: sizesWith(wt) };
  }
  need(w);
  if (b) need(b);
  const gemm = normalizeGemm(node, { constant: cx.constant, fold: (of, t) => cx.addConstant(`${of}_folded`, t) }, (why) => notSupported(node, why));
  return { inputs: gemm.inputs, attrs: { kind: 'matmul' }, sizes: sizesWith(need(gemm.inputs[1])) };
}

/** A Conv/Gemm/MatMul as SecureWeights. */
export function lowerWeights(node: Node, cx: LowerContext): Node {
  const f = weightsForm(node, cx);
  return makeNode('SecureWeights', node.name, f.inputs, node.outputs, { ...f.attrs, ...costAttrs(SECURE_COSTS.SecureWeights(f.sizes)) });
}

/** A Relu or BlockRelu and the weight product reading its output, fused: results
 * (activation, product); a BlockRelu's blocks ride along (protocol blockReluThenWeights). */
export function lowerReluWeights(relu: Node, product: Node, cx: LowerContext): Node {
  const f = weightsForm(product, cx);
  const { lo, k } = windowOf(relu);
  const shape = cx.type(relu.inputs[0]).shape;
  const inputs = [relu.inputs[0], ...f.inputs.slice(1)];
  const blocks = relu.op === 'BlockRelu' ? (withDefaults(relu).blocks as number[]) : undefined;
  const cost = SECURE_COSTS.SecureReluWeights(numel(shape), k, lo, f.sizes, blocks && blockCount(shape, blocks));
  return makeNode('SecureReluWeights', `${relu.name}+${product.name}`, inputs, [relu.outputs[0], product.outputs[0]], {
    window_lo: lo,
    window_k: k,
    ...(blocks ? { blocks } : {}),
    ...f.attrs,
    ...costAttrs(cost),
  });
}

/** Tiles and selected elements of a block-ReLU over `shape` with the `blocks` attribute. */
export function blockCount(shape: readonly number[], blocks: readonly number[]): BlockCount {
  const sizes = blockSizesFrom(blocks);
  return { patches: blockDrelus(shape, sizes), selected: blockSelected(shape, sizes) };
}

/** A BlockRelu as SecureBlockRelu: its blocks, its bit window, one comparison per tile. */
export function lowerBlockRelu(node: Node, cx: LowerContext): Node {
  const blocks = withDefaults(node).blocks as number[];
  const { lo, k } = windowOf(node);
  const cost = SECURE_COSTS.SecureBlockRelu(blockCount(cx.type(node.inputs[0]).shape, blocks), k);
  return makeNode('SecureBlockRelu', node.name, node.inputs, node.outputs, { blocks, window_lo: lo, window_k: k, ...narrowRingOf(node), ...costAttrs(cost) });
}

/** An elementwise comparison (Relu, Clip) as its secure op `op`: the op's public attributes
 * (Clip's min and max), its bit window and the cost of COMPARE_COSTS[op]. */
export function lowerCompare(node: Node, op: string, cx: LowerContext): Node {
  const cost = COMPARE_COSTS[op];
  if (!cost) throw new InternalError(`lower: '${op}' (for ${node.op}) has no lowering and no COMPARE_COSTS entry`);
  const attrs: Record<string, AttrValue> = {};
  for (const [key, value] of Object.entries(withDefaults(node))) if (!(key in WINDOW_ATTRS)) attrs[key] = value;
  const { lo, k } = windowOf(node);
  return makeNode(op, node.name, node.inputs, node.outputs, { ...attrs, window_lo: lo, window_k: k, ...narrowRingOf(node), ...costAttrs(cost(numel(cx.type(node.inputs[0]).shape), k, lo)) });
}

/** A comparison's smaller rings (window_ring, copy_ring, set by --ring auto), kept when set. */
function narrowRingOf(node: Node): { window_ring?: number; copy_ring?: number } {
  const a = withDefaults(node);
  const r = a.window_ring as number | undefined;
  const c = a.copy_ring as number | undefined;
  return { ...(r ? { window_ring: r } : {}), ...(c ? { copy_ring: c } : {}) };
}

/** A MaxPool as SecureMaxPool. ceil_mode is resolved into extra end padding (padding never
 * joins a window, so the windows are the same), so the attributes are the runtime's PoolParams. */
export function lowerMaxPool(node: Node, cx: LowerContext): Node {
  const a = withDefaults(node);
  const why = poolWindowLimits(node, { constant: cx.constant, type: cx.type });
  if (why) throw notSupported(node, why);
  const inShape = cx.type(node.inputs[0]).shape as [number, number, number, number];
  const out = cx.type(node.outputs[0]).shape;
  const kernel = a.kernel_shape as [number, number], strides = a.strides as [number, number];
  const pads = [...(a.pads as number[])] as [number, number, number, number];
  for (let ax = 0; ax < 2; ax++) pads[ax + 2] += Math.max(0, (out[ax + 2] - 1) * strides[ax] + kernel[ax] - (inShape[ax + 2] + pads[ax] + pads[ax + 2]));
  const params: PoolParams = { inShape, kernel, strides, pads };
  const got = poolOutShape(params);
  if (got.join(',') !== out.join(',')) throw notSupported(node, `its windows give [${got.join(',')}], not [${out.join(',')}]`);
  const levels = maxPoolLevels(params);
  const { lo, k } = windowOf(node);
  return makeNode('SecureMaxPool', node.name, node.inputs, node.outputs, {
    kernel_shape: kernel,
    strides,
    pads,
    window_lo: lo,
    window_k: k,
    levels,
    ...costAttrs(SECURE_COSTS.SecureMaxPool(levels, k, lo)),
  });
}

/** A FixedInput as SecureInput. */
export function lowerInput(node: Node, cx: LowerContext): Node {
  const frac = withDefaults(node).frac as number;
  return makeNode('SecureInput', node.name, node.inputs, node.outputs, { frac, ...costAttrs(SECURE_COSTS.SecureInput(numel(cx.type(node.inputs[0]).shape))) });
}

/** The SecureReveal of value `share` to the client as `revealed`. */
export function revealNode(name: string, share: string, revealed: string, frac: number, cx: LowerContext): Node {
  return makeNode('SecureReveal', name, [share], [revealed], { frac, ...costAttrs(SECURE_COSTS.SecureReveal(numel(cx.type(share).shape))) });
}

/** A Mul of two activations as SecureMul (a product with a constant is quantize's weight layer). */
export function lowerMul(node: Node, cx: LowerContext): Node {
  const [a, b] = node.inputs;
  if (cx.constant(a) || cx.constant(b)) throw notSupported(node, 'quantize turns a product with a constant into a weight layer (run quantize first)');
  const size = (v: string) => numel(cx.type(v).shape);
  return makeNode('SecureMul', node.name, node.inputs, node.outputs, costAttrs(SECURE_COSTS.SecureMul(size(a), size(b), size(node.outputs[0]))));
}

/** A HardSigmoid as SecureHardSigmoid (its alpha and beta are public: they ride along). */
export function lowerHardSigmoid(node: Node, cx: LowerContext): Node {
  const a = withDefaults(node);
  return makeNode('SecureHardSigmoid', node.name, node.inputs, node.outputs, { alpha: a.alpha, beta: a.beta, ...costAttrs(SECURE_COSTS.SecureHardSigmoid(numel(cx.type(node.inputs[0]).shape), cx.frac)) });
}

/** A Sigmoid as SecureSigmoid (the piecewise-linear approximation of runtime/protocols/sigmoid.ts). */
export function lowerSigmoid(node: Node, cx: LowerContext): Node {
  return makeNode('SecureSigmoid', node.name, node.inputs, node.outputs, costAttrs(SECURE_COSTS.SecureSigmoid(numel(cx.type(node.inputs[0]).shape))));
}

/** The lowering of each secure op that is not an elementwise comparison, and its statistic. */
export const LOWERINGS: Readonly<Record<string, { readonly lower: (node: Node, cx: LowerContext) => Node; readonly stat?: string }>> = {
  SecureInput: { lower: lowerInput },
  SecureWeights: { lower: lowerWeights, stat: 'products lowered' },
  SecureMaxPool: { lower: lowerMaxPool, stat: 'max-pools lowered' },
  SecureBlockRelu: { lower: lowerBlockRelu, stat: 'block-relus lowered' },
  SecureMul: { lower: lowerMul, stat: 'products of two activations lowered' },
  SecureHardSigmoid: { lower: lowerHardSigmoid, stat: 'hard-sigmoids lowered' },
  SecureSigmoid: { lower: lowerSigmoid, stat: 'sigmoids lowered' },
};
