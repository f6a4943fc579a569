// Convolution. At import, auto_pad is resolved into explicit pads and kernel_shape is taken
// from the weights, so the IR's Conv always carries explicit strides/pads/dilations.
import { toSecureOp } from './facts.js';
import { type OpDef, ShapeError, defineOps } from './registry.js';
import { windowOutSize } from '../../runtime/ring/windows.js';

const conv: OpDef = {
  name: 'Conv',
  doc: '2-D convolution, NCHW input, OIHW weights, optional bias; pads are [top, left, bottom, right]',
  inputs: [{ name: 'X' }, { name: 'W' }, { name: 'B', optional: true }],
  outputs: 1,
  attrs: {
    strides: { kind: 'ints', default: [1, 1], range: [1, 1 << 16] },
    pads: { kind: 'ints', default: [0, 0, 0, 0], range: [0, 1 << 16] },
    dilations: { kind: 'ints', default: [1, 1], range: [1, 1 << 16] },
    group: { kind: 'int', default: 1, range: [1, 1 << 20] },
  },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!, w = inputs[1]!, b = inputs[2];
    if (x.shape.length !== 4) throw new ShapeError(`input must be 4-D NCHW, got rank ${x.shape.length}`);
    if (w.shape.length !== 4) throw new ShapeError(`weights must be 4-D OIHW, got rank ${w.shape.length}`);
    const group = attr<number>('group');
    const [n, c, h, wd] = x.shape;
    const [o, cg, kh, kw] = w.shape;
    if (c !== cg * group) throw new ShapeError(`input has ${c} channels but weights expect ${cg}×group ${group}`);
    if (o % group !== 0) throw new ShapeError(`${o} output channels are not divisible by group ${group}`);
    if (b && (b.shape.length !== 1 || b.shape[0] !== o)) throw new ShapeError(`bias must have shape [${o}]`);
    const s = attr<number[]>('strides'), p = attr<number[]>('pads'), d = attr<number[]>('dilations');
    if (s.length !== 2 || p.length !== 4 || d.length !== 2) throw new ShapeError('strides, dilations need 2 values and pads 4');
    const oh = windowOutSize(h, kh, s[0], p[0], p[2], d[0]);
    const ow = windowOutSize(wd, kw, s[1], p[1], p[3], d[1]);
    if (oh <= 0 || ow <= 0) throw new ShapeError(`output would be empty (${oh}×${ow})`);
    return [{ dtype: x.dtype, shape: [n, o, oh, ow] }];
  },
};

// Secure inference: a product with P1's constant weights (a Truncate after it), then its weights protocol.
defineOps({ ...conv, secure: toSecureOp('SecureWeights', 'product') });
