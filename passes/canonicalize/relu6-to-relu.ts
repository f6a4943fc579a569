// relu6-to-relu (opt-in): Clip{min=0,max=6} (ReLU6, as MobileNetV2 exports it) becomes Relu.
// It changes what the network computes (activations above 6 are no longer capped); the paper
// makes the same substitution because ReLU6 costs two secure comparisons and ReLU one.
import { makeNode } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import { definePass } from '../pass.js';
import { rewriteToFixpoint } from '../rewrite.js';

/** The relu6-to-relu pass. */
export const relu6ToRelu = definePass<{ max: number }>({
  name: 'relu6-to-relu',
  summary: 'Replaces every Clip with min 0 and the given max (ReLU6) by Relu; changes the function computed where activations exceed max.',
  options: {
    max: { kind: 'float', default: 6, doc: 'the upper bound a Clip must have to be replaced', check: (v) => (v > 0 ? undefined : 'must be > 0') },
  },
  run(graph, ctx) {
    return rewriteToFixpoint(graph, [{
      ops: ['Clip'],
      stat: 'relu6 replaced by relu',
      apply(node) {
        const a = withDefaults(node);
        if (a.min !== 0 || a.max !== ctx.options.max) return undefined;
        return { nodes: [makeNode('Relu', node.name, node.inputs, node.outputs)] };
      },
    }], ctx);
  },
});
