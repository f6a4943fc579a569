// Reductions over axes: Softmax, ArgMax, ReduceMean and GlobalAveragePool.
import type { Shape } from '../types.js';
import { CLIENT_TAIL, DIVIDE_BITS_ATTR, UNTRUNCATED_ATTR, localOp } from './facts.js';
import { type OpDef, ShapeError, defineOps } from './registry.js';

const fmt = (s: Shape) => `[${s.join(',')}]`;

function checkAxis(axis: number, rank: number): void {
  if (axis >= rank) throw new ShapeError(`axis ${axis} is out of range for rank ${rank}`);
}

const softmax: OpDef = {
  name: 'Softmax',
  doc: 'exp(x) / sum(exp(x)) along one axis (opset-13 semantics; older exports are converted at import)',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: { axis: { kind: 'int', range: [0, 64], doc: 'normalized, ≥ 0' } },
  infer: ({ inputs, attr }) => {
    checkAxis(attr<number>('axis'), inputs[0]!.shape.length);
    return [inputs[0]!];
  },
};

const argmax: OpDef = {
  name: 'ArgMax',
  doc: 'index (int64) of the largest element along `axis`; ties pick the first (or last with select_last_index)',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: {
    axis: { kind: 'int', default: 0, range: [0, 64] },
    keepdims: { kind: 'int', default: 1, range: [0, 1] },
    select_last_index: { kind: 'int', default: 0, range: [0, 1] },
  },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!, axis = attr<number>('axis');
    checkAxis(axis, x.shape.length);
    if (x.shape[axis] === 0) throw new ShapeError(`axis ${axis} is empty`);
    const keep = attr<number>('keepdims') === 1;
    const shape = keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
    return [{ dtype: 'int64', shape }];
  },
};

const reduceMean: OpDef = {
  name: 'ReduceMean',
  doc: 'mean over `axes` (sorted, ≥ 0; empty = all axes), keeping them as size 1 when keepdims',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: {
    axes: { kind: 'ints', default: [], range: [0, 64] },
    keepdims: { kind: 'int', default: 1, range: [0, 1] },
  },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!, rank = x.shape.length;
    let axes = attr<number[]>('axes');
    for (let i = 0; i < axes.length; i++) {
      checkAxis(axes[i], rank);
      if (i > 0 && axes[i] <= axes[i - 1]) throw new ShapeError(`axes [${axes.join(',')}] must be sorted and distinct`);
    }
    if (axes.length === 0) axes = x.shape.map((_, i) => i);
    const keep = attr<number>('keepdims') === 1;
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return [{ dtype: x.dtype, shape }];
  },
};

const globalAveragePool: OpDef = {
  name: 'GlobalAveragePool',
  doc: 'mean over all spatial axes, keeping rank: (N, C, H, W) → (N, C, 1, 1)',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: { untruncated: UNTRUNCATED_ATTR, divide_bits: DIVIDE_BITS_ATTR },
  infer: ({ inputs }) => {
    const x = inputs[0]!;
    if (x.shape.length < 3) throw new ShapeError(`input must be (N, C, spatial...), got ${fmt(x.shape)}`);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i < 2 ? d : 1)) }];
  },
};

// Secure inference: the client runs a trailing Softmax/ArgMax on the revealed output;
// GlobalAveragePool is local on shares; ReduceMean has no secure form.
defineOps(
  { ...softmax, secure: CLIENT_TAIL },
  { ...argmax, secure: CLIENT_TAIL },
  reduceMean,
  {
    ...globalAveragePool,
    secure: localOp('globalAvgPool', (node, operands) => (operands.type(node.inputs[0]).shape.length === 4 ? undefined : 'pooling needs a 4-D NCHW input')),
  },
);
