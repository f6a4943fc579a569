// `mpcc compile MODEL.onnx -o OUT [--frac-bits F] [--passes LIST] [--dump-ir DIR]`: runs the
// secure pipeline (canonicalize, quantize, lower, schedule-rounds) and writes the three
// parties' artifacts (compiler/codegen/model/artifacts.ts). Progress on stderr.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { action, writeFileAtomic } from '../cli-support.js';
import { loadGraphFile, parseInputShape } from '../load-model.js';
import { diag } from '../../runtime/diagnostics.js';
import { printGraph } from '../../ir/print.js';
import { runPipeline } from '../../passes/manager.js';
import { writeArtifacts, type ArtifactsSummary } from '../codegen/model/artifacts.js';

/** Options of the compile command. */
export interface CompileOptions {
  readonly output?: string;
  readonly fracBits?: string | number;
  readonly passes?: string;
  readonly dumpIr?: string;
  readonly inputShape?: string;
}

/** mpcc's version (package.json), recorded in the manifest. */
export function mpccVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The pipeline compile runs: `passes` (default canonicalize) and then the secure tail
 * quantize, lower, schedule-rounds, each appended unless the list already has it (so
 * `--passes canonicalize,maxpool-to-avgpool` changes only the float-level part). */
export function securePipeline(frac: number, passes = 'canonicalize'): string {
  const has = (name: string) => new RegExp(`(^|,)\\s*${name}\\b`).test(passes);
  const steps = passes.trim() === '' ? [] : [passes];
  if (!has('quantize') && !has('lower')) steps.push(`quantize{frac-bits=${frac}}`);
  if (!has('lower')) steps.push('lower');
  if (!has('schedule-rounds')) steps.push('schedule-rounds');
  return steps.join(',');
}

/** Compiles `model` into `options.output`; `log` gets progress lines. */
export function runCompile(model: string, options: CompileOptions, log: (line: string) => void = () => undefined): ArtifactsSummary {
  const out = options.output;
  if (!out) throw diag('MPCC0004', ['-o', '', 'an output folder OUT is required']);
  const frac = options.fracBits === undefined ? 12 : Number(options.fracBits);
  if (!Number.isInteger(frac) || frac < 4 || frac > 28) throw diag('MPCC0004', ['--frac-bits', options.fracBits, 'expected an integer in 4..28']);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(model);
  } catch (e) {
    throw diag('MPCC0002', [model, (e as Error).message]);
  }
  const t0 = Date.now();
  log(`importing ${model}`);
  const g = loadGraphFile(model, { inputShape: parseInputShape(options.inputShape) });
  const pipeline = securePipeline(frac, options.passes);
  let index = 0;
  const { graph } = runPipeline(g, pipeline, {
    printAfter: (_header, after, report) => {
      log(`pass ${report.step}: ${report.millis.toFixed(0)} ms`);
      if (options.dumpIr) writeFileAtomic(join(options.dumpIr, `${String(++index).padStart(2, '0')}-${report.step.replace(/[^A-Za-z0-9_-]+/g, '_')}.mir`), printGraph(after, { summaries: true }));
    },
  });
  log('generating the party programs and kernels');
  const summary = writeArtifacts(out, graph, bytes, mpccVersion());
  log(`wrote ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${summary.cost.rounds} rounds (+${summary.cost.oneTimeRounds} one-time), ${(summary.cost.bytes.total / 1e6).toFixed(2)} MB per inference`);
  return summary;
}

/** Adds `mpcc compile` to the program. */
export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile an ONNX model into the three parties\' programs (OUT/party{0,1,2}, manifest, cost)')
    .argument('<model>', 'model file (.onnx, or .mir)')
    .option('-o, --output <dir>', 'output folder OUT')
    .option('--frac-bits <f>', 'fractional bits of the fixed-point encoding (4..28, default 12)')
    .option('--passes <list>', 'passes before the secure tail (default canonicalize; quantize, lower, schedule-rounds are appended unless listed)')
    .option('--dump-ir <dir>', 'write the IR after every pass into DIR')
    .option('--input-shape <dims>', 'shape of the first input of an ONNX model, e.g. 1,3,224,224')
    .action(
      action((model: string, options: CompileOptions) => {
        runCompile(model, options, (line) => process.stderr.write(`mpcc: ${line}\n`));
      }),
    );
}
