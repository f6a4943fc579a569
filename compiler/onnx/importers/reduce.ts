// Importers of Softmax, ArgMax and ReduceMean. Softmax before opset 13 flattens the input to
// 2-D at `axis`; that equals an IR Softmax over one axis only when the other flattened axes
// have size 1, else the import is refused (MPCC1006).
import { type ImportContext, normalizeAxes, normalizeAxis } from '../context.js';
import { always, defineImporters } from './registry.js';

function softmaxAxis(ctx: ImportContext): number {
  const shape = ctx.type(0).shape, rank = shape.length;
  if (ctx.opset >= 13) return normalizeAxis(ctx, ctx.int('axis', -1), rank);
  const axis = normalizeAxis(ctx, ctx.int('axis', 1), rank);
  const big = shape.map((d, i) => (i >= axis && d !== 1 ? i : -1)).filter((i) => i >= 0);
  if (big.length > 1) {
    ctx.fail(`opset ${ctx.opset} Softmax over the flattened axes ${axis}..${rank - 1} of [${shape.join(',')}] is not a softmax over one axis`);
  }
  return big.length === 1 ? big[0] : rank - 1;
}

defineImporters({
  Softmax: always((ctx) => {
    ctx.emit('Softmax', [ctx.input(0)], { axis: softmaxAxis(ctx) });
  }),
  ArgMax: always((ctx) => {
    const rank = ctx.type(0).shape.length;
    ctx.emit('ArgMax', [ctx.input(0)], {
      axis: normalizeAxis(ctx, ctx.int('axis', 0), rank),
      keepdims: ctx.int('keepdims', 1),
      select_last_index: ctx.int('select_last_index', 0),
    });
  }),
  ReduceMean: always((ctx) => {
    const rank = ctx.type(0).shape.length;
    let axes: number[] | undefined;
    if (ctx.opset < 18) axes = ctx.hasAttr('axes') ? ctx.ints('axes') : undefined;
    else axes = ctx.has(1) ? ctx.constantInput(1, 'axes').toArray() : undefined;
    if ((!axes || axes.length === 0) && ctx.int('noop_with_empty_axes', 0) === 1) {
      ctx.emit('Identity', [ctx.input(0)]);
      return;
    }
    ctx.emit('ReduceMean', [ctx.input(0)], { axes: normalizeAxes(ctx, axes ?? [], rank), keepdims: ctx.int('keepdims', 1) });
  }),
});
