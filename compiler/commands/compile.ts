// `mpcc compile MODEL -o OUT [--plan P] [--frac-bits F] [--passes LIST] [--dump-ir DIR] [--quiet]`: drives
// the model to the scheduled stage (compiler/driver.ts: canonicalize, quantize, lower,
// schedule-rounds, or only what a .mir still needs; with --plan, insert-block-relu after the
// float-level passes) and writes the three parties' artifacts (compiler/codegen/model/artifacts.ts;
// OUT/plan.json is the plan, copied). Progress on stderr (compiler/cli-support.ts). With
// --reconstruct the plan's refit weights go in before the plan (compiler/commands/reconstruct-flags.ts:
// refit on --calib, or the file `mpcc plan --reconstruct` wrote and the plan references). With
// --ring, a client-offline program computes in a smaller ring (compiler/ring-choice.ts; auto by
// default with --calib in that mode).
import type { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePlan, planJson, readPlan } from '../../passes/planning/plan-file.js';
import { sha256 } from '../../runtime/program/artifacts.js';
import { treeLevelPool } from '../../passes/canonicalize/maxpool-to-relu-tree.js';
import { type BudgetFlags, checkBudgetFlags, floatModel, plansFromFlags, wantsBudget, withBudgetFlags } from './budget-flags.js';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, commandProgress, sayStopOnSignal, stderrProgress } from '../cli-support.js';
import { DEFAULT_PASSES, driveModel } from '../driver.js';
import { diag } from '../../runtime/diagnostics.js';
import { writeArtifacts, type ArtifactsSummary } from '../codegen/model/artifacts.js';
import { clientTail } from '../../ir/stage.js';
import { type FracChoice, MIN_ACTIVATION_FRAC, describeFracChoice } from '../../passes/quantize/frac-choice.js';
import { checkRingMode, clientOfflineOption, outputOption, parseClientOffline, parseFracBits, parseInputShape, parseRing, parseTruncation, planOption, requireOutput, ringOption, truncationOption, withModelFlags, withProgressFlags } from './flags.js';
import { compareChoiceFrom, withCompareFlags } from './compare-flags.js';
import { calibrationOptionsFrom } from './calib-flags.js';
import { compilePreprocessing, describePreprocessing, preprocessingMismatch } from '../calibration/input-record.js';
import { checkClassCount, readClassNames, scoresClasses } from '../class-names.js';
import { loadGraphFile } from '../load-model.js';
import { describeMisreadPatches, describeWindows, driveWithWindows, misreadPatches } from '../narrow.js';
import { chooseClientOffline } from '../mode-choice.js';
import { unplannableNotes } from '../unplannable.js';
import { compileRefitFile, parseRidge, withRefitOptions } from './reconstruct-flags.js';
import type { CostReport } from '../../passes/secure/cost-model.js';

/** Options of the compile command. */
export interface CompileOptions extends ProgressFlags, BudgetFlags {
  readonly output?: string;
  readonly fracBits?: string | number;
  /** --truncation: exact (default) or local. */
  readonly truncation?: string;
  /** --client-offline [on|off|auto]: the client-offline mode (compiler/driver.ts), or auto
   * (compiler/mode-choice.ts); the flag alone: on; absent: auto with a plan, else off. */
  readonly clientOffline?: boolean | string;
  readonly passes?: string;
  readonly dumpIr?: string;
  readonly inputShape?: string;
  /** --plan: a block-ReLU plan file for the model. */
  readonly plan?: string;
  /** --compare-bits K|auto, --drop-lsb L, --max-sign-error R (compare-flags.ts). */
  readonly compareBits?: string;
  readonly dropLsb?: string;
  readonly maxSignError?: string;
  /** --calib and its transforms (compiler/commands/calib-flags.ts): the activations the scale is chosen from. */
  readonly calib?: string;
  /** --reveal: what the client learns, `scores` (default: the output as computed) or `argmax`
   * (the per-pixel classes only, computed in the secure program). */
  readonly reveal?: string;
  /** --reconstruct: refit the weights that read planned activations (on --calib, else the plan's refit file); --ridge its ridge. */
  readonly reconstruct?: boolean;
  readonly ridge?: string | number;
  /** --ring 32|40|48|56|64|auto: the ring of a client-offline program (compiler/ring-choice.ts);
   * absent: auto with --calib in the client-offline mode, else 64. */
  readonly ring?: string | number;
  readonly [flag: string]: unknown;
}

/** What compiling wrote, and what the user should know about it. */
export interface CompileSummary extends ArtifactsSummary {
  /** The scale chosen for the model (passes/quantize/frac-choice.ts); absent with --frac-bits. */
  readonly fracChoice?: FracChoice;
  /** Lines for the user: the scale, and the ops the client runs on the revealed output. */
  readonly notes: readonly string[];
}

/** mpcc's version (package.json), recorded in the manifest. */
export function mpccVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** OUT is new, empty, or a folder an earlier compile wrote (its manifest.json): a compile replaces
 * that one's files (writeArtifacts removes those it does not write again), but never writes among
 * files it did not make (MPCC0003, before the work). */
function checkCompileFolder(out: string): void {
  if (!existsSync(out)) return;
  if (existsSync(join(out, 'manifest.json'))) {
    // a party's folder inside OUT is not an OUT: writing there would replace its program
    let party: unknown;
    try {
      party = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { party?: unknown }).party;
    } catch {
      party = undefined;
    }
    if (typeof party === 'number') throw diag('MPCC0003', [out, `it is party ${party}'s folder of a compiled OUT, not an OUT: compile into OUT itself or a new folder`]);
    return;
  }
  const there = readdirSync(out);
  if (there.length > 0) throw diag('MPCC0003', [out, `it holds ${there.length} other file${there.length === 1 ? '' : 's'} (e.g. '${there.sort()[0]}') and no manifest.json: not a folder mpcc compile wrote; give a new or empty folder`]);
}

/** Compiles `model` into `options.output`; progress lines go to `sink` (none by default). */
export function runCompile(model: string, options: CompileOptions, sink: ProgressSink = NO_PROGRESS, warn: (line: string) => void = () => undefined): CompileSummary {
  const log = commandProgress(options, sink);
  const out = requireOutput(options.output, 'an output folder OUT', true);
  checkCompileFolder(out);
  if (options.plan !== undefined) readPlan(options.plan); // a folder or a bad file: its coded error before the work
  const fracBits = parseFracBits(options.fracBits);
  const truncation = parseTruncation(options.truncation);
  const compare = compareChoiceFrom(options); // checked before anything loads
  const calib = calibrationOptionsFrom(options as Record<string, unknown>);
  // a planned network (--plan, or --budget, which plans first) chooses its mode by default
  const when = options.clientOffline === undefined && options.plan !== undefined ? 'auto' : parseClientOffline(options.clientOffline);
  const ringFlag = parseRing(options.ring);
  checkRingMode(ringFlag, when);
  const reveal = options.reveal ?? 'scores';
  if (reveal !== 'scores' && reveal !== 'argmax') throw diag('MPCC0004', ['--reveal', reveal, 'expected scores or argmax']);
  if (!options.reconstruct && options.ridge !== undefined) throw diag('MPCC0004', ['--ridge', String(options.ridge), 'it needs --reconstruct']);
  if (options.reconstruct && options.plan === undefined) throw diag('MPCC0004', ['--reconstruct', '', 'it needs --plan or --budget (the refit corrects what a plan changed)']);
  const ridge = parseRidge(options.ridge);
  if (options.classes !== undefined) readClassNames(String(options.classes)); // a bad file fails before the model loads
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(model);
  } catch (e) {
    throw diag('MPCC0002', [model, (e as Error).message]);
  }
  // --calib images preprocessed otherwise than the plan's: said before the work
  const mismatch = preprocessingMismatch(calib, options.plan === undefined || !existsSync(options.plan) ? undefined : readFileSync(options.plan));
  if (mismatch) warn(mismatch);
  const t0 = Date.now();
  const inputShape = parseInputShape(options.inputShape);
  const scratch = options.reconstruct ? mkdtempSync(join(tmpdir(), 'mpcc-refit-')) : undefined;
  try {
    const refitFile = scratch === undefined ? undefined : compileRefitFile(model, options.plan!, calib, ridge, { passes: options.passes, inputShape }, scratch, log);
    const driver = { passes: options.passes, fracBits, truncation, target: 'scheduled' as const, inputShape, dumpIr: options.dumpIr, planFile: options.plan, refitFile, calib, revealArgmax: reveal === 'argmax', log };
    const choice = when === 'auto' ? chooseClientOffline(model, { ...driver, ring: ringFlag }, log) : undefined;
    const clientOffline = choice ? choice.clientOffline : when === 'on';
    // the ring: a client-offline program's as asked, or by default from calibration; classic: 64
    const ring = clientOffline ? (ringFlag ?? (calib ? 'auto' : 64)) : 64;
    const ringNotes = !clientOffline && ringFlag !== undefined && ringFlag !== 64 ? [`note: --ring ${ringFlag}: the classic mode computes in Z_2^64 (a smaller ring needs the client-offline mode, which --client-offline auto did not choose)`] : [];
    if (ringNotes.length) log(ringNotes[0].slice('note: '.length));
    // an explicit smaller ring without samples to check it on: said, not silent
    if (clientOffline && typeof ring === 'number' && ring < 64 && !calib) ringNotes.push(`note: --ring ${ring}: not checked (no --calib samples): exact truncation holds only while every truncated value stays below 2^(${ring - 2}−2f) in real units, and a value past it wraps and ruins that inference's output; give --calib to check it, or check a run with mpcc run --verify-against-plaintext`);
    const summary = compileDriven(model, bytes, out, options, compare, { ...driver, clientOffline, ring }, t0);
    return { ...summary, notes: [...(choice ? [`note: ${choice.note}`] : []), ...ringNotes, ...summary.notes] };
  } finally {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
}

/** The class names of --classes `file`, one per class of the model's first output (its scores
 * before a client ArgMax/Softmax; MPCC0004 naming the flag otherwise). */
function compileClassNames(model: string, file: string, inputShape: number[] | undefined): string[] {
  const names = readClassNames(file);
  const g = loadGraphFile(model, { inputShape });
  checkClassCount(names, file, scoresClasses(g), g.outputs[0]);
  return names;
}

/** Drives the model with `driver` (windows too, with --compare-bits) and writes the artifacts. */
function compileDriven(model: string, bytes: Uint8Array, out: string, options: CompileOptions, compare: ReturnType<typeof compareChoiceFrom>, driver: Parameters<typeof driveModel>[1] & { readonly target: 'scheduled'; readonly log: ProgressSink }, t0: number): CompileSummary {
  const { log, calib } = driver;
  // --compare-bits: windows chosen on the float graph, recorded in OUT/plan.json (compiler/narrow.ts)
  const { graph, plan, fracChoice, windows, ringChoice, maxes, misread } = compare.mode === 'none'
    ? (({ graph: g, fracChoice: f, ringChoice: r }) => ({ graph: g, fracChoice: f, ringChoice: r, plan: options.plan === undefined ? undefined : readFileSync(options.plan), windows: undefined, maxes: undefined, misread: null }))(driveModel(model, driver))
    : (({ graph: g, plan: p, fracChoice: f, compare: c, ringChoice: r, maxes: m }) => ({ graph: g, fracChoice: f, ringChoice: r, plan: Buffer.from(planJson(p)), windows: c, maxes: m, misread: misreadPatches(p) }))(driveWithWindows(model, driver, compare, calib));
  log('generating the party programs and kernels');
  const refit = driver.refitFile === undefined ? undefined : new Uint8Array(readFileSync(driver.refitFile));
  // how the calibration images were preprocessed: the clients' image inputs are by default
  const preprocessing = compilePreprocessing(calib, plan);
  if (preprocessing) log(`clients' image inputs preprocessed as the calibration images were: ${describePreprocessing(preprocessing)}`);
  const classes = options.classes === undefined ? undefined : compileClassNames(model, String(options.classes), driver.inputShape);
  const summary = writeArtifacts(out, graph, bytes, mpccVersion(), plan && recordedPlan(plan, refit), refit ? { [OUT_REFIT]: refit } : {}, { preprocessing, classes });
  log(`wrote ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${summary.cost.rounds} rounds (+${summary.cost.oneTimeRounds} one-time), ${(summary.cost.bytes.total / 1e6).toFixed(2)} MB per inference`);
  const compiledPlan = driver.planFile !== undefined ? readPlan(driver.planFile) : undefined;
  const notes = [
    ...(fracChoice ? [describeFracChoice(fracChoice)] : []),
    ...(driver.fracBits !== undefined && driver.fracBits < MIN_ACTIVATION_FRAC ? [`note: --frac-bits ${driver.fracBits}: every value rounded to 2^-${driver.fracBits} = ${2 ** -driver.fracBits} (mpcc chooses ${MIN_ACTIVATION_FRAC} to 16 itself); compare \`mpcc infer --fixed --frac-bits ${driver.fracBits}\` with the float network before deploying`] : []),
    ...(ringChoice ? [`note: ${ringChoice.note}`] : []),
    ...(windows ? [describeWindows(windows, maxes)] : []),
    ...(misread ? [describeMisreadPatches(misread)] : []),
    ...(compiledPlan ? [...maxPoolNotes(summary.cost, new Set(compiledPlan.model.reluLayers)), ...unplannableNotes(summary.cost, compiledPlan.drelus.planned, true)] : []),
    ...(driver.refitFile ? [`note: the weights that read planned activations are refit (${calib ? `on the --calib images` : `from ${driver.refitFile}`}); the scale and windows were chosen on the refit network`] : []),
    ...(driver.revealArgmax ? [`note: the client learns only the classes, output '${graph.outputs[0]}' [${graph.types.get(graph.outputs[0])!.shape.join(',')}], computed in the secure program (class indices, revealed within 2^-${summary.manifest.frac} of the integer, which the client's Round gives exactly)`] : []),
    // reveal-argmax's Round is in the note above
    ...[...clientTail(graph)].reverse().filter((n) => !(driver.revealArgmax && n.op === 'Round')).map((n) => `note: ${n.op} '${n.name}' is not computed securely: the client applies it in plaintext to the revealed ${n.op === 'ArgMax' ? 'values' : 'logits'} (runtime/program/post.ts)`),
  ];
  return { ...summary, fracChoice, notes };
}

/** The refit weights' file in OUT, beside the plan.json that references it. */
export const OUT_REFIT = 'plan.refit';

/** OUT/plan.json's bytes: the plan compiled in (`plan`, as given), referencing the refit weights
 * compile applied (`refit`, written beside it as OUT_REFIT, as mpcc plan --reconstruct's plan
 * does), so --verify-against-plaintext and a later compile --plan OUT/plan.json find them; a
 * reference to refit weights compile did not apply is dropped (OUT is the network compiled). */
function recordedPlan(plan: Uint8Array, refit: Uint8Array | undefined): Uint8Array {
  const given = parsePlan(new TextDecoder().decode(plan), 'OUT/plan.json');
  if (refit) return Buffer.from(planJson({ ...given, refit: { file: OUT_REFIT, sha256: sha256(refit) } }));
  if (given.refit === undefined) return plan;
  const { refit: _dropped, ...unreferenced } = given;
  return Buffer.from(planJson(unreferenced));
}

/** With a plan: a note per MaxPool the plan does not reach (its DReLUs and bytes, and whether it
 * holds the largest layer), naming the pass that lets a plan reach it. Classic: the MaxPool's
 * SecureMaxPool step; client-offline: the exact ReLU trees written after a plan made without them
 * (compiler/driver.ts; their levels none of the plan's layers, `planned`). */
function maxPoolNotes(cost: CostReport, planned: ReadonlySet<string>): string[] {
  const bytes = (l: CostReport['layers'][number]) => l.bytes.online + l.bytes.preprocessing;
  const largest = Math.max(...cost.layers.map(bytes));
  const pools = new Map<string, CostReport['layers'][number][]>();
  for (const l of cost.layers) {
    const pool = l.op === 'SecureMaxPool' ? l.name : planned.has(l.name) ? undefined : treeLevelPool(l.name);
    if (pool !== undefined) pools.set(pool, [...(pools.get(pool) ?? []), l]);
  }
  return [...pools].map(([name, layers]) => {
    const drelus = layers.reduce((t, l) => t + l.drelus, 0);
    const mb = (layers.reduce((t, l) => t + bytes(l), 0) / 1e6).toFixed(2);
    const top = layers.find((l) => bytes(l) === largest);
    const step = layers.length === 1 && layers[0].op === 'SecureMaxPool';
    const form = step ? '' : `run as exact ReLU trees (${layers.length} levels; the client-offline mode has no MaxPool step), `;
    const where = top === undefined ? '' : step ? ' (the largest layer)' : ` (its level '${top.name}' the largest layer)`;
    return `note: MaxPool '${name}' is outside the plan: ${form}${drelus.toLocaleString('en-US')} DReLUs, ${mb} MB per inference${where}; plan with --passes canonicalize,maxpool-to-relu-tree (compile --plan then takes them from the plan) to let the plan reach its comparisons`;
  });
}

/** Runs `mpcc compile MODEL --budget R --calib DATA -o OUT`: makes the knapsack plan
 * (compiler/planning/budget-plan.ts, flags in budget-flags.ts), then compiles with it; the plan
 * becomes OUT/plan.json. Every flag is checked before the model loads; OUT is written only when
 * the plan is made. */
export async function runCompileWithBudget(model: string, options: CompileOptions, sink: ProgressSink = NO_PROGRESS, warn: (line: string) => void = () => undefined): Promise<CompileSummary> {
  if (options.plan !== undefined) throw diag('MPCC0004', ['--plan', options.plan, 'give either --plan or a budget (--budget, --budget-drelus), not both']);
  const flags = checkBudgetFlags(options);
  checkCompileFolder(requireOutput(options.output, 'an output folder OUT', true));
  parseFracBits(options.fracBits);
  checkRingMode(parseRing(options.ring), options.clientOffline === undefined ? 'auto' : parseClientOffline(options.clientOffline));
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
  withRefitOptions(withCompareFlags(withProgressFlags(withBudgetFlags(
    withModelFlags(
      program
        .command('compile')
        .description('compile an ONNX model into the three parties\' programs (OUT/party{0,1,2}, manifest, cost)')
        .argument('<model>', 'model file (.onnx, or .mir at any stage)')
        .addOption(outputOption('output folder OUT'))
        .addOption(planOption())
        .addOption(truncationOption())
        .addOption(clientOfflineOption())
        .addOption(ringOption())
        .option('--dump-ir <dir>', 'write the IR after every pass into DIR')
        .option('--reveal <what>', 'what the client learns: scores (the output, default) or argmax (only the class of each pixel or row, computed securely)')
        .option('--classes <file>', 'class names, one per line (or JSON: a list, or {"0": [id, name], …}), recorded for the client: mpcc run prints them'),
      `${DEFAULT_PASSES}; '' for none`,
      '; from the activations with --calib, else from the weights',
    ),
    'plan by knapsack first (with --calib), instead of --plan',
  ))), "refit the weights that read planned activations (ridge least squares): on the --calib images, or without --calib the refit weights file the plan references (mpcc plan --reconstruct); only the server's weights change").action(
    action(async (model: string, options: CompileOptions) => {
      sayStopOnSignal();
      const summary = wantsBudget(options)
        ? await runCompileWithBudget(model, options, stderrProgress(options), (line) => process.stderr.write(`mpcc: warning: ${line}\n`))
        : runCompile(model, options, stderrProgress(options), (line) => process.stderr.write(`mpcc: warning: ${line}\n`));
      for (const line of summary.notes) process.stdout.write(`${line}\n`);
    }),
  );
}
