// Resize (nearest and N-linear) of any rank. Both modes are separable, so the kernel resizes
// one axis at a time. Source coordinates are computed in float32 steps, as onnxruntime
// does, so that nearest-neighbour ties (x.5) round the same way.
import { diag } from '../../runtime/diagnostics.js';
import { Tensor, allocData } from '../tensor.js';
import { numel } from '../types.js';
import { COORDINATE_MODES, NEAREST_MODES, nearestIndex, sourceCoordinate } from '../../runtime/local/resize.js';
import { defineKernels } from './kernels.js';

// The coordinate rules are the runtime's (runtime/local/resize.ts), so the plaintext and the
// secure resize pick the same source indices.
/** One axis's source indices and the weight of the second one (0 for nearest). */
interface AxisMap {
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

defineKernels({
  Resize: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const mode = ctx.attr<string>('mode') ?? 'nearest';
    const coordMode = ctx.attr<string>('coordinate_transformation_mode') ?? 'half_pixel';
    const nearestMode = ctx.attr<string>('nearest_mode') ?? 'round_prefer_floor';
    const scales = ctx.attr<number[]>('scales');
    const bad = !['nearest', 'linear'].includes(mode) ? `mode '${mode}'`
      : !COORDINATE_MODES.has(coordMode) ? `coordinate_transformation_mode '${coordMode}'`
      : mode === 'nearest' && !NEAREST_MODES.has(nearestMode) ? `nearest_mode '${nearestMode}'` : undefined;
    if (bad) throw diag('MPCC3004', [ctx.node.name, 'Resize', `unsupported ${bad}`]);
    let data: ArrayLike<number> = x!.data;
    let shape = [...x!.shape];
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      const inLen = shape[axis], outLen = t.shape[axis];
      const scale = Math.fround(scales && scales.length === shape.length ? scales[axis] : outLen / inLen);
      const m = axisMap(mode === 'linear', coordMode, nearestMode, scale, inLen, outLen);
      if (inLen === outLen && isIdentity(m)) continue;
      ({ data, shape } = resizeAxis(data, shape, axis, m));
    }
    const out = allocData(t.dtype, numel(t.shape));
    for (let i = 0; i < out.length; i++) out[i] = data[i];
    return [new Tensor(t.dtype, t.shape, out)];
  },
});
