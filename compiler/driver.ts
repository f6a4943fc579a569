// The compile driver: loads a model (ONNX imported, .mir parsed with its weights), reads the
// stage it is at (ir/stage.ts: float, quantized, lowered, scheduled), works out the passes it
// still needs to reach the stage a command wants, and runs them through the pass manager
// (verification, timing, printing after passes, --dump-ir, progress). `mpcc compile` and
// `mpcc cost` drive a model to `scheduled`, `mpcc infer --fixed` to `quantized`, `mpcc ir` as
// far as its --passes or --stage say; plan, eval and export are to call it the same way.
//
// What --passes means, in every command: the float-level passes to run first (default
// `canonicalize`), then the secure tail quantize → lower → schedule-rounds up to the command's
// target stage, each appended unless the list names it (name it to set its options, e.g.
// `canonicalize,quantize{frac-bits=10}`). A model already past a stage skips that stage's
// passes: a quantized .mir gets lower and schedule-rounds only, a scheduled one nothing.
// Float-level passes run only on a float model, so naming one for a quantized or lowered
// .mir is an error rather than silently ignored. Examples, for a target `scheduled`:
//   float ONNX,     default       canonicalize,quantize{frac-bits=F},lower,schedule-rounds
//   float ONNX,     --passes canonicalize,maxpool-to-avgpool
//                                 canonicalize,maxpool-to-avgpool,quantize{frac-bits=F},lower,schedule-rounds
//   quantized .mir                lower,schedule-rounds
//   lowered .mir                  schedule-rounds
//   scheduled .mir                (nothing)
// With --plan FILE (a block-ReLU plan, passes/planning/plan-file.ts), insert-block-relu{plan=FILE}
// follows the float-level passes (the graph the plan was made on: canonicalize, and
// relu6-to-relu when --passes names it); the plan is read and checked against the model
// file's sha256 before the model is loaded, so a wrong plan fails at once. A plan that records
// comparison windows (`compare`) adds narrow-compare{plan=FILE} right after it. A refit weights
// file (`refitFile`, mpcc compile --reconstruct) adds apply-refit{file=F} just before
// insert-block-relu, checked against the model and the plan before the model loads; the scale and
// the windows are then chosen on the refit network. With --client-offline (`clientOffline`), lower
// runs as lower{client-offline=1}, after maxpool-to-relu-tree when the model is float (with a plan
// made without it, after the plan and its windows: the plan's MaxPools, outside it, as exact trees);
// with --ring N (`ring`) as lower{client-offline=1,ring=N}, with --ring auto with the ring chosen
// on the quantized graph just before lower, from the calibration samples (compiler/ring-choice.ts).
import { join } from 'node:path';
import { diag } from '../runtime/diagnostics.js';
import { type Graph, type Node, makeNode, replaceGraph } from '../ir/graph.js';
import type { RingBits } from '../runtime/program/program.js';
import { withDefaults } from '../ir/ops/index.js';
import { printGraph } from '../ir/print.js';
import { type Stage, STAGES, isBefore, stageOf } from '../ir/stage.js';
import { type PassReport, type PipelineStep, formatStep, insertBlockRelu, narrowCompare, parsePipeline, runPipeline } from '../passes/index.js';
import { maxPoolToReluTree } from '../passes/canonicalize/maxpool-to-relu-tree.js';
import { checkPlanModel, readPlan } from '../passes/planning/plan-file.js';
import { applyRefitPass } from '../passes/planning/reconstruct/apply-refit.js';
import { readRefit } from '../passes/planning/reconstruct/refit-file.js';
import { NO_PROGRESS, type ProgressSink, writeFileAtomic } from './cli-support.js';
import { loadGraphFile } from './load-model.js';
import { type CalibrationOptions, type CalibrationSet, loadCalibration } from './calibration/load.js';
import { type FracChoice, type Truncation, chooseFracBits, describeFracChoice } from '../passes/quantize/frac-choice.js';
import { runGraph } from '../ir/interp/index.js';
import { revealArgmax } from '../passes/quantize/reveal-argmax.js';
import { FRAC_BITS, type RingWhen } from './commands/flags.js';
import { type RingChoice, checkRing, chooseRing, measureRingRange, ringKeptAt64 } from './ring-choice.js';
import { Tensor } from '../ir/tensor.js';

/** The passes every command runs first when --passes is not given. */
export const DEFAULT_PASSES = 'canonicalize';

/** The secure tail: the pass that brings a graph to each stage after float, in order. */
const TAIL: ReadonlyMap<Stage, string> = new Map([
  ['quantized', 'quantize'],
  ['lowered', 'lower'],
  ['scheduled', 'schedule-rounds'],
]);

/** What a command asks of the driver (the flags it shares, already validated). */
export interface DriverOptions {
  /** --passes as the user wrote it; undefined: `defaultPasses`. */
  readonly passes?: string;
  /** The command's passes without --passes (default DEFAULT_PASSES). */
  readonly defaultPasses?: string;
  /** The stage to reach; undefined: as far as the passes name (at least the model's stage). */
  readonly target?: Stage;
  /** Without `target`: at least this stage (`mpcc ir`'s flags that act later than its passes). */
  readonly atLeast?: Stage;
  /** --frac-bits, for the quantize pass the driver appends (or checked against the model's). */
  readonly fracBits?: number;
  /** --plan: a block-ReLU plan file applied after the float-level passes. */
  readonly planFile?: string;
  /** A refit weights file for the model and `planFile` (mpcc compile --reconstruct), applied
   * just before the plan. */
  readonly refitFile?: string;
  /** --calib and its transforms: the activations' magnitudes the scale is chosen from when
   * --frac-bits is not given (else the weights'). */
  readonly calib?: CalibrationOptions;
  /** --truncation: how the Truncate of each weight product runs (lower's option truncation), and
   * so which truncations the scale's failure bound counts; default 'exact'. */
  readonly truncation?: Truncation;
  /** --reveal argmax: the client learns the per-pixel classes, computed securely
   * (passes/quantize/reveal-argmax.ts, after the float-level passes), instead of the scores. */
  readonly revealArgmax?: boolean;
  /** --client-offline: lower in the client-offline mode (lower{client-offline=1},
   * passes/secure/lower-client-offline.ts); a float model gets maxpool-to-relu-tree after its
   * float-level passes (unless they name it) — with --plan after the plan and its windows, when the
   * target is past float —, so its MaxPools become ReLU trees. */
  readonly clientOffline?: boolean;
  /** --ring: the ring of a client-offline program (lower{ring=N}), or auto: chosen on the
   * quantized graph from `calib`'s samples just before lower (compiler/ring-choice.ts; Z_2^64
   * without them). A ring below 64 without `clientOffline` is MPCC6028; auto without it, 64. */
  readonly ring?: RingWhen;
}

/** The passes a graph still needs, in order. */
export interface PassPlan {
  /** The graph's stage before the passes. */
  readonly from: Stage;
  /** The stage after them. */
  readonly to: Stage;
  readonly steps: readonly PipelineStep[];
  /** True when quantize runs without --frac-bits: the driver chooses the scale from the model
   * (passes/quantize/frac-choice.ts) once the float-level passes have run. */
  readonly chooseFrac?: boolean;
  /** How weight products' Truncates run (the scale's failure bound counts only local ones). */
  readonly truncation?: Truncation;
  /** True when lower's ring is chosen from calibration just before it (--ring auto). */
  readonly ringAuto?: boolean;
  /** An explicit ring below 64 (--ring N, client-offline): with calibration samples, checked on
   * them just before lower and its average pools' reciprocals fitted to it (compiler/ring-choice.ts). */
  readonly ringFixed?: RingBits;
}

/** How the driver runs a plan besides the passes themselves. */
export interface RunOptions {
  /** Verify the IR after every pass (default true). */
  readonly verify?: boolean;
  /** Write the IR after every pass into this folder (NN-pass.mir). */
  readonly dumpIr?: string;
  /** Called with the IR after every pass, `header` naming the pass. */
  readonly printAfter?: (header: string, graph: Graph) => void;
  /** Progress lines (none by default). */
  readonly log?: ProgressSink;
}

/** What driving a model produced. */
export interface DriveResult {
  /** The model as loaded, before any pass. */
  readonly loaded: Graph;
  /** The model after the plan's passes. */
  readonly graph: Graph;
  readonly plan: PassPlan;
  readonly reports: readonly PassReport[];
  /** The scale chosen for the model, when the driver chose it. */
  readonly fracChoice?: FracChoice;
  /** The ring chosen for the model (--ring auto), when the driver chose it. */
  readonly ringChoice?: RingChoice;
}

/** The --passes list parsed and split into float-level steps and the secure tail steps it names. */
interface SplitPasses {
  readonly text: string;
  readonly explicit: boolean;
  readonly float: readonly PipelineStep[];
  readonly tail: ReadonlyMap<Stage, PipelineStep>;
}

/** Loads `model` (with --input-shape) and runs the passes it needs to reach `options.target`. */
export function driveModel(model: string, given: DriverOptions & RunOptions & { readonly inputShape?: number[] }): DriveResult {
  const options = withPlanPasses(given);
  const split = splitPasses(options); // before loading: a typo fails at once, not after a long import
  const log = options.log ?? NO_PROGRESS;
  if (options.planFile !== undefined) checkPlanFile(options.planFile, model);
  if (options.refitFile !== undefined) {
    if (options.planFile === undefined) throw diag('MPCC0004', ['--reconstruct', options.refitFile, 'refit weights need the --plan they were made for']);
    readRefit(options.refitFile, model, options.planFile);
  }
  log(`loading ${model}`);
  const loaded = loadGraphFile(model, { inputShape: options.inputShape });
  const plan = choosePasses(loaded, split, options);
  log(`${loaded.nodes.length} nodes, ${plan.from}${plan.steps.length ? `; ${plan.steps.length} passes to ${plan.to}` : ''}`);
  const calibration = (plan.chooseFrac || plan.ringAuto || plan.ringFixed) && options.calib ? loadCalibration(options.calib, loaded.types.get(loaded.inputs[0])!.shape) : undefined;
  const { graph, reports, fracChoice, ringChoice } = runPlan(loaded, plan, { ...options, calibration });
  return { loaded, graph, plan, reports, fracChoice, ringChoice };
}

/** The passes `graph` needs under `options` (see the file comment). */
export function planPasses(graph: Graph, given: DriverOptions = {}): PassPlan {
  const options = withPlanPasses(given);
  return choosePasses(graph, splitPasses(options), options);
}

/** `options` with the plan's own passes as the default when --passes is not given: a plan's
 * layers are named after the passes it was made with (`mpcc plan --passes`, kept in its source
 * as `passes`; e.g. a MaxPool written as ReLU trees), so `--plan` alone rebuilds that network. */
function withPlanPasses<T extends DriverOptions>(options: T): T {
  if (options.passes !== undefined || options.planFile === undefined) return options;
  const passes = readPlan(options.planFile).source.passes;
  return typeof passes === 'string' ? { ...options, defaultPasses: passes } : options;
}

/** Runs a plan's passes on `graph` through the pass manager; with `plan.chooseFrac`, the float-level
 * passes first, then the scale chosen for their result (from `calibration`'s activations when
 * given), then the rest with it. */
export function runPlan(graph: Graph, plan: PassPlan, options: RunOptions & { readonly calibration?: CalibrationSet } = {}): { graph: Graph; reports: readonly PassReport[]; fracChoice?: FracChoice; ringChoice?: RingChoice } {
  // --ring auto: the ring is chosen on the quantized graph lower takes (compiler/ring-choice.ts)
  // (an explicit ring with calibration samples: checked on them, its pools fitted to it)
  const measured = plan.ringAuto || (plan.ringFixed !== undefined && options.calibration !== undefined);
  const lowerAt = measured ? plan.steps.findIndex((s) => s.pass.name === 'lower') : -1;
  if (lowerAt < 0) return runScaled(graph, plan, plan.steps.length, options);
  const log = options.log ?? NO_PROGRESS;
  const before = runScaled(graph, { ...plan, steps: plan.steps.slice(0, lowerAt) }, plan.steps.length, options);
  const frac = modelFrac(before.graph) ?? FRAC_BITS.default;
  // (auto: a node that keeps the program in Z_2^64 settles it before any measurement)
  const kept = plan.ringAuto ? ringKeptAt64(before.graph) : undefined;
  const range = kept === undefined && options.calibration ? measureRingRange(before.graph, frac, options.calibration, log) : undefined;
  const ringChoice = kept ?? (plan.ringFixed !== undefined && range ? checkRing(range, frac, plan.ringFixed) : chooseRing(range, frac));
  log(ringChoice.note);
  const rest = plan.steps.slice(lowerAt).map((s) => (s.pass.name === 'lower' ? { ...s, options: { ...s.options, ring: ringChoice.ring } } : s));
  // the pools whose reciprocal the ring narrowed (compiler/ring-choice.ts) divide with it
  // and the (block-)ReLUs that select in a smaller ring carry it (window_ring)
  // and those whose helper's copies take a smaller ring carry that (copy_ring)
  const bits = ringChoice.poolBits;
  const narrow = ringChoice.narrow;
  const copies = ringChoice.copies;
  const marked = (n: Node): Node => {
    const attrs = {
      ...(bits?.has(n.name) ? { divide_bits: bits.get(n.name)! } : {}),
      ...(narrow?.has(n.name) ? { window_ring: narrow.get(n.name)! } : {}),
      ...(copies?.has(n.name) ? { copy_ring: copies.get(n.name)! } : {}),
    };
    return Object.keys(attrs).length > 0 ? makeNode(n.op, n.name, n.inputs, n.outputs, { ...n.attrs, ...attrs }) : n;
  };
  const pooled = bits?.size || narrow?.size || copies?.size ? replaceGraph(before.graph, { nodes: before.graph.nodes.map(marked) }) : before.graph;
  const after = runSteps(pooled, rest, lowerAt, plan.steps.length, options);
  return { graph: after.graph, reports: [...before.reports, ...after.reports], fracChoice: before.fracChoice, ringChoice };
}

/** `plan`'s steps (numbered of `total` in progress lines), with the scale chosen before the first
 * step that needs it when `plan.chooseFrac`. */
function runScaled(graph: Graph, plan: PassPlan, total: number, options: RunOptions & { readonly calibration?: CalibrationSet }): { graph: Graph; reports: readonly PassReport[]; fracChoice?: FracChoice } {
  // the scale is chosen before the first step that needs it (reveal-argmax's margin, quantize)
  const at = plan.chooseFrac ? plan.steps.findIndex((s) => s.pass.name === 'quantize' || s.pass.name === revealArgmax.name) : -1;
  if (at < 0) return runSteps(graph, plan.steps, 0, total, options);
  const log = options.log ?? NO_PROGRESS;
  const before = runSteps(graph, plan.steps.slice(0, at), 0, total, options);
  const fracChoice = chooseFrac(before.graph, options.calibration, log, plan.truncation);
  const weightLevel: Record<string, number> = fracChoice.weightLevel !== undefined ? { 'weight-level': fracChoice.weightLevel } : {};
  const rest = plan.steps.slice(at).map((s) =>
    s.pass.name === 'quantize' ? { ...s, options: { ...s.options, 'frac-bits': fracChoice.frac, ...weightLevel } } : s.pass.name === revealArgmax.name ? { ...s, options: { ...s.options, 'frac-bits': fracChoice.frac } } : s,
  );
  const after = runSteps(before.graph, rest, at, total, options);
  return { graph: after.graph, reports: [...before.reports, ...after.reports], fracChoice };
}

/** The scale chosen for float graph `graph` (passes/quantize/frac-choice.ts), from the activations
 * of `calibration` when given, else from the weights; the choice is logged. */
export function chooseFrac(graph: Graph, calibration: CalibrationSet | undefined, log: ProgressSink = NO_PROGRESS, truncation: Truncation = 'exact'): FracChoice {
  const fracChoice = chooseFracBits(graph, calibration && measureMagnitudes(graph, calibration, log), truncation);
  log(describeFracChoice(fracChoice));
  return fracChoice;
}

/** `steps` run through the pass manager, numbered from `first` + 1 of `total` in progress lines. */
function runSteps(graph: Graph, steps: readonly PipelineStep[], first: number, total: number, options: RunOptions): { graph: Graph; reports: readonly PassReport[] } {
  const log = options.log ?? NO_PROGRESS;
  let index = first;
  const { graph: result, reports } = runPipeline(graph, steps, {
    verify: options.verify,
    printAfter: (header, after, report) => {
      index++;
      log(`pass ${index}/${total} ${report.step}: ${report.millis.toFixed(0)} ms`);
      options.printAfter?.(header, after);
      if (options.dumpIr) writeFileAtomic(join(options.dumpIr, `${String(index).padStart(2, '0')}-${report.step.replace(/[^A-Za-z0-9_-]+/g, '_')}.mir`), printGraph(after, { summaries: true }));
    },
  });
  return { graph: result, reports };
}

/** The plan's steps in pipeline syntax, a named pipeline's steps shown by its name
 * (`canonicalize,quantize,lower,schedule-rounds`). */
export function formatPlan(plan: PassPlan): string {
  const parts: string[] = [];
  let via: string | undefined;
  for (const step of plan.steps) {
    if (step.via !== undefined && step.via === via) continue;
    via = step.via;
    parts.push(step.via ?? formatStep(step));
  }
  return parts.join(',');
}

function splitPasses(options: DriverOptions): SplitPasses {
  const explicit = options.passes !== undefined;
  const text = options.passes ?? options.defaultPasses ?? DEFAULT_PASSES;
  const float: PipelineStep[] = [];
  const tail = new Map<Stage, PipelineStep>();
  let last: Stage = 'float';
  for (const step of parsePipeline(text)) {
    const stage = tailStage(step.pass.name);
    if (stage === undefined) {
      if (last !== 'float') throw diag('MPCC0004', ['--passes', text, `the float-level pass '${step.pass.name}' must come before ${TAIL.get(last)}`]);
      float.push(step);
    } else {
      if (!isBefore(last, stage)) throw diag('MPCC0004', ['--passes', text, `'${step.pass.name}' ${stage === last ? 'is named twice' : `must come before ${TAIL.get(last)}`} (the secure tail runs quantize, lower, schedule-rounds once each, in this order)`]);
      tail.set(stage, step);
      last = stage;
    }
  }
  return { text, explicit, float, tail };
}

function choosePasses(graph: Graph, split: SplitPasses, options: DriverOptions): PassPlan {
  const from = stageOf(graph);
  const named = [...split.tail.keys()].pop() ?? 'float';
  const reached = isBefore(from, named) ? named : from;
  const target = options.target ?? (options.atLeast !== undefined && isBefore(reached, options.atLeast) ? options.atLeast : reached);
  const beyond = [...split.tail].find(([stage]) => isBefore(target, stage));
  if (beyond) throw diag('MPCC0004', ['--passes', split.text, `'${beyond[1].pass.name}' goes past the ${target} stage this command needs`]);
  if (from !== 'float' && split.explicit && split.float.length) {
    throw diag('MPCC0004', ['--passes', split.text, `the model is already ${from}; float-level passes (${split.float.map((s) => s.pass.name).join(', ')}) run only on a float model`]);
  }
  // a model already lowered has its protocols: the flags that choose them would be ignored
  if (from === 'lowered' || from === 'scheduled') {
    const late = options.truncation !== undefined ? ['--truncation', options.truncation] : options.clientOffline ? ['--client-offline', ''] : typeof options.ring === 'number' && options.ring !== 64 ? ['--ring', String(options.ring)] : undefined;
    if (late) throw diag('MPCC0004', [...late, `the model is already ${from}: its protocols (mode, ring, truncation) were chosen when it was lowered; give the float or quantized model`]);
  }
  const frac = quantizeFrac(graph, from, split, options.fracBits ?? planWindowFrac(options.planFile, from));
  const truncation = truncationOf(split, options.truncation);
  const steps: PipelineStep[] = from === 'float' ? [...split.float] : [];
  // the mode has no MaxPool protocol: its trees of ReLUs instead (a plan made on the trees names
  // their layers, its passes made them; a plan made without them: after the plan, below)
  const trees = options.clientOffline && from === 'float' && !split.float.some((s) => s.pass.name === maxPoolToReluTree.name);
  if (trees && options.planFile === undefined) steps.push({ pass: maxPoolToReluTree, options: {} });
  if (options.refitFile !== undefined) steps.push({ pass: applyRefitPass, options: { file: options.refitFile } });
  if (options.planFile !== undefined) steps.push(planStep(options.planFile, from, split), ...windowStep(options.planFile));
  // under a plan made without the trees, the plan's MaxPools stay outside it and run as exact trees,
  // written after the plan (and its windows, which the trees' levels inherit) once the model goes
  // on to the secure tail: the float graph a plan or its windows are read against keeps its MaxPools
  if (trees && options.planFile !== undefined && isBefore('float', target)) steps.push({ pass: maxPoolToReluTree, options: {} });
  if (options.revealArgmax) {
    if (from !== 'float') throw diag('MPCC0004', ['--reveal', 'argmax', `the model is already ${from}; the classes are computed from a float model`]);
    steps.push({ pass: revealArgmax, options: { 'frac-bits': frac ?? FRAC_BITS.default } });
  }
  // a ring below 64 only in the client-offline mode; auto is chosen just before lower (runPlan)
  if (typeof options.ring === 'number' && options.ring < 64 && !options.clientOffline) throw diag('MPCC6028', [String(options.ring), '--client-offline']);
  const ring: Record<string, number> = options.clientOffline && typeof options.ring === 'number' && options.ring < 64 ? { ring: options.ring } : {};
  for (const stage of STAGES) {
    if (!isBefore(from, stage) || isBefore(target, stage)) continue;
    const step = split.tail.get(stage) ?? parsePipeline(TAIL.get(stage)!)[0];
    if (stage === 'quantized' && frac !== undefined) steps.push({ ...step, options: { ...step.options, 'frac-bits': frac } });
    else if (stage === 'lowered' && (truncation === 'local' || options.clientOffline)) steps.push({ ...step, options: { ...step.options, ...(truncation === 'local' ? { truncation } : {}), ...(options.clientOffline ? { 'client-offline': true } : {}), ...ring } });
    else steps.push(step);
  }
  const chooseFrac = from === 'float' && frac === undefined && steps.some((s) => s.pass.name === 'quantize');
  const ringAuto = Boolean(options.clientOffline) && options.ring === 'auto' && steps.some((s) => s.pass.name === 'lower');
  const ringFixed = ring.ring !== undefined && steps.some((s) => s.pass.name === 'lower') ? { ringFixed: ring.ring as RingBits } : {};
  return { from, to: isBefore(from, target) ? target : from, steps, chooseFrac, truncation, ...(ringAuto ? { ringAuto } : {}), ...ringFixed };
}

/** Calibration samples the scale's magnitudes are measured on, at most (each a float run). */
const MAGNITUDE_SAMPLES = 8;

/** Mean |v| of every value of the float `graph`, the largest over the first calibration samples. */
function measureMagnitudes(graph: Graph, calibration: CalibrationSet, log: ProgressSink): Map<string, number> {
  const [n, ...rest] = calibration.shape;
  const size = rest.reduce((a, b) => a * b, 1);
  const shape = graph.types.get(graph.inputs[0])!.shape;
  const magnitudes = new Map<string, number>();
  const samples = Math.min(n, MAGNITUDE_SAMPLES);
  for (let i = 0; i < samples; i++) {
    log(`measuring activation magnitudes: sample ${i + 1}/${samples}`);
    const x = new Tensor('float32', shape, calibration.data.subarray(i * size, (i + 1) * size));
    runGraph(graph, { [graph.inputs[0]]: x }, {
      onNode: (node, _index, results) => {
        results.forEach((t, k) => {
          let s = 0;
          for (let j = 0; j < t.size; j++) s += Math.abs(t.data[j]);
          const v = node.outputs[k];
          magnitudes.set(v, Math.max(magnitudes.get(v) ?? 0, t.size ? s / t.size : 0));
        });
      },
    });
  }
  return magnitudes;
}

/** The insert-block-relu step of --plan FILE: only on a float model, and only once. */
function planStep(plan: string, from: Stage, split: SplitPasses): PipelineStep {
  if (from !== 'float') throw diag('MPCC0004', ['--plan', plan, `the model is already ${from}; a plan applies to a float model`]);
  if (split.float.some((s) => s.pass.name === insertBlockRelu.name)) throw diag('MPCC0004', ['--plan', plan, `--passes already runs ${insertBlockRelu.name}`]);
  return { pass: insertBlockRelu, options: { plan } };
}

/** narrow-compare{plan=FILE} when the plan records comparison windows (its `compare`, a layer's `window`). */
/** The fractional bits a plan's comparison windows were chosen at (its `compare.fracBits`): a
 * float model compiled with such a plan and no --frac-bits takes them, since a window's bits are
 * bits of the fixed-point value; undefined without windows (the scale is then chosen). */
function planWindowFrac(plan: string | undefined, from: Stage): number | undefined {
  if (plan === undefined || from !== 'float') return undefined;
  return readPlan(plan).compare?.fracBits;
}

function windowStep(plan: string): PipelineStep[] {
  const p = readPlan(plan);
  return p.compare !== undefined || p.layers.some((l) => l.window !== undefined) ? [{ pass: narrowCompare, options: { bits: 64, 'drop-lsb': 0, plan } }] : [];
}

/** Reads plan file `plan` and checks it was made for model file `model` (MPCC4010–4018). */
function checkPlanFile(plan: string, model: string): void {
  checkPlanModel(readPlan(plan), plan, model);
}

/** How weight products' Truncates run: --truncation, or lower{truncation=T} in --passes (which
 * must agree), else 'exact'. */
function truncationOf(split: SplitPasses, flag: Truncation | undefined): Truncation {
  const listed = split.tail.get('lowered');
  const inPasses = listed && /lower\s*\{[^}]*truncation/.test(split.text) ? (listed.options.truncation as Truncation) : undefined;
  if (flag !== undefined && inPasses !== undefined && flag !== inPasses) throw diag('MPCC0004', ['--truncation', flag, `--passes sets lower{truncation=${inPasses}}`]);
  return inPasses ?? flag ?? 'exact';
}

/** The fractional bits of the quantize step: --frac-bits, or quantize{frac-bits=F} in --passes,
 * or undefined for quantize's own default; a model already quantized has its own, and asking
 * for other bits is an error. */
function quantizeFrac(graph: Graph, from: Stage, split: SplitPasses, flag: number | undefined): number | undefined {
  const listed = split.tail.get('quantized');
  const inPasses = listed && /quantize\s*\{[^}]*frac-bits/.test(split.text) ? (listed.options['frac-bits'] as number) : undefined;
  if (flag !== undefined && inPasses !== undefined && flag !== inPasses) throw diag('MPCC0004', ['--frac-bits', String(flag), `--passes sets quantize{frac-bits=${inPasses}}`]);
  const wanted = flag ?? inPasses;
  if (from === 'float') return wanted;
  const own = modelFrac(graph);
  if (wanted !== undefined && own !== undefined && wanted !== own) {
    throw diag('MPCC0004', [flag !== undefined ? '--frac-bits' : '--passes', flag !== undefined ? String(flag) : split.text, `the model is quantized with ${own} fractional bits`]);
  }
  return own ?? wanted;
}

/** The fractional bits a quantized or lowered graph encodes its inputs with. */
export function modelFrac(graph: Graph): number | undefined {
  const input = graph.nodes.find((n) => n.op === 'FixedInput' || n.op === 'SecureInput');
  return input === undefined ? undefined : (withDefaults(input).frac as number);
}

function tailStage(passName: string): Stage | undefined {
  for (const [stage, name] of TAIL) if (name === passName) return stage;
  return undefined;
}
