// The per-op half of `lower`: the secure node (op, operands, attributes with its cost) that
// takes the place of one quantized op. passes/secure/lower.ts walks the graph and calls these.
import { diag } from '../../runtime/diagnostics.js';
import { type AttrValue, type Node, makeNode } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import { Tensor, allocData } from '../../ir/tensor.js';
import { type TensorType, numel } from '../../ir/types.js';
import { poolOutShape, type PoolParams } from '../../runtime/ring/windows.js';
import { maxPoolLevels } from '../../runtime/protocols/maxpool.js';
import { SECURE_COSTS, type WeightSizes, costAttrs } from './secure-costs.js';

/** What the per-op lowerings need of the graph being lowered. */
export interface LowerContext {
  type(value: string): TensorType;
  constant(value: string): Tensor | undefined;
  /** Defines a new constant under a fresh name derived from `base`; returns the name. */
  addConstant(base: string, t: Tensor): string;
}

/** The ops whose product with P1's constant weights becomes SecureWeights. */
export const WEIGHT_OPS: ReadonlySet<string> = new Set(['Conv', 'Gemm', 'MatMul']);

/** Default bit window of a comparison when the op carries none (a full 64-bit compare). */
const DEFAULT_WINDOW = { lo: 0, k: 64 };

/** The bit window an op's attributes ask for (Relu/Clip: window_lo, window_k). */
export function windowOf(node: Node): { lo: number; k: number } {
  const a = withDefaults(node);
  return { lo: (a.window_lo as number | undefined) ?? DEFAULT_WINDOW.lo, k: (a.window_k as number | undefined) ?? DEFAULT_WINDOW.k };
}

/** A weight product's operands and attributes in SecureWeights form. */
export interface WeightsForm {
  readonly inputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly sizes: WeightSizes;
}

/** Conv/Gemm/MatMul as a product x · W (+ B) with constant W and B; Gemm's alpha, beta and
 * transB are folded into new constants (transA, a transposed activation, is refused). */
export function weightsForm(node: Node, cx: LowerContext): WeightsForm {
  const [x, w, b] = node.inputs;
  const need = (v: string): Tensor => {
    const t = cx.constant(v);
    if (!t) throw diag('MPCC6022', [node.name, node.op, v]);
    return t;
  };
  if (cx.constant(x)) throw diag('MPCC6001', [node.name, node.op, `its activation operand '${x}' is a constant (weights on the left are not supported)`]);
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
    if (wt.shape.length !== 2) throw diag('MPCC6001', [node.name, node.op, `weights of shape [${wt.shape.join(',')}] (only 2-D weights are supported)`]);
    return { inputs: [x, w], attrs: { kind: 'matmul' }, sizes: sizesWith(wt) };
  }
  const a = withDefaults(node);
  if (a.transA) throw diag('MPCC6001', [node.name, node.op, 'transA = 1 (a transposed activation)']);
  let wt = need(w);
  let wName = w;
  const alpha = a.alpha as number, beta = a.beta as number;
  if (a.transB || alpha !== 1) {
    wt = scaled(a.transB ? transposed(wt) : wt, alpha);
    wName = cx.addConstant(`${w}_folded`, wt);
  }
  let bName = b;
  if (b) {
    const bt = need(b);
    if (beta !== 1) bName = cx.addConstant(`${b}_folded`, scaled(bt, beta));
  }
  return { inputs: bName ? [x, wName, bName] : [x, wName], attrs: { kind: 'matmul' }, sizes: sizesWith(wt) };
}

/** A Conv/Gemm/MatMul as SecureWeights. */
export function lowerWeights(node: Node, cx: LowerContext): Node {
  const f = weightsForm(node, cx);
  return makeNode('SecureWeights', node.name, f.inputs, node.outputs, { ...f.attrs, ...costAttrs(SECURE_COSTS.SecureWeights(f.sizes)) });
}

/** A Relu and the weight product reading its output, fused: results (activation, product). */
export function lowerReluWeights(relu: Node, product: Node, cx: LowerContext): Node {
  const f = weightsForm(product, cx);
  const { lo, k } = windowOf(relu);
  const n = numel(cx.type(relu.outputs[0]).shape);
  const inputs = [relu.inputs[0], ...f.inputs.slice(1)];
  const cost = SECURE_COSTS.SecureReluWeights(n, k, lo, f.sizes);
  return makeNode('SecureReluWeights', `${relu.name}+${product.name}`, inputs, [relu.outputs[0], product.outputs[0]], {
    window_lo: lo,
    window_k: k,
    ...f.attrs,
    ...costAttrs(cost),
  });
}

/** A Relu as SecureRelu. */
export function lowerRelu(node: Node, cx: LowerContext): Node {
  const { lo, k } = windowOf(node);
  const cost = SECURE_COSTS.SecureRelu(numel(cx.type(node.inputs[0]).shape), k, lo);
  return makeNode('SecureRelu', node.name, node.inputs, node.outputs, { window_lo: lo, window_k: k, ...costAttrs(cost) });
}

/** A Clip as SecureClip (min and max are public). */
export function lowerClip(node: Node, cx: LowerContext): Node {
  const a = withDefaults(node);
  const { lo, k } = windowOf(node);
  const cost = SECURE_COSTS.SecureClip(numel(cx.type(node.inputs[0]).shape), k, lo);
  return makeNode('SecureClip', node.name, node.inputs, node.outputs, { min: a.min, max: a.max, window_lo: lo, window_k: k, ...costAttrs(cost) });
}

/** A MaxPool as SecureMaxPool. ceil_mode is resolved into extra end padding (padding never
 * joins a window, so the windows are the same), so the attributes are the runtime's PoolParams. */
export function lowerMaxPool(node: Node, cx: LowerContext): Node {
  const a = withDefaults(node);
  const dil = a.dilations as readonly number[];
  if (dil.some((d) => d !== 1)) throw diag('MPCC6001', [node.name, node.op, `dilations [${dil.join(', ')}] (only undilated max-pools are supported)`]);
  const inShape = cx.type(node.inputs[0]).shape as [number, number, number, number];
  const out = cx.type(node.outputs[0]).shape;
  const kernel = a.kernel_shape as [number, number], strides = a.strides as [number, number];
  const pads = [...(a.pads as number[])] as [number, number, number, number];
  for (let ax = 0; ax < 2; ax++) pads[ax + 2] += Math.max(0, (out[ax + 2] - 1) * strides[ax] + kernel[ax] - (inShape[ax + 2] + pads[ax] + pads[ax + 2]));
  const params: PoolParams = { inShape, kernel, strides, pads };
  const got = poolOutShape(params);
  if (got.join(',') !== out.join(',')) throw diag('MPCC6001', [node.name, node.op, `its windows give [${got.join(',')}], not [${out.join(',')}]`]);
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

function transposed(t: Tensor): Tensor {
  const [r, c] = t.shape;
  const data = allocData(t.dtype, t.size);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = t.data[i * c + j];
  return new Tensor(t.dtype, [c, r], data);
}

function scaled(t: Tensor, s: number): Tensor {
  if (s === 1) return t;
  const data = allocData(t.dtype, t.size);
  for (let i = 0; i < data.length; i++) data[i] = t.data[i] * s;
  return new Tensor(t.dtype, t.shape, data);
}
