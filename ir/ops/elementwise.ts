// Elementwise ops: unary activations and broadcasting binary arithmetic.
import { broadcastShapes } from '../types.js';
import { CLIENT_TAIL, SCALED_TO_WEIGHTS, localOp, toSecureOp } from './facts.js';
import type { Node } from '../graph.js';
import type { SecureFacts } from './secure-facts.js';
import { diag } from '../../runtime/diagnostics.js';
import { type OpDef, ShapeError, defineOps } from './registry.js';
import { WINDOW_ATTRS, checkWindow } from './window.js';

function unary(name: string, doc: string, attrs: OpDef['attrs'] = {}): OpDef {
  return {
    name, doc, inputs: [{ name: 'X' }], outputs: 1, attrs,
    infer: ({ inputs }) => [inputs[0]!],
  };
}

function binary(name: string, doc: string): OpDef {
  return {
    name, doc, inputs: [{ name: 'A' }, { name: 'B' }], outputs: 1, attrs: {},
    infer: ({ inputs }) => {
      const [a, b] = [inputs[0]!, inputs[1]!];
      if (a.dtype !== b.dtype) throw new ShapeError(`operand dtypes differ: ${a.dtype} and ${b.dtype}`);
      const shape = broadcastShapes(a.shape, b.shape);
      if (!shape) throw new ShapeError(`shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] do not broadcast`);
      return [{ dtype: a.dtype, shape }];
    },
  };
}

/** A unary op with a bit window (ir/ops/window.ts): the window must lie inside the 64-bit ring. */
function windowed(name: string, doc: string, attrs: OpDef['attrs']): OpDef {
  return {
    ...unary(name, doc, { ...attrs, ...WINDOW_ATTRS }),
    infer: (ctx) => {
      checkWindow(ctx);
      return [ctx.inputs[0]!];
    },
  };
}

/** A HardSigmoid's alpha and beta must be finite (MPCC6050 naming the node, thrown here so the
 * error is the op's own, not a generic "not supported"). */
function hardSigmoidLimits(node: Node): string | undefined {
  const alpha = node.attrs.alpha ?? 0.2, beta = node.attrs.beta ?? 0.5;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw diag('MPCC6050', [node.name, String(alpha), String(beta)]);
  return undefined;
}

/** Mul: by a constant, quantize makes a weight layer; of two activations, it stays and lower
 * runs it as SecureMul (a Beaver product). */
const MUL_FACTS: SecureFacts = {
  ...SCALED_TO_WEIGHTS,
  lower: 'protocol',
  secureOp: 'SecureMul',
  limits: (node, operands) => (node.inputs.some((v) => operands.constant(v)) ? SCALED_TO_WEIGHTS.why : undefined),
};

// Secure inference: Relu and Clip compare (their protocols); HardSigmoid is an affine map then
// a Clip, Sigmoid a piecewise-linear sum of ReLUs; Add, Sub (any broadcasting, a constant on
// either side: codegen's add, sub and addConst steps) and data movement are local on shares;
// Mul and Div by a constant become weight layers; Mul of two activations is a Beaver product;
// Round is the client's, on a revealed output (reveal-argmax's class indices).
defineOps(
  { ...windowed('Relu', 'max(x, 0)', {}), secure: toSecureOp('SecureRelu') },
  { ...unary('Sigmoid', '1 / (1 + exp(-x))'), secure: toSecureOp('SecureSigmoid') },
  {
    ...unary('HardSigmoid', 'max(0, min(1, alpha*x + beta))', {
      alpha: { kind: 'float', default: 0.2 },
      beta: { kind: 'float', default: 0.5 },
    }),
    secure: toSecureOp('SecureHardSigmoid', 'keep', hardSigmoidLimits),
  },
  {
    ...windowed('Clip', 'min(max(x, min), max); ONNX min/max inputs become attributes at import', {
      min: { kind: 'float', default: -Infinity },
      max: { kind: 'float', default: Infinity },
    }),
    secure: toSecureOp('SecureClip'),
  },
  { ...unary('Identity', 'y = x'), secure: localOp('identity') },
  { ...unary('Round', 'the nearest integer, halves to even (ONNX Round)'), secure: CLIENT_TAIL },
  {
    ...unary('Dropout', 'y = x at inference (ratio ignored; mask output not supported)', {
      ratio: { kind: 'float', default: 0.5, range: [0, 1] },
    }),
    secure: localOp('identity'),
  },
  { ...binary('Add', 'a + b with numpy broadcasting'), secure: localOp('add') },
  { ...binary('Sub', 'a - b with numpy broadcasting'), secure: localOp('sub') },
  { ...binary('Mul', 'a * b with numpy broadcasting'), secure: MUL_FACTS },
  { ...binary('Div', 'a / b with numpy broadcasting'), secure: SCALED_TO_WEIGHTS },
);
