// Data-movement and shape ops: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Shape,
// Gather, Slice, Cast. Their attributes are in the importer's normalized form: axes ≥ 0 and
// sorted, Slice bounds clamped, Reshape's target a constant operand.
import { DTYPES, type DType, type Shape, numel } from '../types.js';
import { localOp } from './facts.js';
import type { OperandView } from './secure-facts.js';
import type { Node } from '../graph.js';
import { type OpDef, ShapeError, defineOps } from './registry.js';

const fmt = (s: Shape) => `[${s.join(',')}]`;

function checkSortedAxes(axes: readonly number[], rank: number, what = 'axes'): void {
  axes.forEach((a, i) => {
    if (a >= rank) throw new ShapeError(`${what} [${axes.join(',')}]: axis ${a} is out of range for rank ${rank}`);
    if (i > 0 && a <= axes[i - 1]) throw new ShapeError(`${what} [${axes.join(',')}] must be sorted and distinct`);
  });
}

/** The output shape of ONNX Reshape of `input` to `target` (0 copies a dim unless allowzero, -1 is inferred). */
export function reshapeTarget(input: Shape, target: readonly number[], allowzero: boolean): number[] {
  const out = target.map((d, i) => {
    if (d === 0 && !allowzero) {
      if (i >= input.length) throw new ShapeError(`target ${fmt(target)}: 0 at position ${i} has no input dimension to copy`);
      return input[i];
    }
    return d;
  });
  const minus = out.filter((d) => d === -1).length;
  if (minus > 1) throw new ShapeError(`target ${fmt(target)} has more than one -1`);
  if (out.some((d) => d < -1 || !Number.isInteger(d))) throw new ShapeError(`target ${fmt(target)} has an invalid dimension`);
  const total = numel(input);
  if (minus === 1) {
    const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
    if (known === 0 || total % known !== 0) throw new ShapeError(`cannot reshape ${fmt(input)} to ${fmt(target)}`);
    out[out.indexOf(-1)] = total / known;
  }
  if (numel(out) !== total) throw new ShapeError(`cannot reshape ${fmt(input)} (${total} elements) to ${fmt(out)}`);
  return out;
}

/** Slice parameters in the IR's normalized form. */
export interface SliceParams {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

/**
 * Normalizes ONNX Slice parameters against `shape`: negative axes and bounds are made
 * absolute and bounds clamped (to [0, d] for positive steps, start to [0, d-1] and end to
 * [-1, d-1] for negative ones; end -1 then means "before index 0").
 */
export function normalizeSlice(shape: Shape, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): SliceParams {
  const rank = shape.length;
  const ax = axes ? [...axes] : starts.map((_, i) => i);
  const st = steps ? [...steps] : starts.map(() => 1);
  if (ends.length !== starts.length || ax.length !== starts.length || st.length !== starts.length) {
    throw new ShapeError(`starts, ends, axes and steps must have the same length (${starts.length}, ${ends.length}, ${ax.length}, ${st.length})`);
  }
  const out: SliceParams = { starts: [], ends: [], axes: [], steps: [] };
  ax.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + rank : a0;
    if (a < 0 || a >= rank) throw new ShapeError(`axis ${a0} is out of range for rank ${rank}`);
    if (out.axes.includes(a)) throw new ShapeError(`axis ${a} appears twice`);
    const d = shape[a], step = st[i];
    if (step === 0 || !Number.isInteger(step)) throw new ShapeError(`step on axis ${a} must be a non-zero integer`);
    let s = starts[i] < 0 ? starts[i] + d : starts[i];
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    out.axes.push(a); out.starts.push(s); out.ends.push(e); out.steps.push(step);
  });
  return out;
}

/** Number of elements a normalized slice takes from an axis. */
export function sliceCount(start: number, end: number, step: number): number {
  return step > 0 ? Math.max(0, Math.ceil((end - start) / step)) : Math.max(0, Math.ceil((start - end) / -step));
}

const reshape: OpDef = {
  name: 'Reshape',
  doc: 'same elements under a new shape; `shape` must be an int64 constant (0 copies a dim unless allowzero, -1 is inferred)',
  inputs: [{ name: 'data' }, { name: 'shape' }],
  outputs: 1,
  attrs: { allowzero: { kind: 'int', default: 0, range: [0, 1] } },
  infer: ({ inputs, constants, attr }) => {
    const target = constants[1];
    if (!target) throw new ShapeError('shape operand must be a constant');
    if (target.dtype !== 'int64' || target.shape.length !== 1) throw new ShapeError(`shape operand must be a 1-D int64 tensor, got ${target.dtype}${fmt(target.shape)}`);
    return [{ dtype: inputs[0]!.dtype, shape: reshapeTarget(inputs[0]!.shape, target.toArray(), attr<number>('allowzero') === 1) }];
  },
};

const flatten: OpDef = {
  name: 'Flatten',
  doc: 'reshape to 2-D [product of dims before axis, product of the rest]',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: { axis: { kind: 'int', default: 1, range: [0, 64] } },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!, axis = attr<number>('axis');
    if (axis > x.shape.length) throw new ShapeError(`axis ${axis} is out of range for rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))] }];
  },
};

const transpose: OpDef = {
  name: 'Transpose',
  doc: 'permute axes: output axis i is input axis perm[i]',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: { perm: { kind: 'ints', range: [0, 64], doc: 'a full permutation of the axes' } },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!, perm = attr<number[]>('perm');
    const rank = x.shape.length;
    const ok = perm.length === rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
    if (!ok) throw new ShapeError(`perm [${perm.join(',')}] is not a permutation of ${rank} axes`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
};

const squeeze: OpDef = {
  name: 'Squeeze',
  doc: 'remove the size-1 axes listed in `axes` (sorted, ≥ 0)',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: { axes: { kind: 'ints', range: [0, 64] } },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!, axes = attr<number[]>('axes');
    checkSortedAxes(axes, x.shape.length);
    for (const a of axes) if (x.shape[a] !== 1) throw new ShapeError(`axis ${a} of ${fmt(x.shape)} has size ${x.shape[a]}, not 1`);
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
  },
};

const unsqueeze: OpDef = {
  name: 'Unsqueeze',
  doc: 'insert size-1 axes at the positions `axes` of the output (sorted, ≥ 0)',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: { axes: { kind: 'ints', range: [0, 64] } },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!, axes = attr<number[]>('axes');
    const rank = x.shape.length + axes.length;
    checkSortedAxes(axes, rank);
    const shape: number[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++]);
    return [{ dtype: x.dtype, shape }];
  },
};

const concat: OpDef = {
  name: 'Concat',
  doc: 'join the operands along `axis` (≥ 0); other dimensions must agree',
  inputs: [{ name: 'inputs', variadic: true }],
  outputs: 1,
  attrs: { axis: { kind: 'int', range: [0, 64] } },
  infer: ({ inputs, attr }) => {
    const axis = attr<number>('axis');
    const first = inputs[0]!;
    if (axis >= first.shape.length) throw new ShapeError(`axis ${axis} is out of range for rank ${first.shape.length}`);
    let total = 0;
    inputs.forEach((t, i) => {
      if (!t) throw new ShapeError(`operand ${i} is missing`);
      if (t.dtype !== first.dtype) throw new ShapeError(`operand ${i} is ${t.dtype} but operand 0 is ${first.dtype}`);
      if (t.shape.length !== first.shape.length || t.shape.some((d, k) => k !== axis && d !== first.shape[k])) {
        throw new ShapeError(`operand ${i} ${fmt(t.shape)} does not match operand 0 ${fmt(first.shape)} outside axis ${axis}`);
      }
      total += t.shape[axis];
    });
    return [{ dtype: first.dtype, shape: first.shape.map((d, k) => (k === axis ? total : d)) }];
  },
};

const shapeOp: OpDef = {
  name: 'Shape',
  doc: 'the dimensions start..end of X as a 1-D int64 tensor (import folds it when X has a static shape)',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: {
    start: { kind: 'int', default: 0, range: [0, 64] },
    end: { kind: 'int', default: 64, range: [0, 64], doc: 'exclusive; clamped to the rank' },
  },
  infer: ({ inputs, attr }) => {
    const rank = inputs[0]!.shape.length;
    const start = Math.min(attr<number>('start'), rank), end = Math.min(attr<number>('end'), rank);
    return [{ dtype: 'int64', shape: [Math.max(0, end - start)] }];
  },
};

const gather: OpDef = {
  name: 'Gather',
  doc: 'take entries of data along `axis` at integer `indices` (negative counts from the end); result shape data[:axis] + indices + data[axis+1:]',
  inputs: [{ name: 'data' }, { name: 'indices' }],
  outputs: 1,
  attrs: { axis: { kind: 'int', default: 0, range: [0, 64] } },
  infer: ({ inputs, constants, attr }) => {
    const data = inputs[0]!, idx = inputs[1]!, axis = attr<number>('axis');
    if (axis >= data.shape.length) throw new ShapeError(`axis ${axis} is out of range for rank ${data.shape.length}`);
    if (idx.dtype !== 'int64' && idx.dtype !== 'int32') throw new ShapeError(`indices must be int64 or int32, got ${idx.dtype}`);
    const d = data.shape[axis];
    const bad = constants[1]?.toArray().find((i) => i < -d || i >= d);
    if (bad !== undefined) throw new ShapeError(`index ${bad} is out of range for axis ${axis} of size ${d}`);
    return [{ dtype: data.dtype, shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)] }];
  },
};

const slice: OpDef = {
  name: 'Slice',
  doc: 'data[start:end:step] on each listed axis; bounds are normalized (clamped, ≥ 0 except end -1 = before 0 with negative steps)',
  inputs: [{ name: 'data' }],
  outputs: 1,
  attrs: {
    starts: { kind: 'ints' },
    ends: { kind: 'ints' },
    axes: { kind: 'ints', range: [0, 64] },
    steps: { kind: 'ints' },
  },
  infer: ({ inputs, attr }) => {
    const x = inputs[0]!;
    const starts = attr<number[]>('starts'), ends = attr<number[]>('ends'), axes = attr<number[]>('axes'), steps = attr<number[]>('steps');
    if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
      throw new ShapeError('starts, ends, axes and steps must have the same length');
    }
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      if (a >= x.shape.length) throw new ShapeError(`axis ${a} is out of range for rank ${x.shape.length}`);
      if (axes.indexOf(a) !== i) throw new ShapeError(`axis ${a} appears twice`);
      const d = x.shape[a], s = starts[i], e = ends[i], step = steps[i];
      const ok = step > 0 ? s >= 0 && s <= d && e >= 0 && e <= d : step < 0 && s >= Math.min(0, d - 1) && s <= d - 1 && e >= -1 && e <= d - 1;
      if (!ok) throw new ShapeError(`slice ${s}:${e}:${step} on axis ${a} (size ${d}) is not normalized`);
      shape[a] = sliceCount(s, e, step);
    });
    return [{ dtype: x.dtype, shape }];
  },
};

const cast: OpDef = {
  name: 'Cast',
  doc: 'convert elements to dtype `to` (float → int truncates toward zero)',
  inputs: [{ name: 'X' }],
  outputs: 1,
  attrs: { to: { kind: 'string', oneOf: DTYPES } },
  infer: ({ inputs, attr }) => [{ dtype: attr<DType>('to'), shape: inputs[0]!.shape }],
};

/** A constant joined to activations would be the server's secret in the client's share. */
function concatLimits(node: Node, operands: OperandView): string | undefined {
  if (node.inputs.some((v) => operands.constant(v))) return "every operand must be an activation (a constant would be the server's secret)";
  return undefined;
}

// Secure inference: data movement runs on each party's share; Shape, Gather and Cast have no
// secure form (canonicalize folds them where shapes are static).
defineOps(
  { ...reshape, secure: localOp('identity') },
  { ...flatten, secure: localOp('identity') },
  { ...transpose, secure: localOp('transpose') },
  { ...squeeze, secure: localOp('identity') },
  { ...unsqueeze, secure: localOp('identity') },
  { ...concat, secure: localOp('concat', concatLimits) },
  shapeOp,
  gather,
  { ...slice, secure: localOp('slice') },
  cast,
);
