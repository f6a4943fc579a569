// `mpcc compile MODEL -o OUT [--plan P] [--frac-bits F] [--passes LIST] [--dump-ir DIR] [--quiet]`: drives
// the model to the scheduled stage (compiler/driver.ts: canonicalize, quantize, lower,
// schedule-rounds, or only what a .mir still needs; with --plan, insert-block-relu after the
// float-level passes) and writes the three parties' artifacts (compiler/codegen/model/artifacts.ts;
// OUT/plan.json is the plan, copied). Progress on stderr (compiler/cli-support.ts).
import type { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planJson } from '../../passes/planning/plan-file.js';
import { type BudgetFlags, checkBudgetFlags, floatModel, plansFromFlags, wantsBudget, withBudgetFlags } from './budget-flags.js';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, commandProgress, stderrProgress } from '../cli-support.js';
import { DEFAULT_PASSES, driveModel } from '../driver.js';
import { diag } from '../../runtime/diagnostics.js';
import { writeArtifacts, type ArtifactsSummary } from '../codegen/model/artifacts.js';
import { outputOption, parseFracBits, parseInputShape, planOption, requireOutput, withModelFlags, withProgressFlags } from './flags.js';

/** Options of the compile command. */
export interface CompileOptions extends ProgressFlags, BudgetFlags {
  readonly output?: string;
  readonly fracBits?: string | number;
  readonly passes?: string;
  readonly dumpIr?: string;
  readonly inputShape?: string;
  /** --plan: a block-ReLU plan file for the model. */
  readonly plan?: string;
}

/** mpcc's version (package.json), recorded in the manifest. */
export function mpccVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Compiles `model` into `options.output`; progress lines go to `sink` (none by default). */
export function runCompile(model: string, options: CompileOptions, sink: ProgressSink = NO_PROGRESS): ArtifactsSummary {
  const log = commandProgress(options, sink);
  const out = requireOutput(options.output, 'an output folder OUT');
  const fracBits = parseFracBits(options.fracBits);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(model);
  } catch (e) {
    throw diag('MPCC0002', [model, (e as Error).message]);
  }
  const t0 = Date.now();
  const { graph } = driveModel(model, { passes: options.passes, fracBits, target: 'scheduled', inputShape: parseInputShape(options.inputShape), dumpIr: options.dumpIr, planFile: options.plan, log });
  log('generating the party programs and kernels');
  const summary = writeArtifacts(out, graph, bytes, mpccVersion(), options.plan === undefined ? undefined : readFileSync(options.plan));
  log(`wrote ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${summary.cost.rounds} rounds (+${summary.cost.oneTimeRounds} one-time), ${(summary.cost.bytes.total / 1e6).toFixed(2)} MB per inference`);
  return summary;
}

/** Runs `mpcc compile MODEL --budget R --calib DATA -o OUT`: makes the knapsack plan
 * (compiler/planning/budget-plan.ts, flags in budget-flags.ts), then compiles with it; the plan
 * becomes OUT/plan.json. Every flag is checked before the model loads; OUT is written only when
 * the plan is made. */
export async function runCompileWithBudget(model: string, options: CompileOptions, sink: ProgressSink = NO_PROGRESS, warn: (line: string) => void = () => undefined): Promise<ArtifactsSummary> {
  if (options.plan !== undefined) throw diag('MPCC0004', ['--plan', options.plan, 'give either --plan or a budget (--budget, --budget-drelus), not both']);
  const flags = checkBudgetFlags(options);
  requireOutput(options.output, 'an output folder OUT');
  parseFracBits(options.fracBits);
  const log = commandProgress(options, sink);
  const { graph, modelSha256, source } = floatModel(model, options, log, { tool: 'mpcc compile', mpccVersion: mpccVersion() });
  const { plans } = await plansFromFlags(graph, model, modelSha256, flags, [flags.budget!], source, log, options.quiet ? () => undefined : warn);
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-plan-'));
  try {
    const file = join(dir, 'plan.json');
    writeFileSync(file, planJson(plans[0].plan));
    return runCompile(model, { ...options, plan: file }, sink);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Adds `mpcc compile` to the program. */
export function registerCompile(program: Command): void {
  withProgressFlags(withBudgetFlags(
    withModelFlags(
      program
        .command('compile')
        .description('compile an ONNX model into the three parties\' programs (OUT/party{0,1,2}, manifest, cost)')
        .argument('<model>', 'model file (.onnx, or .mir at any stage)')
        .addOption(outputOption('output folder OUT'))
        .addOption(planOption())
        .option('--dump-ir <dir>', 'write the IR after every pass into DIR'),
      `${DEFAULT_PASSES}; '' for none`,
    ),
    'plan by knapsack first (with --calib), instead of --plan',
  )).action(
    action(async (model: string, options: CompileOptions) => {
      if (wantsBudget(options)) await runCompileWithBudget(model, options, stderrProgress(options), (line) => process.stderr.write(`mpcc: warning: ${line}\n`));
      else runCompile(model, options, stderrProgress(options));
    }),
  );
}
