// narrow-compare{bits=K,drop-lsb=L} or narrow-compare{plan=FILE}: gives every secure comparison
// (Relu, BlockRelu — its tile sums —, MaxPool — its pairwise differences —, Clip — both of its
// comparisons) a bit window (window_lo, window_k: ir/ops/window.ts), so the DReLU compares
// bits [lo, lo + k) only and costs k-bit messages. One window for the whole network (the
// paper's way: bits=16, drop-lsb=5), or the windows a plan records per comparison node
// (`compare.windows`, and a planned layer's `window`), which `mpcc compile --compare-bits auto`
// chose from calibration statistics (passes/planning/compare-stats.ts). It runs on the float
// graph after insert-block-relu, before quantize, which keeps the attributes. Without bits
// and plan it changes nothing. A plan's window for a node the graph does not have, or has
// with another op, is MPCC4073.
import type { Graph } from '../../ir/graph.js';
import { makeNode, replaceGraph } from '../../ir/graph.js';
import { diag } from '../../runtime/diagnostics.js';
import { type PassContext, definePass } from '../pass.js';
import { COMPARE_OPS, type Plan, readPlan } from './plan-file.js';

/** A bit window: bits [lo, lo + k) of the compared value. */
export interface CompareWindow {
  readonly lo: number;
  readonly k: number;
}

/** The narrow-compare pass. */
export const narrowCompare = definePass<{ bits: number; 'drop-lsb': number; plan: string }>({
  name: 'narrow-compare',
  summary: 'Sets the bit window (window_lo, window_k) of every Relu, BlockRelu, MaxPool and Clip: one window for all (bits, drop-lsb) or the windows a plan file records; float graph before quantize; the function is unchanged in float.',
  options: {
    bits: { kind: 'int', default: 64, doc: 'bits k compared (2..64)', check: (v) => (v < 2 || v > 64 ? 'expected 2 <= bits <= 64' : undefined) },
    'drop-lsb': { kind: 'int', default: 0, doc: 'low bits lo dropped (lo < bits, lo + bits <= 64)', check: (v) => (v < 0 || v > 62 ? 'expected 0 <= drop-lsb <= 62' : undefined) },
    plan: { kind: 'string', default: '', doc: "a plan file whose 'compare.windows' (and layers' 'window') give the windows" },
  },
  run(graph, ctx) {
    const { bits, plan } = ctx.options;
    const lo = ctx.options['drop-lsb'];
    if (plan !== '') return applyWindows(graph, planWindows(readPlan(plan), plan, graph), ctx);
    if (lo >= bits || lo + bits > 64) throw diag('MPCC4003', ['narrow-compare', 'drop-lsb', String(lo), `drop-lsb must be below bits (${bits}) and drop-lsb + bits <= 64`]);
    return applyWindows(graph, uniformWindows(graph, { lo, k: bits }), ctx);
  },
});

/** The same window for every comparison node of `g`. */
export function uniformWindows(g: Graph, w: CompareWindow): Map<string, CompareWindow> {
  return new Map(g.nodes.filter((n) => COMPARE_OPS.includes(n.op)).map((n) => [n.name, w]));
}

/** The windows plan `file` records, checked against `g` (MPCC4073: a node the graph lacks, another
 * op, a planned layer whose `window` differs from its `compare.windows` entry). */
export function planWindows(plan: Plan, file: string, g: Graph): Map<string, CompareWindow> {
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const windows = new Map<string, CompareWindow>();
  const take = (name: string, op: string | undefined, w: CompareWindow) => {
    const node = byName.get(name);
    if (!node) throw diag('MPCC4073', [file, name, 'the model has no node of this name']);
    if (!COMPARE_OPS.includes(node.op)) throw diag('MPCC4073', [file, name, `it is a ${node.op}, not a comparison (${COMPARE_OPS.join(', ')})`]);
    if (op !== undefined && op !== node.op) throw diag('MPCC4073', [file, name, `the plan says ${op}, the model has a ${node.op}`]);
    const before = windows.get(name);
    if (before && (before.lo !== w.lo || before.k !== w.k)) throw diag('MPCC4073', [file, name, `two windows: lo=${before.lo} k=${before.k} and lo=${w.lo} k=${w.k}`]);
    windows.set(name, { lo: w.lo, k: w.k });
  };
  for (const w of plan.compare?.windows ?? []) take(w.name, w.op, w);
  for (const layer of plan.layers) if (layer.window) take(layer.name, undefined, layer.window);
  return windows;
}

/** `g` with the windows set on the nodes they name (the others unchanged). */
export function applyWindows(g: Graph, windows: ReadonlyMap<string, CompareWindow>, ctx?: PassContext<unknown>): Graph {
  if (windows.size === 0) return g;
  const nodes = g.nodes.map((n) => {
    const w = windows.get(n.name);
    if (!w || !COMPARE_OPS.includes(n.op)) return n;
    ctx?.stat('comparisons windowed');
    ctx?.stat(`windows of ${w.k} bits`);
    return makeNode(n.op, n.name, n.inputs, n.outputs, { ...n.attrs, window_lo: w.lo, window_k: w.k });
  });
  return replaceGraph(g, { nodes });
}
