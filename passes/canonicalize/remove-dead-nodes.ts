// remove-dead-nodes: nodes whose results nothing reads (after folding, or left over in an
// export) are deleted, together with constants nobody reads any more.
import { removeDeadNodes } from '../../ir/graph.js';
import { definePass } from '../pass.js';

/** The remove-dead-nodes pass. */
export const removeDead = definePass({
  name: 'remove-dead-nodes',
  summary: 'Deletes nodes that no graph output depends on and values nothing refers to; the outputs are unchanged.',
  options: {},
  run(graph, ctx) {
    const g = removeDeadNodes(graph);
    const removed = graph.nodes.length - g.nodes.length;
    if (removed) ctx.stat('dead nodes removed', removed);
    const dropped = graph.constants.size - g.constants.size;
    if (dropped) ctx.stat('unused constants dropped', dropped);
    return g;
  },
});
