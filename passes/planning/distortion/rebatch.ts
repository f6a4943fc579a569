// A graph at another batch size, for the planner's batched runs: the batch stays axis 0 of
// every value, as compiler/eval-batch.ts's withBatch does for `mpcc eval`, generalized to the
// several inputs of a cut's suffix (a Reshape's constant target and a Resize's sizes follow the new
// batch). MPCC4046 when the model mixes its batch axis.
import { type Graph, type Node, makeGraph, replaceNode } from '../../../ir/graph.js';
import { lookupOp, shapeContext } from '../../../ir/ops/index.js';
import { Tensor } from '../../../ir/tensor.js';
import type { TensorType } from '../../../ir/types.js';
import { diag } from '../../../runtime/diagnostics.js';

/** `g` with batch size `batch` on axis 0 of every input and computed value. */
export function withBatchSize(g: Graph, batch: number): Graph {
  if (g.inputs.length === 0) return g;
  const old = g.types.get(g.inputs[0])!.shape[0];
  if (old === batch) return g;
  const types = new Map(g.types);
  const constants = new Map(g.constants);
  for (const name of g.inputs) {
    const t = g.types.get(name)!;
    if (t.shape[0] !== old) throw diag('MPCC4046', [name, `its first dimension ${t.shape[0]} is not the batch ${old}`]);
    types.set(name, { dtype: t.dtype, shape: [batch, ...t.shape.slice(1)] });
  }
  const nodes = g.nodes.map((original) => {
    let node = original;
    const { axis, axes, perm } = node.attrs as { axis?: number; axes?: readonly number[]; perm?: readonly number[] };
    if (axis === 0 || (Array.isArray(axes) && axes.includes(0)) || (Array.isArray(perm) && perm[0] !== 0)) throw diag('MPCC4046', [node.name, `${node.op} works along the batch axis`]);
    if (node.op === 'Reshape') {
      const target = constants.get(node.inputs[1]);
      if (target && target.data[0] === old) {
        let name = `${node.inputs[1]}@batch${batch}`;
        for (let i = 1; types.has(name); i++) name = `${node.inputs[1]}@batch${batch}_${i}`;
        const data = Float64Array.from(target.data as ArrayLike<number>);
        data[0] = batch;
        constants.set(name, new Tensor(target.dtype, target.shape, data));
        types.set(name, { dtype: target.dtype, shape: target.shape });
        node = replaceNode(node, { inputs: [node.inputs[0], name, ...node.inputs.slice(2)] });
      }
    }
    node = rebatchResize(node, old, batch);
    const def = lookupOp(node.op)!;
    const inferred: TensorType[] = def.infer(shapeContext(node, def, node.inputs.map((v) => (v ? types.get(v) : undefined)), node.inputs.map((v) => (v ? constants.get(v) : undefined))));
    node.outputs.forEach((o, i) => {
      const before = g.types.get(o)!.shape, after = inferred[i].shape;
      if (before[0] !== old || after[0] !== batch || after.length !== before.length || after.some((d, k) => k > 0 && d !== before[k])) {
        throw diag('MPCC4046', [node.name, `its output '${o}' [${before.join(',')}] does not keep the batch on axis 0`]);
      }
      types.set(o, inferred[i]);
    });
    return node;
  });
  return makeGraph({ ...g, nodes, types, constants });
}

/** `node` at batch size `batch` where its static output shape spells the batch `old`: a Resize's
 * `sizes` (an ONNX Resize to fixed sizes, DeepLabV3's upsamplings); any other node as it is. */
export function rebatchResize(node: Node, old: number, batch: number): Node {
  const sizes = node.op === 'Resize' ? (node.attrs.sizes as readonly number[] | undefined) : undefined;
  return sizes && sizes[0] === old ? replaceNode(node, { attrs: { ...node.attrs, sizes: [batch, ...sizes.slice(1)] } }) : node;
}
