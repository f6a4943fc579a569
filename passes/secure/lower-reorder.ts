// The first step of `lower`: a ReLU (or Clip) read only by a MaxPool moves after it.
// max(relu(a), relu(b)) = relu(max(a, b)) for every monotone function, exactly — on reals and
// on ring integers alike — so the output is bit for bit the same, but the ReLU now compares one
// element per window instead of every element (ResNet's stem: a quarter), and it reads straight
// into the next conv, where it fuses with the product and saves that product's round.
import type { Graph, Node } from '../../ir/graph.js';
import { makeNode } from '../../ir/graph.js';
import { rewriteToFixpoint } from '../rewrite.js';
import type { PassContext } from '../pass.js';

/** Monotone non-decreasing ops that commute with a max. */
const MONOTONE: ReadonlySet<string> = new Set(['Relu', 'Clip']);

/** The graph with every MaxPool ← Relu/Clip pair swapped where the activation has no other reader. */
export function poolBeforeActivation(g: Graph, ctx?: PassContext<unknown>): Graph {
  return rewriteToFixpoint(g, [{
    ops: ['MaxPool'],
    stat: 'max-pools moved before their activation',
    apply(pool: Node, view) {
      const act = view.producer(pool.inputs[0]);
      if (!act || !MONOTONE.has(act.op) || !view.onlyUsedBy(act.outputs[0], pool)) return undefined;
      const pooled = view.freshName(`${pool.outputs[0]}_pre`);
      return {
        nodes: [
          makeNode('MaxPool', pool.name, [act.inputs[0]], [pooled], pool.attrs),
          makeNode(act.op, act.name, [pooled], pool.outputs, act.attrs),
        ],
        remove: [act],
        types: new Map([[pooled, view.type(pool.outputs[0])]]),
      };
    },
  }], ctx);
}
