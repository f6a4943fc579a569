// Sliding windows over NCHW maps, convolution's and pooling's: their parameters and output
// size. One formula for both, used by the IR's shape inference (ir/ops/conv.ts, pooling.ts),
// the ring convolution (ring.ts, conv-blocks.ts) and the pooling protocols (protocols/linear.ts),
// so the compiler and the runtime cannot disagree on a shape. A leaf module: it imports nothing.

/** Output size of one axis of a window: (in + padBefore + padAfter − dilation·(kernel − 1) − 1)
 * / stride + 1, rounded down, or up with `ceilMode` (pooling's ceil_mode); in ceil mode a last
 * window that would start inside the end padding is dropped (the ONNX/PyTorch rule). */
export function windowOutSize(inSize: number, kernel: number, stride: number, padBefore: number, padAfter: number, dilation = 1, ceilMode = false): number {
  const span = inSize + padBefore + padAfter - dilation * (kernel - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + padBefore) out--;
  return out;
}

/** Shape and hyper-parameters of a 2-D convolution (NCHW activations, OIHW weights). */
export interface Conv2dParams {
  /** [N, C, H, W] of the input. */
  inShape: readonly [number, number, number, number];
  /** [O, C/group, KH, KW] of the weights. */
  weightShape: readonly [number, number, number, number];
  strides: readonly [number, number];
  /** [top, left, bottom, right]. */
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
  group: number;
}

/** Output shape [N, O, OH, OW] of a convolution. */
export function conv2dOutShape(p: Conv2dParams): [number, number, number, number] {
  const [n, , h, w] = p.inShape;
  const [o, , kh, kw] = p.weightShape;
  const oh = windowOutSize(h, kh, p.strides[0], p.pads[0], p.pads[2], p.dilations[0]);
  const ow = windowOutSize(w, kw, p.strides[1], p.pads[1], p.pads[3], p.dilations[1]);
  return [n, o, oh, ow];
}

/** Window of a 2-D pooling over NCHW data. */
export interface PoolParams {
  inShape: readonly [number, number, number, number];
  kernel: readonly [number, number];
  strides: readonly [number, number];
  /** [top, left, bottom, right]; padding counts as zero. */
  pads: readonly [number, number, number, number];
}

/** Output shape [N, C, OH, OW] of a pooling. */
export function poolOutShape(p: PoolParams): [number, number, number, number] {
  const [n, c, h, w] = p.inShape;
  const oh = windowOutSize(h, p.kernel[0], p.strides[0], p.pads[0], p.pads[2]);
  const ow = windowOutSize(w, p.kernel[1], p.strides[1], p.pads[1], p.pads[3]);
  return [n, c, oh, ow];
}
