// Narrowed comparison windows at the command level: choosing them (one window, or per layer
// from calibration statistics, passes/planning/compare-stats.ts), recording them in a plan
// (passes/planning/plan-file.ts, `compare`), and measuring the sign errors they cause on given
// inputs. `mpcc compile --compare-bits`, `mpcc run --verify-against-plaintext` and the
// narrow benchmark call these.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph, Node } from '../ir/graph.js';
import { withDefaults } from '../ir/ops/index.js';
import { blockSizesOf } from '../ir/ops/block-relu.js';
import { blockLayout } from '../runtime/protocols/block-relu.js';
import { runGraph } from '../ir/interp/index.js';
import { runGraphFixed } from '../ir/interp/fixed/index.js';
import { Tensor } from '../ir/tensor.js';
import { numel } from '../ir/types.js';
import { type CompareStat, CompareStatistics, MAX_FREE_ERROR_BITS, SignErrorCounter, autoWindows, compareNodes, maxLevels, predictedWindowError, statisticsGraph } from '../passes/planning/compare-stats.js';
import { applyWindows } from '../passes/planning/narrow-compare.js';
import { type Plan, type PlanCompare, type PlanWindow, makePlan, modelFileSha256, readPlan, reluLayerNames } from '../passes/planning/plan-file.js';
import type { Stage } from '../ir/stage.js';
import { type DriverOptions, type RunOptions as DriverRunOptions, chooseFrac, driveModel, planPasses, runPlan } from './driver.js';
import { poolBeforeActivation } from '../passes/secure/lower-reorder.js';
import { runPipeline } from '../passes/index.js';
import { diag } from '../runtime/diagnostics.js';
import { type ProgressSink, NO_PROGRESS } from './cli-support.js';
import { type CalibrationOptions, type CalibrationSet, loadCalibration } from './calibration/load.js';
import type { CompareChoice } from './commands/compare-flags.js';
import type { FracChoice } from '../passes/quantize/frac-choice.js';
import { withBatch } from './eval-batch.js';
import { planRefitFile } from '../passes/planning/reconstruct/refit-file.js';
import type { RingChoice } from './ring-choice.js';


/** Images per interpreter call when collecting statistics. */
const STAT_BATCH = 16;

/** The windows `choice` gives float graph `float` (after insert-block-relu): one window for all
 * (predictions too when `calib` is given), or auto from `calib` (MPCC4070 without it). */
export function chooseWindows(float: Graph, choice: Exclude<CompareChoice, { mode: 'none' }>, frac: number, calib: CalibrationSet | undefined, log: ProgressSink = NO_PROGRESS): PlanCompare {
  if (choice.mode === 'auto' && calib === undefined) throw diag('MPCC4070', []);
  const stats = calib ? collectStatistics(float, frac, calib, log) : undefined;
  if (choice.mode === 'auto') return { mode: 'auto', fracBits: frac, maxSignError: choice.maxSignError, windows: autoWindows(float, stats!, frac, choice.maxSignError) };
  const windows = compareNodes(float).map((n): PlanWindow => {
    const s = stats?.byNode.get(n.name);
    const known = s !== undefined && s.n > 0;
    const p = known ? fixedWindowError(s, choice.lo, choice.k) : undefined;
    return { name: n.name, op: n.op, lo: choice.lo, k: choice.k, predictedSignError: p ? p.total : null, ...(p ? { predictedOverflow: p.overflow } : {}), maxAbs: known ? s.maxAbs / 2 ** frac : null, samples: s?.n ?? 0 };
  });
  return { mode: 'fixed', fracBits: frac, maxSignError: null, windows };
}

/** A fixed window's predicted rate: lost carries near zero plus the values past its range
 * (passes/planning/compare-stats.ts, (a) + (b); each value past the range counted as misread,
 * an upper bound for values far past it). */
function fixedWindowError(s: CompareStat, lo: number, k: number): { total: number; overflow: number } {
  const { carry, overflow } = predictedWindowError(s, lo, k);
  return { total: Math.min(1, carry + overflow), overflow };
}

/** Runs the calibration samples through the fixed-point interpreter (statisticsGraph of `float`)
 * and collects what every comparison compares. */
export function collectStatistics(float: Graph, frac: number, calib: CalibrationSet, log: ProgressSink = NO_PROGRESS): CompareStatistics {
  const g = statisticsGraph(float, frac);
  const stats = new CompareStatistics();
  const [count] = calib.shape;
  const per = numel(calib.shape.slice(1));
  const started = performance.now();
  for (let first = 0; first < count; ) {
    const size = Math.min(STAT_BATCH, count - first);
    const batched = withBatch(g, size) ?? withBatch(g, 1)!;
    const n = batched.types.get(batched.inputs[0])!.shape[0];
    const x = calib.data.subarray(first * per, (first + n) * per);
    runGraphFixed(batched, { [batched.inputs[0]]: new Tensor('float32', [n, ...calib.shape.slice(1)], x) }, { frac, keep: 'outputs', compare: stats.simulation() });
    first += n;
    log(`narrow-compare statistics: ${first}/${count} samples, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return stats;
}

/** `plan` (or, without one, a plan of no block-ReLU layers for `float`'s model) with `compare`. */
export function planWithCompare(plan: Plan | undefined, compare: PlanCompare, modelSha256: string, float: Graph, source: Record<string, unknown>): Plan {
  const base = plan ?? makePlan({ sha256: modelSha256, reluLayers: reluLayerNames(float) }, [], source, false);
  const byName = new Map(compare.windows.map((w) => [w.name, w]));
  // a planned layer's own `window` follows the chosen one, so the two never disagree
  const layers = base.layers.map((l) => (byName.has(l.name) ? { ...l, window: { lo: byName.get(l.name)!.lo, k: byName.get(l.name)!.k } } : l));
  return { ...base, layers, compare };
}

/** The windows of `compare` as narrow-compare applies them. */
export function windowMap(compare: PlanCompare): Map<string, { lo: number; k: number }> {
  return new Map(compare.windows.map((w) => [w.name, { lo: w.lo, k: w.k }]));
}

/** The float graph with the windows applied. */
export function withWindows(float: Graph, compare: PlanCompare): Graph {
  return applyWindows(float, windowMap(compare));
}

/** Measured sign errors of one comparison node. */
export interface MeasuredSignErrors {
  readonly name: string;
  readonly op: string;
  readonly lo: number;
  readonly k: number;
  readonly compared: number;
  readonly errors: number;
  /** Of `errors`, values past the window's range (|x| ≥ 2^(lo+k−1)); the rest are lost carries. */
  readonly overflows: number;
  readonly rate: number;
  /** Against the float network's signs of the same values (Relu, Clip, BlockRelu; null for a
   * MaxPool, whose compared differences follow the tree's earlier choices): the share whose
   * windowed sign differs, quantization and earlier layers' differences included. */
  readonly rateVsFloat: number | null;
}

/** The sign errors the windows of float graph `windowed` make on `inputs` (N×C×H×W float32):
 * the fixed-point interpreter runs the graph as lower will (pool before activation), with the
 * lost carries drawn as the shares make them, and counts per node the compared values whose
 * windowed sign differs from their true sign. Returns the rates and the decoded outputs. */
export function measureSignErrors(windowed: Graph, frac: number, data: Float32Array, shape: readonly number[], log: ProgressSink = NO_PROGRESS): { layers: MeasuredSignErrors[]; outputs: Map<string, Tensor>[] } {
  const floatGraph = poolBeforeActivation(windowed);
  const quantized = poolBeforeActivation(runPipeline(windowed, `quantize{frac-bits=${frac}}`, { verify: false }).graph);
  const counter = new SignErrorCounter();
  const per = numel(shape.slice(1));
  const outputs: Map<string, Tensor>[] = [];
  const vsFloat = new Map<string, { n: number; errors: number }>();
  const byName = new Map(floatGraph.nodes.map((n) => [n.name, n]));
  for (let first = 0; first < shape[0]; ) {
    const size = Math.min(STAT_BATCH, shape[0] - first);
    const g = withBatch(quantized, size) ?? withBatch(quantized, 1)!;
    const n = g.types.get(g.inputs[0])!.shape[0];
    const x = new Tensor('float32', [n, ...shape.slice(1)], data.subarray(first * per, (first + n) * per));
    // the windowed signs of the nodes a float value lines up with, per node (one call each)
    const signs = new Map<string, Uint8Array>();
    const sim = counter.simulation();
    const observe = sim.observe!;
    outputs.push(runGraphFixed(g, { [g.inputs[0]]: x }, { frac, keep: 'outputs', compare: { ...sim, observe: (node, values, negative, w) => { observe(node, values, negative, w); if (node.op !== 'MaxPool') signs.set(node.name, negative); } } }).outputs);
    const fg = withBatch(floatGraph, n) ?? floatGraph;
    const nodes = [...signs.keys()].map((name) => byName.get(name)!);
    const values = runGraph(fg, { [fg.inputs[0]]: x }, { precision: 'float64', keep: nodes.map((node) => node.inputs[0]) });
    for (const node of nodes) {
      const compared = floatCompared(node, values.get(node.inputs[0])!);
      const negative = signs.get(node.name)!;
      const e = vsFloat.get(node.name) ?? { n: 0, errors: 0 };
      for (let i = 0; i < compared.length; i++) if ((compared[i] < 0 ? 1 : 0) !== negative[i]) e.errors++;
      e.n += compared.length;
      vsFloat.set(node.name, e);
    }
    first += n;
    log(`sign errors: ${first}/${shape[0]} samples`);
  }
  const layers = compareNodes(quantized).map((n) => {
    const e = counter.byNode.get(n.name);
    const w = e?.window ?? { lo: 0, k: 64 };
    const f = vsFloat.get(n.name);
    return { name: n.name, op: n.op, lo: w.lo, k: w.k, compared: e?.n ?? 0, errors: e?.errors ?? 0, overflows: e?.overflows ?? 0, rate: e && e.n > 0 ? e.errors / e.n : 0, rateVsFloat: f && f.n > 0 ? f.errors / f.n : null };
  });
  return { layers, outputs };
}

/** The float values `node` compares, in the order the fixed-point kernel compares them: a Relu's
 * input, a Clip's x − min then x − max, a BlockRelu's tile sums. */
function floatCompared(node: Node, x: Tensor): Float64Array {
  const data = x.data as ArrayLike<number>;
  if (node.op === 'Relu') return Float64Array.from(data);
  if (node.op === 'Clip') {
    const a = withDefaults(node);
    const bounds = [a.min as number, a.max as number].filter((b) => Number.isFinite(b));
    const out = new Float64Array(bounds.length * data.length);
    bounds.forEach((b, j) => { for (let i = 0; i < data.length; i++) out[j * data.length + i] = data[i] - b; });
    return out;
  }
  const { patchOf, patches } = blockLayout(x.shape as [number, number, number, number], blockSizesOf(node));
  const sums = new Float64Array(patches);
  for (let i = 0; i < data.length; i++) if (patchOf[i] >= 0) sums[patchOf[i]] += data[i];
  return sums;
}

/** What driveWithWindows produced: the graph at the target stage, the plan to write as
 * OUT/plan.json (the --plan file's, or a new one, with the windows), and the windows. */
export interface WindowedDrive {
  readonly graph: Graph;
  readonly plan: Plan;
  readonly compare: PlanCompare;
  /** The scale chosen for the model (absent with --frac-bits). */
  readonly fracChoice?: FracChoice;
  /** The ring chosen for the model (--ring auto). */
  readonly ringChoice?: RingChoice;
  /** The comparisons that compute a max (compare-stats.ts maxLevels: their lost carries below
   * 2^(f − 6) do not count), for the note. */
  readonly maxes: ReadonlySet<string>;
}

/** Drives `model` to the float stage (with --plan's block-ReLUs), chooses the windows `choice`
 * asks for (auto from the calibration data `calib` loads), applies them and drives on to
 * `options.target`. */
export function driveWithWindows(
  model: string,
  options: DriverOptions & DriverRunOptions & { readonly inputShape?: number[]; readonly target: Stage },
  choice: Exclude<CompareChoice, { mode: 'none' }>,
  calib: CalibrationOptions | undefined,
): WindowedDrive {
  if (choice.mode === 'auto' && calib === undefined) throw diag('MPCC4070', []);
  const log = options.log ?? NO_PROGRESS;
  const { graph: float, plan: passes } = driveModel(model, { ...options, target: 'float' });
  if (passes.to !== 'float') throw diag('MPCC0004', ['--compare-bits', choice.mode === 'auto' ? 'auto' : String(choice.k), `the model is already ${passes.to}; windows are set on a float model (.onnx or float .mir)`]);
  const data = calib === undefined ? undefined : loadCalibration(calib, float.types.get(float.inputs[0])!.shape);
  // a window's bits are bits of the fixed-point value: the scale is fixed before the windows
  const fracChoice = options.fracBits === undefined ? chooseFrac(float, data, log) : undefined;
  const frac = options.fracBits ?? fracChoice!.frac;
  const compare = chooseWindows(float, choice, frac, data, log);
  const windowed = withWindows(float, compare);
  const { graph, ringChoice } = runPlan(windowed, planPasses(windowed, { passes: '', target: options.target, fracBits: frac, revealArgmax: options.revealArgmax, truncation: options.truncation, clientOffline: options.clientOffline, ring: options.ring }), { ...options, calibration: data });
  const source = { tool: 'mpcc compile', method: `compare-bits ${choice.mode === 'auto' ? 'auto' : `${choice.k}, drop-lsb ${choice.lo}`}`, ...(data ? { calib: data.source } : {}) };
  const plan = planWithCompare(options.planFile === undefined ? undefined : readPlan(options.planFile), compare, modelFileSha256(model), float, source);
  return { graph, plan, compare, fracChoice, ringChoice, maxes: maxLevels(float) };
}

/** One row of `mpcc run --verify-against-plaintext`: a comparison node's measured sign-error
 * rate on the run's input beside the plan's prediction (null without statistics). */
export interface SignErrorRow extends MeasuredSignErrors {
  readonly predicted: number | null;
  /** A max (compare-stats.ts maxLevels): its prediction leaves out lost carries below 2^(f − 6),
   * which only make max(a, b) read b within 2^lo of a tie; the measured rate counts them. */
  readonly max?: boolean;
  /** Of `predicted`, the share predicted past the range (null: not recorded). */
  readonly predictedOverflow: number | null;
}

/** What `mpcc run --verify-against-plaintext MODEL` reports. */
export interface PlaintextCheck {
  /** Largest |secure − simulation| over the outputs (the fixed-point interpreter with the windows). */
  readonly maxDiffSimulated: number;
  /** Largest |secure − float network| over the outputs. */
  readonly maxDiffFloat: number;
  /** maxDiffSimulated over the simulation's output range (max − min). */
  readonly relativeDiffSimulated: number;
  /** Whether the secure run computes what the simulation does: its largest difference within
   * CHECK_TOLERANCE of the output range (truncation's ulps and a lost carry stay far below; a
   * value past the ring's bound, which wraps, does not). */
  readonly agrees: boolean;
  readonly layers: SignErrorRow[];
}

/** The share of the output range beyond which secure and simulated outputs disagree. */
export const CHECK_TOLERANCE = 0.1;

/** Checks a secure run of OUT (compiled from `model`, its windows in OUT/plan.json if any) on
 * input `x` against plaintext: the outputs against the float network and the fixed-point
 * simulation, and per comparison node the sign-error rate the windows make on this input.
 * The measured rate is the simulation's (measureSignErrors): the interpreter's windowed signs
 * are the secure run's own bit for bit where no lost carry can matter (lo = 0, or no value
 * within 2^lo of zero; test/e2e/narrow-compare.test.ts), and a lost carry's distribution where
 * it can — the parties never reveal the compared bits, so no build of them is needed to count. */
export function checkAgainstPlaintext(out: string, model: string, x: Float32Array, frac: number, inputShape: readonly number[], secure: Record<string, number[]>, log: ProgressSink = NO_PROGRESS): PlaintextCheck {
  const planFile = join(out, 'plan.json');
  const plan = existsSync(planFile) ? readPlan(planFile) : undefined;
  // The driver rebuilds the network with the passes the plan was made with (its source.passes),
  // and the refit weights the plan references (compile --reconstruct keeps them beside it).
  const refitFile = plan ? planRefitFile(planFile) : undefined;
  const { graph: windowed } = driveModel(model, { target: 'float', planFile: plan ? planFile : undefined, refitFile, inputShape: [...inputShape], log });
  const { layers, outputs } = measureSignErrors(windowed, frac, x, inputShape, log);
  const float = runGraph(windowed, { [windowed.inputs[0]]: new Tensor('float32', [...inputShape], x) }, { precision: 'float64' });
  let maxDiffSimulated = 0, maxDiffFloat = 0;
  let lo = Infinity, hi = -Infinity;
  for (const [name, values] of Object.entries(secure)) {
    const sim = outputs[0].get(name)?.data as ArrayLike<number> | undefined;
    const ref = float.get(name)?.data as ArrayLike<number> | undefined;
    for (let i = 0; i < values.length; i++) {
      if (sim) {
        maxDiffSimulated = Math.max(maxDiffSimulated, Math.abs(values[i] - Number(sim[i])));
        [lo, hi] = [Math.min(lo, Number(sim[i])), Math.max(hi, Number(sim[i]))];
      }
      if (ref) maxDiffFloat = Math.max(maxDiffFloat, Math.abs(values[i] - Number(ref[i])));
    }
  }
  const relativeDiffSimulated = maxDiffSimulated === 0 ? 0 : maxDiffSimulated / Math.max(hi - lo, 2 ** -frac);
  const byName = new Map((plan?.compare?.windows ?? []).map((w) => [w.name, w]));
  const maxes = maxLevels(windowed);
  return {
    maxDiffSimulated,
    maxDiffFloat,
    relativeDiffSimulated,
    agrees: relativeDiffSimulated <= CHECK_TOLERANCE,
    layers: layers.map((l) => ({ ...l, predicted: byName.get(l.name)?.predictedSignError ?? null, predictedOverflow: byName.get(l.name)?.predictedOverflow ?? null, ...(maxes.has(l.name) ? { max: true } : {}) })),
  };
}

/** The check as text lines. */
export function describeCheck(c: PlaintextCheck): string {
  const rate = (r: number | null) => (r === null ? '—' : r === 0 ? '0' : r.toExponential(2));
  const share = `${(100 * c.relativeDiffSimulated).toPrecision(2)}% of the output range`;
  const verdict = c.agrees
    ? `the secure run computes the network (within ${share})`
    : `the secure run DIFFERS from the network it should compute (by ${share}, more than ${100 * CHECK_TOLERANCE}%): a value past the program's ring wraps (see the compile's ring note), or the program is not this model's`;
  const lines = [`plaintext check: ${verdict}`, `max |secure − fixed-point simulation| ${c.maxDiffSimulated.toExponential(2)}, max |secure − float| ${c.maxDiffFloat.toExponential(2)}`];
  lines.push('sign errors per comparison (measured on this input by the simulation; predicted from calibration):');
  for (const l of c.layers) {
    const past = `${l.overflows} past the range, predicted ${rate(l.predictedOverflow)}`;
    lines.push(`  ${l.name} (${l.op}, lo ${l.lo}, k ${l.k}): ${l.errors}/${l.compared} = ${rate(l.rate)}, predicted ${rate(l.predicted)} (${past}); against the float network's signs ${rate(l.rateVsFloat)}${l.max ? MAX_NOTE : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** What a max's rows add (compare-stats.ts maxLevels). */
const MAX_NOTE = `; a max: its lost carries (reading b for a within 2^lo of b) are value errors, below 2^(f − ${MAX_FREE_ERROR_BITS}) not counted as sign errors`;

/** The chosen windows as the compile's note: per comparison node its window and predicted
 * sign-error rate (of which past the range). */
export function describeWindows(c: PlanCompare, maxes: ReadonlySet<string> = new Set()): string {
  const rate = (r: number | null | undefined) => (r === null || r === undefined ? '—' : r === 0 ? '0' : r.toExponential(2));
  const how = c.mode === 'auto' ? `auto, --max-sign-error ${c.maxSignError}` : 'one window for all';
  const lines = [`comparison windows (${how}; ${c.fracBits} fractional bits; predicted from ${c.windows.some((w) => w.samples > 0) ? 'the calibration samples' : 'no data'}):`];
  for (const w of c.windows) lines.push(`  ${w.name} (${w.op}): bits [${w.lo}, ${w.lo + w.k}), k ${w.k}; predicted sign errors ${rate(w.predictedSignError)} (past the range ${rate(w.predictedOverflow)})${maxes.has(w.name) ? MAX_NOTE : ''}`);
  return lines.join('\n');
}

/** The patches of more than one element per inference in `plan`'s block-ReLU layers, and how many
 * of them its windows predict misread: per layer its windows' predicted rate (its statistics take
 * it over all the layer's tile sums) times those patches; null without windows or such patches.
 * A misread patch selects or zeroes every element in it, where a misread single value lies within
 * 2^lo of zero, so this count, not the per-comparison rate, says how much a run may wander from
 * the fixed-point simulation. `unknown`: such patches in layers whose window has no prediction. */
export function misreadPatches(plan: Plan): { patches: number; predicted: number; unknown: number } | null {
  if (!plan.compare) return null;
  const rates = new Map(plan.compare.windows.map((w) => [w.name, w.predictedSignError]));
  let patches = 0, predicted = 0, unknown = 0;
  for (const l of plan.layers) {
    const [n, , h, w] = l.shape;
    const multi = l.blocks.reduce((t, b) => (b === 'identity' || Math.min(b[0], h) * Math.min(b[1], w) <= 1 ? t : t + n * Math.ceil(h / b[0]) * Math.ceil(w / b[1])), 0);
    const rate = rates.get(l.name);
    patches += multi;
    if (rate === null || rate === undefined) unknown += multi;
    else predicted += multi * rate;
  }
  return patches > 0 ? { patches, predicted, unknown } : null;
}

/** misreadPatches as a compile note. */
export function describeMisreadPatches(m: { patches: number; predicted: number; unknown: number }): string {
  const unknown = m.unknown > 0 ? ` (${m.unknown.toLocaleString('en-US')} of them in layers with no prediction)` : '';
  // from a tenth of a patch per inference on, a run's output differs from the next one's often enough to notice
  const wander = m.predicted >= 0.1 ? ', so the secure output may differ from run to run' : '';
  return `note: ${m.patches.toLocaleString('en-US')} block-ReLU patches of more than one element per inference${unknown}; the windows predict ${m.predicted.toPrecision(2)} of them misread per inference. A misread patch selects or zeroes all its elements${wander}; --max-sign-error R keeps the count under ${m.patches.toLocaleString('en-US')}·R`;
}
