// Per-field schemas of the layout steps of program.json (transpose, slice, concat, pad,
// broadcast, resize): the exact fields each kind's runtime function reads (runtime/local/), of
// the right types, array lengths agreeing with the tensor's rank, indices within its shape,
// permutations being permutations, results under the size limit, and the operands' declared
// sizes equal to those of the values they read (validate.ts tracks them) — so that a hostile
// parameter is refused, naming the step and the field, before anything runs, instead of
// reading out of bounds or allocating without bound at the step.
import { sliceShape } from '../local/layout.js';
import { COORDINATE_MODES, NEAREST_MODES } from '../local/resize.js';
import { array, describe, fail, int, ints, type Json, only, PROGRAM_LIMITS, shape } from './validate-json.js';

/** The element counts a layout step's parameters declare: of each operand, and of its result. */
export interface LayoutSizes {
  /** Per operand: its element count and the parameter declaring it (`shape`, `shapes[1]`). */
  readonly inputs: readonly { readonly size: number; readonly field: string }[];
  readonly output: number;
}

/** Checks a step's parameters (`field` is `steps[i].params`) given its operand count; returns
 * the sizes they declare, which the validator holds against the operands' own. */
export type ParamsCheck = (params: Record<string, Json>, field: string, operands: number) => LayoutSizes;

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A shape of rank ≥ 1 (a layout step moves axes: a scalar has none). */
function tensorShape(v: Json, field: string): number[] {
  const dims = shape(v, field);
  if (dims.length === 0) fail(field, 'a shape of rank 0 (a layout step needs at least one axis)');
  return dims;
}

/** A result shape, bounded like any value; its element count. */
function result(dims: readonly number[], field: string, what: string): number {
  const n = product(dims);
  if (n > PROGRAM_LIMITS.elements) fail(field, `${what} of ${n} elements, at most ${PROGRAM_LIMITS.elements}`);
  return n;
}

/** transpose { shape, perm }: perm a permutation of the axes of shape. */
const transpose: ParamsCheck = (p, f) => {
  only(p, f, ['shape', 'perm']);
  const dims = tensorShape(p.shape, `${f}.shape`);
  const perm = ints(p.perm, `${f}.perm`, dims.length, 0, dims.length - 1);
  perm.forEach((a, i) => perm.indexOf(a) !== i && fail(`${f}.perm[${i}]`, `axis ${a} appears twice: not a permutation of ${dims.length} axes`));
  return { inputs: [{ size: product(dims), field: 'shape' }], output: product(dims) };
};

/** slice { shape, starts, ends, axes, steps }: one entry per sliced axis, each axis once and
 * within the rank, bounds normalized as the IR keeps them (runtime/local/layout.ts). */
const slice: ParamsCheck = (p, f) => {
  only(p, f, ['shape', 'starts', 'ends', 'axes', 'steps']);
  const dims = tensorShape(p.shape, `${f}.shape`);
  const axes = array(p.axes, `${f}.axes`, dims.length).map((a, i) => int(a, `${f}.axes[${i}]`, 0, dims.length - 1));
  axes.forEach((a, i) => axes.indexOf(a) !== i && fail(`${f}.axes[${i}]`, `axis ${a} appears twice`));
  const limit = PROGRAM_LIMITS.elements;
  const starts = ints(p.starts, `${f}.starts`, axes.length, -1, limit);
  const ends = ints(p.ends, `${f}.ends`, axes.length, -1, limit);
  const steps = ints(p.steps, `${f}.steps`, axes.length, -limit, limit);
  axes.forEach((a, i) => {
    const d = dims[a], s = starts[i], e = ends[i], step = steps[i];
    if (step === 0) fail(`${f}.steps[${i}]`, 'a step of 0');
    if (step > 0 ? s < 0 || s > d : s < Math.min(0, d - 1) || s > d - 1) fail(`${f}.starts[${i}]`, `start ${s} is outside axis ${a} of size ${d} (step ${step})`);
    if (step > 0 ? e < 0 || e > d : e < -1 || e > d - 1) fail(`${f}.ends[${i}]`, `end ${e} is outside axis ${a} of size ${d} (step ${step})`);
  });
  return { inputs: [{ size: product(dims), field: 'shape' }], output: product(sliceShape({ shape: dims, starts, ends, axes, steps })) };
};

/** concat { shapes, axis }: one shape per operand, all of one rank, equal but on the axis. */
const concat: ParamsCheck = (p, f, operands) => {
  only(p, f, ['shapes', 'axis']);
  const shapes = array(p.shapes, `${f}.shapes`, PROGRAM_LIMITS.operands).map((s, i) => tensorShape(s, `${f}.shapes[${i}]`));
  if (shapes.length !== operands) fail(`${f}.shapes`, `${shapes.length} shapes for ${operands} operands`);
  const rank = shapes[0].length;
  const axis = int(p.axis, `${f}.axis`, 0, rank - 1);
  shapes.forEach((s, i) => {
    if (s.length !== rank) fail(`${f}.shapes[${i}]`, `rank ${s.length}, the first operand's is ${rank}`);
    s.forEach((d, a) => a !== axis && d !== shapes[0][a] && fail(`${f}.shapes[${i}][${a}]`, `${d}, the first operand's is ${shapes[0][a]} (only axis ${axis} may differ)`));
  });
  const output = result(shapes[0].map((d, a) => (a === axis ? shapes.reduce((n, s) => n + s[a], 0) : d)), f, 'a concatenation');
  return { inputs: shapes.map((s, i) => ({ size: product(s), field: `shapes[${i}]` })), output };
};

/** pad { shape, pads }: a begin and an end per axis, none negative. */
const pad: ParamsCheck = (p, f) => {
  only(p, f, ['shape', 'pads']);
  const dims = tensorShape(p.shape, `${f}.shape`);
  const pads = ints(p.pads, `${f}.pads`, 2 * dims.length, 0);
  return { inputs: [{ size: product(dims), field: 'shape' }], output: result(dims.map((d, a) => d + pads[a] + pads[a + dims.length]), `${f}.pads`, 'a padded tensor') };
};

/** broadcast { shape, outShape }: numpy rules, right-aligned; every axis of shape is 1 or equal. */
const broadcast: ParamsCheck = (p, f) => {
  only(p, f, ['shape', 'outShape']);
  const dims = tensorShape(p.shape, `${f}.shape`);
  const out = tensorShape(p.outShape, `${f}.outShape`);
  if (out.length < dims.length) fail(`${f}.outShape`, `rank ${out.length}, below the input's ${dims.length}`);
  const lead = out.length - dims.length;
  dims.forEach((d, a) => d !== 1 && d !== out[a + lead] && fail(`${f}.shape[${a}]`, `${d} does not broadcast to ${out[a + lead]}`));
  return { inputs: [{ size: product(dims), field: 'shape' }], output: product(out) };
};

/** resize { inShape, outShape, scales, mode, coordinateMode?, nearestMode?, coefBits? }: one
 * positive scale per axis, modes the runtime knows, and an interpolation map (up to two source
 * elements per axis) under the size limit. */
const resize: ParamsCheck = (p, f) => {
  only(p, f, ['inShape', 'outShape', 'scales', 'mode', 'coordinateMode', 'nearestMode', 'coefBits']);
  const dims = tensorShape(p.inShape, `${f}.inShape`);
  const out = tensorShape(p.outShape, `${f}.outShape`);
  if (out.length !== dims.length) fail(`${f}.outShape`, `rank ${out.length}, the input's is ${dims.length}`);
  const scales = array(p.scales, `${f}.scales`, dims.length);
  if (scales.length !== dims.length) fail(`${f}.scales`, `${scales.length} entries, expected ${dims.length}`);
  scales.forEach((s, i) => (typeof s !== 'number' || !Number.isFinite(s) || s <= 0 || s > PROGRAM_LIMITS.elements) && fail(`${f}.scales[${i}]`, `expected a positive finite scale, got ${describe(s)}`));
  if (p.mode !== 'nearest' && p.mode !== 'linear') fail(`${f}.mode`, `expected 'nearest' or 'linear', got ${describe(p.mode)}`);
  if (p.coordinateMode !== undefined && !COORDINATE_MODES.has(p.coordinateMode as string)) fail(`${f}.coordinateMode`, `unknown coordinate transformation ${describe(p.coordinateMode)}`);
  if (p.nearestMode !== undefined && !NEAREST_MODES.has(p.nearestMode as string)) fail(`${f}.nearestMode`, `unknown nearest mode ${describe(p.nearestMode)}`);
  if (p.coefBits !== undefined) int(p.coefBits, `${f}.coefBits`, 0, 30);
  if (dims.includes(0) && !out.includes(0)) fail(`${f}.inShape`, 'an empty input resized to a non-empty output');
  const terms = p.mode === 'linear' ? product(dims.map((d) => Math.min(2, d))) : 1;
  result([product(out), terms], `${f}.outShape`, 'an interpolation map');
  return { inputs: [{ size: product(dims), field: 'inShape' }], output: product(out) };
};

/** The layout step kinds' parameter checks. */
export const LAYOUT_SCHEMAS: Readonly<Record<'transpose' | 'slice' | 'concat' | 'pad' | 'broadcast' | 'resize', ParamsCheck>> = {
  transpose,
  slice,
  concat,
  pad,
  broadcast,
  resize,
};
