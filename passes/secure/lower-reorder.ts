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
      // The run of activations the pool moves before, nearest first: in one rewrite, so that a
      // chain of n (activation, pool) pairs takes n rewrites, not n²/2 swaps of neighbours.
      const run: Node[] = [];
      for (let v = pool.inputs[0], reader = pool; ; ) {
        const act = view.producer(v);
        if (!act || !MONOTONE.has(act.op) || !view.onlyUsedBy(act.outputs[0], reader)) break;
        run.push(act);
        [v, reader] = [act.inputs[0], act];
      }
      if (run.length === 0) return undefined;
      const type = view.type(pool.outputs[0]);
      const pooled = view.freshName(`${pool.outputs[0]}_pre`);
      const first = run[run.length - 1];
      // the pool reads what the first activation read; the activations follow it in their
      // order, on the pooled shape, the last one writing the pool's result
      const last = run.length - 1;
      const moved = run.reverse().map((act, i) => (i === 0 || i === last ? makeNode(act.op, act.name, [i === 0 ? pooled : act.inputs[0]], i === last ? pool.outputs : act.outputs, act.attrs) : act));
      const types = new Map([[pooled, type]]);
      for (const act of moved.slice(0, -1)) types.set(act.outputs[0], type);
      return {
        nodes: [makeNode('MaxPool', pool.name, [first.inputs[0]], [pooled], pool.attrs), ...moved],
        remove: run,
        types,
      };
    },
  }], ctx);
}
