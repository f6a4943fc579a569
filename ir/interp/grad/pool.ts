// Backward of the pooling ops: MaxPool routes each output's gradient to the element the
// forward pass chose (the first maximum of the window, as ir/interp/pool.ts picks it),
// AveragePool and GlobalAveragePool spread it evenly over the window's counted elements.
import type { FloatArray } from '../gemm.js';
import { forEachAverageWindow, maxPoolWinners, poolMaps, windowOf } from '../pool.js';
import { defineGradKernels, zeros } from './kernels.js';

defineGradKernels({
  MaxPool: ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const x = ctx.inputs[0]!, nx = x.size;
    // The winning element of every output, found once for all probes.
    const arg = maxPoolWinners(x.data, poolMaps(x.shape, ctx.outputs[0].shape), windowOf(ctx));
    const ny = arg.length, dx = zeros(ctx, ctx.probes * nx);
    for (let q = 0; q < ctx.probes; q++) for (let i = 0; i < ny; i++) if (arg[i] >= 0) dx[q * nx + arg[i]] += dy[q * ny + i];
    return [dx];
  },

  AveragePool: ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const x = ctx.inputs[0]!, nx = x.size, w = x.shape[3];
    const maps = poolMaps(x.shape, ctx.outputs[0].shape), win = windowOf(ctx), ny = ctx.outputs[0].size;
    const includePad = (ctx.attr<number>('count_include_pad') ?? 0) !== 0;
    const dx = zeros(ctx, ctx.probes * nx);
    for (let q = 0; q < ctx.probes; q++)
      forEachAverageWindow(maps, win, includePad, (p, base, ya, yb, xa, xb, count) => {
        const g = dy[q * ny + p] / count, b = q * nx + base;
        for (let iy = ya; iy < yb; iy++) for (let ix = xa; ix < xb; ix++) dx[b + iy * w + ix] += g;
      });
    return [dx];
  },

  GlobalAveragePool: ([dy], ctx) => {
    if (!dy || !ctx.needs[0]) return [];
    const x = ctx.inputs[0]!;
    const planes = x.shape[0] * x.shape[1], size = x.size / (planes || 1);
    const dx: FloatArray = zeros(ctx, ctx.probes * x.size);
    for (let q = 0; q < ctx.probes * planes; q++) {
      const g = dy[q] / size;
      dx.fill(g, q * size, (q + 1) * size);
    }
    return [dx];
  },
});
