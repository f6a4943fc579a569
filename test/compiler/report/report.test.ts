// `mpcc report` without a browser: the report's data against the files it reads and against
// hand counts of the fixture's plan (identity, [1,1] and whole-map blocks), a model and plan
// alone against the compiled folder's own cost.json, the page self-contained, and every bad input
// a coded error naming the file with nothing written. The page in Chromium: browser.test.ts.
import { expect } from 'chai';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runReport } from '../../../compiler/commands/report.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { runInfer } from '../../../compiler/commands/infer.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { readReportInputs } from '../../../compiler/report/inputs.js';
import { reportModel } from '../../../compiler/report/model.js';
import { chartWarnings, reportCharts } from '../../../compiler/report/charts.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';
import { planJson } from '../../../passes/planning/plan-file.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { encodePng } from '../../../examples/png.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { testValues } from '../onnx/harness.js';
import { segmenter } from '../commands/segmenter.js';
import { errorOf } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';
import { FIXTURE_BLOCKS, type ReportFixture, makeReportFixture, readJson } from './fixture.js';

const CLI = fileURLToPath(new URL('../../../compiler/cli.js', import.meta.url));

describe('mpcc report: data, page and bad input', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-report-');
  const file = (name: string) => join(dir(), name);
  let fx: ReportFixture;
  before(async () => {
    fx = await makeReportFixture(dir());
  });

  it('a compiled folder: totals and per-layer rows equal cost.json, identity shares and heat-map cells equal the plan counted by hand', () => {
    const cost = readJson<CostReport>(join(fx.out, 'cost.json'));
    const m = reportModel(readReportInputs({ subject: fx.out }));
    expect(m.totals).to.deep.equal(cost);
    expect(m.layers.map((l) => [l.name, l.drelus, l.drelusBefore, l.online, l.offline, l.rounds])).to.deep.equal(cost.layers.map((l) => [l.name, l.drelus, l.drelusBefore, l.bytes.online, l.bytes.preprocessing, l.rounds]));
    expect(m.layers.reduce((t, l) => t + l.online + l.offline, 0)).to.equal(cost.bytes.total);
    // /relu1/Relu: 2 identity channels of 8; /relu2/Relu: 3 of 16 (FIXTURE_BLOCKS)
    expect(m.layers.find((l) => l.name === '/relu1/Relu')!.identityShare).to.equal(2 / 8);
    expect(m.layers.find((l) => l.name === '/relu2/Relu')!.identityShare).to.equal(3 / 16);
    expect(m.layers.find((l) => l.name === '/conv1/Conv')!.identityShare).to.equal(null);
    // one cell per channel, in order, with its block; the DReLUs by hand: ceil(H/bh)·ceil(W/bw)
    expect(m.heat.cells.map((c) => [c.layer, c.channel, c.block])).to.deep.equal(Object.entries(FIXTURE_BLOCKS).flatMap(([layer, blocks]) => blocks.map((b, channel) => [layer, channel, b === 'identity' ? 'identity' : `${b[0]}x${b[1]}`])));
    const relu1 = m.heat.cells.filter((c) => c.layer === '/relu1/Relu').map((c) => c.drelus);
    expect(relu1).to.deep.equal([0, 256, 1, 16, 16, 0, 256, 4]);
    expect(m.heat.cells.reduce((t, c) => t + c.drelus, 0)).to.equal(fx.planData.drelus.planned);
    // the timeline: every layer with rounds, from its first round to one past its last; the last ends after the schedule's last round
    expect(m.timeline.length).to.equal(cost.layers.filter((l) => l.rounds > 0).length);
    expect(Math.max(...m.timeline.map((t) => t.end))).to.equal(cost.rounds + 1);
    expect(m.paper).to.equal(null);
    expect(chartWarnings).to.deep.equal([]);
  });

  it('runs and evaluations: the run beside the prediction, its sign-error rates per layer, the accuracy of this plan, the sweep by planner', () => {
    const run = readJson<{ plaintext: { layers: { name: string; rate: number }[] }; bytes: { total: number } }>(fx.run);
    const m = reportModel(readReportInputs({ subject: fx.out, runs: [fx.run], evals: [fx.evals] }));
    expect(m.inputs.runs[0].record.bytes.total).to.equal(m.totals.bytes.total);
    for (const row of run.plaintext.layers) expect(m.layers.find((l) => l.name === row.name)?.signErrorMeasured, row.name).to.equal(row.rate);
    const evals = readFileSync(fx.evals, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { top1: number; drelus: number; baselineDrelus: number });
    expect(m.accuracy?.record.top1).to.equal(evals[0].top1); // the first evaluation is of mixed.json, OUT's plan
    expect(m.sweep.map((p) => [p.planner, p.budget, p.accuracy])).to.deep.equal([
      ['hand-made', evals[0].drelus / evals[0].baselineDrelus, evals[0].top1],
      ['uniform', evals[1].drelus / evals[1].baselineDrelus, evals[1].top1],
      ['no plan', 1, evals[2].top1],
    ]);
    expect(reportCharts(m).map((c) => c.id)).to.deep.equal(['chart-bytes-kind', 'chart-bytes-phase', 'chart-drelus', 'chart-timeline', 'chart-heatmap', 'chart-sweep']);
  });

  it('the runs table gives each run\'s verdicts in words (against plaintext, against --expected), the evaluations what ran them', async () => {
    // the planned float network's output (mpcc infer --plan) as the --expected file of a second run
    runInfer(fx.model, { input: join(dirname(fx.run), 'x.npy'), plan: fx.plan, output: file('y.npy') });
    const { summary } = await runSecure(fx.out, { input: join(dirname(fx.run), 'x.npy'), transport: 'inproc', expected: file('y.npy') });
    writeFileSync(file('run-expected.json'), JSON.stringify(summary) + '\n');
    const fixed = (await runEval(fx.model, { data: join(dirname(fx.run), 'xs.npy'), labels: join(dirname(fx.run), 'ys.npy'), plan: fx.plan, fixed: true, json: true })).text;
    writeFileSync(file('fixed-eval.json'), fixed);
    runReport(fx.out, { output: file('verdicts.html'), run: [fx.run, file('run-expected.json')], eval: [fx.evals, file('fixed-eval.json')] });
    const html = readFileSync(file('verdicts.html'), 'utf8');
    const rows = (id: string) => [...html.match(new RegExp(`<table[^>]*id="${id}"[\\s\\S]*?</table>`))![0].matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => c[1].replace(/<[^>]+>/g, '')));
    const [head, verified, compared] = rows('runs-table');
    const col = (name: string) => head.indexOf(name);
    // the first run was checked against plaintext only: its verdict and share, as the record says
    const check = readJson<{ plaintext: { agrees: boolean; relativeDiffSimulated: number } }>(fx.run).plaintext;
    expect(verified[col('against plaintext')]).to.equal(`${check.agrees ? 'agrees' : 'differs'}: ${(100 * check.relativeDiffSimulated).toPrecision(2)}% of the range`);
    expect(verified[col('against --expected')]).to.equal('—');
    // the second against --expected only, in words (no raw JSON)
    const a = summary.agreement!;
    expect(compared[col('against plaintext')]).to.equal('—');
    expect(compared[col('against --expected')]).to.equal(`top-1 ${a.top1Equal ? 'equal' : 'differs'}, max error ${(100 * a.maxErrorOfRange!).toPrecision(2)}% of the range`);
    expect(a.maxErrorOfRange!).to.be.below(0.1); // the secure run computes the planned network
    // evaluations: float on onnxruntime, and the fixed-point simulation with its bits
    const evals = rows('evals-table');
    const runBy = evals[0].indexOf('run by');
    expect(evals.slice(1).map((r) => r[runBy])).to.deep.equal([...Array(3).fill('onnxruntime, float'), `interpreter, fixed point (${JSON.parse(fixed).fixed} fractional bits)`]);
    expect(JSON.parse(fixed).fixed).to.be.a('number');
  });

  it('a model and its plan alone: the costs compile --plan records by default (its mode chosen as compile chooses it), worked out again', () => {
    const alone = reportModel(readReportInputs({ subject: fx.model, plan: fx.plan }));
    const out = file('out-default');
    const { notes } = runCompile(fx.model, { output: out, plan: fx.plan });
    const cost = readJson<CostReport>(join(out, 'cost.json'));
    expect(alone.totals).to.deep.equal(cost);
    // tiny-cnn under this plan: compile's auto takes the client-offline mode (its MaxPool as exact
    // trees after the plan), not the classic one the fixture's folder was compiled in
    expect(notes[0]).to.match(/^note: --client-offline auto: client-offline /);
    expect(alone.totals.mode).to.equal('client-offline');
    expect(readJson<CostReport>(join(fx.out, 'cost.json')).mode).to.equal('classic');
    expect(alone.heat.cells.length).to.equal(8 + 16);
    expect(alone.inputs.kind).to.equal('model');
    const html = readFileSync(runReport(fx.model, { output: file('alone.html'), plan: fx.plan }).file, 'utf8');
    expect(html).to.contain('secure layers · client-offline mode · mpcc');
    // how a plan was made, in words: its block as BHxBW, a budget as its share (not JSON)
    const uniform = readFileSync(runReport(fx.model, { output: file('uniform.html'), plan: fx.uniformPlan }).file, 'utf8');
    expect(uniform).to.contain('<summary>How the plan was made: method uniform · block 4x4</summary>');
    const budgeted = readJson<Record<string, unknown> & { source: Record<string, unknown> }>(fx.uniformPlan);
    writeFileSync(file('budgeted.json'), JSON.stringify({ ...budgeted, source: { method: 'knapsack', budget: { drelus: 432, fraction: 0.1406 } } }));
    const knapsack = readFileSync(runReport(fx.model, { output: file('budgeted.html'), plan: file('budgeted.json') }).file, 'utf8');
    expect(knapsack).to.contain('<summary>How the plan was made: method knapsack · budget 14.06% of the DReLUs (432)</summary>');
    expect(knapsack).to.contain('<tr><th>budget</th><td>14.06% of the DReLUs (432)</td></tr>'); // the expanded table too
    // a plan carried to the model file (plan --from): said in the summary
    writeFileSync(file('carried.json'), JSON.stringify({ ...budgeted, source: { ...budgeted.source, carriedFrom: { model: 'ab'.repeat(32), plan: 'cd'.repeat(32), tool: 'mpcc plan --from' } } }));
    const carried = readFileSync(runReport(fx.model, { output: file('carried.html'), plan: file('carried.json') }).file, 'utf8');
    expect(carried).to.match(/<summary>How the plan was made: method uniform · block 4x4 · carried to this model file from another \(mpcc plan --from/);
    expect(carried).to.contain('<tr><th>carriedFrom</th><td>the plan of model file sha256 abababababab… (plan file sha256 cdcdcdcdcdcd…)</td></tr>');
  });

  it('a folder compiled with --compare-bits and no plan: the windows in the table, no heat map, the plan section says so', () => {
    runCompile(fx.model, { output: file('out-bits'), compareBits: '20' });
    const m = reportModel(readReportInputs({ subject: file('out-bits') }));
    const cost = readJson<CostReport>(join(file('out-bits'), 'cost.json'));
    expect(m.layers.filter((l) => l.compareBits !== null).map((l) => [l.name, l.compareBits])).to.deep.equal(cost.layers.filter((l) => l.compareBits !== null).map((l) => [l.name, 20]));
    expect(m.heat.cells).to.deep.equal([]);
    const r = runReport(file('out-bits'), { output: file('bits.html') });
    expect(r.charts).to.not.include('chart-heatmap');
    const html = readFileSync(r.file, 'utf8');
    expect(html).to.contain('No ReLU layer planned');
    expect(html).to.contain('Comparison windows: fixed');
    expect(html.replace(/<script[\s\S]*?<\/script>/g, '')).to.not.match(/NaN|undefined/);
  });

  it('the paper\'s figures beside a model the paper measured (resnet18-cifar), none for another', () => {
    writeFileSync(file('r18.onnx'), buildZooModel('resnet18-cifar'));
    const m = reportModel(readReportInputs({ subject: file('r18.onnx'), fracBits: 12 }));
    // DESIGN.md's cost table: the paper's code 0.494 GB and 2.86 s; the target 0.12 GB and 2.5 s
    expect(m.paper).to.deep.equal({ model: 'ResNet18 / CIFAR-100', figures: [{ setting: 'all ReLUs', bytes: 0.494e9, seconds: 2.86, targetBytes: 0.12e9, targetSeconds: 2.5 }] });
    expect(m.totals.drelusBefore).to.equal(557056);
    const html = readFileSync(runReport(file('r18.onnx'), { output: file('r18.html'), fracBits: 12 }).file, 'utf8');
    expect(html).to.contain('Beside the paper (ResNet18 / CIFAR-100)');
    expect(html).to.contain('<td>494.00 MB</td><td>2.86 s</td>');
    // planned, the model is costed in the client-offline mode (its ReLU layers helper selections): still the paper's model
    runPlanCommand(file('r18.onnx'), { uniform: '4x4', output: file('r18-4x4.json') });
    const planned = readReportInputs({ subject: file('r18.onnx'), plan: file('r18-4x4.json'), fracBits: 12 });
    expect(planned.cost.layers.some((l) => l.op === 'SecureHelperSelect'), 'the client-offline mode').to.equal(true);
    expect(reportModel(planned).paper?.model).to.equal('ResNet18 / CIFAR-100');
  });

  it('shows an evaluation of a --sample as its images of the set\'s', async () => {
    const data = join(dirname(fx.evals), 'xs.npy'), labels = join(dirname(fx.evals), 'ys.npy');
    writeFileSync(file('sampled.jsonl'), (await runEval(fx.model, { data, labels, plan: fx.plan, sample: '7', json: true })).text);
    const html = readFileSync(runReport(fx.out, { output: file('sampled.html'), eval: [file('sampled.jsonl')] }).file, 'utf8');
    expect(html).to.contain('on 7 of 24 (a --sample) images');
    expect(html).to.match(/<td data-sort="7">7 of 24<\/td><\/tr>/);
  });

  it('a segmenter compiled with --calib images and --classes: the client\'s record in the header, the evaluation\'s IoU per class named', async () => {
    // 3×6×7 → conv to 5 classes, per pixel; images and label maps as .npy
    writeFileSync(file('seg.onnx'), segmenter());
    mkdirSync(file('seg-calib'));
    for (let k = 0; k < 3; k++) writeFileSync(file(`seg-calib/c${k}.png`), encodePng(Uint8Array.from({ length: 126 }, (_, i) => (i * 37 + k * 91) % 256), 6, 7, 3));
    writeFileSync(file('seg-names.txt'), 'background\nroad\nsky\ncar\nperson\n');
    runCompile(file('seg.onnx'), { output: file('seg.out'), calib: file('seg-calib'), mean: '0.5', std: '0.25', classes: file('seg-names.txt') });
    writeFileSync(file('seg-x.npy'), encodeNpy([4, 3, 6, 7], testValues([4, 3, 6, 7], 8)));
    writeFileSync(file('seg-y.npy'), encodeNpy([4, 6, 7], Array.from({ length: 168 }, (_, p) => (p * 7) % 5), '|u1'));
    const evalJson = (await runEval(file('seg.onnx'), { data: file('seg-x.npy'), labels: file('seg-y.npy'), json: true })).text;
    writeFileSync(file('seg-eval.jsonl'), evalJson);
    const iou = (JSON.parse(evalJson) as { iou: (number | null)[] }).iou;
    expect(iou).to.have.length(5);
    const html = readFileSync(runReport(file('seg.out'), { output: file('seg.html'), eval: [file('seg-eval.jsonl')] }).file, 'utf8');
    expect(html).to.contain('<p class="meta" id="client">client: image inputs preprocessed as the calibration images were (mean 0.5, std 0.25) · 5 class names</p>');
    const rows = [...html.matchAll(/<table class="sortable compact" id="iou-table">.*?<tbody>(.*?)<\/tbody>/gs)][0][1];
    const names = ['background', 'road', 'sky', 'car', 'person'];
    expect(rows).to.equal(iou.map((v, k) => `<tr><td>${k} ${names[k]}</td><td data-sort="${v ?? ''}">${v === null ? '—' : `${(100 * v).toFixed(v === 0 || v === 1 ? 0 : 2)}%`}</td></tr>`).join(''));
  });

  it('writes one self-contained page: Vega inline, every chart spec, no reference to anything outside it', () => {
    const r = runReport(fx.out, { output: file('report.html'), run: [fx.run], eval: [fx.evals] });
    const html = readFileSync(file('report.html'), 'utf8');
    expect(r.charts).to.have.length(6);
    expect(Buffer.byteLength(html)).to.equal(r.bytes);
    expect(html).to.contain('vega'); // the runtime inline
    for (const id of r.charts) expect(html).to.contain(`id="${id}"`);
    // nothing fetched: no src=, no href= to anything, no stylesheet link, no import
    expect(html).to.not.match(/<(script|img|link|iframe)\b[^>]*\b(src|href)=/i);
    expect(html).to.not.match(/@import|url\(\s*['"]?https?:/i);
    expect(html.replace(/<script[\s\S]*?<\/script>/g, '')).to.not.match(/NaN|undefined|\[object /);
  });

  it('bad input: coded errors naming the file, nothing written', () => {
    const out = file('bad.html');
    const expectError = (fn: () => unknown, code: string, re: RegExp) => {
      const e = errorOf(fn);
      expect(e.code, e.message).to.equal(code);
      expect(e.message).to.match(re);
      expect(existsSync(out)).to.equal(false);
    };
    // an OUT folder without cost.json
    cpSync(fx.out, file('no-cost'), { recursive: true });
    rmSync(file('no-cost/cost.json'));
    expectError(() => runReport(file('no-cost'), { output: out }), 'MPCC0030', /no-cost' is not a folder written by mpcc compile: it has no cost\.json \(.*no-cost\/cost\.json\)/);
    // a folder that is not OUT at all
    expectError(() => runReport(dir(), { output: out }), 'MPCC0030', /it has no manifest\.json/);
    // a plan for another model, alone and inside OUT
    expectError(() => runReport(fx.otherModel, { output: out, plan: fx.plan }), 'MPCC0032', /plan '.*mixed\.json' was made for another model \(sha256 [0-9a-f]{64}\) than .*ops\.onnx/);
    cpSync(fx.out, file('other-plan'), { recursive: true });
    writeFileSync(file('other-plan/plan.json'), planJson({ ...fx.planData, model: { ...fx.planData.model, sha256: 'ab'.repeat(32) } }));
    expectError(() => runReport(file('other-plan'), { output: out }), 'MPCC0032', /other-plan\/plan\.json' was made for another model \(sha256 abab/);
    // a run of another compiled model (the planned folder's run given to the unplanned one)
    expectError(() => runReport(fx.outUnplanned, { output: out, run: [fx.run] }), 'MPCC0033', /run file '.*run\.json' is from another compiled model/);
    // an evaluation of another model
    expectError(() => runReport(fx.out, { output: out, eval: [fx.otherEval] }), 'MPCC0034', /eval file '.*ops-eval\.json' measured another model/);
    // files that are not what their flag says
    writeFileSync(file('garbage.json'), '{"wallSeconds": 1');
    expectError(() => runReport(fx.out, { output: out, run: [file('garbage.json')] }), 'MPCC0031', /report input '.*garbage\.json(:1)?' is not an mpcc run --json output: not JSON/);
    expectError(() => runReport(fx.out, { output: out, eval: [fx.run] }), 'MPCC0031', /is not an mpcc eval --json output/);
    // flags that do not go together
    expectError(() => runReport(fx.out, { output: out, plan: fx.plan }), 'MPCC0035', /mpcc report takes OUT, or --plan PLAN with its MODEL: .* drop --plan/);
    expectError(() => runReport(fx.model, { output: out, run: [fx.run] }), 'MPCC0035', /--run only with a compiled folder OUT/);
    expectError(() => runReport(fx.out, {}), 'MPCC0004', /-o/);
    // -o over what the report reads (none of them HTML), or inside OUT: refused, the inputs untouched
    const before = [fx.plan, fx.run, fx.evals, join(fx.out, 'cost.json')].map((f) => readFileSync(f));
    const refuse = (subject: string, o: string, extra: Parameters<typeof runReport>[1], code: string, re: RegExp) => {
      const e = errorOf(() => runReport(subject, { ...extra, output: o }));
      expect(e.code, e.message).to.equal(code);
      expect(e.message).to.match(re);
    };
    refuse(fx.model, fx.plan, { plan: fx.plan }, 'MPCC0004', /mixed\.json.*must end in \.html/);
    refuse(fx.out, fx.run, { run: [fx.run] }, 'MPCC0004', /must end in \.html/);
    refuse(fx.out, fx.evals, { eval: [fx.evals] }, 'MPCC0004', /must end in \.html/);
    refuse(fx.out, join(fx.out, 'cost.json'), {}, 'MPCC0004', /must end in \.html/);
    refuse(fx.out, join(fx.out, 'report.html'), {}, 'MPCC0003', /it lies inside '.*out', this command's input/);
    expect(existsSync(join(fx.out, 'report.html'))).to.equal(false);
    expect([fx.plan, fx.run, fx.evals, join(fx.out, 'cost.json')].map((f) => readFileSync(f))).to.deep.equal(before);
    // an HTML page goes to an .html file
    expectError(() => runReport(fx.out, { output: file('report.pdf') }), 'MPCC0004', /report\.pdf.*must end in \.html/);
    expect(existsSync(file('report.pdf'))).to.equal(false);
  });

  it('the CLI: writes the page and says so; a bad input exits 2 with one coded line', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'report', fx.out, '-o', file('cli.html'), '--eval', fx.evals]);
    expect(stdout).to.match(/^wrote .*cli\.html: 6 charts, \d+\.\d\d MB\n$/);
    cpSync(fx.out, file('cli-no-cost'), { recursive: true });
    rmSync(file('cli-no-cost/cost.json'));
    const failed = await promisify(execFile)(process.execPath, [CLI, 'report', file('cli-no-cost'), '-o', file('cli-bad.html')]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.match(/^mpcc: error MPCC0030: .*cli-no-cost' is not a folder written by mpcc compile: it has no cost\.json/);
    expect(existsSync(file('cli-bad.html'))).to.equal(false);
  });
});
