// The report page in a real browser: Debian's Chromium, headless, driven by playwright-core on
// the system binary (one launch for the suite; skipped with the reason printed only where no
// Chromium is installed — the README's set-up installs it). A compiled zoo model's report with a
// run and evaluations, and a model-and-plan report: no console error, no request beyond the
// file itself, every chart rendered (a non-empty SVG), the totals shown equal cost.json, the
// heat map's cells (read through the DOM: each mark's aria-label and fill) one per channel with
// identity, [1,1] and whole-map blocks, the tables sorting on a click; a screenshot is written
// under the suite's temporary folder.
import { expect } from 'chai';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';
import { runReport } from '../../../compiler/commands/report.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';
import { suiteTempDir } from '../../temp-dir.js';
import { FIXTURE_BLOCKS, type ReportFixture, makeReportFixture, readJson } from './fixture.js';

/** The Chromium to drive: $MPCC_CHROMIUM, else the first of Debian's and the usual names on PATH. */
function findChromium(): string | undefined {
  if (process.env.MPCC_CHROMIUM) return process.env.MPCC_CHROMIUM;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** What a page load shows: console errors, page errors, requests beyond file:. */
interface Visit {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
}

describe('mpcc report in headless Chromium', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-report-browser-');
  const file = (name: string) => join(dir(), name);
  const executable = findChromium();
  let browser: Browser | undefined;
  let fx: ReportFixture;

  before(async function () {
    if (executable === undefined) {
      console.log('    (skipped: no Chromium found — install Debian\'s chromium, or set MPCC_CHROMIUM)');
      this.skip();
    }
    fx = await makeReportFixture(dir());
    // playwright gives every launch a fresh, temporary --user-data-dir of its own (and refuses one in args)
    browser = await chromium.launch({
      executablePath: executable,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60000,
    });
  });
  after(async () => {
    await browser?.close();
  });

  /** Opens `html` in a fresh page and waits until its charts have rendered. */
  async function visit(html: string): Promise<Visit> {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector('body[data-charts-rendered]', { timeout: 60000 });
    return { page, errors, requests };
  }

  /** Per chart element: whether Vega marked it rendered, and the marks its SVG holds. */
  async function chartMarks(page: Page): Promise<Record<string, { rendered: string | null; svgs: number; marks: number }>> {
    return (await page.evaluate(`(() => {
      const out = {};
      for (const el of document.querySelectorAll('[data-chart]')) {
        out[el.id] = { rendered: el.getAttribute('data-rendered'), svgs: el.querySelectorAll('svg').length, marks: el.querySelectorAll('svg .role-mark [aria-label]').length };
      }
      return out;
    })()`)) as Record<string, { rendered: string | null; svgs: number; marks: number }>;
  }

  it('a compiled zoo model with a run and evaluations: no console error, every chart drawn, the totals of cost.json, a screenshot', async () => {
    const { charts } = runReport(fx.out, { output: file('out.html'), run: [fx.run], eval: [fx.evals] });
    const { page, errors, requests } = await visit(file('out.html'));
    expect(errors).to.deep.equal([]);
    expect(requests).to.deep.equal([]);
    expect(await page.evaluate('[document.body.dataset.chartsRendered, document.body.dataset.chartsFailed]')).to.deep.equal([String(charts.length), '0']);
    const marks = await chartMarks(page);
    expect(Object.keys(marks)).to.deep.equal([...charts]);
    for (const [id, m] of Object.entries(marks)) {
      expect(m.rendered, id).to.equal('true');
      expect(m.svgs, id).to.equal(1);
      expect(m.marks, id).to.be.greaterThan(0);
    }

    // every total shown carries cost.json's number, and shows it
    const cost = readJson<CostReport>(join(fx.out, 'cost.json'));
    const shown = (await page.evaluate(`[...document.querySelectorAll('[data-total]')].map((e) => [e.dataset.total, Number(e.dataset.value), e.textContent])`)) as [string, number, string][];
    const at = (path: string) => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], cost) as number;
    expect(shown.map(([k]) => k)).to.include.members(['bytes.total', 'bytes.online', 'bytes.preprocessing', 'bytes.oneTime', 'rounds', 'drelus', 'latency.lan', 'latency.wan', 'bytes.perParty.0', 'bytesByKind.comparisons']);
    for (const [key, value] of shown) expect(value, key).to.equal(at(key));
    expect(shown.find(([k]) => k === 'rounds')![2]).to.equal(String(cost.rounds));
    expect(shown.find(([k]) => k === 'drelus')![2]).to.equal(cost.drelus.toLocaleString('en-US'));
    // the layer table's footer: the exact totals
    const foot = (await page.evaluate(`[...document.querySelectorAll('#layers-table tfoot th')].map((th) => th.textContent)`)) as string[];
    const num = (x: number) => x.toLocaleString('en-US');
    expect(foot.slice(3, 11)).to.deep.equal([String(cost.rounds), num(cost.drelusBefore), num(cost.drelus), '', '', num(cost.bytes.online), num(cost.bytes.preprocessing), num(cost.bytes.oneTime)]);

    await page.screenshot({ path: file('report.png'), fullPage: true });
    expect(statSync(file('report.png')).size).to.be.greaterThan(10000);
    await page.close();
  });

  it('the heat map shows every channel with its block: identity, [1,1] and whole-map blocks, each in its own colour (through the DOM)', async () => {
    runReport(fx.out, { output: file('heat.html') });
    const { page, errors } = await visit(file('heat.html'));
    expect(errors).to.deep.equal([]);
    const cells = (await page.evaluate(`[...document.querySelectorAll('#chart-heatmap svg .role-mark [aria-label]')].map((e) => [e.getAttribute('aria-label'), e.getAttribute('fill')])`)) as [string, string][];
    const parsed = cells.map(([label, fill]) => {
      const m = /^(.*) channel (\d+): (.*)$/.exec(label)!;
      return { layer: m[1], channel: Number(m[2]), block: m[3], fill };
    });
    const expected = Object.entries(FIXTURE_BLOCKS).flatMap(([layer, blocks]) => blocks.map((b, channel) => ({ layer, channel, block: b === 'identity' ? 'identity' : `${b[0]}x${b[1]}` })));
    expect(parsed.map(({ layer, channel, block }) => ({ layer, channel, block })).sort((a, b) => a.layer.localeCompare(b.layer) || a.channel - b.channel)).to.deep.equal(expected);
    for (const block of ['identity', '1x1', '16x16', '8x8']) expect(parsed.some((c) => c.block === block), block).to.equal(true);
    // one colour per block, grey for identity, distinct for [1,1] and the whole map
    const fillOf = new Map<string, Set<string>>();
    for (const c of parsed) fillOf.set(c.block, (fillOf.get(c.block) ?? new Set()).add(c.fill));
    for (const [block, fills] of fillOf) expect(fills.size, block).to.equal(1);
    const colour = (b: string) => [...fillOf.get(b)!][0];
    expect(colour('identity')).to.equal('#d0d0d0');
    expect(new Set(['identity', '1x1', '16x16'].map(colour)).size).to.equal(3);
    // the legend lists the blocks by pixels per DReLU: identity, 1x1, …, 16x16 last
    const legend = (await page.evaluate(`[...document.querySelectorAll('#chart-heatmap svg .role-legend-label text')].map((t) => t.textContent)`)) as string[];
    expect(legend[0]).to.equal('identity');
    expect(legend[1]).to.equal('1x1');
    expect(legend[legend.length - 1]).to.equal('16x16');
    await page.close();
  });

  it('a model and its plan alone renders too, and its tables sort on a click', async () => {
    runReport(fx.model, { output: file('plan.html'), plan: fx.plan });
    const { page, errors } = await visit(file('plan.html'));
    expect(errors).to.deep.equal([]);
    expect(await page.evaluate('document.body.dataset.chartsFailed')).to.equal('0');
    const column = async () => (await page.evaluate(`[...document.querySelectorAll('#layers-table tbody tr')].map((r) => Number(r.cells[5].dataset.sort))`)) as number[];
    const before = await column();
    await page.click('#layers-table thead th:nth-child(6)');
    const up = await column();
    expect(up).to.deep.equal([...before].sort((a, b) => a - b));
    await page.click('#layers-table thead th:nth-child(6)');
    expect(await column()).to.deep.equal([...before].sort((a, b) => b - a));
    expect(await page.evaluate(`document.querySelector('#layers-table thead th:nth-child(6)').getAttribute('aria-sort')`)).to.equal('descending');
    expect(existsSync(file('plan.html'))).to.equal(true);
    await page.close();
  });
});
