// The report page in real browsers: Debian's Chromium and Firefox ESR, headless, driven by
// puppeteer-core on the system binaries (./browsers.ts: Chromium over CDP, Firefox over WebDriver
// BiDi; one launch per browser for the suite; a browser's block is skipped with the reason
// printed only where that browser is not installed — the README's set-up installs both). The
// same checks in each: a compiled zoo model's report with a run and evaluations, and a
// model-and-plan report: no console error or warning, no uncaught error, no request beyond the
// file itself (data: URLs aside), every chart rendered (a non-empty SVG), the totals shown equal
// cost.json, the heat map's cells (read through the DOM: each mark's aria-label and fill) one per
// channel with identity, [1,1] and whole-map blocks (a uniform 4x4 plan's cells in the colour of
// 4x4 there, not 1x1's), the tables sorting on a click; a screenshot
// per browser is written under the suite's temporary folder (MPCC_KEEP_SCREENSHOTS=dir copies
// them there, as report-chromium.png and report-firefox.png).
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { runReport } from '../../../compiler/commands/report.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';
import { suiteTempDir } from '../../temp-dir.js';
import { type BrowserKind, CHROMIUM, FIREFOX, findBrowser, launchBrowser } from './browsers.js';
import { FIXTURE_BLOCKS, type ReportFixture, makeReportFixture, readJson } from './fixture.js';

/** What a page load shows: console errors and warnings, uncaught errors, requests beyond file:. */
interface Visit {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
}

describe('mpcc report in headless browsers', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-report-browser-');
  // made once, by the first browser block that runs, for both
  let fixture: Promise<ReportFixture> | undefined;
  const makeFixture = () => (fixture ??= makeReportFixture(dir()));

  for (const kind of [CHROMIUM, FIREFOX]) browserChecks(kind, dir, makeFixture);
});

/** The page checks in one browser: one launch for its block, skipped with the reason when it is not installed. */
function browserChecks(kind: BrowserKind, dir: () => string, makeFixture: () => Promise<ReportFixture>): void {
  describe(`in headless ${kind.name}`, function () {
    const tag = kind.name.toLowerCase();
    const file = (name: string) => join(dir(), `${tag}-${name}`);
    const executable = findBrowser(kind);
    let browser: Browser | undefined;
    let fx: ReportFixture;

    before(async function () {
      if (executable === undefined) {
        console.log(`    (skipped: no ${kind.name} found — install ${kind.install}, or set ${kind.env})`);
        this.skip();
      }
      fx = await makeFixture();
      browser = await launchBrowser(kind, executable, dir());
    });
    after(async () => {
      await browser?.close();
    });

    /** Opens `html` in a fresh page and waits until its charts have rendered. */
    async function visit(html: string): Promise<Visit> {
      const page = await browser!.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') errors.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
      // data: URLs are no request (Firefox reports its own list-bullet font, a data: URL in its built-in html.css, as one)
      page.on('request', (r) => {
        if (!/^(file|data):/.test(r.url())) requests.push(r.url());
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
      const keep = process.env.MPCC_KEEP_SCREENSHOTS;
      if (keep) {
        mkdirSync(keep, { recursive: true });
        copyFileSync(file('report.png'), join(keep, `report-${tag}.png`));
      }
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

      // a uniform 4x4 plan's report: its cells in the colour of 4x4 above (one scale of the
      // block's area for every report), not in the dark red of a per-pixel ReLU
      runReport(fx.model, { output: file('uniform.html'), plan: fx.uniformPlan });
      const uniform = await visit(file('uniform.html'));
      expect(uniform.errors).to.deep.equal([]);
      const fills = (await uniform.page.evaluate(`[...document.querySelectorAll('#chart-heatmap svg .role-mark [aria-label]')].map((e) => e.getAttribute('aria-label').replace(/^.* channel \\d+: /, '') + ' ' + e.getAttribute('fill'))`)) as string[];
      expect(fills).to.have.length(8 + 16);
      expect(new Set(fills)).to.deep.equal(new Set([`4x4 ${colour('4x4')}`]));
      expect(colour('4x4')).to.not.equal(colour('1x1'));
      await uniform.page.close();
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
}
