// `mpcc eval MODEL --data X.npy --labels Y.npy [--plan P] [--fixed] [--json]`: the accuracy of
// the plaintext network on labelled images. `--data DIR` instead reads a classifier's images from
// class folders as torchvision's ImageFolder does, and a segmenter's `--data DIR --labels MASKS
// [--split LIST]` from an image folder and a folder of label maps as Pascal VOC lays them out
// (compiler/eval-source.ts, compiler/eval-images.ts: images preprocessed by the image flags
// --preset/--resize/--crop/--mean/--std, label maps resized as torchvision resizes targets,
// decoded batch by batch). The
// model goes through the driver (compiler/driver.ts: canonicalize by default), then the plan's
// `insert-block-relu` pass when --plan is given; with --fixed it is driven on to the quantized
// stage and run by the fixed-point interpreter (the secure run's arithmetic), else on
// onnxruntime-node (or the float interpreter, --runner; compiler/eval-runner.ts). Images run in
// batches (compiler/eval-batch.ts); the measures are in compiler/eval-metrics.ts: top-1 and
// top-5 for a classifier ([N, C] output, labels [N]), mean IoU, IoU per class and pixel accuracy
// for a segmenter ([N, C, H, W] output, labels N×H×W, ignore index 255 by default; with
// --reduce-zero-label, ADE20K's labels: 0 counts nowhere and k is class k − 1). `drelus` and
// `baselineDrelus` are the secure comparisons per image of the network as run and of the same
// network with every ReLU a plain ReLU, read from the lowered graph (null when the model cannot
// be lowered for secure inference). A plan made from calibration data (its source.calib) is
// refused with images it was calibrated on (MPCC0015). With --reconstruct (and --calib) the
// weights that read planned activations are first refit on the calibration images
// (compiler/commands/reconstruct-flags.ts); eval says which images those were and refuses to
// measure on any of them (MPCC4065). `mpcc eval OUT ...` measures a compiled program by secure
// inference instead (compiler/commands/eval-secure.ts).
import type { Command } from 'commander';
import { Option } from 'commander';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, commandProgress, sayStopOnSignal, stderrProgress } from '../cli-support.js';
import { driveModel, modelFrac, planPasses, runPlan } from '../driver.js';
import { ClassificationMetrics, SegmentationMetrics, predictions } from '../eval-metrics.js';
import { withBatch } from '../eval-batch.js';
import { checkNoCalibrationOverlap, planSampleDigests, sampleDigests } from '../calibration/sample-digests.js';
import { type CommandRefit, type ReconstructFlags, refitForCommand, refitRequestFrom, withReconstructFlags } from './reconstruct-flags.js';
import { modelFileSha256, readPlan } from '../../passes/planning/plan-file.js';
import { sha256 } from '../../runtime/program/artifacts.js';
import { readFileSync } from 'node:fs';
import { type ModelShape, evalSource, isFolder, readImages, samplePicks } from '../eval-source.js';
import { isCompiledFolder, runSecureEval } from './eval-secure.js';
import { type EvalReport, formatEvalReport, measuredFields } from '../eval-report.js';
import { PredictionFile } from '../prediction-file.js';
import { imageFlagsFrom, refuseImageFlags } from './calib-flags.js';
import { MpccError, diag } from '../../runtime/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import { stageOf } from '../../ir/stage.js';
import { checkInputValues } from '../../passes/quantize/value-range.js';
import { poolBeforeActivation } from '../../passes/secure/lower-reorder.js';
import { numel } from '../../ir/types.js';
import { type EvalRunner, evalForward } from '../eval-runner.js';
import { jsonOption, parseFracBits, parseInputShape, planOption, roundTimeoutOption, withModelFlags, withProgressFlags } from './flags.js';

/** Options of the eval command, as commander hands them over. */
export interface EvalOptions extends ProgressFlags, ReconstructFlags {
  /** Images: .npy N×C×H×W float32 (float64 converted), raw float32 with --data-shape, a folder
   * of class folders of PNG/JPEG images (ImageFolder), or a segmenter's folder of images. */
  readonly data: string;
  /** Labels: .npy of integers, or raw bytes with --labels-format u8; with an image folder, none
   * for a classifier (its class folders) or a folder of PNG label maps for a segmenter. */
  readonly labels?: string;
  /** A segmentation set's ids, one per line (Pascal VOC's ImageSets/Segmentation/val.txt). */
  readonly split?: string;
  /** `npy` (default) or `u8` (one byte per label). */
  readonly labelsFormat?: string;
  /** Shape of raw float32 images: N,C,H,W or C,H,W (N from the file size). */
  readonly dataShape?: string;
  /** A plan file: its BlockRelu layers are inserted (pass insert-block-relu) before the run. */
  readonly plan?: string;
  /** Run the fixed-point simulation of the secure run instead of float. */
  readonly fixed?: boolean;
  /** Print one JSON object instead of text. */
  readonly json?: boolean;
  /** Segmentation label that counts nowhere (default 255). */
  readonly ignoreIndex?: string | number;
  /** ADE20K's segmentation labels (mmsegmentation's reduce_zero_label): 0 counts nowhere, k is class k − 1. */
  readonly reduceZeroLabel?: boolean;
  /** Images per interpreter call (default: as many as keep the largest activation ≤ 16 M values, at most 256). */
  readonly batchSize?: string | number;
  /** Evaluate this many images spread evenly through the set (image ⌊i·N/n⌋ for i < n). */
  readonly sample?: string | number;
  /** What runs the float network: onnxruntime (default, ~20× faster) or interpreter (the
   * reference); --fixed runs on the interpreter only. */
  readonly runner?: string;
  /** Write every evaluated image's (or pixel's) predicted class to this .npy (compiler/prediction-file.ts). */
  readonly predictions?: string;
  /** Evaluating a compiled program (OUT): each party's round timeout in ms, as `mpcc run`'s. */
  readonly roundTimeout?: string;
  /** Evaluating a compiled program as the client of a deployment (`mpcc party --serve` elsewhere):
   * the parties' addresses, P0's first, and the client's keys or --insecure, as `mpcc party`'s. */
  readonly peers?: string;
  readonly key?: string;
  readonly peerKeys?: string;
  readonly insecure?: boolean;
  /** Fractional bits of --fixed (4..28; default: chosen from the model by the driver). */
  readonly fracBits?: string | number;
  /** Passes to run first (default canonicalize), as in every command. */
  readonly passes?: string;
  /** Shape of the model's input; default: as the model says, or one image of the data's shape
   * when its dimensions are symbolic. */
  readonly inputShape?: string;
}

/** The report, the text the command prints, and the seconds the interpreter runs took. */
export interface EvalResult {
  readonly report: EvalReport;
  readonly text: string;
  readonly seconds: number;
}

/** Default segmentation ignore index (the Pascal VOC / Cityscapes convention). */
export const DEFAULT_IGNORE_INDEX = 255;

/** Largest activation (values) a default batch may hold. */
const BATCH_VALUES = 1 << 24;

/** Evaluates `model` on the labelled images of `options`; progress lines go to `sink`. */
export async function runEval(model: string, options: EvalOptions, sink: ProgressSink = NO_PROGRESS): Promise<EvalResult> {
  const log = commandProgress(options, sink);
  const labelsFormat = options.labelsFormat ?? 'npy';
  if (labelsFormat !== 'npy' && labelsFormat !== 'u8') throw diag('MPCC0004', ['--labels-format', labelsFormat, 'expected npy or u8']);
  const ignoreIndex = parseInteger('--ignore-index', options.ignoreIndex, DEFAULT_IGNORE_INDEX, -(2 ** 31), 2 ** 31 - 1);
  const batchFlag = options.batchSize === undefined ? undefined : parseInteger('--batch-size', options.batchSize, 1, 1, 1 << 16);
  const sampleFlag = options.sample === undefined ? undefined : parseInteger('--sample', options.sample, 1, 1, 2 ** 31 - 1);
  const fracBits = parseFracBits(options.fracBits);
  if (options.runner !== undefined && options.runner !== 'onnxruntime' && options.runner !== 'interpreter') throw diag('MPCC0004', ['--runner', options.runner, 'expected onnxruntime or interpreter']);
  if (options.runner === 'onnxruntime' && options.fixed) throw diag('MPCC0004', ['--runner', options.runner, 'the fixed-point simulation (--fixed) runs on the interpreter']);
  const dataShape = options.dataShape === undefined ? undefined : parseDataShape(options.dataShape);

  const compiled = isCompiledFolder(model);
  // (a compiled OUT refuses it as every plaintext flag, below)
  if (!compiled && fracBits !== undefined && !options.fixed) throw diag('MPCC0004', ['--frac-bits', String(fracBits), 'it sets the fixed-point simulation: give it with --fixed (a float run has no fractional bits)']);
  for (const [flag, value] of [['--peers', options.peers], ['--key', options.key], ['--peer-keys', options.peerKeys], ['--insecure', options.insecure], ['--round-timeout', options.roundTimeout]] as const) {
    if (!compiled && value !== undefined) throw diag('MPCC0004', [flag, String(value), `it applies to a compiled program OUT (its secure run), but '${model}' is a model file`]);
  }
  if (compiled) {
    const secure = await runSecureEval(model, options, { ignoreIndex, labelsFormat, dataShape, sample: sampleFlag }, log);
    return { report: secure.report, text: options.json ? `${JSON.stringify(secure.report)}\n` : formatEvalReport(secure.report, options, secure.seconds), seconds: secure.seconds };
  }
  const refitRequest = refitRequestFrom(options as EvalOptions & Record<string, unknown>, true);
  const folder = isFolder(options.data);
  if (folder) {
    if (dataShape !== undefined) throw diag('MPCC0004', ['--data-shape', options.dataShape!, `'${options.data}' is an image folder: its images are preprocessed to the model's input`]);
    if (options.labels !== undefined && labelsFormat === 'u8') throw diag('MPCC0004', ['--labels-format', options.labelsFormat, `'${options.data}' is an image folder: label maps are PNG files`]);
  } else {
    if (options.split !== undefined) throw diag('MPCC0004', ['--split', options.split, `'${options.data}' is an array: --split picks the images of a segmentation set's folders`]);
    if (options.labels === undefined) throw diag('MPCC0004', ['--labels', '', `give the labels of '${options.data}' (an .npy of integers), or --data a folder of class folders`]);
    // the image flags preprocess the refit's calibration images, if any, never an array
    if (refitRequest === undefined) refuseImageFlags(imageFlagsFrom(options as EvalOptions & Record<string, unknown>), options.data);
  }
  const images = folder ? undefined : readImages(options.data, dataShape);
  // the driver checks the plan against the model file and inserts its BlockRelu layers after the
  // float-level passes; --fixed drives on to the quantized stage
  // with --reconstruct the plan (and the passes after it) are applied after the refit
  const target = options.fixed ? 'quantized' : 'float';
  const drive = (inputShape: number[] | undefined) =>
    driveModel(model, { passes: options.passes, target: refitRequest ? 'float' : target, fracBits, planFile: refitRequest ? undefined : options.plan, inputShape, log });
  let driven;
  try {
    driven = drive(parseInputShape(options.inputShape));
  } catch (err) {
    // a symbolic batch (as torch.onnx exports with dynamic axes): one image of the data's shape
    // (of an image folder: the model's own C×H×W)
    if (!(err instanceof MpccError && err.code === 'MPCC1004' && options.inputShape === undefined)) throw err;
    driven = drive(images ? [1, ...images.shape.slice(1)] : [1, -1, -1, -1]);
  }
  const { loaded } = driven;
  let runnable = driven.graph;
  let refit: CommandRefit | undefined;
  if (refitRequest) {
    refit = refitForCommand(model, runnable, options.plan!, refitRequest, target, fracBits, log);
    runnable = refit.graph;
  }
  // --fixed runs the graph as lower will (a ReLU read only by a MaxPool after it) and draws the
  // lost carries of narrowed windows as the shares make them (ir/interp/fixed/compare-window.ts)
  if (options.fixed) runnable = poolBeforeActivation(runnable);
  const stage = stageOf(runnable);
  if (stage !== (options.fixed ? 'quantized' : 'float')) {
    throw diag('MPCC3009', [`the model is ${stage}; eval runs float models (or quantized ones with --fixed)`]);
  }
  const shape = modelShape(runnable);
  const perImage = numel(shape.image);
  // calibration images never come from the evaluation set: a plan made from calibration data
  // records each sample's digest (plan.source.calib, compiler/calibration/load.ts)
  const calibDigests = options.plan === undefined ? undefined : planSampleDigests(readPlan(options.plan).source, options.plan);
  const checkOverlap = (data: Float32Array, batch?: { first: number }) => {
    if (calibDigests) checkNoCalibrationOverlap(data, perImage, options.data, calibDigests, options.plan!, batch);
    if (refit) checkRefitOverlap(data, perImage, options.data, refit, batch);
  };
  const source = evalSource({ options, shape, ignoreIndex, labelsFormat, dataShape, images, flags: imageFlagsFrom(options as EvalOptions & Record<string, unknown>), log, checkOverlap, sample: sampleFlag });
  const labels = source.labels;
  // --sample: images ⌊i·N/n⌋, so a set sorted by class (an image folder) keeps every class's share
  const total = source.count;
  const picks = samplePicks(total, sampleFlag, log);
  const evaluated = picks ? picks.length : total;
  const metrics = shape.kind === 'classification'
    ? new ClassificationMetrics(shape.classes, labels)
    : new SegmentationMetrics(shape.classes, ignoreIndex, labels);

  // opened now: a path it cannot write fails before the evaluation, not after it
  const record = options.predictions === undefined ? undefined : new PredictionFile(options.predictions, evaluated, shape.map, shape.classes);
  const batch = batchFlag ?? defaultBatch(runnable, shape.batch);
  const graphs = new Map<number, Graph | undefined>();
  const graphFor = (size: number) => {
    if (!graphs.has(size)) graphs.set(size, withBatch(runnable, size));
    return graphs.get(size);
  };
  const frac = options.fixed ? modelFrac(runnable) : undefined;
  // the fixed-point simulation takes what the secure run takes (as infer --fixed)
  if (images && frac !== undefined) checkInputValues(options.data, images.shape, images.data, frac);
  const forward = await evalForward(graphFor(Math.min(batch, evaluated)) ?? runnable, options.runner as EvalRunner | undefined, frac, log);
  const started = performance.now();
  let lastLine = started;
  const scoreWidth = shape.classes * shape.pixels;
  try {
    for (let first = 0; first < evaluated; ) {
      const wanted = Math.min(batch, evaluated - first);
      // the model at `wanted` images, or at its own batch size (zero-padded) when it cannot be rebatched
      const g = graphFor(wanted) ?? runnable;
      const size = graphFor(wanted) ? wanted : shape.batch;
      const count = Math.min(size, evaluated - first);
      const x = new Float32Array(size * perImage);
      if (picks) for (let j = 0; j < count; j++) source.fill(picks[first + j], 1, x.subarray(j * perImage));
      else source.fill(first, count, x);
      const scores = await forward.run(g, size, x);
      // per image, by its index in the set (errors name it), or the batch at once
      const add = (at: number, s: ArrayLike<number>, n: number) =>
        metrics instanceof ClassificationMetrics ? metrics.add(s, source.labelsOf(at, n), at, n) : metrics.add(s, source.labelsOf(at, n), at, n, shape.pixels);
      if (picks) for (let j = 0; j < count; j++) add(picks[first + j], scores.subarray(j * scoreWidth, (j + 1) * scoreWidth), 1);
      else add(first, scores, count);
      record?.add(predictions(scores, count, shape.classes, shape.pixels));
      first += count;
      const now = performance.now();
      if (now - lastLine > 1000 || first === evaluated) {
        log(`eval: ${first}/${evaluated} image${evaluated === 1 ? '' : 's'}, ${((now - started) / 1000).toFixed(1)} s`);
        lastLine = now;
      }
    }
  } catch (err) {
    record?.abort();
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  record?.finish();
  await forward.dispose();

  const drelus = dreluCount(runnable, fracBits, log);
  // the baseline: the network as run with the plan's layers back at one DReLU per element (its
  // MaxPools as the planned network runs them), as cost.json's drelusBefore counts it, so that
  // `eval MODEL --plan`, `eval OUT`, `cost` and `report` give one share for one plan
  const planned = options.plan === undefined ? undefined : readPlan(options.plan).drelus;
  const baselineDrelus = drelus === undefined || planned === undefined ? drelus : drelus + shape.batch * (planned.baseline - planned.planned);
  const measured = metrics.result();
  const report: EvalReport = {
    ...measuredFields(measured, { of: picks ? total : undefined, reduceZeroLabel: options.reduceZeroLabel }),
    drelus: drelus === undefined ? null : drelus / shape.batch,
    baselineDrelus: baselineDrelus === undefined ? null : baselineDrelus / shape.batch,
    ...(refit ? { refit: refitSummary(refit) } : {}),
    runner: forward.name,
    ...(frac !== undefined ? { fixed: frac } : {}),
    model: { sha256: modelFileSha256(model) },
    plan: options.plan === undefined ? null : planIdentity(options.plan),
  };
  return { report, text: options.json ? `${JSON.stringify(report)}\n` : formatEvalReport(report, options, seconds), seconds };
}

/** The --plan file's identity in the report: its sha256 and how it was made. */
function planIdentity(file: string): NonNullable<EvalReport['plan']> {
  const method = readPlan(file).source.method;
  return { sha256: sha256(readFileSync(file)), method: typeof method === 'string' ? method : null };
}

/** MPCC4065 when an evaluated image is one of the refit's calibration samples (same float32
 * bytes); `batch` as checkNoCalibrationOverlap's. */
function checkRefitOverlap(data: Float32Array, perImage: number, dataFile: string, refit: CommandRefit, batch?: { first: number }): void {
  const calib = new Set(refit.calibration.sampleDigests);
  const shared = sampleDigests(data, perImage).map((d, i) => (calib.has(d) ? i : -1)).filter((i) => i >= 0);
  if (shared.length > 0) throw diag('MPCC4065', [dataFile, batch ? `at least ${shared.length}` : shared.length, refit.calibration.path, (batch?.first ?? 0) + shared[0]]);
}

/** The report's record of a refit. */
function refitSummary(refit: CommandRefit): NonNullable<EvalReport['refit']> {
  const { path, samples, sha256 } = refit.calibration;
  return {
    calibration: { path, samples, sha256 },
    ridge: refit.ridge,
    layers: refit.result.layers.map((l) => ({ name: l.name, relErrBefore: l.relErrBefore, relErrAfter: l.relErrAfter })),
    warnings: refit.warnings,
  };
}

function modelShape(g: Graph): ModelShape {
  if (g.inputs.length !== 1) throw diag('MPCC3009', [`the model has ${g.inputs.length} runtime inputs; eval feeds exactly one`]);
  const input = g.types.get(g.inputs[0])!;
  if (input.shape.length !== 4 || (input.dtype !== 'float32' && input.dtype !== 'float64')) {
    throw diag('MPCC3009', [`input '${g.inputs[0]}' is ${input.dtype}[${input.shape.join(',')}]; eval feeds float N×C×H×W images`]);
  }
  const out = g.types.get(g.outputs[0])!;
  const batch = input.shape[0];
  const float = out.dtype === 'float32' || out.dtype === 'float64';
  if (float && out.shape.length === 2 && out.shape[0] === batch) {
    return { image: input.shape.slice(1), batch, kind: 'classification', classes: out.shape[1], map: [], pixels: 1 };
  }
  if (float && out.shape.length === 4 && out.shape[0] === batch) {
    const map = out.shape.slice(2);
    return { image: input.shape.slice(1), batch, kind: 'segmentation', classes: out.shape[1], map, pixels: numel(map) };
  }
  throw diag('MPCC3009', [`output '${g.outputs[0]}' is ${out.dtype}[${out.shape.join(',')}]: neither class scores [N, C] nor a segmentation map [N, C, H, W]`]);
}

/** The graph at `stage`, through the driver's plan and runner. */
function toStage(g: Graph, stage: 'lowered', fracBits: number | undefined, log: ProgressSink): Graph {
  return runPlan(g, planPasses(g, { passes: '', target: stage, fracBits }), { log }).graph;
}

/** The secure comparisons of one run of `g` (all images of its batch), from its lowered form;
 * undefined when secure inference cannot run the model (it still has an accuracy). */
function dreluCount(g: Graph, fracBits: number | undefined, log: ProgressSink): number | undefined {
  let lowered: Graph;
  try {
    lowered = toStage(g, 'lowered', fracBits, NO_PROGRESS);
  } catch (err) {
    if (err instanceof MpccError && err.code.startsWith('MPCC6')) {
      log(`no DReLU count: ${err.message}`);
      return undefined;
    }
    throw err;
  }
  return lowered.nodes.reduce((sum, n) => sum + ((n.attrs.drelus as number | undefined) ?? 0), 0);
}

/** Images per batch: the largest activation of a batch stays within BATCH_VALUES values. */
function defaultBatch(g: Graph, modelBatch: number): number {
  let largest = 1;
  for (const n of g.nodes) for (const o of n.outputs) largest = Math.max(largest, numel(g.types.get(o)!.shape) / modelBatch);
  return Math.max(1, Math.min(256, Math.floor(BATCH_VALUES / largest)));
}

function parseInteger(flag: string, value: string | number | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  const text = String(value);
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < min || n > max) throw diag('MPCC0004', [flag, text, `expected an integer in ${min}..${max}`]);
  return n;
}

function parseDataShape(text: string): number[] {
  const dims = text.split(/[,x]/).map((s) => Number(s.trim()));
  if ((dims.length !== 3 && dims.length !== 4) || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw diag('MPCC0004', ['--data-shape', text, 'expected N,C,H,W or C,H,W (positive integers)']);
  }
  return dims;
}

/** Adds `mpcc eval` to the program. */
export function registerEval(program: Command): void {
  withProgressFlags(
    withModelFlags(
      withReconstructFlags(program
        .command('eval')
        .description('accuracy of the plaintext network (float, or the fixed-point simulation of the secure run) on labelled images')
        .argument('<model>', 'MODEL.onnx or FILE.mir; or OUT, a folder mpcc compile wrote: measured by secure inference, the three parties on this machine as mpcc run --inputs runs them')
        .requiredOption('--data <path>', 'images: .npy N×C×H×W float32 (float64 converted), raw float32 with --data-shape, a folder of class folders of PNG/JPEG images (torchvision ImageFolder: labels from the sorted folder names), or a segmenter\'s folder of images (labels: --labels MASKS); images preprocessed by --preset/--resize/--crop/--mean/--std')
        .option('--labels <path>', 'labels of an .npy or raw --data: .npy of integers ([N] classes, or N×H×W for segmentation), or raw bytes with --labels-format u8; of a segmenter\'s image folder: the folder of its label maps, <id>.png per image <id>.jpg|.png (Pascal VOC\'s SegmentationClass: palette indices or gray values are the classes)')
        .option('--split <file>', 'a segmentation set\'s ids, one per line, in order (Pascal VOC\'s ImageSets/Segmentation/val.txt); default: every label map')
        .addOption(new Option('--labels-format <format>', 'npy or u8 (one byte per label)').default('npy'))
        .option('--data-shape <dims>', 'the --data file is raw little-endian float32 of this shape: N,C,H,W or C,H,W')
        .addOption(planOption())
        .option('--fixed', 'run the fixed-point simulation of the secure run (the model driven to the quantized stage)')
        .option('--ignore-index <label>', `segmentation label that counts nowhere (default ${DEFAULT_IGNORE_INDEX})`)
        .option('--reduce-zero-label', 'segmentation labels as ADE20K\'s (mmsegmentation\'s reduce_zero_label): 0 (other) counts nowhere, label k is class k − 1')
        .option('--sample <n>', 'evaluate n images spread evenly through the set (image ⌊i·N/n⌋ for i < n): an image folder, sorted by class, keeps every class\'s share')
        .addOption(new Option('--runner <runner>', 'what runs the float network: onnxruntime (default, about 20× faster) or interpreter (the reference); --fixed runs on the interpreter'))
        .option('--batch-size <n>', 'images per interpreter call (default: what keeps the largest activation under 16 M values, at most 256)')
        .option('--predictions <file>', 'write the predicted class of every evaluated image (a segmenter\'s: of every pixel) as .npy, uint8 (int32 above 256 classes), in the order evaluated; another eval given it as --labels measures agreement')
        .addOption(roundTimeoutOption())
        .option('--peers <list>', 'with OUT: this machine is the client (P0, OUT its folder or party0/) of a deployment whose server and helper serve (mpcc party --serve): host:port of P0, P1, P2')
        .option('--key <file>', "with --peers: the client's private key (party0.key, from mpcc keygen)")
        .option('--peer-keys <dir>', "with --peers: the folder of the server's and helper's public keys (party1.pub, party2.pub)")
        .option('--insecure', 'with --peers: plain TCP to non-loopback peers (no keys; a warning)')
        .addOption(jsonOption('{top1, top5, miou, pixelAcc, iou, n, of?, reduceZeroLabel?, drelus, baselineDrelus, refit?, runner, model, plan, secure?}'))),
      'canonicalize', ', with --fixed',
    ),
  ).action(
    action(async (model: string, options: EvalOptions) => {
      sayStopOnSignal();
      process.stdout.write((await runEval(model, options, stderrProgress(options))).text);
    }),
  );
}
