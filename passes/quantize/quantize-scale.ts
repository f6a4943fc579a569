// Products of an activation with a constant that is not a Conv/Gemm/MatMul weight (Mul, Div by
// a constant, a standalone BatchNormalization) become weight layers for quantize: the constant
// is the server's secret like any weight, so the product must go through the weights protocol
// and cannot be a local scaling (which would need the client to know the constant). A scale per
// channel of an NCHW map becomes a depthwise 1×1 Conv (its bias carries a BN's shift); a scale
// along the last axis becomes a MatMul with a diagonal matrix.
import { type Node, makeNode } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import type { QuantizedGraph } from './quantize-emit.js';

/** The constant as one value per index of `axis` of an activation of shape `shape`, or undefined when it varies along another axis. */
export function alongAxis(c: Tensor, shape: readonly number[], axis: number): Float32Array | undefined {
  const lead = shape.length - c.shape.length;
  if (lead < 0) return undefined;
  for (let a = 0; a < c.shape.length; a++) if (a + lead !== axis && c.shape[a] !== 1) return undefined;
  const n = shape[axis], here = axis - lead >= 0 ? c.shape[axis - lead] : 1;
  if (here !== 1 && here !== n) return undefined;
  return Float32Array.from({ length: n }, (_, i) => c.data[here === 1 ? 0 : i]);
}

/**
 * The weight layer computing x·c (+ shift per channel: NCHW maps only) named `node.name` with
 * result `result` (not yet added), or undefined when c is neither per channel nor per column.
 */
export function scaleAsWeights(q: QuantizedGraph, node: Node, x: string, c: Tensor, shift: Float32Array | undefined, result: string): { node: Node } | undefined {
  const shape = q.type(x).shape;
  const perChannel = shape.length === 4 ? alongAxis(c, shape, 1) : undefined;
  if (perChannel) {
    const channels = shape[1];
    const w = q.defineConstant(q.freshValue(`${node.name}.weight`), new Tensor('float32', [channels, 1, 1, 1], perChannel));
    const inputs = [x, w];
    if (shift) inputs.push(q.defineConstant(q.freshValue(`${node.name}.bias`), new Tensor('float32', [channels], shift)));
    const attrs = { dilations: [1, 1], group: channels, pads: [0, 0, 0, 0], strides: [1, 1] };
    return { node: makeNode('Conv', node.name, inputs, [result], attrs) };
  }
  const last = shape.length - 1;
  const perColumn = shape.length >= 2 ? alongAxis(c, shape, last) : undefined;
  if (!perColumn) return undefined;
  const n = shape[last];
  const diag = new Float32Array(n * n);
  for (let i = 0; i < n; i++) diag[i * n + i] = perColumn[i];
  const w = q.defineConstant(q.freshValue(`${node.name}.weight`), new Tensor('float32', [n, n], diag));
  return { node: makeNode('MatMul', node.name, [x, w], [result]) };
}
