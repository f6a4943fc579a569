// The backward driver: given a forward run's values (every intermediate kept) and gradients
// seeded at some values (usually the graph's outputs), walks the nodes in reverse order and
// hands over the accumulated gradient of each requested value once it is complete. Only
// nodes on a path from a requested value to a seeded one run; a node there without a backward
// kernel is MPCC4050, naming it.
import type { Graph } from '../../graph.js';
import { diag } from '../../../runtime/diagnostics.js';
import { attrOf, lookupOp } from '../../ops/index.js';
import type { Tensor } from '../../tensor.js';
import type { FloatArray } from '../gemm.js';
import { gradOps, lookupGradKernel } from './kernels.js';

/** Options of a backward pass. */
export interface BackwardOptions {
  /** Probe vectors carried at once: every gradient holds probes·numel(value) numbers, probe-major. */
  readonly probes: number;
  readonly dtype: 'float32' | 'float64';
  /** Values whose gradients are wanted. */
  readonly wanted: ReadonlySet<string>;
  /** Receives each wanted value's gradient once (not called for a value the seeds do not reach: zero). */
  readonly onGradient: (value: string, grad: FloatArray) => void;
}

/** Runs the backward pass of `g` from `seeds` (gradients by value name) over the forward values `env`. */
export function runBackward(g: Graph, env: ReadonlyMap<string, Tensor>, seeds: ReadonlyMap<string, FloatArray>, opts: BackwardOptions): void {
  const live = liveValues(g, opts.wanted, new Set(seeds.keys()));
  const grads = new Map<string, FloatArray>(seeds);
  const value = (v: string): Tensor => {
    const t = env.get(v) ?? g.constants.get(v);
    if (!t) throw diag('MPCC3004', ['<backward>', '-', `value '${v}' has no forward value (keep every value in the forward run)`]);
    return t;
  };
  for (let index = g.nodes.length - 1; index >= 0; index--) {
    const node = g.nodes[index];
    for (const o of node.outputs) {
      const gr = grads.get(o);
      if (gr && opts.wanted.has(o)) opts.onGradient(o, gr);
    }
    const dys = node.outputs.map((o) => grads.get(o));
    const needs = node.inputs.map((v) => !!v && live.has(v) && !g.constants.has(v));
    for (const o of node.outputs) grads.delete(o);
    if (!dys.some((d) => d) || !needs.some((n) => n)) continue;
    const kernel = lookupGradKernel(node.op);
    if (!kernel) throw diag('MPCC4050', [node.name, node.op, gradOps().join(', ')]);
    const def = lookupOp(node.op);
    const results = kernel(dys, {
      node,
      attr: (name) => attrOf(node, def, name),
      inputs: node.inputs.map((v) => (v ? value(v) : undefined)),
      outputs: node.outputs.map(value),
      needs,
      probes: opts.probes,
      dtype: opts.dtype,
    });
    node.inputs.forEach((v, i) => {
      if (!needs[i]) return;
      const d = results[i];
      if (!d) throw diag('MPCC4050', [node.name, `${node.op} (operand ${i})`, gradOps().join(', ')]);
      const prev = grads.get(v!);
      if (!prev) grads.set(v!, d === dys[0] ? d.slice() : d);
      else for (let k = 0; k < prev.length; k++) prev[k] += d[k];
    });
  }
  for (const v of opts.wanted) {
    const gr = grads.get(v);
    if (gr && g.inputs.includes(v)) opts.onGradient(v, gr);
  }
}

/** Values on a path from a wanted value to a seeded one (both included). */
function liveValues(g: Graph, wanted: ReadonlySet<string>, seeded: ReadonlySet<string>): Set<string> {
  const down = new Set(wanted);
  for (const n of g.nodes) if (n.inputs.some((v) => v && down.has(v))) for (const o of n.outputs) down.add(o);
  const up = new Set([...seeded].filter((v) => down.has(v)));
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => up.has(o))) for (const v of n.inputs) if (v && down.has(v)) up.add(v);
  }
  return up;
}
