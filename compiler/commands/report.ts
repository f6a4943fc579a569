// `mpcc report OUT -o report.html [--run RUN.json ...] [--eval EVAL.json ...]` and
// `mpcc report MODEL [--plan PLAN] -o report.html`: one self-contained HTML page of a compiled
// model (or of a model and a plan, its costs worked out as `mpcc cost` does) — the layers with
// their shapes, DReLUs before and after planning, identity channels, bit windows, rounds and
// bytes; the block sizes per channel as a heat map; the round timeline; the totals beside the
// paper's figures where the model is one of the paper's; measured runs, accuracy and sign-error
// rates, and accuracy against DReLU budget for several evaluated plans. It only reads what other
// commands wrote (OUT's manifest.json, cost.json, plan.json; `mpcc run --json`, `mpcc eval
// --json`); the data gathering is compiler/report/inputs.ts and compiler/report/model.ts, the
// charts compiler/report/charts.ts, the page compiler/report/html.ts. Every input is checked
// before the page is written, atomically, so a bad input leaves nothing behind.
import type { Command } from 'commander';
import { Option } from 'commander';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, checkOutputPath, commandProgress, stderrProgress, writeFileAtomic } from '../cli-support.js';
import { DEFAULT_PASSES } from '../driver.js';
import { readReportInputs } from '../report/inputs.js';
import { reportModel } from '../report/model.js';
import { reportCharts, vegaRuntime } from '../report/charts.js';
import { reportHtml } from '../report/html.js';
import { mpccVersion } from './compile.js';
import { diag } from '../../runtime/diagnostics.js';
import { outputOption, parseFracBits, parseInputShape, planOption, requireOutput, withModelFlags, withProgressFlags } from './flags.js';

/** Options of the report command, as commander hands them over. */
export interface ReportOptions extends ProgressFlags {
  /** The HTML file to write. */
  readonly output?: string;
  /** With a model file: the plan to show and cost (`mpcc report MODEL --plan PLAN`). */
  readonly plan?: string;
  /** `mpcc run --json` outputs of OUT (one JSON object per line). */
  readonly run?: readonly string[];
  /** `mpcc eval --json` outputs of the same model (one JSON object per line); several plans make the sweep chart. */
  readonly eval?: readonly string[];
  readonly passes?: string;
  readonly fracBits?: string | number;
  readonly inputShape?: string;
}

/** What the command wrote: the file, its size, the charts it holds. */
export interface ReportResult {
  readonly file: string;
  readonly bytes: number;
  readonly charts: readonly string[];
}

/** Writes the report of `subject` (OUT or a model file) to `options.output`; progress lines go to `sink`. */
export function runReport(subject: string, options: ReportOptions, sink: ProgressSink = NO_PROGRESS): ReportResult {
  const log = commandProgress(options, sink);
  const file = requireOutput(options.output, 'the HTML file to write');
  if (!/\.html?$/i.test(file)) throw diag('MPCC0004', ['-o', file, 'the report is an HTML page: its file must end in .html (or .htm)']);
  const inputs = readReportInputs({
    subject, plan: options.plan, runs: options.run, evals: options.eval,
    passes: options.passes, fracBits: parseFracBits(options.fracBits), inputShape: parseInputShape(options.inputShape),
  }, log);
  // never over (or inside) what it read: OUT, the plan, the runs and evaluations
  checkOutputPath(file, false, [subject, ...(options.plan ? [options.plan] : []), ...(options.run ?? []), ...(options.eval ?? [])]);
  const model = reportModel(inputs);
  log(`report: ${model.layers.length} layers, ${model.heat.cells.length} planned channels, ${inputs.runs.length} runs, ${inputs.evals.length} evaluations`);
  const charts = reportCharts(model);
  const html = reportHtml(model, charts, vegaRuntime(), mpccVersion());
  writeFileAtomic(file, html);
  log(`wrote ${file} (${(html.length / 1e6).toFixed(2)} MB, ${charts.length} charts)`);
  return { file, bytes: Buffer.byteLength(html), charts: charts.map((c) => c.id) };
}

/** Adds `mpcc report` to the program. */
export function registerReport(program: Command): void {
  withProgressFlags(
    withModelFlags(
      program
        .command('report')
        .description('write one self-contained HTML page of a compiled model (or a model and its plan): layers, plan heat map, bytes, rounds, measured runs and accuracy')
        .argument('<subject>', 'a folder written by mpcc compile (OUT), or a model file (.onnx, .mir) whose costs are worked out as mpcc cost does')
        .addOption(outputOption('the HTML file to write'))
        .addOption(planOption().default(undefined, 'with a model file only: the plan to show and cost'))
        .addOption(new Option('--run <files...>', 'outputs of mpcc run OUT --json (with --verify-against-plaintext: sign-error rates) to show beside the predictions'))
        .addOption(new Option('--eval <files...>', 'outputs of mpcc eval --json of the same model: accuracy; several plans draw accuracy against DReLU budget')),
      `${DEFAULT_PASSES} (a model file only)`,
      '; a model file only',
    ),
  ).action(
    action((subject: string, options: ReportOptions) => {
      const r = runReport(subject, options, stderrProgress(options));
      process.stdout.write(`wrote ${r.file}: ${r.charts.length} charts, ${(r.bytes / 1e6).toFixed(2)} MB\n`);
    }),
  );
}
