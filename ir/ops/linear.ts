// Linear algebra: Gemm, MatMul and inference-mode BatchNormalization.
import { broadcastShapes, type Shape } from '../types.js';
import { SCALED_TO_WEIGHTS, toSecureOp } from './facts.js';
import { type OpDef, ShapeError, defineOps } from './registry.js';

const fmt = (s: Shape) => `[${s.join(',')}]`;

function isFloat(dtype: string): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

const gemm: OpDef = {
  name: 'Gemm',
  doc: 'alpha * op(A) @ op(B) + beta * C for 2-D A, B (op = transpose when transA/transB); C broadcasts to [M, N]',
  inputs: [{ name: 'A' }, { name: 'B' }, { name: 'C', optional: true }],
  outputs: 1,
  attrs: {
    alpha: { kind: 'float', default: 1 },
    beta: { kind: 'float', default: 1 },
    transA: { kind: 'int', default: 0, range: [0, 1] },
    transB: { kind: 'int', default: 0, range: [0, 1] },
  },
  infer: ({ inputs, attr }) => {
    const a = inputs[0]!, b = inputs[1]!, c = inputs[2];
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new ShapeError(`A and B must be 2-D, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
    if (a.dtype !== b.dtype || (c && c.dtype !== a.dtype)) throw new ShapeError('operand dtypes differ');
    const [m, ka] = attr<number>('transA') ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    const [kb, n] = attr<number>('transB') ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
    if (ka !== kb) throw new ShapeError(`inner dimensions differ: op(A) is [${m},${ka}], op(B) is [${kb},${n}]`);
    if (c) {
      const bc = broadcastShapes(c.shape, [m, n]);
      if (!bc || bc.length !== 2 || bc[0] !== m || bc[1] !== n) throw new ShapeError(`C ${fmt(c.shape)} does not broadcast to [${m},${n}]`);
    }
    return [{ dtype: a.dtype, shape: [m, n] }];
  },
};

/** Result shape of numpy matmul of shapes `a` and `b`, or a ShapeError. */
export function matmulShape(a: Shape, b: Shape): number[] {
  if (a.length === 0 || b.length === 0) throw new ShapeError('operands must have rank ≥ 1');
  const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
  const k1 = a2[a2.length - 1], k2 = b2[b2.length - 2];
  if (k1 !== k2) throw new ShapeError(`inner dimensions differ: ${fmt(a)} @ ${fmt(b)}`);
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
  if (!batch) throw new ShapeError(`batch dimensions of ${fmt(a)} and ${fmt(b)} do not broadcast`);
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]);
  if (b.length > 1) out.push(b2[b2.length - 1]);
  return out;
}

const matmul: OpDef = {
  name: 'MatMul',
  doc: 'matrix product with numpy matmul broadcasting (1-D operands get a dimension added then removed)',
  inputs: [{ name: 'A' }, { name: 'B' }],
  outputs: 1,
  attrs: {},
  infer: ({ inputs }) => {
    const a = inputs[0]!, b = inputs[1]!;
    if (a.dtype !== b.dtype) throw new ShapeError(`operand dtypes differ: ${a.dtype} and ${b.dtype}`);
    return [{ dtype: a.dtype, shape: matmulShape(a.shape, b.shape) }];
  },
};

const batchNorm: OpDef = {
  name: 'BatchNormalization',
  doc: 'inference-mode batch norm over axis 1: scale * (x - mean) / sqrt(var + epsilon) + B',
  inputs: [{ name: 'X' }, { name: 'scale' }, { name: 'B' }, { name: 'mean' }, { name: 'var' }],
  outputs: 1,
  attrs: { epsilon: { kind: 'float', default: 1e-5, range: [0, Infinity] } },
  infer: ({ inputs }) => {
    const x = inputs[0]!;
    if (x.shape.length < 2) throw new ShapeError(`input must have rank ≥ 2 (N, C, ...), got ${fmt(x.shape)}`);
    if (!isFloat(x.dtype)) throw new ShapeError(`input must be float, got ${x.dtype}`);
    const c = x.shape[1];
    ['scale', 'B', 'mean', 'var'].forEach((name, i) => {
      const t = inputs[i + 1]!;
      if (t.shape.length !== 1 || t.shape[0] !== c) throw new ShapeError(`${name} must have shape [${c}], got ${fmt(t.shape)}`);
      if (t.dtype !== x.dtype) throw new ShapeError(`${name} is ${t.dtype} but the input is ${x.dtype}`);
    });
    return [x];
  },
};

// Secure inference: products with P1's constant weights (a Truncate after each), then its
// weights protocol; a standalone batch-norm becomes a weight layer.
defineOps(
  { ...gemm, secure: toSecureOp('SecureWeights', 'product') },
  { ...matmul, secure: toSecureOp('SecureWeights', 'product') },
  { ...batchNorm, secure: SCALED_TO_WEIGHTS },
);
