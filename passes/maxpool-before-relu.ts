// maxpool-before-relu: Relu → MaxPool becomes MaxPool → Relu. The two commute exactly (ReLU is
// monotone, so the max of the ReLUs is the ReLU of the max; MaxPool's padding is −∞ and never
// wins), so the function is unchanged, but the ReLU now runs on the pooled map: a secure ReLU
// costs a comparison per element, and ResNet's stem pool has a quarter as many outputs as
// inputs. The ReLU also ends up right before the next layer's conv, where it fuses with it.
import { makeNode } from '../ir/graph.js';
import { definePass } from './pass.js';
import { rewriteToFixpoint } from './rewrite.js';

/** The maxpool-before-relu pass. */
export const maxPoolBeforeRelu = definePass({
  name: 'maxpool-before-relu',
  summary: 'Swaps Relu → MaxPool into MaxPool → Relu (the same function; the ReLU then runs on the smaller pooled map).',
  options: {},
  run(graph, ctx) {
    return rewriteToFixpoint(graph, [{
      ops: ['MaxPool'],
      stat: 'relus moved after their max-pool',
      apply(pool, view) {
        const relu = view.producer(pool.inputs[0]);
        // Only a ReLU nothing else reads (another reader would still need the ReLU'd map),
        // and only the pool's first output (an Indices output is not supported anyway).
        if (!relu || relu.op !== 'Relu' || !view.onlyUsedBy(relu.outputs[0], pool) || pool.outputs.length !== 1) return undefined;
        const pooled = view.freshName(`${pool.outputs[0]}_prerelu`);
        return {
          nodes: [
            makeNode('MaxPool', pool.name, [relu.inputs[0]], [pooled], pool.attrs),
            makeNode('Relu', relu.name, [pooled], pool.outputs, relu.attrs),
          ],
          remove: [relu],
          types: new Map([[pooled, view.type(pool.outputs[0])]]),
        };
      },
    }], ctx);
  },
});
