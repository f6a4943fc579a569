// The comparisons a plan cannot replace: a block-ReLU plan replaces ReLU layers (and, planned on
// maxpool-to-relu-tree's graph, a MaxPool's tree levels); a HardSigmoid's, a Clip's or any other
// op's comparisons run in full beside the plan's DReLUs. `mpcc plan` and `mpcc compile --plan`
// say so in one note per op, so that a budget is not mistaken for the program's share (MobileNetV3
// at a 10% plan keeps 61% of its DReLUs: its HardSigmoid gates).
import type { CostReport } from '../passes/secure/cost-model.js';
import { treeLevelPool } from '../passes/canonicalize/maxpool-to-relu-tree.js';

/** Secure ops that run a ReLU layer (plannable) or a MaxPool (its own note). */
const PLANNABLE_OR_POOL: ReadonlySet<string> = new Set(['SecureRelu', 'SecureBlockRelu', 'SecureReluWeights', 'SecureHelperSelect', 'SecureMaxPool']);

/** Per op (its ONNX name), the layers with comparisons no plan replaces, their DReLUs and bytes. */
export function unplannableComparisons(cost: CostReport): Map<string, { layers: number; drelus: number; bytes: number }> {
  const byOp = new Map<string, { layers: number; drelus: number; bytes: number }>();
  for (const l of cost.layers) {
    if (!(l.drelus > 0) || PLANNABLE_OR_POOL.has(l.op) || treeLevelPool(l.name.split('+')[0]) !== undefined) continue;
    const op = l.op.replace(/^Secure/, '');
    const s = byOp.get(op) ?? { layers: 0, drelus: 0, bytes: 0 };
    byOp.set(op, { layers: s.layers + 1, drelus: s.drelus + l.drelus, bytes: s.bytes + l.bytes.online + l.bytes.preprocessing });
  }
  return byOp;
}

/** One note per op of unplannableComparisons, beside `planned` (the plan's DReLUs); with
 * `bytes`, their megabytes per inference too. */
export function unplannableNotes(cost: CostReport, planned: number, bytes: boolean): string[] {
  const n = (v: number) => v.toLocaleString('en-US');
  return [...unplannableComparisons(cost)].map(([op, s]) =>
    `note: ${s.layers} ${op} layer${s.layers === 1 ? '' : 's'} ${s.layers === 1 ? 'is' : 'are'} outside the plan: ${n(s.drelus)} comparisons per inference (${(s.drelus / Math.max(planned, 1)).toFixed(1)}× the plan's ${n(planned)} DReLUs${bytes ? `, ${(s.bytes / 1e6).toFixed(2)} MB` : ''}) run in full; a plan replaces ReLU layers only`);
}
