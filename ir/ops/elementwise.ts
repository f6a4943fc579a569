// Elementwise ops: unary activations and broadcasting binary arithmetic.
import { broadcastShapes } from '../types.js';
import { type OpDef, ShapeError, defineOps } from './registry.js';

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

/**
 * The bit window a secure comparison looks at: bits [lo, lo+k) of the fixed-point value (set by
 * narrow-compare; the defaults are the full 64-bit ring). Float semantics ignore it.
 */
const dreluWindow = {
  window_lo: { kind: 'int', default: 0, range: [0, 63], doc: 'low bits dropped before the comparison' },
  window_k: { kind: 'int', default: 64, range: [2, 64], doc: 'bits compared (two\'s complement sign at bit k-1)' },
} as const;

/** A unary op with a bit window: the window must lie inside the 64-bit ring. */
function windowed(name: string, doc: string, attrs: OpDef['attrs']): OpDef {
  return {
    ...unary(name, doc, attrs),
    infer: ({ inputs, attr }) => {
      const lo = attr<number>('window_lo'), k = attr<number>('window_k');
      if (lo + k > 64) throw new ShapeError(`bit window [${lo}, ${lo + k}) does not fit in 64 bits`);
      return [inputs[0]!];
    },
  };
}

defineOps(
  windowed('Relu', 'max(x, 0)', dreluWindow),
  unary('Sigmoid', '1 / (1 + exp(-x))'),
  unary('HardSigmoid', 'max(0, min(1, alpha*x + beta))', {
    alpha: { kind: 'float', default: 0.2 },
    beta: { kind: 'float', default: 0.5 },
  }),
  windowed('Clip', 'min(max(x, min), max); ONNX min/max inputs become attributes at import', {
    min: { kind: 'float', default: -Infinity },
    max: { kind: 'float', default: Infinity },
    ...dreluWindow,
  }),
  unary('Identity', 'y = x'),
  unary('Dropout', 'y = x at inference (ratio ignored; mask output not supported)', {
    ratio: { kind: 'float', default: 0.5, range: [0, 1] },
  }),
  binary('Add', 'a + b with numpy broadcasting'),
  binary('Sub', 'a - b with numpy broadcasting'),
  binary('Mul', 'a * b with numpy broadcasting'),
  binary('Div', 'a / b with numpy broadcasting'),
);
