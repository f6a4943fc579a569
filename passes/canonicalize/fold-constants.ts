// fold-constants: a node whose operands are all constants is evaluated once, at compile time,
// by the interpreter's kernels, and its results become constants. Shape of a value with a
// static shape is a constant too, so shape subgraphs (Shape → Gather → Concat → Resize, as
// DeepLabV3 exports have) fold away and every value keeps a static shape.
import { type Node, makeGraph, makeNode } from '../../ir/graph.js';
import { lookupKernel, runGraph } from '../../ir/interp/index.js';
import { withDefaults } from '../../ir/ops/index.js';
import { type Tensor, castTensor, int64Vector } from '../../ir/tensor.js';
import { numel } from '../../ir/types.js';
import { type PassContext, definePass } from '../pass.js';
import { type RewriteRule, type RewriteView, rewriteToFixpoint } from '../rewrite.js';

/** Options of fold-constants. */
type FoldOptions = { 'max-size': number };

/** Shape (with ONNX start/end) of a value whose shape is static: always. */
function shapeValue(node: Node, view: RewriteView): Tensor {
  const shape = view.type(node.inputs[0]).shape;
  const attrs = withDefaults(node);
  const rank = shape.length;
  const clampAxis = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const start = clampAxis((attrs.start as number | undefined) ?? 0);
  const end = clampAxis((attrs.end as number | undefined) ?? rank);
  return int64Vector(shape.slice(start, Math.max(start, end)));
}

/** The node's results computed from its constant operands, each cast to its declared dtype. */
function evaluate(node: Node, view: RewriteView): Tensor[] {
  const constants = new Map<string, Tensor>();
  for (const v of node.inputs) if (v) constants.set(v, view.constant(v)!);
  const types = new Map([...node.inputs, ...node.outputs].filter((v) => v).map((v) => [v, view.type(v)] as const));
  const single = makeGraph({ name: 'fold', inputs: [], outputs: [...node.outputs], nodes: [makeNode(node.op, node.name, node.inputs, node.outputs, node.attrs)], types, constants });
  // float64 so that a chain of folded arithmetic rounds once, when stored in its dtype
  const results = runGraph(single, {}, { precision: 'float64' });
  return node.outputs.map((o) => castTensor(results.get(o)!, view.type(o).dtype));
}

function foldRule(ctx: PassContext<FoldOptions>): RewriteRule {
  const maxSize = ctx.options['max-size'];
  return {
    ops: '*',
    stat: 'nodes folded',
    apply(node, view) {
      if (node.op === 'Shape') {
        return { constants: new Map([[node.outputs[0], shapeValue(node, view)]]), nodes: [] };
      }
      if (node.inputs.length === 0 || !node.inputs.every((v) => !v || view.constant(v))) return undefined;
      if (!node.inputs.some((v) => v)) return undefined;
      if (!lookupKernel(node.op)) return undefined;
      // Folding must not grow the weights much: a result larger than max-size elements is
      // folded only when it is no larger than its operands together (a Reshape or Transpose).
      const outSize = node.outputs.reduce((s, o) => s + numel(view.type(o).shape), 0);
      const inSize = node.inputs.reduce((s, v) => s + (v ? view.constant(v)!.size : 0), 0);
      if (outSize > maxSize && outSize > inSize) return undefined;
      const values = evaluate(node, view);
      return { constants: new Map(node.outputs.map((o, i) => [o, values[i]] as const)), nodes: [] };
    },
  };
}

/** The fold-constants pass. */
export const foldConstants = definePass<FoldOptions>({
  name: 'fold-constants',
  summary:
    'Replaces every node whose operands are all constants (and every Shape, since shapes are static) by constants ' +
    'computed with the interpreter; the graph computes the same outputs with no foldable node left.',
  options: {
    'max-size': {
      kind: 'int',
      default: 16_777_216,
      doc: 'largest result (elements) to fold when folding would make the constants grow',
      check: (v) => (v < 0 ? 'must be ≥ 0' : undefined),
    },
  },
  run(graph, ctx) {
    return rewriteToFixpoint(graph, [foldRule(ctx)], ctx);
  },
});
