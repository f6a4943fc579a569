// The report's charts, the one wrapper of the chart library: each chart is a Vega-Lite spec
// compiled here, at report time, to a Vega spec (so the page carries only the Vega runtime, not
// the Vega-Lite compiler), and `vegaRuntime()` is Vega's own minified build read from
// node_modules, inlined into the page so it opens with no network. Charts render as SVG, each
// mark labelled (`description`: its aria-label), so a test reads them through the DOM.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ReportModel } from './model.js';

/** One chart of the page: its element id, heading, a sentence on how to read it, the compiled Vega spec. */
export interface Chart {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly spec: object;
  /** Drawn across the whole page width (the heat map of a wide layer). */
  readonly wide?: boolean;
}

/** Colours of the byte kinds and phases (a colour-blind-safe palette). */
const KIND_COLOURS = { comparisons: '#4e79a7', selections: '#f28e2b', products: '#59a14f', other: '#bab0ac' } as const;

/** Common look: system font, light grid, no chart border. */
const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600, gridColor: '#e6e6e6', domainColor: '#999', tickColor: '#999', labelLimit: 210 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'top' },
  bar: { discreteBandSize: 10 },
} as const;

/** Every chart the model has data for, compiled. */
export function reportCharts(m: ReportModel): Chart[] {
  const charts: Chart[] = [];
  const layerSort = m.layers.map((l) => l.name);
  const rowStep = m.layers.length > 60 ? 9 : 16;
  /** A horizontal bar chart with one row per layer (in network order), bars coloured by `series`. */
  const layerBars = (id: string, title: string, caption: string, values: object[], x: { field: string; title: string; stacked: boolean }, colour: { title: string | null; domain: readonly string[]; range: readonly string[] }) =>
    chart(id, title, caption, {
      data: { values },
      mark: { type: 'bar', tooltip: true },
      height: { step: rowStep },
      width: 380,
      encoding: {
        y: { field: 'layer', type: 'nominal', sort: layerSort, title: null },
        x: { field: x.field, type: 'quantitative', title: x.title, axis: { format: '~s' }, ...(x.stacked ? {} : { stack: null }) },
        color: { field: 'series', type: 'nominal', title: colour.title, scale: { domain: colour.domain, range: colour.range } },
        description: { field: 'desc', type: 'nominal' },
      },
    });
  const kinds = m.layers.flatMap((l) => (['comparisons', 'selections', 'products', 'other'] as const).filter((k) => l[k] > 0).map((k) => ({ layer: l.name, series: k, bytes: l[k], desc: `${l.name}: ${k} ${l[k]} B` })));
  if (kinds.length > 0) {
    charts.push(layerBars('chart-bytes-kind', 'Bytes per layer, by kind', 'Per-inference bytes sent (online + offline, all parties) by what they pay for.', kinds,
      { field: 'bytes', title: 'bytes', stacked: true }, { title: 'kind', domain: Object.keys(KIND_COLOURS), range: Object.values(KIND_COLOURS) }));
  }
  const phases = m.layers.flatMap((l) => [
    ...(l.online > 0 ? [{ layer: l.name, series: 'online', bytes: l.online, desc: `${l.name}: online ${l.online} B` }] : []),
    ...(l.offline > 0 ? [{ layer: l.name, series: 'offline', bytes: l.offline, desc: `${l.name}: offline ${l.offline} B` }] : []),
  ]);
  if (phases.length > 0) {
    charts.push(layerBars('chart-bytes-phase', 'Bytes per layer, online and offline', 'Offline bytes do not depend on the input (the helper\'s dealing); online bytes are sent once the input is given.', phases,
      { field: 'bytes', title: 'bytes', stacked: true }, { title: 'phase', domain: ['online', 'offline'], range: ['#e15759', '#76b7b2'] }));
  }
  const compared = m.layers.filter((l) => l.drelusBefore > 0 || l.drelus > 0);
  if (compared.length > 0) {
    // before first, so the planned bar is drawn over it
    const values = compared.flatMap((l) => [
      { layer: l.name, series: 'before planning', drelus: l.drelusBefore, desc: `${l.name}: ${l.drelusBefore} DReLUs before planning` },
      { layer: l.name, series: 'as compiled', drelus: l.drelus, desc: `${l.name}: ${l.drelus} DReLUs as compiled` },
    ]);
    charts.push(layerBars('chart-drelus', 'DReLUs per layer, before and after planning', 'Secure comparisons per inference: each layer\'s unplanned count (light) and what the plan keeps (dark).', values,
      { field: 'drelus', title: 'DReLUs', stacked: false }, { title: null, domain: ['before planning', 'as compiled'], range: ['#c6dbef', '#2171b5'] }));
  }
  if (m.timeline.length > 0) {
    const values = m.timeline.map((t) => ({ ...t, last: t.end - 1, desc: `${t.layer}: rounds ${t.first}–${t.end - 1}` }));
    charts.push(chart('chart-timeline', 'Round timeline', 'Each bar spans the rounds of one layer; layers whose bars overlap send their messages in the same frames.', {
      data: { values },
      mark: { type: 'bar', tooltip: true, cornerRadius: 2 },
      height: { step: rowStep },
      width: 380,
      encoding: {
        y: { field: 'layer', type: 'nominal', sort: layerSort, title: null },
        x: { field: 'first', type: 'quantitative', title: 'round', scale: { domainMin: 1 }, axis: { tickMinStep: 1, format: 'd' } },
        x2: { field: 'end' },
        color: { field: 'op', type: 'nominal', title: 'secure op', scale: { scheme: 'tableau10' }, legend: { columns: 3 } },
        tooltip: [{ field: 'layer' }, { field: 'op' }, { field: 'first', title: 'first round' }, { field: 'last', title: 'last round' }],
        description: { field: 'desc', type: 'nominal' },
      },
    }));
  }
  if (m.heat.cells.length > 0) {
    const blocks = [...new Map(m.heat.cells.map((c) => [c.block, c.area])).entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
    const values = m.heat.cells.map((c) => ({ ...c, next: c.channel + 1, desc: `${c.layer} channel ${c.channel}: ${c.block}` }));
    const widest = Math.max(...m.heat.cells.map((c) => c.channel + 1));
    charts.push(chart('chart-heatmap', 'Block sizes per channel', `One cell per channel of each planned ReLU layer, coloured by its block's area (pixels per DReLU) on a fixed scale, the same in every report: grey identity (no ReLU), dark red 1x1 (a full per-pixel ReLU), then one step per doubling of the area (${AREA_SCALE_TEXT}) through orange (≤16) and yellow (≤64) to green: the greener, the fewer DReLUs.`, {
      data: { values },
      mark: { type: 'rect', tooltip: true, ...(widest <= 96 ? { stroke: '#ffffff', strokeWidth: 0.5 } : {}) },
      height: { step: m.heat.layers.length > 40 ? 10 : 18 },
      width: Math.min(1100, Math.max(360, widest * 6)),
      encoding: {
        y: { field: 'layer', type: 'nominal', sort: m.heat.layers, title: null },
        x: { field: 'channel', type: 'quantitative', title: 'channel', scale: { domain: [0, widest], nice: false }, axis: { tickMinStep: 1, format: 'd' } },
        x2: { field: 'next' },
        color: { field: 'block', type: 'nominal', title: 'block (rows x cols)', scale: { domain: blocks.map((b) => b[0]), range: blocks.map((b) => blockColour(b[1])) }, legend: { orient: 'bottom', columns: 8, symbolType: 'square', symbolLimit: 200 } },
        tooltip: [{ field: 'layer' }, { field: 'channel' }, { field: 'block' }, { field: 'drelus', title: 'DReLUs' }],
        description: { field: 'desc', type: 'nominal' },
      },
    }, widest > 80));
  }
  if (m.sweep.length >= 2) {
    const values = m.sweep.map((p) => ({ ...p, desc: `${p.planner}: ${(100 * p.budget).toFixed(2)}% of the DReLUs, ${p.metric} ${p.accuracy}` }));
    // Both axes' ticks set here, each labelled with the decimals its step needs (a narrow range
    // of accuracies would otherwise print 12%, 12%, 11%); the budgets from 0, the accuracies
    // over their own range.
    const x = shareAxis([0, ...m.sweep.map((p) => p.budget)]), y = shareAxis(m.sweep.map((p) => p.accuracy));
    charts.push(chart('chart-sweep', 'Accuracy against DReLU budget', `${m.sweep[0].metric} of each planner's networks against the share of DReLUs they keep (mpcc eval --json).`, {
      data: { values },
      mark: { type: 'line', point: { size: 60, filled: true }, tooltip: true },
      width: 520,
      height: 300,
      encoding: {
        x: { field: 'budget', type: 'quantitative', title: 'DReLUs kept (share of the unplanned network)', axis: { values: x.ticks, format: x.format }, scale: { domain: x.domain, nice: false, zero: false } },
        y: { field: 'accuracy', type: 'quantitative', title: m.sweep[0].metric, axis: { values: y.ticks, format: y.format }, scale: { domain: y.domain, nice: false, zero: false } },
        color: { field: 'planner', type: 'nominal', title: 'planner', scale: { scheme: 'tableau10' } },
        tooltip: [{ field: 'planner' }, { field: 'budget', format: '.2%' }, { field: 'drelus', title: 'DReLUs' }, { field: 'accuracy', format: '.2%' }, { field: 'file' }],
        description: { field: 'desc', type: 'nominal' },
      },
    }));
  }
  return charts;
}

/** The heat map's colours by block area, dark red (1x1) through orange and yellow to green:
 * AREA_STOPS[k] for areas up to AREA_BOUNDS[k], the last for anything larger. */
const AREA_STOPS = ['#7f0000', '#b30000', '#d7301f', '#ef6548', '#fc8d59', '#fdbb84', '#fee08b', '#d9ef8b', '#a6d96a', '#66bd63'] as const;
const AREA_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;
/** Identity channels (no ReLU, area 0). */
export const IDENTITY_COLOUR = '#d0d0d0';
const AREA_SCALE_TEXT = `${AREA_BOUNDS.slice(1).map((b, i) => (i === 0 ? String(b) : `≤${b}`)).join(', ')}, above ${AREA_BOUNDS[AREA_BOUNDS.length - 1]} pixels`;

/** The colour of a block of `area` pixels (bh·bw; 0 for identity): an absolute scale, one step
 * per doubling of the area, so the same block has the same colour in every report and a
 * uniform plan of large blocks is not drawn as dark as per-pixel ReLUs. */
export function blockColour(area: number): string {
  if (area <= 0) return IDENTITY_COLOUR;
  const k = AREA_BOUNDS.findIndex((b) => area <= b);
  return AREA_STOPS[k < 0 ? AREA_STOPS.length - 1 : k];
}

/** An axis of shares (0..1, shown as percentages) over `data`: about `count` ticks at a step of
 * 1, 2 or 5 times a power of ten, the domain from the tick below the least value to the tick
 * above the largest, and a format with exactly the decimals the step needs, so no two tick
 * labels read the same. */
export function shareAxis(data: readonly number[], count = 6): { domain: [number, number]; ticks: number[]; format: string } {
  let lo = Math.min(...data), hi = Math.max(...data);
  if (!(hi > lo)) {
    // one value: half a percent either side, within 0..1
    [lo, hi] = [Math.max(0, lo - 0.005), Math.min(1, hi + 0.005)];
  }
  const raw = (hi - lo) / count;
  const power = Math.floor(Math.log10(raw));
  const error = raw / 10 ** power;
  const factor = error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.sqrt(2) ? 2 : 1;
  // the step as factor·10^exp, exp ≤ 0 for shares: integer arithmetic on multiples of it
  const exp = factor === 10 ? power + 1 : power;
  const unit = factor === 10 ? 1 : factor;
  const scale = 10 ** -exp; // a tick k·unit/scale
  const first = Math.floor((lo * scale) / unit + 1e-9), last = Math.ceil((hi * scale) / unit - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push((k * unit) / scale);
  const decimals = Math.max(0, -exp - 2); // percent: two places fewer
  return { domain: [ticks[0], ticks[ticks.length - 1]], ticks, format: `.${decimals}%` };
}

/** Warnings of the chart compiler since the process started (a spec it has to correct is a bug
 * of this file; the report test holds this list empty). */
export const chartWarnings: string[] = [];

/** Vega-Lite's logger: warnings and errors kept in chartWarnings instead of the console. */
const LOGGER = {
  level(..._: unknown[]) {
    return _.length ? LOGGER : 2;
  },
  warn: (...args: unknown[]) => (chartWarnings.push(args.join(' ')), LOGGER),
  error: (...args: unknown[]) => (chartWarnings.push(args.join(' ')), LOGGER),
  info: () => LOGGER,
  debug: () => LOGGER,
};

function chart(id: string, title: string, caption: string, spec: Record<string, unknown>, wide = false): Chart {
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CONFIG, background: 'transparent', ...spec } as unknown as TopLevelSpec;
  return { id, title, caption, spec: compile(full, { logger: LOGGER as never }).spec, wide };
}

/** Vega's minified build (UMD, defines `vega`), read from the installed package. */
export function vegaRuntime(): string {
  const entry = createRequire(import.meta.url).resolve('vega');
  return readFileSync(join(dirname(entry), 'vega.min.js'), 'utf8');
}
