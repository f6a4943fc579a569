// Batching for `mpcc eval`: the same graph with another batch size, so the interpreters run many
// images per call. Every value's type is inferred again from the op table; a Reshape whose
// constant target spells the old batch size gets a target with the new one, a Resize's sizes too. The result is
// accepted only when the batch stays axis 0 of every computed value and nothing else changes
// shape, and no op works along axis 0; otherwise (a Transpose or Flatten across the batch, a
// Reshape mixing it, a Softmax over axis 0) there is no batched graph and eval runs the model at
// its own batch size.
import { type Graph, type Node, makeGraph, replaceNode } from '../ir/graph.js';
import { ShapeError, lookupOp, shapeContext } from '../ir/ops/index.js';
import { Tensor } from '../ir/tensor.js';
import type { TensorType } from '../ir/types.js';
import { rebatchResize } from '../passes/planning/distortion/rebatch.js';

/** `g` (one runtime input, batch on axis 0) at batch size `batch`, or undefined when the
 * batch cannot be changed safely (see the file comment). */
export function withBatch(g: Graph, batch: number): Graph | undefined {
  if (g.inputs.length !== 1) return undefined;
  const input = g.types.get(g.inputs[0])!;
  const old = input.shape[0];
  if (old === batch) return g;
  if (input.shape.length === 0) return undefined;
  const rebatched = (t: TensorType): TensorType => ({ dtype: t.dtype, shape: [batch, ...t.shape.slice(1)] });
  const types = new Map(g.types);
  const constants = new Map(g.constants);
  types.set(g.inputs[0], rebatched(input));
  const nodes: Node[] = [];
  for (const original of g.nodes) {
    const def = lookupOp(original.op);
    if (!def) return undefined;
    if (touchesAxis0(original)) return undefined;
    let node = original;
    if (node.op === 'Reshape') {
      const target = constants.get(node.inputs[1]);
      const from = types.get(node.inputs[0])!;
      if (target && target.data[0] === old && from.shape[0] === batch) {
        const name = freshName(`${node.inputs[1]}@batch${batch}`, types);
        const data = Float64Array.from(target.data as ArrayLike<number>);
        data[0] = batch;
        constants.set(name, new Tensor(target.dtype, target.shape, data));
        types.set(name, { dtype: target.dtype, shape: target.shape });
        node = replaceNode(node, { inputs: [node.inputs[0], name, ...node.inputs.slice(2)] });
      }
    }
    node = rebatchResize(node, old, batch);
    let inferred: TensorType[];
    try {
      inferred = def.infer(shapeContext(node, def, node.inputs.map((v) => (v ? types.get(v) : undefined)), node.inputs.map((v) => (v ? constants.get(v) : undefined))));
    } catch (err) {
      if (err instanceof ShapeError) return undefined;
      throw err;
    }
    for (const [i, o] of node.outputs.entries()) {
      const before = g.types.get(o)!.shape, after = inferred[i].shape;
      const want = before.length > 0 && before[0] === old ? [batch, ...before.slice(1)] : before;
      if (after.length !== want.length || after.some((d, k) => d !== want[k])) return undefined;
      types.set(o, inferred[i]);
    }
    nodes.push(node);
  }
  return makeGraph({ ...g, nodes, types, constants });
}

/** True when a node works along axis 0 (the batch), where a shape check cannot see the mixing
 * (Softmax over the batch keeps its shape). */
function touchesAxis0(node: Node): boolean {
  const { axis, axes, perm } = node.attrs as { axis?: number; axes?: readonly number[]; perm?: readonly number[] };
  if (node.op === 'ReduceMean' && !(Array.isArray(axes) && axes.length > 0)) return true; // no axes: all of them
  return axis === 0 || (Array.isArray(axes) && axes.includes(0)) || (Array.isArray(perm) && perm[0] !== 0);
}

function freshName(base: string, taken: ReadonlyMap<string, unknown>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}
