// `--reconstruct` for the commands that run or write a planned network (`mpcc eval`,
// `mpcc export`): the flag, `--ridge`, and the calibration flags (compiler/commands/calib-flags.ts),
// and the one way they use them: drive the model to the canonicalized float graph, load the
// calibration images for its input, refit the weights that read planned activations
// (passes/planning/reconstruct/), then apply the plan and the rest of the passes to the refit
// graph as --plan alone would. Refit warnings (MPCC4063) go to the progress sink and into the
// result, which the commands print.
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadCalibration, type CalibrationOptions, type CalibrationSource } from '../calibration/load.js';
import type { ProgressSink } from '../cli-support.js';
import { planPasses, runPlan } from '../driver.js';
import type { Graph } from '../../ir/graph.js';
import type { Stage } from '../../ir/stage.js';
import { checkPlanModel, modelFileSha256, readPlan } from '../../passes/planning/plan-file.js';
import { DEFAULT_RIDGE, type ReconstructResult, reconstructWeights } from '../../passes/planning/reconstruct/reconstruct.js';
import { encodeRefit } from '../../passes/planning/reconstruct/refit-file.js';
import { diag } from '../../runtime/diagnostics.js';
import { calibrationOptionsFrom, withCalibFlags } from './calib-flags.js';

/** The refit flags as commander hands them over (the calibration flags besides). */
export interface ReconstructFlags {
  readonly reconstruct?: boolean;
  readonly ridge?: string | number;
}

/** What the flags ask for: the calibration options and the ridge. */
export interface RefitRequest {
  readonly calibration: CalibrationOptions;
  readonly ridge: number | 'auto';
}

/** A refit done for a command: the graph after the plan and passes, and what the refit used. */
export interface CommandRefit {
  readonly graph: Graph;
  readonly result: ReconstructResult;
  readonly calibration: CalibrationSource;
  readonly ridge: number | 'auto';
  /** Coded warnings of the refit ("MPCC4063: …"). */
  readonly warnings: readonly string[];
}

/** `cmd` with --reconstruct, --ridge and the calibration flags. */
export function withReconstructFlags(cmd: Command): Command {
  return withCalibFlags(
    cmd
      .option('--reconstruct', "refit the weights that read planned activations on the --calib images (ridge least squares, layer by layer): only the server's weights change, not the DReLUs")
      .addOption(new Option('--ridge <r>', `the refit's relative ridge, or 'auto' (chosen per layer on held-out calibration images); default ${DEFAULT_RIDGE}`)),
  );
}

/** The refit the flags ask for, or undefined without --reconstruct: MPCC4060 without --calib,
 * MPCC0004 without --plan or for --calib or --ridge without --reconstruct, MPCC4066 a bad ridge. */
export function refitRequestFrom(opts: ReconstructFlags & { readonly plan?: string } & Readonly<Record<string, unknown>>): RefitRequest | undefined {
  const calibration = calibrationOptionsFrom(opts);
  if (!opts.reconstruct) {
    if (calibration !== undefined) throw diag('MPCC0004', ['--calib', calibration.calib, 'it needs --reconstruct (the refit is what reads calibration images here)']);
    if (opts.ridge !== undefined) throw diag('MPCC0004', ['--ridge', String(opts.ridge), 'it needs --reconstruct']);
    return undefined;
  }
  if (opts.plan === undefined) throw diag('MPCC0004', ['--reconstruct', 'true', 'it needs --plan (the refit corrects what a plan changed)']);
  if (calibration === undefined) throw diag('MPCC4060');
  return { calibration, ridge: parseRidge(opts.ridge) };
}

/** `--ridge`: a positive number or 'auto' (MPCC4066). */
export function parseRidge(value: string | number | undefined): number | 'auto' {
  if (value === undefined) return DEFAULT_RIDGE;
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(n) || n <= 0) throw diag('MPCC4066', ['--ridge', String(value)]);
  return n;
}

/**
 * Refits `canonical` (model file `model` driven to the float stage without the plan) for plan
 * file `planFile` on the request's calibration images, then applies the plan and drives the
 * result on to `target` as `--plan` does.
 */
export function refitForCommand(model: string, canonical: Graph, planFile: string, request: RefitRequest, target: Stage, fracBits: number | undefined, log: ProgressSink): CommandRefit {
  const plan = readPlan(planFile);
  checkPlanModel(plan, planFile, model);
  const input = canonical.types.get(canonical.inputs[0])?.shape ?? [];
  const calib = loadCalibration(request.calibration, input, (done, total) => log(`calibration: ${done}/${total} images`));
  log(`refit on ${calib.shape[0]} calibration images from ${calib.source.path}`);
  const warnings: string[] = [];
  const result = reconstructWeights(canonical, plan, { data: calib.data, shape: calib.shape, label: calib.source.path }, {
    ridge: request.ridge,
    planFile,
    onProgress: log,
    onWarning: (w) => {
      warnings.push(`${w.code}: ${w.message}`);
      log(`warning ${w.code}: ${w.message}`);
    },
  });
  const { graph } = runPlan(result.graph, planPasses(result.graph, { passes: '', target, fracBits, planFile }), { log });
  return { graph, result, calibration: calib.source, ridge: request.ridge, warnings };
}

/** The refit weights file (passes/planning/reconstruct/refit-file.ts) of a refit of `model` for `planFile`. */
export function refitFileBytes(model: string, planFile: string, refit: CommandRefit): Uint8Array {
  return encodeRefit({
    model: { sha256: modelFileSha256(model) }, plan: { sha256: modelFileSha256(planFile) }, ridge: refit.ridge,
    images: refit.result.images, calibration: { ...refit.calibration }, layers: refit.result.layers,
  }, refit.result.weights);
}
