// Pad (constant mode only). At import, ONNX's pads/constant_value inputs become attributes and
// other modes are rejected, so the IR's Pad is always a constant border.
import { localOp } from './facts.js';
import { type OpDef, ShapeError, defineOps, withDefaults } from './registry.js';

const pad: OpDef = {
  name: 'Pad',
  doc: 'surround X with `value`: pads = [begin of every axis…, end of every axis…] (ONNX order)',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: {
    pads: { kind: 'ints', range: [0, 1 << 30], doc: '2·rank entries: begins then ends' },
    value: { kind: 'float', default: 0 },
  },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!;
    const pads = attr<number[]>('pads');
    const rank = x.shape.length;
    if (pads.length !== 2 * rank) throw new ShapeError(`pads has ${pads.length} entries, expected 2×rank = ${2 * rank}`);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => d + pads[i] + pads[i + rank]) }];
  },
};

// Secure inference: local on shares, with zeros only (a non-zero border is not a share of itself).
defineOps({
  ...pad,
  secure: localOp('pad', (node) => {
    const value = withDefaults(node).value;
    return value === 0 ? undefined : `only zero padding is supported (value ${String(value)})`;
  }),
});
