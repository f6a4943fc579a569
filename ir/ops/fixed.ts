// Fixed-point structure made explicit by the quantize pass. Values keep their float type (they
// are still real numbers); these ops mark where the ring computation encodes and truncates, and
// in float mode they round to the same 2^-frac grid the ring computation lives on.
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
    attrs: { bits: { kind: 'int', range: [0, 62], doc: 'bits shifted out (the frac of the result)' } },
    infer: sameType,
    secure: { quantize: 'made', lower: 'local', step: 'truncate' },
  },
);
