// Importers of activations, Identity/Dropout and broadcasting arithmetic.
import { castTensor, type Tensor } from '../../../ir/tensor.js';
import type { ImportContext } from '../context.js';
import { always, defineImporters } from './registry.js';

/** The single number of a scalar (or one-element) constant input. */
function scalarInput(ctx: ImportContext, i: number, what: string): number | undefined {
  if (!ctx.has(i)) return undefined;
  const t: Tensor = ctx.constantInput(i, what);
  if (t.size !== 1) ctx.fail(`${what} must be a scalar, got ${t.size} values`);
  return t.data[0];
}

function unary(op: string) {
  return always((ctx) => { ctx.emit(op, [ctx.input(0)]); });
}

function binary(op: 'Add' | 'Sub' | 'Mul' | 'Div') {
  return always((ctx) => {
    const a = ctx.type(0), b = ctx.type(1);
    // ONNX requires equal types; exporters sometimes pair a tensor with a differently typed constant
    const dtype = a.dtype === b.dtype ? a.dtype : ctx.constant(1) ? a.dtype : b.dtype;
    const out = ctx.emit(op, [ctx.asDType(0, dtype), ctx.asDType(1, dtype)])[0];
    const folded = ctx.state.constants.get(out);
    // integer division truncates toward zero in ONNX (shape arithmetic in exported subgraphs)
    if (op === 'Div' && folded && (dtype === 'int64' || dtype === 'int32')) {
      ctx.setConstant(out, castTensor(castTensor(folded, 'float64'), dtype));
    }
  });
}

defineImporters({
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  HardSigmoid: always((ctx) => {
    ctx.emit('HardSigmoid', [ctx.input(0)], { alpha: ctx.float('alpha', 0.2), beta: ctx.float('beta', 0.5) });
  }),
  // HardSwish (opset 14) as x · HardSigmoid(x) with alpha 1/6, beta 1/2: the form opset-13
  // exports write, so secure inference runs it as a HardSigmoid and a product of activations.
  HardSwish: always((ctx) => {
    const gate = ctx.temp('hard_sigmoid');
    ctx.emit('HardSigmoid', [ctx.input(0)], { alpha: 1 / 6, beta: 0.5 }, [gate]);
    ctx.emit('Mul', [ctx.input(0), gate]);
  }),
  Clip: always((ctx) => {
    let min: number | undefined, max: number | undefined;
    if (ctx.opset < 11) {
      min = ctx.float('min', -Infinity);
      max = ctx.float('max', Infinity);
    } else {
      min = scalarInput(ctx, 1, 'min');
      max = scalarInput(ctx, 2, 'max');
    }
    const attrs: Record<string, number> = {};
    if (min !== undefined && min !== -Infinity) attrs.min = Math.fround(min);
    if (max !== undefined && max !== Infinity) attrs.max = Math.fround(max);
    ctx.emit('Clip', [ctx.input(0)], attrs);
  }),
  Identity: unary('Identity'),
  Round: unary('Round'),
  Dropout: always((ctx) => {
    ctx.onlyFirstOutputs(1, 'mask');
    let ratio = 0.5;
    if (ctx.opset < 12) ratio = ctx.float('ratio', 0.5);
    else {
      ratio = scalarInput(ctx, 1, 'ratio') ?? 0.5;
      if (scalarInput(ctx, 2, 'training_mode')) ctx.fail('training_mode=true is not supported (inference only)');
    }
    ctx.emit('Dropout', [ctx.input(0)], { ratio });
  }),
  Add: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Div: binary('Div'),
});
