// drop-identity: Identity and (inference) Dropout compute y = x; their readers read x instead.
// A graph output keeps its name, because users and the client's program refer to it: when y is
// an output, x's producer is renamed to define y.
import type { Node } from '../../ir/graph.js';
import { definePass } from '../pass.js';
import { type Replacement, type RewriteRule, type RewriteView, rewriteToFixpoint } from '../rewrite.js';

function drop(node: Node, view: RewriteView): Replacement | undefined {
  const [x] = node.inputs;
  const [y] = node.outputs;
  if (!view.isGraphOutput(y)) return { nodes: [], rename: [[y, x]] };
  // y is an output: the value must keep the name y.
  if (view.isGraphOutput(x)) return undefined; // both names are outputs: keep the copy
  const c = view.constant(x);
  if (c) return { nodes: [], constants: new Map([[y, c]]) };
  if (!view.producer(x)) return undefined; // x is a graph input; an output cannot alias it by name
  return { nodes: [], rename: [[x, y]] };
}

const dropRule: RewriteRule = { ops: ['Identity', 'Dropout'], stat: 'identities dropped', apply: drop };

/** The drop-identity pass. */
export const dropIdentity = definePass({
  name: 'drop-identity',
  summary:
    'Removes Identity and Dropout nodes, reading their operand instead; graph outputs keep their names, ' +
    'and a copy is kept only where an output must alias a graph input or another output.',
  options: {},
  run(graph, ctx) {
    return rewriteToFixpoint(graph, [dropRule], ctx);
  },
});
