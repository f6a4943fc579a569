// The hand-made plans every planner is measured against (`mpcc plan --uniform`,
// `--uniform-drelus`): one block for every channel of a layer, by a rule that is the same for
// every layer. They plan every 4-D ReLU layer of the graph (a ReLU on a flat [N, F] activation
// has no map to tile and stays a ReLU), so they are complete plans.
import type { Graph } from '../../ir/graph.js';
import { type ChannelBlock, type Plan, type PlanLayer, channelDrelus, makePlan, reluLayerNames } from './plan-file.js';

/** A 4-D ReLU layer a plan can tile: its name and activation shape [N, C, H, W]. */
export interface PlannableLayer {
  readonly name: string;
  readonly shape: readonly [number, number, number, number];
}

/** The graph's Relu nodes with a 4-D activation, in graph order. */
export function plannableLayers(graph: Graph): PlannableLayer[] {
  return graph.nodes
    .filter((n) => n.op === 'Relu' && graph.types.get(n.outputs[0])!.shape.length === 4)
    .map((n) => ({ name: n.name, shape: graph.types.get(n.outputs[0])!.shape as unknown as [number, number, number, number] }));
}

/** `[bh, bw]` clipped to an H×W map (a 4×4 block on a 2×2 map is the whole map). */
export function clipBlock(block: readonly [number, number], h: number, w: number): [number, number] {
  return [Math.min(block[0], h), Math.min(block[1], w)];
}

/** The uniform plan: `block` (clipped to small maps) for every channel of every ReLU layer. */
export function uniformPlan(graph: Graph, modelSha256: string, block: readonly [number, number], source: Record<string, unknown> = {}): Plan {
  const layers = plannableLayers(graph).map((l) => layerWith(l, clipBlock(block, l.shape[2], l.shape[3])));
  return makePlan({ sha256: modelSha256, reluLayers: reluLayerNames(graph) }, layers, { method: 'uniform', block: [...block], ...source }, true);
}

/** The block of the `--uniform-drelus` rule on an H×W map: the smallest square s×s (clipped to
 * the map) whose tiles are at most the fraction `ratio` of the H·W pixels; "identity" when even
 * the whole map (one DReLU) is more than that. */
export function squareBlockFor(h: number, w: number, ratio: number): ChannelBlock {
  for (let s = 1; s <= Math.max(h, w); s++) {
    const block = clipBlock([s, s], h, w);
    if (channelDrelus(h, w, block) <= ratio * h * w) return block;
  }
  return 'identity';
}

/** The `--uniform-drelus R` plan: per layer the smallest square block keeping at most the
 * fraction R of its DReLUs (squareBlockFor), every channel alike. */
export function uniformDreluPlan(graph: Graph, modelSha256: string, ratio: number, source: Record<string, unknown> = {}): Plan {
  const layers = plannableLayers(graph).map((l) => layerWith(l, squareBlockFor(l.shape[2], l.shape[3], ratio)));
  return makePlan({ sha256: modelSha256, reluLayers: reluLayerNames(graph) }, layers, { method: 'uniform-drelus', ratio, ...source }, true);
}

function layerWith(layer: PlannableLayer, block: ChannelBlock): Omit<PlanLayer, 'drelus'> {
  return { name: layer.name, shape: layer.shape, blocks: Array.from({ length: layer.shape[1] }, () => block) };
}
