// The plaintext interpreter's driver: runs a graph node by node on concrete tensors, in
// float32 or float64, freeing intermediates after their last use.
import type { Graph, Node } from '../graph.js';
import { diag } from '../../runtime/diagnostics.js';
import { attrOf, lookupOp } from '../ops/index.js';
import { Tensor, castTensor } from '../tensor.js';
import type { TensorType } from '../types.js';
import { type Precision, lookupKernel } from './kernels.js';

/** Options of a plaintext run. */
export interface RunOptions {
  precision?: Precision;
  /** Extra values to keep and return besides the graph outputs. */
  keep?: readonly string[];
  /** Called after each node (progress, tracing). */
  onNode?: (node: Node, index: number, results: readonly Tensor[]) => void;
}

/** Runs `g` on `inputs` (by input name) and returns the outputs (and kept values) by name. */
export function runGraph(g: Graph, inputs: Record<string, Tensor> | Map<string, Tensor>, opts: RunOptions = {}): Map<string, Tensor> {
  const precision = opts.precision ?? 'float32';
  const env = new Map<string, Tensor>();
  const given = inputs instanceof Map ? inputs : new Map(Object.entries(inputs));
  for (const name of g.inputs) {
    const t = given.get(name);
    if (!t) throw diag('MPCC3004', ['<inputs>', '-', `missing input '${name}'`]);
    env.set(name, asPrecision(t, precision));
  }
  const keep = new Set([...g.outputs, ...(opts.keep ?? [])]);
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((v) => v && lastUse.set(v, i)));
  g.nodes.forEach((node, index) => {
    const kernel = lookupKernel(node.op);
    if (!kernel) throw diag('MPCC3004', [node.name, node.op, 'no interpreter kernel for this op']);
    const operands = node.inputs.map((v) => {
      if (!v) return undefined;
      const t = env.get(v) ?? g.constants.get(v);
      if (!t) throw diag('MPCC3004', [node.name, node.op, `operand '${v}' has no value`]);
      return t.dtype === 'float32' || t.dtype === 'float64' ? asPrecision(t, precision) : t;
    });
    const def = lookupOp(node.op);
    const outputTypes: TensorType[] = node.outputs.map((o) => withPrecision(g.types.get(o)!, precision));
    const results = kernel(operands, { node, attr: (name) => attrOf(node, def, name), outputTypes, precision });
    node.outputs.forEach((o, i) => env.set(o, results[i]));
    opts.onNode?.(node, index, results);
    for (const v of node.inputs) if (v && lastUse.get(v) === index && !keep.has(v)) env.delete(v);
  });
  const out = new Map<string, Tensor>();
  for (const name of keep) {
    const t = env.get(name) ?? g.constants.get(name);
    if (t) out.set(name, t);
  }
  return out;
}

function withPrecision(t: TensorType, p: Precision): TensorType {
  return t.dtype === 'float32' || t.dtype === 'float64' ? { dtype: p, shape: t.shape } : t;
}

function asPrecision(t: Tensor, p: Precision): Tensor {
  return t.dtype === 'float32' || t.dtype === 'float64' ? castTensor(t, p) : t;
}
