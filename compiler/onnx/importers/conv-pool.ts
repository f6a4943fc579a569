// Importers of Conv, MaxPool, AveragePool, GlobalAveragePool and BatchNormalization. auto_pad
// is resolved into explicit pads here, so the IR only knows explicit padding.
import type { ImportContext } from '../context.js';
import { always, defineImporters } from './registry.js';

/**
 * Explicit pads [top, left, bottom, right] of a 2-D window from ONNX's pads or auto_pad.
 * SAME_* pads so that out = ceil(in / stride); the odd unit goes to the end (UPPER) or the
 * beginning (LOWER).
 */
export function resolvePads(ctx: ImportContext, spatial: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): number[] {
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  switch (autoPad) {
    case 'NOTSET': {
      const pads = ctx.ints('pads', [0, 0, 0, 0]);
      if (pads.length !== 4) ctx.fail(`pads must have 4 entries for a 2-D window, got ${pads.length}`);
      if (pads.some((p) => p < 0)) ctx.fail(`negative pads [${pads.join(',')}] are not supported`);
      return pads;
    }
    case 'VALID':
      return [0, 0, 0, 0];
    case 'SAME_UPPER':
    case 'SAME_LOWER': {
      const begin: number[] = [], end: number[] = [];
      for (let a = 0; a < 2; a++) {
        const out = Math.ceil(spatial[a] / strides[a]);
        const total = Math.max(0, (out - 1) * strides[a] + (kernel[a] - 1) * dilations[a] + 1 - spatial[a]);
        const small = Math.floor(total / 2);
        begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
        end.push(autoPad === 'SAME_UPPER' ? total - small : small);
      }
      return [...begin, ...end];
    }
    default:
      return ctx.fail(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  }
}

function require2d(ctx: ImportContext, what: string): readonly number[] {
  const x = ctx.type(0);
  if (x.shape.length !== 4) ctx.fail(`only 2-D ${what} on NCHW input is supported, got input rank ${x.shape.length}`);
  return x.shape.slice(2);
}

function pair(ctx: ImportContext, name: string): number[] {
  const v = ctx.ints(name, [1, 1]);
  if (v.length !== 2) ctx.fail(`${name} must have 2 entries, got ${v.length}`);
  return v;
}

function pool(op: 'MaxPool' | 'AveragePool') {
  return always((ctx) => {
    const spatial = require2d(ctx, op);
    ctx.onlyFirstOutputs(1, 'Indices');
    const kernel = ctx.ints('kernel_shape');
    if (kernel.length !== 2) ctx.fail(`kernel_shape must have 2 entries, got ${kernel.length}`);
    const strides = pair(ctx, 'strides');
    const dilations = pair(ctx, 'dilations');
    const pads = resolvePads(ctx, spatial, kernel, strides, dilations);
    const ceil = ctx.int('ceil_mode', 0);
    if (op === 'MaxPool') {
      ctx.emit(op, [ctx.input(0)], { kernel_shape: kernel, strides, pads, dilations, ceil_mode: ceil });
    } else {
      if (dilations.some((d) => d !== 1)) ctx.fail('AveragePool dilations other than 1 are not supported');
      ctx.emit(op, [ctx.input(0)], { kernel_shape: kernel, strides, pads, ceil_mode: ceil, count_include_pad: ctx.int('count_include_pad', 0) });
    }
  });
}

defineImporters({
  Conv: always((ctx) => {
    const spatial = require2d(ctx, 'Conv');
    const w = ctx.type(1);
    if (w.shape.length !== 4) ctx.fail(`weights must be 4-D, got rank ${w.shape.length}`);
    const kernel = w.shape.slice(2);
    if (ctx.hasAttr('kernel_shape')) {
      const ks = ctx.ints('kernel_shape');
      if (ks.length !== 2 || ks[0] !== kernel[0] || ks[1] !== kernel[1]) ctx.fail(`kernel_shape [${ks.join(',')}] does not match the weights [${w.shape.join(',')}]`);
    }
    const strides = pair(ctx, 'strides');
    const dilations = pair(ctx, 'dilations');
    const pads = resolvePads(ctx, spatial, kernel, strides, dilations);
    const inputs = ctx.has(2) ? [ctx.input(0), ctx.input(1), ctx.input(2)] : [ctx.input(0), ctx.input(1)];
    ctx.emit('Conv', inputs, { strides, pads, dilations, group: ctx.int('group', 1) });
  }),
  MaxPool: pool('MaxPool'),
  AveragePool: pool('AveragePool'),
  GlobalAveragePool: always((ctx) => { ctx.emit('GlobalAveragePool', [ctx.input(0)]); }),
  BatchNormalization: always((ctx) => {
    if (ctx.int('training_mode', 0) !== 0) ctx.fail('training_mode=1 is not supported (inference only)');
    if (ctx.opset < 9 && ctx.int('spatial', 1) !== 1) ctx.fail('spatial=0 is not supported');
    ctx.onlyFirstOutputs(1, 'training statistics');
    const dtype = ctx.type(0).dtype;
    const epsilon = Math.fround(ctx.float('epsilon', 1e-5));
    // a constant variance must give a real scale 1/sqrt(var + epsilon): not NaN, not infinite
    const variance = ctx.constant(4);
    const bad = variance ? Array.from(variance.data as ArrayLike<number>).findIndex((v) => !(v + epsilon > 0)) : -1;
    if (bad >= 0) ctx.fail(`variance '${ctx.input(4)}' holds ${variance!.data[bad]} at index ${bad}, and epsilon is ${epsilon}: variance + epsilon must be positive`);
    const inputs = [0, 1, 2, 3, 4].map((i) => ctx.asDType(i, dtype));
    ctx.emit('BatchNormalization', inputs, { epsilon });
  }),
});
