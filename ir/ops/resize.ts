// Resize: nearest or linear interpolation to a static output size. At import, ONNX's
// roi/scales/sizes inputs (and Upsample's scales) become the `sizes` and `scales` attributes.
import { localOp } from './facts.js';
import { type OpDef, ShapeError, defineOps } from './registry.js';

/** Coordinate transformation modes the IR supports (ONNX names). */
export const RESIZE_COORDINATE_MODES = ['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel', 'tf_half_pixel_for_nearest'] as const;

/** Rounding rules of nearest mode (ONNX names). */
export const RESIZE_NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const;

const resize: OpDef = {
  name: 'Resize',
  doc: 'interpolate X to shape `sizes`; `scales` (output/input per axis, as ONNX computes it) drives the coordinate transform',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: {
    mode: { kind: 'string', default: 'nearest', oneOf: ['nearest', 'linear'] },
    coordinate_transformation_mode: { kind: 'string', default: 'half_pixel', oneOf: RESIZE_COORDINATE_MODES },
    nearest_mode: { kind: 'string', default: 'round_prefer_floor', oneOf: RESIZE_NEAREST_MODES },
    sizes: { kind: 'ints', range: [1, 1 << 30], doc: 'output shape, one entry per axis' },
    scales: { kind: 'floats', range: [Number.MIN_VALUE, Infinity], doc: 'scale per axis used in coordinate transforms' },
  },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!;
    const sizes = attr<number[]>('sizes'), scales = attr<number[]>('scales');
    const rank = x.shape.length;
    if (sizes.length !== rank) throw new ShapeError(`sizes has ${sizes.length} entries but the input has rank ${rank}`);
    if (scales.length !== rank) throw new ShapeError(`scales has ${scales.length} entries but the input has rank ${rank}`);
    if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new ShapeError(`input must be float, got ${x.dtype}`);
    return [{ dtype: x.dtype, shape: [...sizes] }];
  },
};

// Secure inference: a public linear map, local on shares.
defineOps({ ...resize, secure: localOp('resize') });
