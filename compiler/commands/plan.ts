// `mpcc plan MODEL --uniform BHxBW -o plan.json`, `mpcc plan MODEL --uniform-drelus R -o plan.json`
// and `mpcc plan --show plan.json`: the hand-made block-ReLU plans every planner is measured
// against (passes/planning/uniform.ts), and a per-layer summary of any plan file. The model is
// loaded and canonicalized by the one driver (compiler/driver.ts; --passes as in every command,
// e.g. `canonicalize,relu6-to-relu` for a ReLU6 network), so the plan names the layers
// `mpcc compile --plan` will see. Every flag is checked before the model is loaded; the plan
// file is written only when the whole plan is made.
import type { Command } from 'commander';
import { Option } from 'commander';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, commandProgress, stderrProgress, writeFileAtomic } from '../cli-support.js';
import { DEFAULT_PASSES, driveModel } from '../driver.js';
import { diag } from '../../runtime/diagnostics.js';
import { type Plan, modelFileSha256, planJson, readPlan } from '../../passes/planning/plan-file.js';
import { uniformDreluPlan, uniformPlan } from '../../passes/planning/uniform.js';
import { mpccVersion } from './compile.js';
import { inputShapeOption, outputOption, parseInputShape, passesOption, requireOutput, withProgressFlags } from './flags.js';

/** Options of the plan command, as commander hands them over. */
export interface PlanOptions extends ProgressFlags {
  /** --uniform BHxBW: one block for every channel of every ReLU layer. */
  readonly uniform?: string;
  /** --uniform-drelus R: per layer the smallest square block keeping at most the fraction R of its DReLUs. */
  readonly uniformDrelus?: string | number;
  /** --show FILE: print a plan's per-layer summary. */
  readonly show?: string;
  readonly output?: string;
  readonly passes?: string;
  readonly inputShape?: string;
}

/** What the command did: the plan made or shown, and the text it prints on stdout. */
export interface PlanResult {
  readonly plan: Plan;
  readonly text: string;
}

/** Runs `mpcc plan` (see the file comment); progress lines go to `sink` (none by default). */
export function runPlanCommand(model: string | undefined, options: PlanOptions, sink: ProgressSink = NO_PROGRESS): PlanResult {
  const modes = (['uniform', 'uniformDrelus', 'show'] as const).filter((k) => options[k] !== undefined);
  if (modes.length !== 1) throw diag('MPCC0004', [modes.length ? modes.map(flagName).join(' and ') : '--uniform', modes.length ? 'both' : '', 'give exactly one of --uniform, --uniform-drelus, --show']);
  if (options.show !== undefined) {
    if (model !== undefined) throw diag('MPCC0004', ['--show', options.show, `shows a plan file on its own; drop the model '${model}'`]);
    const plan = readPlan(options.show);
    return { plan, text: formatPlanTable(plan) };
  }
  const block = options.uniform === undefined ? undefined : parseUniformBlock(options.uniform);
  const ratio = options.uniformDrelus === undefined ? undefined : parseDreluFraction(options.uniformDrelus);
  const out = requireOutput(options.output, 'the plan file to write');
  if (model === undefined) throw diag('MPCC0004', [modes.map(flagName)[0], String(options.uniform ?? options.uniformDrelus), 'needs a MODEL to plan (mpcc plan MODEL ... -o plan.json)']);
  const log = commandProgress(options, sink);
  const modelSha256 = modelFileSha256(model);
  const { graph, plan: passes } = driveModel(model, { passes: options.passes, inputShape: parseInputShape(options.inputShape), target: 'float', log });
  if (passes.from !== 'float') throw diag('MPCC0004', ['MODEL', model, `the model is already ${passes.from}; plan a float model (.onnx or float .mir), as compile --plan takes`]);
  const source = { tool: 'mpcc plan', mpccVersion: mpccVersion(), passes: options.passes ?? DEFAULT_PASSES };
  const plan = block !== undefined ? uniformPlan(graph, modelSha256, block, source) : uniformDreluPlan(graph, modelSha256, ratio!, source);
  writeFileAtomic(out, planJson(plan));
  log(`wrote ${out}: ${plan.layers.length} ReLU layers, ${plan.drelus.planned.toLocaleString('en-US')} of ${plan.drelus.baseline.toLocaleString('en-US')} DReLUs (${percent(plan.drelus.planned, plan.drelus.baseline)})`);
  return { plan, text: formatPlanTable(plan) };
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
    `source: ${JSON.stringify(plan.source)}`,
  ].join('\n') + '\n';
}

/** The three most frequent blocks of a layer, "4x4 (60), identity (4)". */
function commonBlocks(blocks: Plan['layers'][number]['blocks']): string {
  const counts = new Map<string, number>();
  for (const b of blocks) {
    const key = b === 'identity' ? 'identity' : `${b[0]}x${b[1]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return sorted.slice(0, 3).map(([k, n]) => `${k} (${n})`).join(', ') + (sorted.length > 3 ? `, ${sorted.length - 3} more` : '');
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(part === whole || part === 0 ? 0 : 2)}%`;
}

function flagName(key: 'uniform' | 'uniformDrelus' | 'show'): string {
  return key === 'uniformDrelus' ? '--uniform-drelus' : `--${key}`;
}

/** Adds `mpcc plan` to the program. */
export function registerPlan(program: Command): void {
  withProgressFlags(
    program
      .command('plan')
      .description('make a hand-made block-ReLU plan (--uniform, --uniform-drelus) or summarize one (--show)')
      .argument('[model]', 'model file (.onnx or float .mir) to plan')
      .addOption(new Option('--uniform <BHxBW>', 'one block for every channel of every ReLU layer, clipped to smaller maps (e.g. 4x4)'))
      .addOption(new Option('--uniform-drelus <r>', 'per layer the smallest square block (clipped to the map) keeping at most the fraction R of its DReLUs; identity where even the whole map keeps more'))
      .addOption(new Option('--show <plan>', 'print a plan file\'s per-layer table: DReLUs before/after, identity share, most common blocks'))
      .addOption(outputOption('the plan file to write (JSON)'))
      .addOption(passesOption(`${DEFAULT_PASSES}; the passes compile --plan will run before insert-block-relu`))
      .addOption(inputShapeOption())
  ).action(
    action((model: string | undefined, options: PlanOptions) => {
      process.stdout.write(runPlanCommand(model, options, stderrProgress(options)).text);
    }),
  );
}
