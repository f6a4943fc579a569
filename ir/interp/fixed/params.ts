// The runtime parameters of a quantized graph's local ops, read from IR nodes: the fixed-point
// interpreter calls the runtime kernels with them, and code generators that embed step
// parameters in party programs should use the same functions, so both sides compute with
// identical maps (resize coefficients, pooling windows, slices).
import type { Conv2dParams, PoolParams } from '../../../runtime/ring/windows.js';
import type { ConcatParams, PadParams, ResizeParams, SliceParams, TransposeParams } from '../../../runtime/local/index.js';
import type { Node } from '../../graph.js';
import { withDefaults } from '../../ops/index.js';
import { poolWindowSizes, untruncatedPoolBits } from '../../../runtime/protocols/linear.js';

type Nchw = [number, number, number, number];

/** Window of a MaxPool/AveragePool node on an NCHW input of shape `x` (ceil_mode 0, no dilation). */
export function poolParamsOf(node: Node, x: readonly number[]): PoolParams {
  const a = withDefaults(node);
  return { inShape: [...x] as Nchw, kernel: a.kernel_shape as [number, number], strides: a.strides as [number, number], pads: a.pads as Nchw };
}

/** The truncation an untruncated AveragePool or GlobalAveragePool node on input shape `x`
 * leaves to the step after (runtime/protocols/linear.ts untruncatedPoolBits): log2 D for a
 * single power-of-two divisor D, else the node's divide_bits. */
export function poolTruncationBits(node: Node, x: readonly number[]): number {
  const a = withDefaults(node);
  const bits = a.divide_bits as number;
  if (node.op === 'GlobalAveragePool') return untruncatedPoolBits([x.slice(2).reduce((p, d) => p * d, 1)], bits);
  const p = poolParamsOf(node, x);
  const divisors = a.count_include_pad === 1 ? [p.kernel[0] * p.kernel[1]] : poolWindowSizes(p);
  return untruncatedPoolBits(divisors, bits);
}

/** Convolution parameters of a Conv node with input shape `x` and weight shape `w`. */
export function convParamsOf(node: Node, x: readonly number[], w: readonly number[]): Conv2dParams {
  const a = withDefaults(node);
  return {
    inShape: [...x] as Nchw, weightShape: [...w] as Nchw, strides: a.strides as [number, number],
    pads: a.pads as Nchw, dilations: a.dilations as [number, number], group: a.group as number,
  };
}

/** Resize parameters of a Resize node from input shape `x` to output shape `y`. */
export function resizeParamsOf(node: Node, x: readonly number[], y: readonly number[]): ResizeParams {
  const a = withDefaults(node);
  return {
    inShape: [...x], outShape: [...y], scales: [...(a.scales as number[])], mode: a.mode as 'nearest' | 'linear',
    coordinateMode: a.coordinate_transformation_mode as string, nearestMode: a.nearest_mode as string,
  };
}

/** Slice parameters of a Slice node on input shape `x`. */
export function sliceParamsOf(node: Node, x: readonly number[]): SliceParams {
  const a = withDefaults(node);
  return { shape: [...x], starts: a.starts as number[], ends: a.ends as number[], axes: a.axes as number[], steps: a.steps as number[] };
}

/** Zero-padding parameters of a Pad node on input shape `x`. */
export function padParamsOf(node: Node, x: readonly number[]): PadParams {
  return { shape: [...x], pads: withDefaults(node).pads as number[] };
}

/** Transpose parameters of a Transpose node on input shape `x`. */
export function transposeParamsOf(node: Node, x: readonly number[]): TransposeParams {
  return { shape: [...x], perm: withDefaults(node).perm as number[] };
}

/** Concat parameters of a Concat node with input shapes `xs`. */
export function concatParamsOf(node: Node, xs: readonly (readonly number[])[]): ConcatParams {
  return { shapes: xs.map((s) => [...s]), axis: withDefaults(node).axis as number };
}
