// Importers of Gemm and MatMul.
import { always, defineImporters } from './registry.js';

defineImporters({
  Gemm: always((ctx) => {
    const dtype = ctx.type(0).dtype;
    const inputs = [ctx.input(0), ctx.asDType(1, dtype)];
    if (ctx.has(2)) inputs.push(ctx.asDType(2, dtype));
    ctx.emit('Gemm', inputs, {
      alpha: Math.fround(ctx.float('alpha', 1)),
      beta: Math.fround(ctx.float('beta', 1)),
      transA: ctx.int('transA', 0),
      transB: ctx.int('transB', 0),
    });
  }),
  MatMul: always((ctx) => {
    const dtype = ctx.type(0).dtype;
    ctx.emit('MatMul', [ctx.asDType(0, dtype), ctx.asDType(1, dtype)]);
  }),
});
