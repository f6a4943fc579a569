// Resize (nearest and N-linear) of any rank. Both modes are separable, so the kernel resizes
// one axis at a time. Source coordinates are computed in float32 steps, as onnxruntime
// does, so that nearest-neighbour ties (x.5) round the same way.
import { diag } from '../../runtime/diagnostics.js';
import type { AttrValue } from '../graph.js';
import { Tensor, allocData } from '../tensor.js';
import { numel } from '../types.js';
import { COORDINATE_MODES, NEAREST_MODES, nearestIndex, sourceCoordinate } from '../../runtime/local/resize.js';
import { defineKernels } from './kernels.js';

// The coordinate rules are the runtime's (runtime/local/resize.ts), so the plaintext and the
// secure resize pick the same source indices.
/** One axis's source indices and the weight of the second one (0 for nearest). */
export interface AxisMap {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w1: Float64Array;
}

function axisMap(linear: boolean, coordMode: string, nearestMode: string, scale: number, inLen: number, outLen: number): AxisMap {
  const i0 = new Int32Array(outLen), i1 = new Int32Array(outLen), w1 = new Float64Array(outLen);
  for (let x = 0; x < outLen; x++) {
    const src = sourceCoordinate(coordMode, x, scale, inLen, outLen);
    if (linear) {
      const c = Math.max(0, Math.min(src, inLen - 1));
      const lo = Math.min(Math.floor(c), inLen - 1);
      i0[x] = lo;
      i1[x] = Math.min(lo + 1, inLen - 1);
      w1[x] = c - lo;
    } else {
      const i = Math.max(0, Math.min(nearestIndex(nearestMode, src), inLen - 1));
      i0[x] = i1[x] = i;
    }
  }
  return { i0, i1, w1 };
}

function isIdentity(m: AxisMap): boolean {
  for (let x = 0; x < m.i0.length; x++) if (m.i0[x] !== x || m.w1[x] !== 0) return false;
  return true;
}

/** Resizes `src` (shape `shape`) along `axis` to `outLen` through the axis map. */
function resizeAxis(src: ArrayLike<number>, shape: number[], axis: number, m: AxisMap): { data: Float64Array; shape: number[] } {
  const inLen = shape[axis], outLen = m.i0.length;
  let outer = 1, inner = 1;
  for (let a = 0; a < axis; a++) outer *= shape[a];
  for (let a = axis + 1; a < shape.length; a++) inner *= shape[a];
  const out = new Float64Array(outer * outLen * inner);
  const { i0, i1, w1 } = m;
  for (let o = 0; o < outer; o++)
    for (let x = 0; x < outLen; x++) {
      const d = (o * outLen + x) * inner;
      const s0 = (o * inLen + i0[x]) * inner, s1 = (o * inLen + i1[x]) * inner;
      const b = w1[x], a = 1 - b;
      if (b === 0) for (let k = 0; k < inner; k++) out[d + k] = src[s0 + k];
      else for (let k = 0; k < inner; k++) out[d + k] = a * src[s0 + k] + b * src[s1 + k];
    }
  const next = [...shape];
  next[axis] = outLen;
  return { data: out, shape: next };
}

/** A Resize's attributes, as the kernels read them. */
export interface ResizeAttrs {
  readonly name: string;
  readonly mode: string;
  readonly coordMode: string;
  readonly nearestMode: string;
  readonly scales: readonly number[] | undefined;
}

/** The axes a Resize of `inShape` to `outShape` changes, in the order the forward kernel resizes
 * them (the last axis first), each with its map and the shape it starts from (MPCC3004 for a mode
 * the kernels do not know). The backward kernel (ir/interp/grad/resize.ts) walks them back. */
export function resizeSteps(inShape: readonly number[], outShape: readonly number[], a: ResizeAttrs): { axis: number; map: AxisMap; shape: number[] }[] {
  const bad = !['nearest', 'linear'].includes(a.mode) ? `mode '${a.mode}'`
    : !COORDINATE_MODES.has(a.coordMode) ? `coordinate_transformation_mode '${a.coordMode}'`
    : a.mode === 'nearest' && !NEAREST_MODES.has(a.nearestMode) ? `nearest_mode '${a.nearestMode}'` : undefined;
  if (bad) throw diag('MPCC3004', [a.name, 'Resize', `unsupported ${bad}`]);
  const steps: { axis: number; map: AxisMap; shape: number[] }[] = [];
  let shape = [...inShape];
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const inLen = shape[axis], outLen = outShape[axis];
    const scale = Math.fround(a.scales && a.scales.length === shape.length ? a.scales[axis] : outLen / inLen);
    const map = axisMap(a.mode === 'linear', a.coordMode, a.nearestMode, scale, inLen, outLen);
    if (inLen === outLen && isIdentity(map)) continue;
    steps.push({ axis, map, shape });
    shape = [...shape];
    shape[axis] = outLen;
  }
  return steps;
}

/** A Resize node's attributes (the op table's defaults where absent). */
export function resizeAttrs(name: string, attr: (key: string) => AttrValue | undefined): ResizeAttrs {
  return {
    name,
    mode: (attr('mode') as string | undefined) ?? 'nearest',
    coordMode: (attr('coordinate_transformation_mode') as string | undefined) ?? 'half_pixel',
    nearestMode: (attr('nearest_mode') as string | undefined) ?? 'round_prefer_floor',
    scales: attr('scales') as number[] | undefined,
  };
}

defineKernels({
  Resize: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    let data: ArrayLike<number> = x!.data;
    let shape = [...x!.shape];
    for (const step of resizeSteps(shape, t.shape, resizeAttrs(ctx.node.name, (k) => ctx.attr(k)))) ({ data, shape } = resizeAxis(data, shape, step.axis, step.map));
    const out = allocData(t.dtype, numel(t.shape));
    for (let i = 0; i < out.length; i++) out[i] = data[i];
    return [new Tensor(t.dtype, t.shape, out)];
  },
});
