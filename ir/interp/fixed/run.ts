// The fixed-point interpreter: runs a quantized graph in Z_2^64 on plaintext values, with the
// runtime's own arithmetic (see kernels.ts), so it reproduces the secure computation bit for bit
// except for the ±1 ulp of share truncation. Every value is kept (raw and decoded), so a
// difference to the float interpreter or to a secure run can be traced to its layer. Trailing
// client-side ops (Softmax, ArgMax, Round) run in float on the decoded values, as the client does.
import { encode } from '../../../runtime/ring/ring.js';
import { diag } from '../../../runtime/diagnostics.js';
import type { AttrValue, Graph, Node } from '../../graph.js';
import { attrOf, lookupOp } from '../../ops/index.js';
import { weightBitsByNode } from '../../ops/fixed.js';
import { Tensor } from '../../tensor.js';
import { lookupKernel } from '../kernels.js';
import { FIXED_KERNELS, type FixedOperand } from './kernels.js';
import { type RingValue, decodeValue } from './value.js';
import type { CompareSimulation } from './compare-window.js';

/** Options of a fixed-point run. */
export interface FixedRunOptions {
  /** Fractional bits of the encoding (must equal every FixedInput's frac). */
  readonly frac: number;
  /** Values to keep besides the outputs: 'all' (default) or none. */
  readonly keep?: 'all' | 'outputs';
  /** Called after each node (progress). */
  readonly onNode?: (node: Node, index: number) => void;
  /** How windowed comparisons are simulated (lost carries) and observed (compare-window.ts). */
  readonly compare?: CompareSimulation;
}

/** What a fixed-point run produced. */
export interface FixedRunResult {
  /** Graph outputs, decoded (float64; ArgMax results int64), in graph order. */
  readonly outputs: Map<string, Tensor>;
  /** Every kept value decoded to float64 (client-side results as computed), by name. */
  readonly values: Map<string, Tensor>;
  /** Every kept ring value (not the client-side float ones), by name. */
  readonly ring: Map<string, RingValue>;
}

/** Runs quantized graph `g` in fixed point on float `inputs` (by input name). */
export function runGraphFixed(g: Graph, inputs: Record<string, Tensor> | Map<string, Tensor>, opts: FixedRunOptions): FixedRunResult {
  const given = inputs instanceof Map ? inputs : new Map(Object.entries(inputs));
  const keepAll = (opts.keep ?? 'all') === 'all';
  const ring = new Map<string, RingValue>();
  const floats = new Map<string, Tensor>();
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((v) => v && lastUse.set(v, i)));
  const outputs = new Set(g.outputs);
  const fail = (node: Node, why: string) => diag('MPCC3004', [node.name, node.op, why]);
  const weightBits = weightBitsByNode(g);
  g.nodes.forEach((node, index) => {
    const attr = <T extends AttrValue>(name: string) => attrOf<T>(node, lookupOp(node.op), name);
    const outShapes = node.outputs.map((o) => g.types.get(o)!.shape);
    if (node.op === 'FixedInput') {
      if (attr<number>('frac') !== opts.frac) throw fail(node, `encodes with frac ${attr<number>('frac')} but the run uses ${opts.frac}`);
      const x = given.get(node.inputs[0]);
      if (!x) throw diag('MPCC3004', ['<inputs>', '-', `missing input '${node.inputs[0]}'`]);
      ring.set(node.outputs[0], { data: encode(x.data, opts.frac), shape: x.shape, frac: opts.frac });
    } else if (FIXED_KERNELS[node.op] && !node.inputs.some((v) => floats.has(v))) {
      const operands: FixedOperand[] = node.inputs.map((v) => {
        if (!v) return undefined;
        const value = ring.get(v) ?? g.constants.get(v);
        if (!value) throw fail(node, `operand '${v}' has no value (is the graph quantized?)`);
        return value;
      });
      const results = FIXED_KERNELS[node.op](operands, { node, attr, outShapes, frac: opts.frac, weightFrac: weightBits.get(node.name) ?? opts.frac, compare: opts.compare });
      node.outputs.forEach((o, i) => ring.set(o, results[i]));
    } else {
      // Client side: plaintext float on the revealed (decoded) values.
      const kernel = lookupKernel(node.op);
      if (!kernel) throw fail(node, 'no kernel for this op');
      const operands = node.inputs.map((v) => (v ? (floats.get(v) ?? (ring.has(v) ? decodeValue(ring.get(v)!) : g.constants.get(v))) : undefined));
      const outputTypes = node.outputs.map((o) => {
        const t = g.types.get(o)!;
        return t.dtype === 'float32' ? { dtype: 'float64' as const, shape: t.shape } : t;
      });
      const results = kernel(operands, { node, attr, outputTypes, precision: 'float64' });
      node.outputs.forEach((o, i) => floats.set(o, results[i]));
    }
    opts.onNode?.(node, index);
    if (!keepAll) {
      for (const v of node.inputs) if (v && lastUse.get(v) === index && !outputs.has(v)) { ring.delete(v); floats.delete(v); }
    }
  });
  const values = new Map<string, Tensor>();
  for (const [name, v] of ring) values.set(name, decodeValue(v));
  for (const [name, t] of floats) values.set(name, t);
  return { outputs: new Map(g.outputs.map((o) => [o, values.get(o)!])), values, ring };
}
