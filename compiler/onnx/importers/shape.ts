// Importers of shape and data-movement operators, Constant and ConstantOfShape. Operands
// ONNX gives as inputs (Squeeze/Unsqueeze axes from opset 13, Slice bounds from 10) must be
// constants and become attributes; Shape is always folded since every shape is static.
import { ShapeError } from '../../../ir/ops/index.js';
import { normalizeSlice } from '../../../ir/ops/shape.js';
import { Tensor, allocData, tensorOf } from '../../../ir/tensor.js';
import { type DType, numel } from '../../../ir/types.js';
import { type ImportContext, normalizeAxes, normalizeAxis } from '../context.js';
import { always, defineImporters } from './registry.js';

/** IR dtype of an ONNX TensorProto.DataType number (Cast's `to`). */
const CAST_TARGETS: Record<number, DType> = { 1: 'float32', 11: 'float64', 7: 'int64', 6: 'int32', 9: 'bool' };

/** Integer list from a constant input, or undefined when the input is absent. */
function intsInput(ctx: ImportContext, i: number, what: string): number[] | undefined {
  return ctx.has(i) ? ctx.constantInput(i, what).toArray() : undefined;
}

/** Axes from the attribute (before `inputSince`) or from input 1 (from that opset on). */
function axesOperand(ctx: ImportContext, inputSince: number): number[] | undefined {
  return ctx.opset < inputSince ? (ctx.hasAttr('axes') ? ctx.ints('axes') : undefined) : intsInput(ctx, 1, 'axes');
}

defineImporters({
  Reshape: always((ctx) => {
    if (ctx.opset < 5) ctx.fail('Reshape with a shape attribute (opset < 5) is not supported');
    ctx.constantInput(1, 'shape');
    ctx.emit('Reshape', [ctx.input(0), ctx.asDType(1, 'int64')], { allowzero: ctx.int('allowzero', 0) });
  }),
  Flatten: always((ctx) => {
    const rank = ctx.type(0).shape.length;
    const axis = ctx.int('axis', 1);
    const a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a > rank) ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
    ctx.emit('Flatten', [ctx.input(0)], { axis: a });
  }),
  Transpose: always((ctx) => {
    const rank = ctx.type(0).shape.length;
    const perm = ctx.ints('perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
    ctx.emit('Transpose', [ctx.input(0)], { perm: perm.map((p) => normalizeAxis(ctx, p, rank, 'perm entry')) });
  }),
  Squeeze: always((ctx) => {
    const shape = ctx.type(0).shape;
    const given = axesOperand(ctx, 13);
    const axes = given ? normalizeAxes(ctx, given, shape.length) : shape.flatMap((d, i) => (d === 1 ? [i] : []));
    ctx.emit('Squeeze', [ctx.input(0)], { axes });
  }),
  Unsqueeze: always((ctx) => {
    const given = axesOperand(ctx, 13);
    if (!given) ctx.fail('axes are required');
    const axes = normalizeAxes(ctx, given!, ctx.type(0).shape.length + given!.length);
    ctx.emit('Unsqueeze', [ctx.input(0)], { axes });
  }),
  Concat: always((ctx) => {
    const rank = ctx.type(0).shape.length;
    const dtype = ctx.type(0).dtype;
    const operands = ctx.node.inputs.map((name, i) => (name ? ctx.asDType(i, dtype) : '')).filter((n) => n);
    ctx.emit('Concat', operands, { axis: normalizeAxis(ctx, ctx.int('axis'), rank) });
  }),
  Shape: always((ctx) => {
    const shape = ctx.type(0).shape, rank = shape.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
    const start = clamp(ctx.int('start', 0)), end = clamp(ctx.int('end', rank));
    const dims = shape.slice(start, Math.max(start, end));
    ctx.setConstant(ctx.node.outputs[0], tensorOf('int64', [dims.length], dims));
  }),
  Size: always((ctx) => {
    ctx.setConstant(ctx.node.outputs[0], tensorOf('int64', [], [numel(ctx.type(0).shape)]));
  }),
  Gather: always((ctx) => {
    const rank = ctx.type(0).shape.length;
    ctx.emit('Gather', [ctx.input(0), ctx.input(1)], { axis: normalizeAxis(ctx, ctx.int('axis', 0), rank) });
  }),
  Slice: always((ctx) => {
    const shape = ctx.type(0).shape;
    let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
    if (ctx.opset < 10) {
      starts = ctx.ints('starts');
      ends = ctx.ints('ends');
      axes = ctx.hasAttr('axes') ? ctx.ints('axes') : undefined;
    } else {
      starts = ctx.constantInput(1, 'starts').toArray();
      ends = ctx.constantInput(2, 'ends').toArray();
      axes = intsInput(ctx, 3, 'axes');
      steps = intsInput(ctx, 4, 'steps');
    }
    let p;
    try {
      p = normalizeSlice(shape, starts, ends, axes, steps);
    } catch (err) {
      if (err instanceof ShapeError) ctx.fail(err.message);
      throw err;
    }
    ctx.emit('Slice', [ctx.input(0)], { starts: p.starts, ends: p.ends, axes: p.axes, steps: p.steps });
  }),
  Cast: always((ctx) => {
    const to = ctx.int('to');
    const dtype = CAST_TARGETS[to];
    if (!dtype) ctx.fail(`cast to ONNX data type ${to} is not supported (float, double, int64, int32, bool are)`);
    ctx.emit('Cast', [ctx.input(0)], { to: dtype });
  }),
  Constant: always((ctx) => {
    const out = ctx.node.outputs[0];
    const t = ctx.tensor('value');
    if (t) return ctx.setConstant(out, t);
    if (ctx.hasAttr('value_float')) return ctx.setConstant(out, tensorOf('float32', [], [ctx.float('value_float')]));
    if (ctx.hasAttr('value_floats')) { const v = ctx.floats('value_floats'); return ctx.setConstant(out, tensorOf('float32', [v.length], v)); }
    if (ctx.hasAttr('value_int')) return ctx.setConstant(out, tensorOf('int64', [], [ctx.int('value_int')]));
    if (ctx.hasAttr('value_ints')) { const v = ctx.ints('value_ints'); return ctx.setConstant(out, tensorOf('int64', [v.length], v)); }
    ctx.fail(`only value, value_float(s) and value_int(s) are supported (got ${[...ctx.node.attrs.keys()].join(', ') || 'none'})`);
  }),
  ConstantOfShape: always((ctx) => {
    const shape = ctx.constantInput(0, 'shape').toArray();
    if (shape.some((d) => d < 0 || !Number.isInteger(d))) ctx.fail(`invalid shape [${shape.join(',')}]`);
    const fill = ctx.tensor('value') ?? tensorOf('float32', [1], [0]);
    if (fill.size !== 1) ctx.fail('value must hold one element');
    const data = allocData(fill.dtype, numel(shape));
    data.fill(fill.data[0]);
    ctx.setConstant(ctx.node.outputs[0], new Tensor(fill.dtype, shape, data));
  }),
});
