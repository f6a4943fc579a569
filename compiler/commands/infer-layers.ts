// `mpcc infer --fixed --layers`: where fixed point departs from float. Runs the quantized graph
// in the fixed-point interpreter and in the float64 interpreter (same graph: FixedInput and
// Truncate round to the grid there too, only the weights stay unrounded) and prints, per node
// result, the largest difference beside the largest magnitude, so a bad layer stands out.
import type { Graph } from '../../ir/graph.js';
import { runGraph } from '../../ir/interp/index.js';
import type { FixedRunResult } from '../../ir/interp/fixed/index.js';
import type { Tensor } from '../../ir/tensor.js';

/** The per-layer table of a fixed-point run `fixed` of quantized graph `q` on `inputs`. */
export function layerReport(q: Graph, inputs: Record<string, Tensor>, fixed: FixedRunResult): string {
  const floats = runGraph(q, inputs, { precision: 'float64', keep: [...fixed.values.keys()] });
  const rows: string[][] = [['node', 'op', 'value', 'max |fixed - float|', 'max |float|']];
  for (const node of q.nodes) {
    for (const v of node.outputs) {
      const a = fixed.values.get(v), b = floats.get(v);
      if (!a || !b) continue;
      let diff = 0, mag = 0;
      for (let i = 0; i < b.size; i++) {
        diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
        mag = Math.max(mag, Math.abs(b.data[i]));
      }
      rows.push([node.name, node.op, v, diff.toPrecision(3), mag.toPrecision(3)]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c >= 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + '\n';
}
