// Local kernels on ring vectors for the ops that move or linearly mix data without a message:
// each party applies them to its own share (P2 to its placeholder); the fixed-point
// interpreter applies them to plaintext values with a `{ id: 0 }` session, so both agree.
export { broadcast, concat, pad, reshape, sizeOf, slice, sliceShape, stridesOf, transpose } from './layout.js';
export type { BroadcastParams, ConcatParams, PadParams, SliceParams, TransposeParams } from './layout.js';
export { RESIZE_COEF_BITS, nearestIndex, resize, resizeMap, sourceCoordinate } from './resize.js';
export type { ResizeParams } from './resize.js';
export { globalAveragePool } from './pool.js';
export type { GlobalPoolParams } from './pool.js';
