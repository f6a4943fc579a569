// The report page: one self-contained HTML file (styles, data, Vega's runtime and the compiled
// chart specs inline; nothing fetched when it opens, so it reads offline and travels as an
// email attachment). Tables sort by a click on their headings (a few lines of script below,
// numbers by value); every total carries its raw value in `data-value` so a test can hold it
// to cost.json. The page announces when every chart has rendered (`data-charts-rendered` on
// <body>) and reports a chart that fails on the console.
import type { Chart } from './charts.js';
import type { LayerRow, ReportModel } from './model.js';
import type { EvalRecord, RunRecord } from './inputs.js';
import { blockCounts } from '../../passes/planning/candidates.js';
import { describePreprocessing } from '../calibration/input-record.js';

/** The page for `m` with `charts`, `vega` being Vega's runtime script and `version` mpcc's. */
export function reportHtml(m: ReportModel, charts: readonly Chart[], vega: string, version: string): string {
  if (/<\/script/i.test(vega)) throw new Error('report: the Vega runtime contains </script and cannot be inlined');
  const t = m.totals;
  const i = m.inputs;
  const specs = JSON.stringify(charts.map((c) => ({ id: c.id, spec: c.spec }))).replace(/</g, '\\u003c');
  const sections = [
    summarySection(m),
    paperSection(m),
    measuredSection(m),
    chartsSection(charts),
    layersSection(m),
    planSection(m),
  ].filter((s) => s !== '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mpcc ${esc(version)}">
<title>${esc(m.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>Secure inference report</h1>
  <p class="subject"><code>${esc(i.subject)}</code> — ${i.kind === 'compiled' ? 'compiled folder' : 'model file (costs predicted by the compiler)'}${i.plan ? `, plan ${esc(i.planFile ?? '')}` : ', no block-ReLU plan'}</p>
  <p class="meta">model sha256 <code>${esc(i.modelSha256)}</code>${i.frac !== null ? ` · ${i.frac} fractional bits` : ''}${i.inputShape ? ` · input ${esc(i.inputShape.join('×'))}` : ''} · ${t.layers.length} secure layers · ${esc(t.mode ?? 'classic')} mode${t.ring !== undefined && t.ring < 64 ? ` in Z_2^${t.ring}` : ''} · mpcc ${esc(version)}</p>${clientLine(i)}
</header>
<main>
${sections.join('\n')}
</main>
<footer>Written by <code>mpcc report</code>. Bytes are per inference and summed over the three parties unless a column says otherwise; offline = preprocessing (independent of the input), one-time = once per server session.</footer>
<script type="application/json" id="chart-specs">${specs}</script>
<script>${vega}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** The totals, each with its raw value for tests. */
function summarySection(m: ReportModel): string {
  const t = m.totals;
  const before = t.drelusBefore ?? t.drelus;
  const card = (key: string, label: string, value: number, shown: string, note = '') =>
    `<div class="card"><div class="label">${esc(label)}</div><div class="value" data-total="${key}" data-value="${value}">${shown}</div>${note ? `<div class="note">${note}</div>` : ''}</div>`;
  return `<section id="summary"><h2>Totals per inference</h2><div class="cards">
${card('bytes.total', 'bytes sent', t.bytes.total, bytes(t.bytes.total), `online ${bytes(t.bytes.online)} · offline ${bytes(t.bytes.preprocessing)}`)}
${card('bytes.online', 'online bytes', t.bytes.online, bytes(t.bytes.online))}
${card('bytes.preprocessing', 'offline bytes', t.bytes.preprocessing, bytes(t.bytes.preprocessing))}
${card('bytes.oneTime', 'one-time bytes', t.bytes.oneTime, bytes(t.bytes.oneTime), `${t.oneTimeRounds} round, once per session`)}
${card('rounds', 'rounds', t.rounds, num(t.rounds))}
${card('drelus', 'DReLUs', t.drelus, num(t.drelus), before !== t.drelus ? `of ${num(before)} before planning (${pct(t.drelus / before)})` : 'no ReLU planned away')}
${card('latency.lan', 'estimated, LAN', t.latency.lan, secs(t.latency.lan), '1 Gbit/s, 0.5 ms RTT')}
${card('latency.wan', 'estimated, WAN', t.latency.wan, secs(t.latency.wan), '100 Mbit/s, 40 ms RTT')}
</div>
<table class="compact"><thead><tr><th></th><th>P0 client</th><th>P1 server</th><th>P2 helper</th></tr></thead>
<tbody><tr><th>bytes sent</th>${t.bytes.perParty.map((b, p) => `<td data-total="bytes.perParty.${p}" data-value="${b}">${bytes(b)}</td>`).join('')}</tr></tbody></table>
<table class="compact"><thead><tr><th></th><th>comparisons</th><th>selections</th><th>weight products</th><th>other</th><th>B per DReLU</th></tr></thead>
<tbody><tr><th>bytes</th>${(['comparisons', 'selections', 'products', 'other'] as const).map((k) => `<td data-total="bytesByKind.${k}" data-value="${t.bytesByKind?.[k] ?? 0}">${bytes(t.bytesByKind?.[k] ?? 0)}</td>`).join('')}<td>${t.bytesPerDrelu === null || t.bytesPerDrelu === undefined ? '—' : t.bytesPerDrelu.toFixed(1)}</td></tr></tbody></table>
</section>`;
}

/** The paper's code's figures beside ours, for a model the paper measured. */
function paperSection(m: ReportModel): string {
  if (!m.paper) return '';
  const t = m.totals;
  const rows = m.paper.figures.map((f) => `<tr><td>${esc(f.setting)}</td><td>${bytes(f.bytes)}</td><td>${f.seconds} s</td><td>≤ ${bytes(f.targetBytes)}, ≤ ${f.targetSeconds} s</td></tr>`).join('');
  return `<section id="paper"><h2>Beside the paper (${esc(m.paper.model)})</h2>
<p>This network has the shape of one the paper measured. Its code's figures (three LAN machines) and mpcc's targets; this report's network: <strong>${bytes(t.bytes.total)}</strong> per inference, ${num(t.drelus)} DReLUs, estimated ${secs(t.latency.lan)} on a LAN.</p>
<table class="compact"><thead><tr><th>paper setting</th><th>paper bytes</th><th>paper time</th><th>mpcc target</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** Measured runs (times, bytes against the prediction), accuracy and the sweep's evaluations. */
function measuredSection(m: ReportModel): string {
  const i = m.inputs;
  if (i.runs.length === 0 && i.evals.length === 0) return '';
  const parts: string[] = ['<section id="measured"><h2>Measured</h2>'];
  if (i.runs.length > 0) {
    const t = m.totals;
    const rows = i.runs.map(({ file, record: r }) => {
      const same = r.bytes.total === t.bytes.total && r.rounds === t.rounds;
      return `<tr><td><code>${esc(file)}</code></td><td data-sort="${r.wallSeconds}">${secs(r.wallSeconds)}</td><td data-sort="${r.rounds}">${num(r.rounds)}</td><td data-sort="${r.bytes.total}">${bytes(r.bytes.total)}</td><td data-sort="${r.bytes.online}">${bytes(r.bytes.online)}</td><td data-sort="${r.bytes.preprocessing}">${bytes(r.bytes.preprocessing)}</td><td class="${same ? 'ok' : 'bad'}">${same ? 'equal' : `predicted ${bytes(t.bytes.total)}, ${t.rounds} rounds`}</td>${plaintextCell(r.plaintext)}${agreementCell(r.agreement)}</tr>`;
    }).join('');
    parts.push(`<h3>Secure runs (mpcc run --json)</h3><table class="sortable" id="runs-table"><thead><tr><th>file</th><th>wall time</th><th>rounds</th><th>bytes</th><th>online</th><th>offline</th><th>against cost.json</th><th title="mpcc run --verify-against-plaintext MODEL: the secure output against the fixed-point simulation">against plaintext</th><th title="mpcc run --expected Y.npy">against --expected</th></tr></thead><tbody>${rows}</tbody></table>`);
  }
  if (m.accuracy) {
    const e = m.accuracy.record;
    const shown = e.top1 !== null ? `top-1 ${pct(e.top1)}${e.top5 !== null ? `, top-5 ${pct(e.top5)}` : ''}` : e.miou !== null ? `mean IoU ${pct(e.miou)}${e.pixelAcc !== null ? `, pixel accuracy ${pct(e.pixelAcc)}` : ''}` : 'no measure';
    parts.push(`<p class="accuracy">Accuracy of this network: <strong data-accuracy="${e.top1 ?? e.miou ?? ''}">${shown}</strong> on ${num(e.n)}${e.of !== undefined ? ` of ${num(e.of)} (a --sample)` : ''} images${e.secure ? `, measured by secure inference (${num(e.secure.inferences)} inferences)` : ''} (<code>${esc(m.accuracy.file)}</code>).</p>`);
    if (e.iou) parts.push(iouTable(e.iou, i.classes));
  }
  if (i.evals.length > 0) {
    const rows = i.evals.map(({ file, record: e }) => {
      const planner = e.plan === null ? 'no plan' : `${esc(e.plan.method ?? 'plan')}${e.refit ? ' + refit' : ''}`;
      const kept = e.drelus !== null && e.baselineDrelus ? e.drelus / e.baselineDrelus : null;
      return `<tr><td><code>${esc(file)}</code></td><td>${planner}</td><td>${esc(runBy(e))}</td><td data-sort="${e.drelus ?? ''}">${e.drelus === null ? '—' : num(e.drelus)}</td><td data-sort="${kept ?? ''}">${kept === null ? '—' : pct(kept)}</td><td data-sort="${e.top1 ?? ''}">${opt(e.top1, pct)}</td><td data-sort="${e.top5 ?? ''}">${opt(e.top5, pct)}</td><td data-sort="${e.miou ?? ''}">${opt(e.miou, pct)}</td><td data-sort="${e.n}">${num(e.n)}${e.of !== undefined ? ` of ${num(e.of)}` : ''}</td></tr>`;
    }).join('');
    parts.push(`<h3>Evaluations (mpcc eval --json)</h3><table class="sortable" id="evals-table"><thead><tr><th>file</th><th>planner</th><th>run by</th><th>DReLUs per image</th><th>kept</th><th>top-1</th><th>top-5</th><th>mean IoU</th><th>images</th></tr></thead><tbody>${rows}</tbody></table>`);
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** A run's `--verify-against-plaintext` verdict (compiler/narrow.ts): whether the secure output
 * is the fixed-point simulation's within CHECK_TOLERANCE of its range, and by how much. */
function plaintextCell(p: RunRecord['plaintext']): string {
  if (!p) return '<td>—</td>';
  const share = `${(100 * p.relativeDiffSimulated).toPrecision(2)}% of the range`;
  return `<td class="${p.agrees ? 'ok' : 'bad'}" data-sort="${p.relativeDiffSimulated}">${p.agrees ? 'agrees' : 'differs'}: ${share}</td>`;
}

/** A run's `--expected` agreement (compiler/output-agreement.ts) in words. */
function agreementCell(a: RunRecord['agreement']): string {
  if (!a) return '<td>—</td>';
  const parts: string[] = [];
  if (a.top1Equal !== undefined) parts.push(`top-1 ${a.top1Equal ? 'equal' : 'differs'}`);
  if (a.pixelAgreement !== undefined && a.top1Equal === undefined) parts.push(`pixels ${pct(a.pixelAgreement)} equal`);
  if (a.maxErrorOfRange !== undefined) parts.push(`max error ${(100 * a.maxErrorOfRange).toPrecision(2)}% of the range`);
  return `<td${a.top1Equal === undefined ? '' : ` class="${a.top1Equal ? 'ok' : 'bad'}"`}>${esc(parts.join(', '))}</td>`;
}

/** What ran an evaluation: onnxruntime or the interpreter (float, or the fixed-point simulation)
 * or secure inference of a compiled folder. */
function runBy(e: EvalRecord): string {
  if (e.secure) return `secure inference (${e.secure.inferences} run${e.secure.inferences === 1 ? '' : 's'})`;
  if (e.runner === undefined) return '—';
  return e.fixed !== undefined ? `${e.runner}, fixed point (${e.fixed} fractional bits)` : `${e.runner}, float`;
}

/** What the manifest records for the client: how an image input is preprocessed, class names. */
function clientLine(i: ReportModel['inputs']): string {
  const parts = [
    ...(i.preprocessing ? [`image inputs preprocessed as the calibration images were (${esc(describePreprocessing(i.preprocessing))})`] : []),
    ...(i.classes ? [`${num(i.classes.length)} class names`] : []),
  ];
  return parts.length ? `\n  <p class="meta" id="client">client: ${parts.join(' · ')}</p>` : '';
}

/** A segmenter's IoU per class, named when the compile recorded one name per class; "—" for a
 * class in neither the labels nor the predictions (the mean leaves it out). */
function iouTable(iou: readonly (number | null)[], classes: readonly string[] | null): string {
  const named = classes !== null && classes.length === iou.length;
  const rows = iou.map((v, k) => `<tr><td>${k}${named ? ` ${esc(classes[k])}` : ''}</td><td data-sort="${v ?? ''}">${opt(v, pct)}</td></tr>`).join('');
  return `<table class="sortable compact" id="iou-table"><thead><tr><th>class</th><th>IoU</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function chartsSection(charts: readonly Chart[]): string {
  if (charts.length === 0) return '';
  const figures = charts.map((c) => `<figure class="chart${c.wide ? ' wide' : ''}"><figcaption><strong>${esc(c.title)}</strong><span>${esc(c.caption)}</span></figcaption><div id="${c.id}" class="chart-body" data-chart></div></figure>`);
  return `<section id="charts"><h2>Charts</h2><div class="charts">${figures.join('\n')}</div></section>`;
}

/** The per-layer table, sortable, with the totals in its footer. */
function layersSection(m: ReportModel): string {
  const t = m.totals;
  const anySignError = m.layers.some((l) => l.signErrorMeasured !== null || l.signErrorPredicted !== null);
  const head = ['layer', 'op', 'activation', 'rounds', 'DReLUs before', 'DReLUs after', 'identity channels', 'compare bits', 'online B', 'offline B', 'one-time B', 'comparisons B', 'selections B', 'products B', 'B / DReLU', ...(anySignError ? ['sign errors (measured)', 'predicted'] : [])];
  const rows = m.layers.map((l) => layerRow(l, anySignError)).join('\n');
  const before = t.drelusBefore ?? t.drelus;
  const k = t.bytesByKind;
  const foot = ['total', '', '', `${t.rounds}`, num(before), num(t.drelus), '', '', num(t.bytes.online), num(t.bytes.preprocessing), num(t.bytes.oneTime), num(k?.comparisons ?? 0), num(k?.selections ?? 0), num(k?.products ?? 0), t.bytesPerDrelu ? t.bytesPerDrelu.toFixed(1) : '—', ...(anySignError ? ['', ''] : [])];
  return `<section id="layers"><h2>Layers</h2><p class="hint">Click a heading to sort. Rounds read first–last; "compare bits" is the comparisons' bit window (k, and the low bits dropped).</p>
<div class="scroll"><table class="sortable" id="layers-table"><thead><tr>${head.map((h, c) => `<th${c < 2 ? ' class="name"' : ''}>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr>${foot.map((c) => `<th>${c}</th>`).join('')}</tr></tfoot></table></div></section>`;
}

function layerRow(l: LayerRow, signErrors: boolean): string {
  const cell = (sort: number | string | null, shown: string) => `<td data-sort="${sort ?? ''}">${shown}</td>`;
  const span = l.rounds === 0 ? '—' : l.round === null ? `${l.rounds}` : l.rounds === 1 ? `${l.round}` : `${l.round}–${l.round + l.rounds - 1}`;
  const bits = l.compareBits === null ? '—' : `${l.compareBits}${l.compareLo ? ` (lo ${l.compareLo})` : ''}`;
  return `<tr data-layer="${esc(l.name)}"><td class="name">${esc(l.name)}</td><td class="name">${esc(l.op)}</td>${cell(l.inputShape.reduce((a, b) => a * b, 1), esc(l.inputShape.join('×')))}${cell(l.round ?? l.rounds, span)}${cell(l.drelusBefore, num(l.drelusBefore))}${cell(l.drelus, num(l.drelus))}${cell(l.identityShare, l.identityShare === null ? '—' : pct(l.identityShare))}${cell(l.compareBits, bits)}${cell(l.online, num(l.online))}${cell(l.offline, num(l.offline))}${cell(l.oneTime, num(l.oneTime))}${cell(l.comparisons, num(l.comparisons))}${cell(l.selections, num(l.selections))}${cell(l.products, num(l.products))}${cell(l.bytesPerDrelu, l.bytesPerDrelu === null ? '—' : l.bytesPerDrelu.toFixed(1))}${signErrors ? cell(l.signErrorMeasured, opt(l.signErrorMeasured, rate)) + cell(l.signErrorPredicted, opt(l.signErrorPredicted, rate)) : ''}</tr>`;
}

/** A plan source's budget, ratio or block in words ("6.00% of the DReLUs (33,423)", "4x4"), or
 * undefined to show the value as it is. */
function briefValue(key: string, v: unknown): string | undefined {
  if (key === 'budget' && v !== null && typeof v === 'object') {
    const { fraction, drelus } = v as { fraction?: unknown; drelus?: unknown };
    if (typeof fraction === 'number') return `${(100 * fraction).toFixed(2)}% of the DReLUs${typeof drelus === 'number' ? ` (${num(drelus)})` : ''}`;
    if (typeof drelus === 'number') return `${num(drelus)} DReLUs`;
  }
  if (key === 'ratio' && typeof v === 'number') return `${(100 * v).toFixed(2)}% of the DReLUs`;
  if (key === 'block' && Array.isArray(v) && v.length === 2) return `${v[0]}x${v[1]}`;
  if (key === 'carriedFrom' && v !== null && typeof v === 'object') {
    const { model, plan } = v as { model?: unknown; plan?: unknown };
    if (typeof model === 'string' && typeof plan === 'string') return `the plan of model file sha256 ${model.slice(0, 12)}… (plan file sha256 ${plan.slice(0, 12)}…)`;
  }
  return undefined;
}

/** The plan: how it was made, and per planned layer its blocks. */
function planSection(m: ReportModel): string {
  const plan = m.inputs.plan;
  if (!plan) return '';
  const windows = plan.compare ? `<p>Comparison windows: ${esc(plan.compare.mode)}, chosen for ${plan.compare.fracBits} fractional bits${plan.compare.maxSignError !== null ? `, at most ${rate(plan.compare.maxSignError)} predicted sign errors` : ''}; ${plan.compare.windows.length} comparison layers (the layer table's "compare bits").</p>` : '';
  if (plan.layers.length === 0) return `<section id="plan"><h2>Plan</h2><p>No ReLU layer planned: every ReLU stays a per-pixel ReLU.</p>${windows}</section>`;
  const shown = (v: unknown) => esc(typeof v === 'string' ? v : JSON.stringify(v, (k, x) => (k === 'sampleDigests' && Array.isArray(x) ? `(${x.length} digests)` : x)));
  const brief = [...['method', 'budget', 'mode', 'ratio', 'block'].filter((k) => k in plan.source).map((k) => `${k} ${esc(briefValue(k, plan.source[k]) ?? shown(plan.source[k]))}`),
    ...('carriedFrom' in plan.source ? ['carried to this model file from another (mpcc plan --from: its distortions were measured there)'] : [])].join(' · ');
  const cellOf = (k: string, v: unknown) => { const words = briefValue(k, v); return words === undefined ? `<code>${shown(v)}</code>` : esc(words); };
  const source = `<details><summary>How the plan was made${brief ? `: ${brief}` : ''}</summary><table class="compact kv"><tbody>${Object.entries(plan.source).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${cellOf(k, v)}</td></tr>`).join('')}</tbody></table></details>`;
  const rows = plan.layers.map((l) => {
    const sorted = blockCounts(l.blocks);
    const common = sorted.slice(0, 6).map(([b, n]) => `${b} (${n})`).join(', ') + (sorted.length > 6 ? `, ${sorted.length - 6} more` : '');
    const identity = l.blocks.filter((b) => b === 'identity').length;
    return `<tr><td class="name">${esc(l.name)}</td><td data-sort="${l.shape[1] * l.shape[2] * l.shape[3]}">${l.shape.join('×')}</td><td data-sort="${l.drelus.baseline}">${num(l.drelus.baseline)}</td><td data-sort="${l.drelus.planned}">${num(l.drelus.planned)}</td><td data-sort="${l.drelus.planned / l.drelus.baseline}">${pct(l.drelus.planned / l.drelus.baseline)}</td><td data-sort="${identity / l.blocks.length}">${pct(identity / l.blocks.length)}</td><td class="name">${esc(common)}</td></tr>`;
  }).join('\n');
  return `<section id="plan"><h2>Block-ReLU plan</h2>${source}
<p>${plan.layers.length} planned ReLU layers of ${plan.model.reluLayers.length}${plan.complete ? ' (complete plan)' : ''}: <strong>${num(plan.drelus.planned)}</strong> of ${num(plan.drelus.baseline)} DReLUs (${pct(plan.drelus.planned / plan.drelus.baseline)}).</p>${windows}
<div class="scroll"><table class="sortable" id="plan-table"><thead><tr><th>layer</th><th>activation</th><th>DReLUs before</th><th>after</th><th>kept</th><th>identity</th><th class="name">blocks (channels)</th></tr></thead><tbody>
${rows}
</tbody></table></div></section>`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (x: number) => x.toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(x === 0 || x === 1 ? 0 : 2)}%`;
const rate = (x: number) => (x === 0 ? '0' : x.toExponential(2));
const opt = (x: number | null, f: (x: number) => string) => (x === null ? '—' : f(x));
function bytes(b: number): string {
  if (b >= 1e9) return `${(b / 1e9).toFixed(3)} GB`;
  if (b >= 1e6) return `${(b / 1e6).toFixed(2)} MB`;
  if (b >= 1e3) return `${(b / 1e3).toFixed(1)} kB`;
  return `${b} B`;
}
function secs(s: number): string {
  return s < 1 ? `${(s * 1e3).toFixed(1)} ms` : `${s.toFixed(2)} s`;
}

/** Renders every chart with Vega (SVG), makes tables sortable, and marks the body when done. */
const PAGE_SCRIPT = `
(function () {
  'use strict';
  var specs = JSON.parse(document.getElementById('chart-specs').textContent);
  var done = 0, failed = 0;
  var jobs = specs.map(function (c) {
    var el = document.getElementById(c.id);
    try {
      var view = new vega.View(vega.parse(c.spec), { renderer: 'svg', container: el, hover: true });
      return view.runAsync().then(function () { done++; el.setAttribute('data-rendered', 'true'); },
        function (err) { failed++; console.error('chart ' + c.id + ': ' + err); });
    } catch (err) { failed++; console.error('chart ' + c.id + ': ' + err); return Promise.resolve(); }
  });
  Promise.all(jobs).then(function () {
    document.body.setAttribute('data-charts-rendered', String(done));
    document.body.setAttribute('data-charts-failed', String(failed));
  });
  function key(td) {
    var v = td.getAttribute('data-sort');
    if (v === null) v = td.textContent;
    var n = parseFloat(v);
    return v !== '' && !isNaN(n) && isFinite(n) && String(n) === v.trim() ? { n: n } : { s: v.toLowerCase(), blank: v === '' || v === '—' };
  }
  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) return a.n - b.n;
    if (a.n !== undefined) return -1;
    if (b.n !== undefined) return 1;
    if (a.blank !== b.blank) return a.blank ? 1 : -1;
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.setAttribute('tabindex', '0');
      th.setAttribute('title', 'sort by ' + th.textContent);
      function sort() {
        var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).map(function (r, i) { return { r: r, k: key(r.cells[col]), i: i }; });
        rows.sort(function (x, y) { return dir * compare(x.k, y.k) || x.i - y.i; });
        rows.forEach(function (x) { body.appendChild(x.r); });
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
    });
  });
})();
`;

const STYLE = `
:root { --ink: #1d2330; --muted: #5c6675; --line: #e3e6eb; --accent: #2f5d9e; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #1f2d44; color: #fff; padding: 22px 32px 18px; }
header h1 { margin: 0 0 6px; font-size: 22px; font-weight: 650; letter-spacing: .2px; }
header p { margin: 2px 0; color: #cfd8e6; }
header code { color: #fff; }
main { max-width: 1400px; margin: 0 auto; padding: 12px 32px 32px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 18px 0; }
h2 { margin: 0 0 12px; font-size: 17px; font-weight: 650; }
h3 { margin: 16px 0 8px; font-size: 14px; color: var(--muted); font-weight: 600; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin-bottom: 14px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: #fbfcfd; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .4px; }
.card .value { font-size: 22px; font-weight: 650; color: var(--accent); margin-top: 2px; }
.card .note { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.compact { margin: 6px 0 10px; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.name, th.name { text-align: left; }
thead th { background: #eef1f5; font-weight: 600; position: sticky; top: 0; }
tfoot th { background: #eef1f5; }
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th:hover { background: #e2e7ee; }
th[aria-sort=ascending]::after { content: " ▲"; font-size: 10px; }
th[aria-sort=descending]::after { content: " ▼"; font-size: 10px; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #f0f5ff; }
td.ok { color: #2e7d32; } td.bad { color: #c62828; font-weight: 600; }
.scroll { overflow: auto; max-height: 70vh; border: 1px solid var(--line); border-radius: 6px; }
.scroll table { width: 100%; }
.hint { color: var(--muted); font-size: 12px; }
details { margin: 0 0 10px; color: var(--muted); }
details summary { cursor: pointer; }
table.kv td { text-align: left; white-space: normal; }
table.kv code { word-break: break-all; }
.accuracy { font-size: 15px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow: auto; }
figure.chart.wide { grid-column: 1 / -1; }
figure.chart figcaption { margin-bottom: 8px; }
figure.chart figcaption strong { display: block; font-size: 14px; }
figure.chart figcaption span { color: var(--muted); font-size: 12px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 0 32px 28px; }
`;
