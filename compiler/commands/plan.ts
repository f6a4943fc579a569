// `mpcc plan MODEL --uniform BHxBW -o plan.json`, `mpcc plan MODEL --uniform-drelus R -o plan.json`
// and `mpcc plan --show plan.json`: the hand-made block-ReLU plans every planner is measured
// against (passes/planning/uniform.ts), and a per-layer summary of any plan file. The model is
// loaded and canonicalized by the one driver (compiler/driver.ts; --passes as in every command,
// e.g. `canonicalize,relu6-to-relu` for a ReLU6 network), so the plan names the layers
// `mpcc compile --plan` will see. Every flag is checked before the model is loaded; the plan
// file is written only when the whole plan is made. With --reconstruct (and --calib) every plan
// made gets its refit weights file beside it (`P.refit` for `P.json`, referenced from the plan:
// compiler/commands/reconstruct-flags.ts), which `mpcc compile --plan P --reconstruct` applies.
import type { Command } from 'commander';
import { Option } from 'commander';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, commandProgress, sayStopOnSignal, stderrProgress, writeFileAtomic } from '../cli-support.js';
import { DEFAULT_PASSES, planPasses, runPlan } from '../driver.js';
import { unplannableNotes } from '../unplannable.js';
import { costReport } from '../../passes/secure/cost-model.js';
import { MpccError, diag } from '../../runtime/diagnostics.js';
import { type Plan, planJson, readPlan } from '../../passes/planning/plan-file.js';
import { uniformDreluPlan, uniformPlan } from '../../passes/planning/uniform.js';
import { blockCounts } from '../../passes/planning/candidates.js';
import { join } from 'node:path';
import { mpccVersion } from './compile.js';
import { carryPlan } from './plan-from.js';
import { type BudgetFlags, checkBudgetFlags, floatModel, parseFraction, plansFromFlags, withBudgetFlags } from './budget-flags.js';
import { inputShapeOption, jsonOption, outputOption, passesOption, requireOutput, withProgressFlags } from './flags.js';
import { calibrationOptionsFrom } from './calib-flags.js';
import { parseRidge, refitBesidePlan, withRefitOptions } from './reconstruct-flags.js';
import { loadCalibration } from '../calibration/load.js';
import type { Graph } from '../../ir/graph.js';
import { numel } from '../../ir/types.js';
import { runPipeline } from '../../passes/manager.js';
import { treeLevelPool } from '../../passes/canonicalize/maxpool-to-relu-tree.js';

/** Options of the plan command, as commander hands them over. */
export interface PlanOptions extends ProgressFlags, BudgetFlags {
  /** --sweep R1,R2,...: one distortion measurement, one plan per budget fraction, into the folder -o. */
  readonly sweep?: string;
  /** --uniform BHxBW: one block for every channel of every ReLU layer. */
  readonly uniform?: string;
  /** --uniform-drelus R: per layer the smallest square block keeping at most the fraction R of its DReLUs. */
  readonly uniformDrelus?: string | number;
  /** --show FILE: print a plan's per-layer summary. */
  readonly show?: string;
  /** --from PLAN: PLAN's blocks for MODEL, a model of the same architecture (plan-from.ts). */
  readonly from?: string;
  /** --json (with --show): the summary as one JSON object (planSummary). */
  readonly json?: boolean;
  readonly output?: string;
  readonly passes?: string;
  readonly inputShape?: string;
  /** --reconstruct: write the refit weights beside each plan (with --calib); --ridge its ridge. */
  readonly reconstruct?: boolean;
  readonly ridge?: string | number;
}

/** What the command did: the plan made or shown, and the text it prints on stdout. */
export interface PlanResult {
  readonly plan: Plan;
  readonly text: string;
}

/** Runs `mpcc plan` (see the file comment); progress lines go to `sink` (none by default). */
export function runPlanCommand(model: string | undefined, options: PlanOptions, sink: ProgressSink = NO_PROGRESS): PlanResult {
  const modes = planModes(options);
  if (modes.length !== 1) throw diag('MPCC0004', [modes.length ? modes.map(flagName).join(' and ') : '--uniform', '', `${modes.length ? 'these modes exclude each other: ' : ''}${oneMode()}`]);
  if (modes[0] !== 'uniform' && modes[0] !== 'uniformDrelus' && modes[0] !== 'show' && modes[0] !== 'from') throw new Error('plan: a budget plan is made by runBudgetPlanCommand');
  if (options.from !== undefined) {
    const out = requireOutput(options.output, 'the plan file to write', false, [options.from, ...(model === undefined ? [] : [model])]);
    if (model === undefined) throw diag('MPCC0004', ['--from', options.from, 'needs the MODEL to carry the plan to (mpcc plan TUNED.onnx --from PLAN -o PLAN2)']);
    const { plan, graph, notes } = carryPlan(model, options.from, options, commandProgress(options, sink), { tool: 'mpcc plan --from', mpccVersion: mpccVersion() });
    writeFileAtomic(out, planJson(plan));
    return { plan, text: formatPlanTable(plan) + notes.map((l) => `${l}\n`).join('') + outsidePlanNotes(graph, plan) };
  }
  if (options.show !== undefined) {
    if (model !== undefined) throw diag('MPCC0004', ['--show', options.show, `shows a plan file on its own; drop the model '${model}'`]);
    const plan = readPlan(options.show);
    return { plan, text: options.json ? `${JSON.stringify(planSummary(plan), null, 2)}\n` : formatPlanTable(plan) };
  }
  if (options.json) throw diag('MPCC0004', ['--json', '', 'prints a plan summary: give it with --show FILE']);
  const block = options.uniform === undefined ? undefined : parseUniformBlock(options.uniform);
  const ratio = options.uniformDrelus === undefined ? undefined : parseDreluFraction(options.uniformDrelus);
  const out = requireOutput(options.output, 'the plan file to write');
  if (model === undefined) throw diag('MPCC0004', [modes.map(flagName)[0], String(options.uniform ?? options.uniformDrelus), 'needs a MODEL to plan (mpcc plan MODEL ... -o plan.json)']);
  const refit = refitFlags(options);
  const log = commandProgress(options, sink);
  const { graph, modelSha256, source } = floatModel(model, options, log, { tool: 'mpcc plan', mpccVersion: mpccVersion() });
  const made = block !== undefined ? uniformPlan(graph, modelSha256, block, source) : uniformDreluPlan(graph, modelSha256, ratio!, source);
  const plan = refit ? withRefits(model, graph, [made], [out], options, refit, log)[0] : made;
  writeFileAtomic(out, planJson(plan));
  log(`wrote ${out}: ${plan.layers.length} ReLU layers, ${plan.drelus.planned.toLocaleString('en-US')} of ${plan.drelus.baseline.toLocaleString('en-US')} DReLUs (${percent(plan.drelus.planned, plan.drelus.baseline)})`);
  return { plan, text: formatPlanTable(plan) + outsidePlanNotes(graph, plan) };
}

/** The notes of what the plan does not reach: maxPoolNotes, and the comparisons of layers no plan
 * replaces (compiler/unplannable.ts: HardSigmoid, Clip, …), counted on the program compile would
 * make without a plan. */
export function outsidePlanNotes(graph: Graph, plan: Plan): string {
  let unplannable: string[] = [];
  try {
    const scheduled = runPlan(graph, planPasses(graph, { passes: '', target: 'scheduled' })).graph;
    unplannable = unplannableNotes(costReport(scheduled), plan.drelus.planned, false);
  } catch (err) {
    // a model secure inference cannot take (or cannot yet be quantized): compile says why; the plan stands
    if (!(err instanceof MpccError)) throw err;
  }
  return maxPoolNotes(graph, plan) + unplannable.map((l) => `${l}\n`).join('');
}

/** A note per MaxPool the plan does not reach (the graph planned still has it): its comparisons
 * per inference, which run in full beside the plan's DReLUs, and the pass that lets a plan reach
 * them (compile says the same, with their bytes). */
function maxPoolNotes(graph: Graph, plan: Plan): string {
  if (!graph.nodes.some((n) => n.op === 'MaxPool')) return '';
  // counted as the client-offline mode (the default with a plan) runs them: its exact ReLU trees
  const trees = runPipeline(graph, 'maxpool-to-relu-tree').graph;
  const comparisons = new Map<string, number>();
  for (const n of trees.nodes) {
    const pool = n.op === 'Relu' ? treeLevelPool(n.name) : undefined;
    if (pool !== undefined) comparisons.set(pool, (comparisons.get(pool) ?? 0) + numel(trees.types.get(n.outputs[0])?.shape ?? []));
  }
  return [...comparisons]
    .map(([name, count]) => `note: MaxPool '${name}' is outside the plan: ${count.toLocaleString('en-US')} comparisons per inference as ReLU trees (${(count / Math.max(plan.drelus.planned, 1)).toFixed(1)}× the plan's ${plan.drelus.planned.toLocaleString('en-US')} DReLUs) run in full; plan with --passes canonicalize,maxpool-to-relu-tree to let the plan reach them\n`)
    .join('');
}

/** What `mpcc plan --budget/--sweep` did: every plan made (with the file it went to) and the text it prints. */
export interface BudgetPlanCommandResult {
  readonly plans: readonly { readonly plan: Plan; readonly file: string; readonly predicted: number; readonly measured: number }[];
  readonly text: string;
}

/** Runs `mpcc plan MODEL --budget R | --budget-drelus N | --sweep LIST --calib DATA ... -o OUT`: the
 * knapsack planner (compiler/planning/budget-plan.ts). With --sweep, -o is a folder and each plan
 * is `budget-R.json` in it. Every file is written, atomically, only when every plan is made. */
export async function runBudgetPlanCommand(model: string | undefined, options: PlanOptions, sink: ProgressSink = NO_PROGRESS, warn: (line: string) => void = () => undefined): Promise<BudgetPlanCommandResult> {
  const modes = planModes(options);
  if (modes.length !== 1) {
    throw diag('MPCC0004', [modes.map(flagName).join(' and '), '', `these modes exclude each other: ${oneMode()}`]);
  }
  const sweep = options.sweep === undefined ? undefined : parseSweep(options.sweep);
  const flags = checkBudgetFlags(options, sweep !== undefined);
  const out = requireOutput(options.output, sweep ? 'the folder of the plans to write' : 'the plan file to write', sweep !== undefined);
  if (model === undefined) throw diag('MPCC0004', [flagName(modes[0]), '', 'needs a MODEL to plan (mpcc plan MODEL --budget R --calib DATA -o plan.json)']);
  const refit = refitFlags(options);
  const log = commandProgress(options, sink);
  const { graph, modelSha256, source } = floatModel(model, options, log, { tool: 'mpcc plan', mpccVersion: mpccVersion() });
  const budgets = sweep ? sweep.map((fraction) => ({ fraction })) : [flags.budget!];
  const result = await plansFromFlags(graph, model, modelSha256, flags, budgets, source, log, options.quiet ? () => undefined : warn);
  const files = result.plans.map((p, i) => (sweep ? join(out, `budget-${sweep[i]}.json`) : out));
  const made = refit ? withRefits(model, graph, result.plans.map((p) => p.plan), files, options, refit, log) : result.plans.map((p) => p.plan);
  made.forEach((p, i) => writeFileAtomic(files[i], planJson(p)));
  const plans = result.plans.map((p, i) => ({ plan: made[i], file: files[i], predicted: p.predicted, measured: p.measured }));
  const times = `time: calibration ${seconds(result.calibSeconds)}, ${result.mode} distortion ${seconds(result.seconds.measure)}, solve ${seconds(result.seconds.solve)}${flags.refine ? `, refine ${seconds(result.seconds.refine)}` : `, check ${seconds(result.seconds.refine)}`}`;
  const summary = (p: (typeof plans)[number]) =>
    `${p.file}: ${p.plan.drelus.planned.toLocaleString('en-US')} of ${p.plan.drelus.baseline.toLocaleString('en-US')} DReLUs (${percent(p.plan.drelus.planned, p.plan.drelus.baseline)}), predicted distortion ${p.predicted.toExponential(3)}, measured ${p.measured.toExponential(3)} (output MSE over ${result.table.samples} calibration images)`;
  const text = sweep
    ? [...plans.map(summary), times].join('\n') + '\n'
    : `${formatPlanTable(plans[0].plan)}${summary(plans[0])}\n${times}\n${outsidePlanNotes(graph, plans[0].plan)}`;
  return { plans, text };
}

/** --reconstruct's ridge, checked before the model loads (MPCC4060 without --calib, MPCC0004
 * --ridge without --reconstruct, MPCC4066 a bad ridge); undefined without --reconstruct. */
function refitFlags(options: PlanOptions): { ridge: number | 'auto' } | undefined {
  if (!options.reconstruct) {
    if (options.ridge !== undefined) throw diag('MPCC0004', ['--ridge', String(options.ridge), 'it needs --reconstruct']);
    return undefined;
  }
  if (calibrationOptionsFrom(options as unknown as Record<string, unknown>) === undefined) throw diag('MPCC4060');
  return { ridge: parseRidge(options.ridge) };
}

/** `plans` (to be written to `files`) each with its refit weights file written beside it. */
function withRefits(model: string, graph: Graph, plans: readonly Plan[], files: readonly string[], options: PlanOptions, refit: { ridge: number | 'auto' }, log: ProgressSink): Plan[] {
  const calib = loadCalibration(calibrationOptionsFrom(options as unknown as Record<string, unknown>)!, graph.types.get(graph.inputs[0])!.shape, (done, total) => log(`calibration: ${done}/${total} images`));
  return plans.map((plan, i) => refitBesidePlan(model, graph, plan, files[i], calib, refit.ridge, log));
}

/** The budgets of `--sweep R1,R2,...` (MPCC4040 naming the flag). */
export function parseSweep(text: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  const fractions = items.map((s) => parseFraction('--sweep', s));
  if (new Set(fractions).size !== fractions.length) throw diag('MPCC4040', ['--sweep', text, 'a budget is listed twice']);
  return fractions;
}

/** The plan-making flags given. */
function planModes(options: PlanOptions): PlanMode[] {
  return PLAN_MODES.filter((k) => options[k] !== undefined);
}

/** The block of `--uniform BHxBW` (MPCC0004 naming the flag unless two positive integers). */
export function parseUniformBlock(text: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  const block: [number, number] | undefined = m ? [Number(m[1]), Number(m[2])] : undefined;
  if (block === undefined || block[0] < 1 || block[1] < 1) throw diag('MPCC0004', ['--uniform', text, 'expected BHxBW, two integers >= 1, e.g. 4x4']);
  return block;
}

/** The fraction of `--uniform-drelus R` (MPCC0004 naming the flag unless 0 < R <= 1). */
export function parseDreluFraction(value: string | number): number {
  const text = String(value).trim();
  const r = Number(text);
  if (text === '' || !Number.isFinite(r) || r <= 0 || r > 1) throw diag('MPCC0004', ['--uniform-drelus', String(value), 'expected a fraction of the DReLUs, 0 < R <= 1 (e.g. 0.06)']);
  return r;
}

/** A plan's per-layer table: DReLUs before and after, the share of identity channels and the
 * most common blocks, then the totals and how the plan was made. */
export function formatPlanTable(plan: Plan): string {
  const num = (x: number) => x.toLocaleString('en-US');
  const head = ['layer', 'shape', 'DReLUs before', 'after', 'kept', 'identity', 'most common blocks'];
  const rows = plan.layers.map((l) => {
    const identity = l.blocks.filter((b) => b === 'identity').length;
    return [l.name, l.shape.join('x'), num(l.drelus.baseline), num(l.drelus.planned), percent(l.drelus.planned, l.drelus.baseline), percent(identity, l.blocks.length), commonBlocks(l.blocks)];
  });
  const channels = plan.layers.reduce((t, l) => t + l.blocks.length, 0);
  const identities = plan.layers.reduce((t, l) => t + l.blocks.filter((b) => b === 'identity').length, 0);
  const total = ['total', '', num(plan.drelus.baseline), num(plan.drelus.planned), percent(plan.drelus.planned, plan.drelus.baseline), percent(identities, channels), commonBlocks(plan.layers.flatMap((l) => l.blocks))];
  const widths = head.map((h, i) => Math.max(h.length, ...[...rows, total].map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const unplanned = plan.model.reluLayers.length - plan.layers.length;
  return [
    line(head),
    ...rows.map(line),
    line(widths.map((w) => '-'.repeat(w))),
    line(total),
    '',
    `model sha256 ${plan.model.sha256}; ${plan.layers.length} planned ReLU layers${unplanned ? `, ${unplanned} left as ReLUs` : ''}${plan.complete ? ' (complete plan)' : ''}`,
    `source: ${JSON.stringify(plan.source, shortDigests)}`,
    ...(plan.refit ? [`refit: weights refit on calibration images in ${plan.refit.file} beside the plan (sha256 ${plan.refit.sha256.slice(0, 16)}…), applied by mpcc compile --plan P --reconstruct`] : []),
  ].join('\n') + '\n';
}

/** `mpcc plan --show FILE --json`: the per-layer summary the table prints, as data (what
 * `mpcc report` and scripts read): per layer its shape, DReLUs before and after, channels,
 * identity channels and the count of each block; the totals; the compare windows if any. */
export interface PlanSummary {
  readonly model: { readonly sha256: string; readonly reluLayers: number };
  readonly complete: boolean;
  readonly drelus: { readonly baseline: number; readonly planned: number };
  readonly channels: number;
  readonly identityChannels: number;
  readonly layers: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly drelus: { readonly baseline: number; readonly planned: number };
    readonly channels: number;
    readonly identityChannels: number;
    /** Channels per block, "BHxBW" or "identity", most frequent first. */
    readonly blocks: Readonly<Record<string, number>>;
  }[];
  readonly compare: Plan['compare'] | null;
  readonly source: Plan['source'];
}

/** The summary of `plan` (see PlanSummary). */
export function planSummary(plan: Plan): PlanSummary {
  const layers = plan.layers.map((l) => ({
    name: l.name,
    shape: l.shape,
    drelus: l.drelus,
    channels: l.blocks.length,
    identityChannels: l.blocks.filter((b) => b === 'identity').length,
    blocks: Object.fromEntries(blockCounts(l.blocks)),
  }));
  return {
    model: { sha256: plan.model.sha256, reluLayers: plan.model.reluLayers.length },
    complete: plan.complete === true,
    drelus: plan.drelus,
    channels: layers.reduce((t, l) => t + l.channels, 0),
    identityChannels: layers.reduce((t, l) => t + l.identityChannels, 0),
    layers,
    compare: plan.compare ?? null,
    source: plan.source,
  };
}

/** JSON.stringify's replacer for the printed source: the calibration's per-sample digests (one
 * per sample, for the evaluation-overlap check) shown as their count; the file keeps them all. */
function shortDigests(key: string, value: unknown): unknown {
  if (key === 'sampleDigests' && Array.isArray(value)) return `(${value.length} digests)`;
  // a folder's every file and its sha256: the count here, the list in the plan file
  if (key === 'files' && Array.isArray(value) && value.length > 1) return `(${value.length} files)`;
  return value;
}

/** The three most frequent blocks of a layer, "4x4 (60), identity (4)". */
function commonBlocks(blocks: Plan['layers'][number]['blocks']): string {
  const sorted = blockCounts(blocks);
  return sorted.slice(0, 3).map(([k, n]) => `${k} (${n})`).join(', ') + (sorted.length > 3 ? `, ${sorted.length - 3} more` : '');
}


function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(part === whole || part === 0 ? 0 : 2)}%`;
}

/** The flags that say what `mpcc plan` does: exactly one of them. */
const PLAN_MODES = ['uniform', 'uniformDrelus', 'show', 'budget', 'budgetDrelus', 'sweep', 'from'] as const;
type PlanMode = (typeof PLAN_MODES)[number];

/** "give exactly one of --uniform, …" */
const oneMode = (): string => `give exactly one of ${PLAN_MODES.map(flagName).join(', ')}`;

function flagName(key: PlanMode): string {
  return key === 'uniformDrelus' ? '--uniform-drelus' : key === 'budgetDrelus' ? '--budget-drelus' : `--${key}`;
}

function seconds(s: number): string {
  return `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

/** Adds `mpcc plan` to the program. */
export function registerPlan(program: Command): void {
  withRefitOptions(withProgressFlags(withBudgetFlags(
    program
      .command('plan')
      .description('make a block-ReLU plan: by knapsack under a DReLU budget (--budget, --budget-drelus, --sweep; with --calib), hand-made (--uniform, --uniform-drelus), or summarize one (--show)')
      .argument('[model]', 'model file (.onnx or float .mir) to plan')
      .addOption(new Option('--uniform <BHxBW>', 'one block for every channel of every ReLU layer, clipped to smaller maps (e.g. 4x4)'))
      .addOption(new Option('--uniform-drelus <r>', 'per layer the smallest square block (clipped to the map) keeping at most the fraction R of its DReLUs; identity where even the whole map keeps more'))
      .addOption(new Option('--show <plan>', 'print a plan file\'s per-layer table: DReLUs before/after, identity share, most common blocks'))
      .addOption(new Option('--from <plan>', 'the blocks of PLAN for MODEL, a model of the same architecture (the network fine-tuned under PLAN): every layer checked by name and shape; its comparison windows and refit weights left out'))
      .addOption(jsonOption('{model, complete, drelus, channels, identityChannels, layers, compare, source} (with --show)'))
      .addOption(outputOption('the plan file to write (JSON)'))
      .addOption(passesOption(`${DEFAULT_PASSES}; the passes compile --plan will run before insert-block-relu`))
      .addOption(inputShapeOption())
      .addOption(new Option('--sweep <list>', 'one distortion measurement, one plan per budget fraction (e.g. 0.03,0.06,0.1,0.18), written as -o FOLDER/budget-R.json')),
    'the knapsack plan\'s budget',
  )), 'refit the weights that read planned activations on the --calib images and write them beside each plan (P.refit for P.json, referenced from the plan) for mpcc compile --plan P --reconstruct').action(
    action(async (model: string | undefined, options: PlanOptions) => {
      sayStopOnSignal();
      const budgeted = planModes(options).some((m) => m === 'budget' || m === 'budgetDrelus' || m === 'sweep');
      const result = budgeted ? await runBudgetPlanCommand(model, options, stderrProgress(options), (line) => process.stderr.write(`mpcc: warning: ${line}\n`)) : runPlanCommand(model, options, stderrProgress(options));
      process.stdout.write(result.text);
    }),
  );
}
