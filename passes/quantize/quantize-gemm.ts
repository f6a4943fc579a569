// Gemm normalization, done once: after it a Gemm is A @ B + C with A the activation, B a
// constant [K, N] and C absent or a constant [N], and no attributes — the one form the ring
// kernels (runtime matmul with a per-column bias) and the protocols implement. quantize
// normalizes every Gemm; lower calls the same function for quantized graphs written by hand.
import { diag } from '../../runtime/diagnostics.js';
import { type Node, makeNode } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import { Tensor } from '../../ir/tensor.js';
import type { QuantizedGraph } from './quantize-emit.js';

/** What normalizeGemm needs of the graph it rewrites. */
export interface GemmConstants {
  /** The constant tensor of `value`, or undefined for an activation. */
  constant(value: string): Tensor | undefined;
  /** Defines `t`, the folded form of the constant `of`, and returns its name. */
  fold(of: string, t: Tensor): string;
}

/** `node` as an attribute-free Gemm with alpha, beta and transB folded into its constants
 * (MPCC6002 for transA, MPCC6003 for a bias that is not per column, `unsupported` for operands
 * that are not constant weights). */
export function normalizeGemm(node: Node, constants: GemmConstants, unsupported: (why: string) => Error): Node {
  const a = withDefaults(node);
  const [x, bName, cName] = node.inputs;
  if (a.transA === 1) throw diag('MPCC6002', [node.name]);
  const b = constants.constant(bName);
  if (!b) throw unsupported(`operand 1 ('${bName}') must be a constant weight; products of two secret values are not supported`);
  if (constants.constant(x)) throw unsupported('operand 0 must be the activation');
  const alpha = a.alpha as number, beta = a.beta as number, transB = a.transB === 1;
  const [rows, cols] = b.shape;
  const [k, n] = transB ? [cols, rows] : [rows, cols];
  let weights = bName;
  if (alpha !== 1 || transB) {
    const w = new Float32Array(k * n);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) w[i * n + j] = alpha * b.data[transB ? j * cols + i : i * cols + j];
    weights = constants.fold(bName, new Tensor('float32', [k, n], w));
  }
  const inputs = [x, weights];
  if (cName) {
    const c = constants.constant(cName);
    if (!c) throw unsupported(`operand 2 ('${cName}') must be a constant bias`);
    const perColumn = c.size === n && c.shape[c.shape.length - 1] === n;
    if (c.size !== 1 && !perColumn) throw diag('MPCC6003', [node.name, c.shape.join(',')]);
    if (beta !== 0) {
      if (beta === 1 && c.shape.length === 1 && c.size === n) inputs.push(cName);
      else {
        const bias = new Float32Array(n);
        for (let j = 0; j < n; j++) bias[j] = beta * c.data[c.size === 1 ? 0 : j];
        inputs.push(constants.fold(cName, new Tensor('float32', [n], bias)));
      }
    }
  }
  return makeNode('Gemm', node.name, inputs, node.outputs);
}

/** quantize's folding: a folded constant keeps its name when only `source` reads it, else
 * takes a fresh `<name>.folded`. */
export function quantizeGemmConstants(q: QuantizedGraph, source: Node): GemmConstants {
  return {
    constant: (v) => q.constant(v),
    fold: (of, t) => q.defineConstant(q.sharedBeyond(of, source) ? q.freshValue(`${of}.folded`) : of, t),
  };
}
