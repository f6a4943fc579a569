// Importers of Pad, Resize and Upsample. Their size operands (pads, scales, sizes) must be
// constants — after folding, DeepLabV3's Shape→Gather→Concat sizes are — and become attributes.
import { RESIZE_COORDINATE_MODES, RESIZE_NEAREST_MODES } from '../../../ir/ops/resize.js';
import type { ImportContext } from '../context.js';
import { normalizeAxis } from '../context.js';
import { always, defineImporters } from './registry.js';

/** Expands per-axis values given for `axes` to all `rank` axes (others get `fill`). */
function expand(ctx: ImportContext, values: number[], axes: number[] | undefined, rank: number, fill: (axis: number) => number, what: string): number[] {
  if (!axes) {
    if (values.length !== rank) ctx.fail(`${what} has ${values.length} entries but the input has rank ${rank}`);
    return values;
  }
  if (values.length !== axes.length) ctx.fail(`${what} has ${values.length} entries for ${axes.length} axes`);
  const out = Array.from({ length: rank }, (_, i) => fill(i));
  axes.forEach((a, i) => { out[a] = values[i]; });
  return out;
}

/** Non-negative axes in the given order (values given per axis follow this order). */
function axesInOrder(ctx: ImportContext, axes: number[], rank: number): number[] {
  const out = axes.map((a) => normalizeAxis(ctx, a, rank));
  if (new Set(out).size !== out.length) ctx.fail(`axes [${axes.join(',')}] repeat an axis`);
  return out;
}

/** Emits the IR Resize for sizes or scales given per axis. */
function emitResize(ctx: ImportContext, mode: string, coord: string, nearest: string, sizes: number[] | undefined, scales: number[] | undefined): void {
  const shape = ctx.type(0).shape;
  if (!sizes && !scales) ctx.fail('one of scales and sizes must be given');
  let outSizes: number[], outScales: number[];
  if (sizes) {
    outSizes = sizes;
    outScales = sizes.map((s, i) => Math.fround(s / shape[i]));
  } else {
    outScales = scales!.map((s) => Math.fround(s));
    outSizes = outScales.map((s, i) => Math.floor(Math.fround(s * shape[i])));
  }
  if (outSizes.some((s) => !Number.isInteger(s) || s <= 0)) ctx.fail(`output size [${outSizes.join(',')}] is empty or invalid`);
  ctx.emit('Resize', [ctx.input(0)], { mode, coordinate_transformation_mode: coord, nearest_mode: nearest, sizes: outSizes, scales: outScales });
}

function checkMode(ctx: ImportContext, mode: string): string {
  if (mode === 'bilinear') return 'linear';
  if (mode !== 'nearest' && mode !== 'linear') ctx.fail(`mode '${mode}' is not supported (nearest and linear are)`);
  return mode;
}

defineImporters({
  Pad: always((ctx) => {
    const rank = ctx.type(0).shape.length;
    const mode = ctx.string('mode', 'constant');
    if (mode !== 'constant') ctx.fail(`mode '${mode}' is not supported (only constant)`);
    let pads: number[], value = 0;
    if (ctx.opset < 11) {
      pads = ctx.ints('pads');
      value = ctx.float('value', 0);
    } else {
      pads = ctx.constantInput(1, 'pads').toArray();
      if (ctx.has(2)) value = ctx.constantInput(2, 'constant_value').data[0] ?? 0;
      const axes = ctx.opset >= 18 && ctx.has(3) ? axesInOrder(ctx, ctx.constantInput(3, 'axes').toArray(), rank) : undefined;
      if (axes) {
        if (pads.length !== 2 * axes.length) ctx.fail(`pads has ${pads.length} entries for ${axes.length} axes`);
        const full = new Array<number>(2 * rank).fill(0);
        axes.forEach((a, i) => { full[a] = pads[i]; full[a + rank] = pads[i + axes.length]; });
        pads = full;
      }
    }
    if (pads.length !== 2 * rank) ctx.fail(`pads has ${pads.length} entries, expected ${2 * rank}`);
    if (pads.some((p) => p < 0)) ctx.fail(`negative pads [${pads.join(',')}] are not supported`);
    ctx.emit('Pad', [ctx.input(0)], { pads, value });
  }),
  Resize: { since: 10, until: 20, run: (ctx) => {
    const rank = ctx.type(0).shape.length;
    const mode = checkMode(ctx, ctx.string('mode', 'nearest'));
    if (ctx.opset === 10) {
      // opset 10 Resize behaves as Upsample: asymmetric coordinates, floor for nearest
      const scales = ctx.constantInput(1, 'scales').toArray();
      return emitResize(ctx, mode, 'asymmetric', scales.every((s) => s >= 1) ? 'floor' : 'ceil', undefined, expand(ctx, scales, undefined, rank, () => 1, 'scales'));
    }
    const coord = ctx.string('coordinate_transformation_mode', 'half_pixel');
    if (!(RESIZE_COORDINATE_MODES as readonly string[]).includes(coord)) ctx.fail(`coordinate_transformation_mode '${coord}' is not supported`);
    const nearest = ctx.string('nearest_mode', 'round_prefer_floor');
    if (!(RESIZE_NEAREST_MODES as readonly string[]).includes(nearest)) ctx.fail(`nearest_mode '${nearest}' is not supported`);
    if (ctx.int('antialias', 0) !== 0) ctx.fail('antialias=1 is not supported');
    const policy = ctx.string('keep_aspect_ratio_policy', 'stretch');
    const axes = ctx.hasAttr('axes') ? axesInOrder(ctx, ctx.ints('axes'), rank) : undefined;
    const shape = ctx.type(0).shape;
    if (ctx.has(3)) {
      if (policy !== 'stretch') ctx.fail(`keep_aspect_ratio_policy '${policy}' is not supported`);
      const sizes = expand(ctx, ctx.constantInput(3, 'sizes').toArray(), axes, rank, (a) => shape[a], 'sizes');
      return emitResize(ctx, mode, coord, nearest, sizes, undefined);
    }
    const scales = ctx.has(2) ? expand(ctx, ctx.constantInput(2, 'scales').toArray(), axes, rank, () => 1, 'scales') : undefined;
    emitResize(ctx, mode, coord, nearest, undefined, scales);
  } },
  Upsample: { since: 7, until: 9, run: (ctx) => {
    const rank = ctx.type(0).shape.length;
    const mode = checkMode(ctx, ctx.string('mode', 'nearest'));
    const scales = ctx.opset < 9 ? ctx.floats('scales') : ctx.constantInput(1, 'scales').toArray();
    emitResize(ctx, mode, 'asymmetric', 'floor', undefined, expand(ctx, scales, undefined, rank, () => 1, 'scales'));
  } },
});
