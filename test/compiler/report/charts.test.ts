// The report's charts drawn by Vega in Node (SVG, no browser): the heat map's colours on one
// absolute scale of block area (a uniform 4x4 plan is not drawn as per-pixel ReLUs, and a block
// has the same colour in every report), and the accuracy-against-budget axes labelled with
// distinct ticks however narrow the range. The same page in browsers: browser.test.ts.
import { expect } from 'chai';
import { parse, View } from 'vega';
import { readReportInputs } from '../../../compiler/report/inputs.js';
import { reportModel, type ReportModel, type SweepPoint } from '../../../compiler/report/model.js';
import { chartWarnings, reportCharts } from '../../../compiler/report/charts.js';
import { suiteTempDir } from '../../temp-dir.js';
import { type ReportFixture, makeReportFixture } from './fixture.js';

/** The SVG Vega draws for chart `id` of `m`. */
async function draw(m: ReportModel, id: string): Promise<string> {
  const chart = reportCharts(m).find((c) => c.id === id);
  expect(chart, id).to.not.equal(undefined);
  const view = new View(parse(chart!.spec as never), { renderer: 'none' });
  await view.runAsync();
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** The heat map's cells as drawn: block (from each mark's aria-label) → the fills it was drawn in. */
function fillsByBlock(svg: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [, label, fill] of svg.matchAll(/<path[^>]*aria-label="[^"]* channel \d+: ([^"]+)"[^>]*fill="([^"]+)"/g)) out.set(label, (out.get(label) ?? new Set()).add(fill));
  for (const [, fill, label] of svg.matchAll(/<path[^>]*fill="([^"]+)"[^>]*aria-label="[^"]* channel \d+: ([^"]+)"/g)) out.set(label, (out.get(label) ?? new Set()).add(fill));
  return out;
}

/** The one fill of `block` (it must have exactly one). */
function fillOf(fills: Map<string, Set<string>>, block: string): string {
  const f = fills.get(block);
  expect(f, block).to.not.equal(undefined);
  expect(f!.size, block).to.equal(1);
  return [...f!][0];
}

/** WCAG relative luminance of '#rrggbb' (0 black … 1 white). */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The tick labels of the axis whose aria-label starts with `axis` ("X-axis", "Y-axis"). */
function tickLabels(svg: string, axis: 'X-axis' | 'Y-axis'): string[] {
  const at = svg.indexOf(`aria-label="${axis}`);
  expect(at, axis).to.be.greaterThan(-1);
  const group = /role-axis-label[^>]*>(.*?)<\/g>/s.exec(svg.slice(at))!;
  return [...group[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** A percentage label's value as a share ("11.6%" → 0.116). */
const share = (label: string): number => {
  expect(label).to.match(/^-?\d+(\.\d+)?%$/);
  return Number(label.slice(0, -1)) / 100;
};

describe('mpcc report: the charts as Vega draws them', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-report-charts-');
  let fx: ReportFixture;
  before(async () => {
    fx = await makeReportFixture(dir());
  });

  it('the heat map colours a block by its area on one scale for every report: 1x1 the darkest, a uniform 4x4 plan not drawn as 1x1', async () => {
    const mixed = fillsByBlock(await draw(reportModel(readReportInputs({ subject: fx.out })), 'chart-heatmap'));
    const uniform = fillsByBlock(await draw(reportModel(readReportInputs({ subject: fx.model, plan: fx.uniformPlan })), 'chart-heatmap'));
    // the uniform plan: 8 + 16 cells, every one 4x4, one colour
    expect([...uniform.keys()]).to.deep.equal(['4x4']);
    const four = fillOf(uniform, '4x4');
    // the same block, the same colour in both reports; not the colour of a per-pixel ReLU
    expect(fillOf(mixed, '4x4')).to.equal(four);
    expect(four).to.not.equal(fillOf(mixed, '1x1'));
    // 1x1 is the darkest colour drawn (identity aside, grey as before); the uniform plan's is lighter
    expect(fillOf(mixed, 'identity')).to.equal('#d0d0d0');
    const dark = luminance(fillOf(mixed, '1x1'));
    for (const block of mixed.keys()) if (block !== '1x1') expect(luminance(fillOf(mixed, block)), block).to.be.greaterThan(dark);
    expect(luminance(four)).to.be.greaterThan(dark);
    // by area alone: 2x8 and 4x4 (16 pixels each) alike, 1x2 (2 pixels) not 1x1's, 8x8 (64) not 4x4's
    expect(fillOf(mixed, '2x8')).to.equal(four);
    expect(fillOf(mixed, '1x2')).to.not.equal(fillOf(mixed, '1x1'));
    expect(fillOf(mixed, '8x8')).to.not.equal(four);
    // the caption says what the colours are: a fixed scale of the area
    const caption = reportCharts(reportModel(readReportInputs({ subject: fx.out }))).find((c) => c.id === 'chart-heatmap')!.caption;
    expect(caption).to.contain('fixed scale');
    expect(caption).to.contain('dark red 1x1');
    expect(chartWarnings).to.deep.equal([]);
  });

  describe('the accuracy-against-budget axes: distinct tick labels', () => {
    let base: ReportModel;
    before(() => {
      base = reportModel(readReportInputs({ subject: fx.out, evals: [fx.evals] }));
    });
    const points = (xs: readonly [number, number][]): SweepPoint[] => xs.map(([budget, accuracy], i) => ({ planner: i % 2 ? 'knapsack' : 'uniform', budget, drelus: Math.round(budget * 1000), accuracy, metric: 'top-1', file: `e${i}.json` }));

    /** Checks an axis's labels: at least two, distinct, evenly spaced and covering `data`. */
    function expectAxis(labels: string[], data: readonly number[], what: string): void {
      expect(labels.length, what).to.be.at.least(2);
      expect(new Set(labels).size, `${what}: ${labels.join(', ')}`).to.equal(labels.length);
      const v = labels.map(share);
      const steps = v.slice(1).map((x, i) => x - v[i]);
      for (const s of steps) expect(s, `${what}: ${labels.join(', ')}`).to.be.closeTo(steps[0], 1e-9);
      expect(steps[0]).to.be.greaterThan(0);
      expect(v[0], what).to.be.at.most(Math.min(...data) + 1e-9);
      expect(v[v.length - 1], what).to.be.at.least(Math.max(...data) - 1e-9);
    }

    it('accuracies within one percentage point (11.46% to 12.29%): labels with the decimals they need', async () => {
      const sweep = points([[0.04, 0.1146], [0.05, 0.1187], [0.06, 0.1229], [0.08, 0.1211]]);
      const svg = await draw({ ...base, sweep }, 'chart-sweep');
      const y = tickLabels(svg, 'Y-axis');
      expectAxis(y, sweep.map((p) => p.accuracy), 'y');
      // what a whole-percent format printed: 11%, 12%, 12%, … — here at least one decimal
      expect(y.every((l) => /\.\d%$/.test(l)), y.join(', ')).to.equal(true);
      expectAxis(tickLabels(svg, 'X-axis'), sweep.map((p) => p.budget), 'x');
    });

    it('a wide range keeps whole percentages; one accuracy for every budget still gets distinct ticks', async () => {
      const wide = points([[0.05, 0.31], [0.2, 0.62], [1, 0.9]]);
      const svg = await draw({ ...base, sweep: wide }, 'chart-sweep');
      const y = tickLabels(svg, 'Y-axis');
      expectAxis(y, wide.map((p) => p.accuracy), 'y');
      expect(y.every((l) => /^\d+%$/.test(l)), y.join(', ')).to.equal(true);
      expectAxis(tickLabels(svg, 'X-axis'), wide.map((p) => p.budget), 'x');
      const flat = points([[0.1, 0.125], [0.3, 0.125], [0.5, 0.125]]);
      const flatSvg = await draw({ ...base, sweep: flat }, 'chart-sweep');
      expectAxis(tickLabels(flatSvg, 'Y-axis'), [0.125], 'y (one value)');
      expect(chartWarnings).to.deep.equal([]);
    });
  });
});
