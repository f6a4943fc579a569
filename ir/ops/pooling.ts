// Pooling windows: MaxPool and AveragePool over NCHW maps. At import, auto_pad is resolved
// into explicit pads, so the IR's pools always carry explicit strides and pads.
import type { TensorType } from '../types.js';
import { windowOutSize } from '../../runtime/ring/windows.js';
import type { Node } from '../graph.js';
import { DIVIDE_BITS_ATTR, UNTRUNCATED_ATTR, localOp, toSecureOp } from './facts.js';
import type { OperandView } from './secure-facts.js';
import { type ShapeContext, ShapeError, defineOps, withDefaults } from './registry.js';
import { WINDOW_ATTRS, checkWindow } from './window.js';

function poolInfer(withDilations: boolean) {
  return ({ inputs, attr }: ShapeContext): TensorType[] => {
    const x = inputs[0]!;
    if (x.shape.length !== 4) throw new ShapeError(`input must be 4-D NCHW, got rank ${x.shape.length}`);
    if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new ShapeError(`input must be float, got ${x.dtype}`);
    const k = attr<number[]>('kernel_shape'), s = attr<number[]>('strides'), p = attr<number[]>('pads');
    const d = withDilations ? attr<number[]>('dilations') : [1, 1];
    if (k.length !== 2 || s.length !== 2 || d.length !== 2) throw new ShapeError('kernel_shape, strides and dilations need 2 values');
    if (p.length !== 4) throw new ShapeError(`pads need 4 values [top, left, bottom, right], got ${p.length}`);
    const ceil = attr<number>('ceil_mode') === 1;
    const [n, c, h, w] = x.shape;
    for (let a = 0; a < 2; a++) {
      const pb = p[a], pe = p[a + 2], ks = d[a] * (k[a] - 1) + 1;
      if (pb >= ks || pe >= ks) throw new ShapeError(`pads [${p.join(',')}] must be smaller than the window (${ks}) on axis ${a + 2}`);
    }
    const oh = windowOutSize(h, k[0], s[0], p[0], p[2], d[0], ceil);
    const ow = windowOutSize(w, k[1], s[1], p[1], p[3], d[1], ceil);
    if (oh <= 0 || ow <= 0) throw new ShapeError(`window ${k.join('×')} does not fit input ${h}×${w} (output ${oh}×${ow})`);
    return [{ dtype: x.dtype, shape: [n, c, oh, ow] }];
  };
}

const window = {
  kernel_shape: { kind: 'ints', range: [1, 1 << 16], doc: '[kh, kw]' },
  strides: { kind: 'ints', default: [1, 1], range: [1, 1 << 16] },
  pads: { kind: 'ints', default: [0, 0, 0, 0], range: [0, 1 << 16], doc: '[top, left, bottom, right]' },
  ceil_mode: { kind: 'int', default: 0, range: [0, 1], doc: 'round the output size up; windows starting in the end padding are dropped' },
} as const;

/** What secure pooling windows cannot be: dilated, or over anything but an NCHW map. */
export function poolWindowLimits(node: Node, operands: OperandView): string | undefined {
  const dilations = withDefaults(node).dilations as number[] | undefined;
  if (dilations?.some((d) => d !== 1)) return 'dilated pooling is not supported';
  if (operands.type(node.inputs[0]).shape.length !== 4) return 'pooling needs a 4-D NCHW input';
  return undefined;
}

/** poolWindowLimits and ceil_mode, which the fixed-point reference does not compute (lower turns a
 * MaxPool's ceil_mode into end padding, for quantized graphs written by hand). */
export function poolLimits(node: Node, operands: OperandView): string | undefined {
  if (withDefaults(node).ceil_mode === 1) return 'ceil_mode=1 is not supported';
  return poolWindowLimits(node, operands);
}

// Secure inference: MaxPool compares (its protocol); AveragePool is local on shares.
defineOps(
  {
    name: 'MaxPool',
    doc: 'max over each window of an NCHW map; padding never wins (1 output, no Indices)',
    inputs: [{ name: 'X' }],
    outputs: 1,
    attrs: { ...window, dilations: { kind: 'ints', default: [1, 1], range: [1, 1 << 16] }, ...WINDOW_ATTRS },
    infer: (ctx) => {
      checkWindow(ctx);
      return poolInfer(true)(ctx);
    },
    secure: toSecureOp('SecureMaxPool', 'keep', poolLimits),
  },
  {
    name: 'AveragePool',
    doc: 'mean over each window of an NCHW map; count_include_pad=1 divides by the window size clipped to the explicit pads',
    inputs: [{ name: 'X' }],
    outputs: 1,
    attrs: { ...window, count_include_pad: { kind: 'int', default: 0, range: [0, 1] }, untruncated: UNTRUNCATED_ATTR, divide_bits: DIVIDE_BITS_ATTR },
    infer: poolInfer(false),
    secure: localOp('avgPool', poolLimits),
  },
);
