// The knapsack planner's flags, shared by `mpcc plan` and `mpcc compile` (--budget,
// --budget-drelus, --calib and its preprocessing, --mode, --block-sizes, --refine, --cache-dir,
// --runner), and the one function both commands call to turn them into plans
// (compiler/planning/budget-plan.ts). Every flag is checked before the model is loaded.
import { type Command, Option } from 'commander';
import { diag } from '../../runtime/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import { parseBlockSizes } from '../../passes/planning/candidates.js';
import { interpreterRunner, type ForwardRunner } from '../../passes/planning/distortion/runner.js';
import { type BudgetPlansResult, type PlanMode, PLAN_MODES, makeBudgetPlans } from '../planning/budget-plan.js';
import { ortRunner } from '../planning/ort-runner.js';
import { type CalibrationOptions, loadCalibration } from '../calibration/load.js';
import { calibrationOptionsFrom, withCalibFlags } from './calib-flags.js';
import type { ProgressSink } from '../cli-support.js';
import { DEFAULT_PASSES, driveModel } from '../driver.js';
import { modelFileSha256 } from '../../passes/planning/plan-file.js';
import { plannableLayers } from '../../passes/planning/uniform.js';
import { parseInputShape } from './flags.js';

/** The planner's flags as commander hands them over. */
export interface BudgetFlags {
  readonly budget?: string | number;
  readonly budgetDrelus?: string | number;
  /** The calibration flags (compiler/commands/calib-flags.ts): --calib, --calib-samples, --resize, … */
  readonly calib?: string;
  readonly calibSamples?: string | number;
  readonly resize?: string;
  readonly crop?: string;
  readonly mean?: string;
  readonly std?: string;
  readonly preset?: string;
  readonly mode?: string;
  readonly blockSizes?: string;
  readonly refine?: string | number;
  readonly cacheDir?: string;
  readonly runner?: string;
}

/** The flags, checked (before the model loads). */
export interface CheckedBudgetFlags {
  readonly budget: { fraction: number } | { drelus: number } | undefined;
  readonly calib: CalibrationOptions;
  readonly mode: PlanMode;
  readonly blockSizes: string | undefined;
  readonly refine: number;
  readonly cacheDir: string | undefined;
  readonly runner: ForwardRunner;
}

/** `command` with the planner's flags (`budgetHelp` says what --budget does in it). */
export function withBudgetFlags(command: Command, budgetHelp: string): Command {
  return withCalibFlags(command)
    .addOption(new Option('--budget <r>', `${budgetHelp}: the fraction R of the network's DReLUs to keep, 0 < R <= 1 (e.g. 0.06)`))
    .addOption(new Option('--budget-drelus <n>', 'the budget as DReLUs per inference instead of a fraction'))
    .addOption(new Option('--mode <mode>', 'distortion measure: exact (every channel × block measured), fast (estimated), auto (exact when estimated within ten minutes)').default('auto'))
    .addOption(new Option('--block-sizes <spec>', 'candidate blocks per layer: BHxBW, upto:K, square:K, half, whole, identity, comma-separated (default upto:16,half,whole,identity)'))
    .addOption(new Option('--refine <k>', 'refine K times: re-measure each channel\'s neighbouring options in the context of the plan, re-solve (default 0)'))
    .addOption(new Option('--cache-dir <dir>', 'distortion cache folder (default $XDG_CACHE_HOME/mpcc/distortion or ~/.cache/mpcc/distortion)'))
    .addOption(new Option('--runner <runner>', 'what runs the forward passes: onnxruntime (default, fast) or interpreter (the reference)'));
}

/** True when any budget flag was given (the command plans by knapsack). */
export function wantsBudget(flags: BudgetFlags): boolean {
  return flags.budget !== undefined || flags.budgetDrelus !== undefined;
}

/** Checks the planner's flags; `sweep` says a --sweep list gives the budgets instead. */
export function checkBudgetFlags(flags: BudgetFlags, sweep = false): CheckedBudgetFlags {
  if (flags.budget !== undefined && flags.budgetDrelus !== undefined) throw diag('MPCC0004', ['--budget-drelus', String(flags.budgetDrelus), 'give either --budget or --budget-drelus, not both']);
  let budget: CheckedBudgetFlags['budget'];
  if (flags.budget !== undefined) budget = { fraction: parseFraction('--budget', flags.budget) };
  if (flags.budgetDrelus !== undefined) {
    const text = String(flags.budgetDrelus).trim();
    if (!/^\d+$/.test(text)) throw diag('MPCC4040', ['--budget-drelus', text, 'expected a whole number of DReLUs per inference']);
    budget = { drelus: Number(text) };
  }
  if (budget === undefined && !sweep) throw diag('MPCC0004', ['--budget', '', 'a budget is required (--budget R or --budget-drelus N)']);
  const calib = calibrationOptionsFrom(flags as unknown as Record<string, unknown>);
  if (calib === undefined) throw diag('MPCC0004', ['--calib', '', 'calibration data is required to measure distortions (an .npy N×C×H×W, or a folder of .npy arrays or images)']);
  const mode = (flags.mode ?? 'auto') as PlanMode;
  if (!PLAN_MODES.includes(mode)) throw diag('MPCC0004', ['--mode', String(flags.mode), 'expected exact, fast or auto']);
  if (flags.runner !== undefined && flags.runner !== 'onnxruntime' && flags.runner !== 'interpreter') throw diag('MPCC0004', ['--runner', String(flags.runner), 'expected onnxruntime or interpreter']);
  if (flags.blockSizes !== undefined) parseBlockSizes(flags.blockSizes);
  return {
    budget,
    calib,
    mode,
    blockSizes: flags.blockSizes,
    refine: flags.refine === undefined ? 0 : parseCount('--refine', flags.refine, 0, 100),
    cacheDir: flags.cacheDir,
    runner: flags.runner === 'interpreter' ? interpreterRunner : ortRunner,
  };
}

/** A fraction 0 < R <= 1 of flag `flag` (MPCC4040 naming it). */
export function parseFraction(flag: string, value: string | number): number {
  const text = String(value).trim();
  const r = Number(text);
  if (text === '' || !Number.isFinite(r) || r <= 0 || r > 1) throw diag('MPCC4040', [flag, text, 'expected a fraction of the DReLUs, 0 < R <= 1 (e.g. 0.06)']);
  return r;
}

/** The canonicalized float graph a plan is made on, the model file's sha256 and the plan's base `source`. */
export function floatModel(model: string, options: { passes?: string; inputShape?: string }, log: ProgressSink, tool: { tool: string; mpccVersion: string }): { graph: Graph; modelSha256: string; source: Record<string, unknown> } {
  const modelSha256 = modelFileSha256(model);
  const { graph, plan: passes } = driveModel(model, { passes: options.passes, inputShape: parseInputShape(options.inputShape), target: 'float', log });
  if (passes.from !== 'float') throw diag('MPCC0004', ['MODEL', model, `the model is already ${passes.from}; plan a float model (.onnx or float .mir), as compile --plan takes`]);
  if (plannableLayers(graph).length === 0) {
    // a ReLU6 network (MobileNetV2) has Clips where block-ReLUs would go: a plan of nothing is refused
    const clips = graph.nodes.filter((n) => n.op === 'Clip').length;
    throw diag('MPCC4047', [model, clips > 0 ? `: its ${clips} Clip layers (ReLU6) are not ReLUs; plan it with --passes canonicalize,relu6-to-relu, which makes them ReLUs (a changed network: mpcc eval --passes canonicalize,relu6-to-relu measures it)` : '']);
  }
  const source = { ...tool, passes: options.passes ?? DEFAULT_PASSES, ...(options.inputShape ? { inputShape: options.inputShape } : {}) };
  return { graph, modelSha256, source };
}

/** Makes the plans of checked flags for `graph` (a model's canonicalized float graph). */
export async function plansFromFlags(
  graph: Graph, modelFile: string, modelSha256: string, flags: CheckedBudgetFlags, budgets: readonly ({ fraction: number } | { drelus: number })[],
  source: Record<string, unknown>, log: ProgressSink, warn: (line: string) => void,
): Promise<BudgetPlansResult & { calibSeconds: number }> {
  const t0 = performance.now();
  const calib = loadCalibration(flags.calib, graph.types.get(graph.inputs[0])!.shape, (done, total) => {
    if (done === total || done % 100 === 0) log(`calibration: ${done}/${total} images decoded`);
  });
  const calibSeconds = (performance.now() - t0) / 1000;
  log(`calibration: ${calib.shape[0]} samples from ${flags.calib.calib} (${modelFile}'s input)`);
  const result = await makeBudgetPlans({
    graph, modelSha256, calib, budgets, mode: flags.mode, blockSizes: flags.blockSizes, refine: flags.refine,
    cacheDir: flags.cacheDir, runner: flags.runner, source, log, warn,
  });
  const plans = result.plans.map((p) => ({ ...p, plan: { ...p.plan, source: { ...p.plan.source, seconds: { calibration: Math.round(calibSeconds * 1000) / 1000, ...(p.plan.source.seconds as object) } } } }));
  return { ...result, plans, calibSeconds };
}

function parseCount(flag: string, value: string | number, min: number, max: number): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw diag('MPCC0004', [flag, text, `expected an integer in ${min}..${max}`]);
  return Number(text);
}
