// Fixed-point structure made explicit by the quantize pass. Values keep their float type (they
// are still real numbers); these ops mark where the ring computation encodes and truncates, and
// in float mode they round to the same 2^-frac grid the ring computation lives on.
import type { Graph } from '../graph.js';
import { toSecureOp } from './facts.js';
import { type OpDef, defineOps } from './registry.js';

const sameType: OpDef['infer'] = ({ inputs }) => [inputs[0]!];

defineOps(
  {
    name: 'FixedInput',
    doc: 'the client encodes a graph input as round(x·2^frac); float semantics: round to the 2^-frac grid',
    inputs: [{ name: 'X' }],
    outputs: 1,
    attrs: { frac: { kind: 'int', range: [0, 62], doc: 'fractional bits of the encoding' } },
    infer: sameType,
    secure: toSecureOp('SecureInput', 'made'),
  },
  {
    name: 'Truncate',
    doc: 'drops `bits` fractional bits after a product (ring: arithmetic shift right); float semantics: floor to the 2^-bits grid',
    inputs: [{ name: 'X' }],
    outputs: 1,
    attrs: { bits: { kind: 'int', range: [0, 62], doc: "bits shifted out (after a weight product: the weights' fractional bits)" } },
    infer: sameType,
    secure: { quantize: 'made', lower: 'local', step: 'truncate' },
  },
);

/** The fractional bits of each weight product's weights, by node name: the bits of the Truncate
 * (or SecureTruncate, its exact form after lower) that reads its (last) result, since that Truncate brings the product (activation bits + weight
 * bits) back to the activations' scale. A node no Truncate reads is absent (its weights, if any,
 * are at the graph's frac). The fixed-point interpreter and the code generator both encode
 * weights (and biases, at frac + these bits) by it. */
export function weightBitsByNode(g: Graph): Map<string, number> {
  const truncationOf = new Map<string, number>();
  for (const n of g.nodes) if (n.op === 'Truncate' || n.op === 'SecureTruncate') truncationOf.set(n.inputs[0], n.attrs.bits as number);
  const out = new Map<string, number>();
  for (const n of g.nodes) {
    const bits = truncationOf.get(n.outputs[n.outputs.length - 1]);
    if (bits !== undefined) out.set(n.name, bits);
  }
  return out;
}
