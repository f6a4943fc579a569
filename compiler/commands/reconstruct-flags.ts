// `--reconstruct` for the commands that run or write a planned network (`mpcc eval`,
// `mpcc export`): the flag, `--ridge`, and the calibration flags (compiler/commands/calib-flags.ts),
// and the one way they use them: drive the model to the canonicalized float graph, load the
// calibration images for its input, refit the weights that read planned activations
// (passes/planning/reconstruct/), then apply the plan and the rest of the passes to the refit
// graph as --plan alone would. Refit warnings (MPCC4063) go to the progress sink and into the
// result, which the commands print.
//
// `mpcc plan --reconstruct` and `mpcc compile --reconstruct` take only --reconstruct and --ridge
// from here (withRefitOptions: their --calib is the planner's): plan writes the refit weights
// file beside each plan it makes and references it from the plan (refitBesidePlan); compile
// refits on --calib, or without it applies the file the plan references, through the driver's
// apply-refit step before the plan (compileRefitFile), so the scale and the comparison windows
// are chosen on the refit network.
import type { Command } from 'commander';
import { Option } from 'commander';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadCalibration, type CalibrationOptions, type CalibrationSet, type CalibrationSource } from '../calibration/load.js';
import type { ProgressSink } from '../cli-support.js';
import { driveModel, planPasses, runPlan } from '../driver.js';
import { writeFileAtomic } from '../cli-support.js';
import { sha256 } from '../../runtime/program/artifacts.js';
import type { Graph } from '../../ir/graph.js';
import type { Stage } from '../../ir/stage.js';
import { type Plan, checkPlanModel, modelFileSha256, readPlan } from '../../passes/planning/plan-file.js';
import { DEFAULT_RIDGE, type ReconstructResult, reconstructWeights } from '../../passes/planning/reconstruct/reconstruct.js';
import { encodeRefit, planBlocksSha256, planRefitFile, refitFileBeside } from '../../passes/planning/reconstruct/refit-file.js';
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
  return withCalibFlags(withRefitOptions(cmd, "refit the weights that read planned activations on the --calib images (ridge least squares, layer by layer): only the server's weights change, not the DReLUs"));
}

/** `cmd` with --reconstruct (`help` says what it does there) and --ridge, for commands that have the calibration flags already. */
export function withRefitOptions(cmd: Command, help: string): Command {
  return cmd
    .option('--reconstruct', help)
    .addOption(new Option('--ridge <r>', `the refit's relative ridge, or 'auto' (chosen per layer on held-out calibration images); default ${DEFAULT_RIDGE}`));
}

/** The refit the flags ask for, or undefined without --reconstruct: MPCC4060 without --calib,
 * MPCC0004 without --plan or for --calib or --ridge without --reconstruct, MPCC4066 a bad ridge.
 * `imagesElsewhere`: the image flags may come without --calib (calibrationOptionsFrom's). */
export function refitRequestFrom(opts: ReconstructFlags & { readonly plan?: string } & Readonly<Record<string, unknown>>, imagesElsewhere = false): RefitRequest | undefined {
  const calibration = calibrationOptionsFrom(opts, imagesElsewhere);
  if (!opts.reconstruct) {
    if (calibration !== undefined) throw diag('MPCC0004', ['--calib', calibration.calib, 'it needs --reconstruct (the refit is what reads calibration images here)']);
    if (opts.ridge !== undefined) throw diag('MPCC0004', ['--ridge', String(opts.ridge), 'it needs --reconstruct']);
    return undefined;
  }
  if (opts.plan === undefined) throw diag('MPCC0004', ['--reconstruct', '', 'it needs --plan (the refit corrects what a plan changed)']);
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

/** The refit weights file (passes/planning/reconstruct/refit-file.ts) of a refit of model file `model` for `plan`. */
export function refitFileBytes(model: string, plan: Plan, refit: { readonly result: ReconstructResult; readonly calibration: CalibrationSource; readonly ridge: number | 'auto' }): Uint8Array {
  return encodeRefit({
    model: { sha256: modelFileSha256(model) }, plan: { sha256: planBlocksSha256(plan) }, ridge: refit.ridge,
    images: refit.result.images, calibration: { ...refit.calibration }, layers: refit.result.layers,
  }, refit.result.weights);
}

/** Refits float graph `graph` (model file `model`, canonicalized) for `plan` on `calib`'s images
 * and writes the refit file beside plan file `planFile` (refitFileBeside); returns the plan with
 * its reference to the file (to be written to `planFile`). */
export function refitBesidePlan(model: string, graph: Graph, plan: Plan, planFile: string, calib: CalibrationSet, ridge: number | 'auto', log: ProgressSink): Plan {
  const result = refitGraph(graph, plan, planFile, calib, ridge, log);
  const bytes = refitFileBytes(model, plan, { result, calibration: calib.source, ridge });
  const file = refitFileBeside(planFile);
  writeFileAtomic(file, bytes);
  log(`wrote ${file}: ${result.layers.length} layers refit on ${result.images} images`);
  return { ...plan, refit: { file: basename(file), sha256: sha256(bytes) } };
}

/**
 * The refit weights `mpcc compile --plan P --reconstruct` applies: made now on the --calib images
 * (`calibration` given; written into folder `scratch`), else the file plan P references
 * (MPCC4090 when it references none, MPCC4091 when the file changed).
 */
export function compileRefitFile(model: string, planFile: string, calibration: CalibrationOptions | undefined, ridge: number | 'auto', drive: { readonly passes?: string; readonly inputShape?: number[] }, scratch: string, log: ProgressSink): string {
  if (calibration === undefined) {
    const file = planRefitFile(planFile);
    if (file === undefined) throw diag('MPCC4090', [planFile]);
    log(`applying the refit weights ${file} the plan references`);
    return file;
  }
  const plan = readPlan(planFile);
  checkPlanModel(plan, planFile, model);
  const { graph } = driveModel(model, { passes: drive.passes, target: 'float', inputShape: drive.inputShape, log });
  const calib = loadCalibration(calibration, graph.types.get(graph.inputs[0])!.shape, (done, total) => log(`calibration: ${done}/${total} images`));
  const result = refitGraph(graph, plan, planFile, calib, ridge, log);
  const file = join(scratch, 'refit.refit');
  writeFileSync(file, refitFileBytes(model, plan, { result, calibration: calib.source, ridge }));
  return file;
}

/** reconstructWeights on a loaded calibration set, progress and warnings to `log`. */
function refitGraph(graph: Graph, plan: Plan, planFile: string, calib: CalibrationSet, ridge: number | 'auto', log: ProgressSink): ReconstructResult {
  log(`refit on ${calib.shape[0]} calibration images from ${calib.source.path}`);
  return reconstructWeights(graph, plan, { data: calib.data, shape: calib.shape, label: calib.source.path }, {
    ridge, planFile, onProgress: log, onWarning: (w) => log(`warning ${w.code}: ${w.message}`),
  });
}
