// insert-block-relu{plan=FILE}: the planned ReLU layers become BlockRelu nodes with the plan's
// per-channel blocks. It runs on the float graph after canonicalize (and relu6-to-relu, when
// the model has ReLU6), where the plan's layer names and shapes were recorded. The plan is
// checked against the graph (passes/planning/plan-file.ts: layers, shapes, blocks, a complete
// plan missing a layer); the model file's sha256 is checked by the commands that know the file
// (compiler/driver.ts for --plan), since a pass sees only the graph.
import { makeNode, replaceGraph } from '../../ir/graph.js';
import { blocksAttr } from '../../ir/ops/block-relu.js';
import { withDefaults } from '../../ir/ops/index.js';
import { diag } from '../../runtime/diagnostics.js';
import { definePass } from '../pass.js';
import type { Graph } from '../../ir/graph.js';
import { type Plan, checkPlanGraph, layerDrelus, readPlan } from './plan-file.js';

/** The insert-block-relu pass. */
export const insertBlockRelu = definePass<{ plan: string }>({
  name: 'insert-block-relu',
  summary: 'Replaces every Relu the plan file names by a BlockRelu with its per-channel blocks; the other ReLUs stay; the plan must match the float graph (layer names, shapes).',
  options: {
    plan: { kind: 'string', default: '', doc: 'the plan file (JSON, mpcc plan)', check: (v) => (v === '' ? 'a plan file is required' : undefined) },
  },
  run(graph, ctx) {
    const file = ctx.options.plan;
    if (file === '') throw diag('MPCC4003', ['insert-block-relu', 'plan', "''", 'a plan file is required (insert-block-relu{plan=FILE})']);
    return applyPlan(graph, readPlan(file), file, (name, n) => ctx.stat(name, n));
  },
});

/** `graph` with every Relu `plan` names a BlockRelu with the plan's blocks, after checking the
 * plan against the graph (`file` names it in errors); `stat` counts what changed. */
export function applyPlan(graph: Graph, plan: Plan, file: string, stat: (name: string, n?: number) => void = () => undefined): Graph {
  const planned = checkPlanGraph(plan, file, graph);
  if (planned.size === 0) return graph;
  const byName = new Map(plan.layers.map((l) => [l.name, l]));
  const nodes = graph.nodes.map((node) => {
    const layer = planned.has(node.name) ? byName.get(node.name)! : undefined;
    if (layer === undefined) return node;
    const relu = withDefaults(node);
    const counts = layerDrelus(layer.shape, layer.blocks);
    stat('relus replaced');
    stat('drelus before', counts.baseline);
    stat('drelus after', counts.planned);
    return makeNode('BlockRelu', node.name, node.inputs, node.outputs, { blocks: blocksAttr(layer.blocks), window_lo: relu.window_lo, window_k: relu.window_k });
  });
  return replaceGraph(graph, { nodes });
}
