// The knapsack planner end to end, as `mpcc plan --budget` and `mpcc compile --budget` call it:
// the distortion table of every 4-D ReLU layer (candidate blocks from --block-sizes; --mode
// exact, fast, or auto: exact when its estimate is within ten minutes, else fast), read from or
// written to the on-disk cache, then one knapsack plan per budget, each optionally refined
// (--refine K: re-measure around the plan in its own context, re-solve, K times). Every plan's
// `source` says how it was made: method, mode (and auto's estimate), budget, samples, block
// sizes, runner, the calibration source, the predicted and the measured distortion, and the
// seconds of each phase.
import type { Graph } from '../../ir/graph.js';
import { sha256 } from '../../runtime/program/artifacts.js';
import { diag } from '../../runtime/diagnostics.js';
import { candidateBlocks, candidateCosts, parseBlockSizes } from '../../passes/planning/candidates.js';
import type { DistortionTable } from '../../passes/planning/distortion-table.js';
import { DistortionCache, defaultCacheDir } from '../../passes/planning/distortion/cache.js';
import type { CalibrationImages } from '../../passes/planning/distortion/channel-measure.js';
import { networkOutputs } from '../../passes/planning/distortion/channel-measure.js';
import { type LayerRequest, duration, estimateExactSeconds, measureExactDistortion } from '../../passes/planning/distortion/exact.js';
import { meanSquaredError, planDistortion, refineRound } from '../../passes/planning/distortion/refine.js';
import type { ForwardRunner } from '../../passes/planning/distortion/runner.js';
import { type KnapsackPlan, budgetDrelus, knapsackInstance, knapsackPlan } from '../../passes/planning/knapsack-plan.js';
import { plannableLayers } from '../../passes/planning/uniform.js';
import type { Plan } from '../../passes/planning/plan-file.js';
import { withBlockRelus } from '../../passes/planning/distortion/network-cut.js';
import { measureFastDistortion } from '../../passes/planning/distortion/fast.js';

/** The distortion modes of `--mode`. */
export const PLAN_MODES = ['exact', 'fast', 'auto'] as const;
export type PlanMode = (typeof PLAN_MODES)[number];

/** `--mode auto` runs exact mode when its estimate is at most this many seconds. */
export const AUTO_EXACT_SECONDS = 600;

/** Calibration images and where they came from. */
export interface PlanCalibration extends CalibrationImages {
  /** Recorded as the plan's `source.calib` (the calibration loader's CalibrationSource). */
  readonly source: unknown;
}

/** What the planner needs besides the model. */
export interface BudgetPlanRequest {
  /** The canonicalized float graph (batch as the model declares) and its model file's sha256. */
  readonly graph: Graph;
  readonly modelSha256: string;
  readonly calib: PlanCalibration;
  /** One plan per budget: a fraction of the baseline DReLUs, or DReLUs per inference. */
  readonly budgets: readonly ({ fraction: number } | { drelus: number })[];
  readonly mode: PlanMode;
  /** --block-sizes spec text (default candidates.ts's). */
  readonly blockSizes?: string;
  readonly refine: number;
  /** The cache folder (default: defaultCacheDir()); null: no cache. */
  readonly cacheDir?: string | null;
  readonly runner: ForwardRunner;
  /** Recorded in every plan's source and in the cache key (tool, version, passes, input shape). */
  readonly source: Record<string, unknown>;
  /** Progress lines, and warnings (shown even without progress). */
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
}

/** One budget's plan and its figures. */
export interface BudgetPlanResult {
  readonly plan: Plan;
  readonly predicted: number;
  readonly measured: number;
}

/** All plans of one request, the table they came from and the seconds per phase. */
export interface BudgetPlansResult {
  readonly plans: BudgetPlanResult[];
  readonly table: DistortionTable;
  readonly seconds: { measure: number; solve: number; refine: number };
  readonly mode: 'exact' | 'fast';
}

/** Makes the plans of `request` (see the file comment). */
export async function makeBudgetPlans(request: BudgetPlanRequest): Promise<BudgetPlansResult> {
  const { graph, calib, log } = request;
  const spec = parseBlockSizes(request.blockSizes);
  const layers: LayerRequest[] = plannableLayers(graph).map((l) => {
    const candidates = candidateBlocks(l.shape[2], l.shape[3], spec);
    return { name: l.name, shape: l.shape, candidates, costs: candidateCosts(l.shape[2], l.shape[3], candidates) };
  });
  const baseline = layers.reduce((t, l) => t + l.shape.reduce((a, b) => a * b, 1), 0);
  const budgets = request.budgets.map((b) => budgetDrelus(baseline, 'fraction' in b ? { fraction: b.fraction } : { drelus: b.drelus }));
  const calibSha256 = sha256(new Uint8Array(calib.data.buffer, calib.data.byteOffset, calib.data.byteLength));
  const runOpts = { runner: request.runner };
  const t0 = performance.now();
  let mode: 'exact' | 'fast' = request.mode === 'fast' ? 'fast' : 'exact';
  let estimate: number | undefined;
  if (request.mode === 'auto') {
    estimate = await estimateExactSeconds(graph, calib, layers, runOpts);
    mode = estimate <= AUTO_EXACT_SECONDS ? 'exact' : 'fast';
    log(`mode auto: exact mode estimated at ${duration(estimate)} on ${calib.shape[0]} samples (limit ${duration(AUTO_EXACT_SECONDS)}): ${mode} mode`);
  }
  const cache = request.cacheDir === null ? undefined : new DistortionCache(request.cacheDir ?? defaultCacheDir(), {
    // the tool that asks is no part of what is measured: mpcc plan and compile --budget share the tables
    modelSha256: request.modelSha256, calibSha256, mode, samples: calib.shape[0], layers, extra: { source: withoutTool(request.source), blockSizes: spec.text },
  }, request.warn);
  const table = mode === 'exact'
    ? await measureExactDistortion(graph, calib, layers, { ...runOpts, modelSha256: request.modelSha256, calibSha256, cache, log })
    : await measureFast(graph, calib, layers, { modelSha256: request.modelSha256, calibSha256, cache, log });
  const measureSeconds = (performance.now() - t0) / 1000;
  const instance = knapsackInstance(table);
  const reference = await networkOutputs(graph, calib, runOpts);
  let solveSeconds = 0, refineSeconds = 0;
  const plans: BudgetPlanResult[] = [];
  for (const budget of budgets) {
    const base = {
      ...request.source, runner: request.runner.name, blockSizes: spec.text, calib: request.calib.source, calibSha256,
      ...(estimate === undefined ? {} : { auto: { exactEstimateSeconds: Math.round(estimate), limitSeconds: AUTO_EXACT_SECONDS } }),
    };
    let t = performance.now();
    let current: KnapsackPlan = knapsackPlan(graph, table, budget, base, instance);
    solveSeconds += (performance.now() - t) / 1000;
    const rounds: { predicted: number; measured: number }[] = [];
    let currentTable = table;
    // the best plan measured so far: refinement keeps a new plan only when it measures better
    let best: { plan: KnapsackPlan; measured: number } | undefined;
    for (let k = 0; k < request.refine; k++) {
      t = performance.now();
      const round = await refineRound(graph, calib, currentTable, knapsackInstance(currentTable), current.chosen, reference, { ...runOpts, log });
      rounds.push({ predicted: current.predicted, measured: round.measured });
      if (best === undefined || round.measured < best.measured) best = { plan: current, measured: round.measured };
      currentTable = round.table;
      refineSeconds += (performance.now() - t) / 1000;
      t = performance.now();
      current = knapsackPlan(graph, currentTable, budget, base, knapsackInstance(currentTable));
      solveSeconds += (performance.now() - t) / 1000;
      log(`refine round ${k + 1}/${request.refine}: the plan measured ${round.measured.toExponential(3)} (predicted ${rounds[k].predicted.toExponential(3)})`);
    }
    t = performance.now();
    let measured = await planDistortion(graph, calib, currentTable, current.chosen, reference, runOpts);
    refineSeconds += (performance.now() - t) / 1000;
    if (best !== undefined) {
      rounds.push({ predicted: current.predicted, measured });
      if (best.measured < measured) {
        current = best.plan;
        measured = best.measured;
      }
    }
    const plan = {
      ...current.plan,
      source: {
        ...current.plan.source,
        predictedDistortion: current.predicted,
        measuredDistortion: measured,
        ...(request.refine > 0 ? { refine: { rounds: request.refine, history: rounds } } : {}),
        // without --refine that time is the measurement of the plan's distortion alone: 'check'
        seconds: { measure: round3(measureSeconds), solve: round3(solveSeconds), [request.refine > 0 ? 'refine' : 'check']: round3(refineSeconds) },
      },
    };
    plans.push({ plan, predicted: current.predicted, measured });
    // the table summed predicts the plan's distortion; off by orders of magnitude, it did not
    // describe this network on these samples (an output that barely depends on the input, a
    // fast-mode estimate far from the measured effect), and the choice of blocks rests on it
    const warning = mispredictionWarning(mode, current.predicted, measured);
    if (warning) request.warn(warning);
  }
  return { plans, table, seconds: { measure: measureSeconds, solve: solveSeconds, refine: refineSeconds }, mode };
}

/** How far apart the predicted and measured distortion of a plan may be before a warning. */
export const MISPREDICTION_FACTOR = 100;

/** The warning for a plan whose predicted and measured distortion are more than
 * MISPREDICTION_FACTOR apart (either way), or undefined. */
export function mispredictionWarning(mode: string, predicted: number, measured: number): string | undefined {
  if (!(measured > 0) || !(predicted >= 0)) return undefined;
  const off = Math.max(predicted, measured) / Math.max(Math.min(predicted, measured), Number.MIN_VALUE);
  if (off <= MISPREDICTION_FACTOR) return undefined;
  return `${mode} mode predicted a distortion of ${predicted.toExponential(3)} for the plan, measured ${measured.toExponential(3)} (${off.toExponential(1)}× apart): the per-layer table does not describe this network on these samples; try --mode exact, more --calib samples, or check that the output depends on the input`;
}

/** `--mode fast` (passes/planning/distortion/fast.ts: one forward and one batched backward pass
 * per sample), through the same on-disk cache as exact mode: a table read whole from the cache,
 * or measured and stored layer by layer. */
async function measureFast(graph: Graph, calib: CalibrationImages, layers: readonly LayerRequest[], opts: { modelSha256: string; calibSha256: string; cache?: DistortionCache; log: (line: string) => void }): Promise<DistortionTable> {
  const cached = layers.map((l, i) => opts.cache?.load(i, l.name, l.shape[1] * l.candidates.length));
  if (cached.every((d) => d !== undefined)) {
    opts.log(`fast: ${layers.length} layers from the cache${opts.cache ? ` (${opts.cache.folder})` : ''}`);
    return { mode: 'fast', modelSha256: opts.modelSha256, calibSha256: opts.calibSha256, samples: calib.shape[0], layers: layers.map((l, i) => ({ ...l, distortion: cached[i]! })) };
  }
  const started = performance.now();
  let lastLine = 0;
  const table = await measureFastDistortion(graph, calib, layers, {
    modelSha256: opts.modelSha256,
    calibSha256: opts.calibSha256,
    onProgress: (done, total, phase) => {
      const now = performance.now();
      if (now - lastLine < 1000 && done < total) return;
      lastLine = now;
      const fraction = done / total;
      const eta = done === 0 ? 'ETA after the first sample' : `ETA ${duration(((now - started) / 1000) * (1 / fraction - 1))}`;
      opts.log(`fast: ${phase} ${done}/${total} samples  ${eta}`);
    },
  });
  table.layers.forEach((l, i) => opts.cache?.store(i, l.name, l.distortion));
  opts.log(`fast: ${layers.length} layers estimated in ${duration((performance.now() - started) / 1000)} (${calib.shape[0]} samples)`);
  return table;
}

/** The measured distortion of `plan`'s network (unused layers stay ReLUs) against the clean network. */
export async function measuredPlanDistortion(graph: Graph, plan: Plan, calib: CalibrationImages, runner: ForwardRunner): Promise<number> {
  const planned = withBlockRelus(graph, new Map(plan.layers.map((l) => [l.name, l.blocks])));
  return meanSquaredError(await networkOutputs(planned, calib, { runner }), await networkOutputs(graph, calib, { runner }));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A plan source without its `tool` (the cache key's part of it). */
function withoutTool(source: Record<string, unknown>): Record<string, unknown> {
  const { tool: _, ...rest } = source;
  return rest;
}
