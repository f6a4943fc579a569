// `mpcc cost MODEL.onnx|FILE.mir|OUT [--json] [--frac-bits F]`: what one secure inference of a
// model costs — bytes per party (online, preprocessing, one-time), rounds, DReLUs, per layer
// and in total, with LAN/WAN latency estimates. A model is compiled up to the round schedule
// (only the passes it still needs: an already quantized, lowered or scheduled .mir skips the
// earlier ones); a compiled folder OUT is read from OUT/cost.json.
import type { Command } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { action, progress } from '../cli-support.js';
import { loadGraphFile, parseInputShape } from '../load-model.js';
import { diag } from '../../runtime/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import { type CostReport, costReport, formatCostTable } from '../../passes/secure/cost-model.js';
import { parsePipeline, runPipeline } from '../../passes/index.js';
import { SECURE_OPS } from '../../passes/secure/secure-costs.js';

/** Options of the cost command, as commander hands them over. */
export interface CostOptions {
  /** Print the report as one JSON object instead of a table. */
  readonly json?: boolean;
  /** Fractional bits of the fixed-point encoding (quantize's frac-bits). */
  readonly fracBits?: string | number;
  /** Shape of the first input for ONNX models with symbolic dimensions. */
  readonly inputShape?: string;
  /** The whole pipeline to run instead of the passes the model still needs, e.g.
   * `canonicalize,maxpool-to-avgpool,quantize,lower,schedule-rounds`. */
  readonly passes?: string;
}

/** The report of `model` (a model file or a compiled folder) and the text the command prints. */
export function runCost(model: string, options: CostOptions): { report: CostReport; text: string } {
  const report = isDirectory(model) ? readCostJson(join(model, 'cost.json')) : modelCost(model, options);
  return { report, text: options.json ? `${JSON.stringify(report, null, 2)}\n` : formatCostTable(report) };
}

/** Compiles a model file up to the round schedule and reports its cost. */
function modelCost(model: string, options: CostOptions): CostReport {
  const frac = options.fracBits === undefined ? undefined : Number(options.fracBits);
  if (frac !== undefined && !Number.isInteger(frac)) throw diag('MPCC0004', ['--frac-bits', options.fracBits, 'expected an integer']);
  // Parse a given pipeline before loading, so a typo fails at once and not after a long import.
  const steps = options.passes === undefined ? undefined : parsePipeline(options.passes);
  const g = loadGraphFile(model, { inputShape: parseInputShape(options.inputShape) });
  progress(`lowering ${model} (${g.nodes.length} nodes)`);
  return costReport(runPipeline(g, steps ?? remainingPipeline(g, frac)).graph);
}

/** The passes a graph still needs before its cost is known. */
export function remainingPipeline(g: Graph, frac?: number): string {
  if (g.nodes.some((n) => SECURE_OPS.has(n.op))) return 'schedule-rounds';
  if (g.nodes.some((n) => n.op === 'FixedInput')) return 'lower,schedule-rounds';
  return `canonicalize,quantize${frac === undefined ? '' : `{frac-bits=${frac}}`},lower,schedule-rounds`;
}

/** OUT/cost.json as codegen writes it (MPCC0002 when missing, MPCC6026 when not a report). */
export function readCostJson(path: string): CostReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw diag('MPCC0002', [path, (err as Error).message]);
  }
  let report: CostReport;
  try {
    report = JSON.parse(text) as CostReport;
  } catch (err) {
    throw diag('MPCC6026', [path, (err as Error).message]);
  }
  const isNum = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  const ok =
    report !== null && typeof report === 'object' && isNum(report.rounds) && isNum(report.oneTimeRounds) && isNum(report.drelus) &&
    typeof report.bytes === 'object' && ['total', 'online', 'preprocessing', 'oneTime'].every((k) => isNum((report.bytes as unknown as Record<string, unknown>)[k])) &&
    Array.isArray(report.bytes.perParty) && report.bytes.perParty.length === 3 &&
    typeof report.latency === 'object' && isNum(report.latency?.lan) && isNum(report.latency?.wan) && Array.isArray(report.layers);
  if (!ok) throw diag('MPCC6026', [path, 'expected {rounds, oneTimeRounds, bytes, drelus, latency, layers}']);
  return report;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Adds `mpcc cost` to the program. */
export function registerCost(program: Command): void {
  program
    .command('cost')
    .description('bytes, rounds, DReLUs and latency estimates of one secure inference, per layer and in total')
    .argument('<model>', 'MODEL.onnx, FILE.mir, or a folder written by mpcc compile (reads its cost.json)')
    .option('--json', 'print one JSON object {rounds, oneTimeRounds, bytes, drelus, latency, layers}')
    .option('--frac-bits <F>', 'fractional bits of the fixed-point encoding (default 12)')
    .option('--input-shape <dims>', 'shape of the first input of an ONNX model, e.g. 1,3,224,224')
    .option('--passes <list>', 'the whole pass pipeline, e.g. canonicalize,maxpool-to-avgpool,quantize,lower,schedule-rounds')
    .action(
      action((model: string, options: CostOptions) => {
        process.stdout.write(runCost(model, options).text);
      }),
    );
}
