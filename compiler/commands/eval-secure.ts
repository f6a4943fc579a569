// `mpcc eval OUT --data ... [--labels ...]`: the accuracy of a compiled program measured by the
// secure protocol itself, the three parties running every evaluated image as `mpcc run --inputs`
// does (three processes over loopback TCP, one server session, the one-time setup once). The
// labelled images come from the same sources as a model's evaluation (compiler/eval-source.ts),
// images preprocessed by the compile's record (OUT/manifest.json input.preprocessing) unless
// image flags override it; the measures are eval's own (compiler/eval-metrics.ts) on the scores
// the client gets. The images of one inference are written as an .npy file only as the client nears
// it, and its output is measured and dropped as it comes (run-stream.ts): a long evaluation holds
// a few inputs and one output at a time. A program that reveals class indices (`--reveal argmax`, a
// trailing ArgMax) is measured on them: top-1 (no top-5), or IoU and pixel accuracy of its class
// maps, over the classes its compile recorded (--classes) or else those the labels and
// predictions show (the mean IoU is the same: a class in neither counts nowhere). Flags that
// shape a model's plaintext run (--plan, --fixed, --runner, --frac-bits, --passes, --input-shape,
// --batch-size, --reconstruct) are refused: OUT is what runs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diag } from '../../runtime/diagnostics.js';
import { readManifest } from '../../runtime/program/index.js';
import type { Manifest } from '../../runtime/program/manifest.js';
import { sha256 } from '../../runtime/program/artifacts.js';
import { readPlan } from '../../passes/planning/plan-file.js';
import { checkInputValues } from '../../passes/quantize/value-range.js';
import { numel } from '../../ir/types.js';
import type { ProgressFlags, ProgressSink } from '../cli-support.js';
import { ClassificationMetrics, SegmentationMetrics, predictions } from '../eval-metrics.js';
import { type EvalSourceOptions, type ModelShape, evalSource, isFolder, readImages, samplePicks } from '../eval-source.js';
import { listImageFolder } from '../calibration/image-folder.js';
import { checkNoCalibrationOverlap, planSampleDigests } from '../calibration/sample-digests.js';
import { encodeNpy } from '../npy.js';
import { imageFlagsFrom } from './calib-flags.js';
import { type EvalReport, measuredFields } from '../eval-report.js';
import { PredictionFile } from '../prediction-file.js';
import type { Deployment, RunSummary } from './run.js';
import { streamSecureInferences } from './run-stream.js';

/** Eval's options as a compiled program's evaluation reads them (the rest, flags of a plaintext
 * run, refused by name). */
export type SecureEvalOptions = EvalSourceOptions & ProgressFlags & Partial<Deployment> & { readonly passes?: string; readonly roundTimeout?: string; readonly predictions?: string };

/** What eval parsed of its flags before it found OUT. */
export interface SecureEvalFlags {
  readonly ignoreIndex: number;
  readonly labelsFormat: 'npy' | 'u8';
  readonly dataShape: number[] | undefined;
  readonly sample: number | undefined;
}

/** True when `path` is a folder mpcc compile wrote (it holds manifest.json). */
export function isCompiledFolder(path: string): boolean {
  return existsSync(join(path, 'manifest.json'));
}

/** Eval's flags that shape a model's plaintext run, which a compiled program has fixed. */
const PLAINTEXT_FLAGS: readonly [string, string][] = [
  ['plan', '--plan'], ['fixed', '--fixed'], ['runner', '--runner'], ['fracBits', '--frac-bits'], ['inputShape', '--input-shape'],
  ['batchSize', '--batch-size'], ['reconstruct', '--reconstruct'], ['ridge', '--ridge'], ['calib', '--calib'],
];

/** Labels of a program revealing class indices whose classes are not recorded are checked
 * against 16 bits (the measures then count the classes seen). */
const UNKNOWN_CLASSES = 1 << 16;

/** The program's input and first output as eval reads a model's: class scores [N, C] or score
 * maps [N, C, H, W], or class indices (`indices`: the client's ArgMax or --reveal argmax, [N] or
 * [N, 1], maps [N, H, W] or [N, 1, H, W]; classes: the recorded names' count, else UNKNOWN_CLASSES);
 * MPCC3009 for anything else. */
function programShape(m: Manifest, out: string): { shape: ModelShape; indices: boolean } {
  const input = m.input.shape;
  const o = m.outputs[0];
  if (input.length !== 4) throw diag('MPCC3009', [`${out}'s input '${m.input.name}' is [${input.join(',')}]; eval feeds N×C×H×W images`]);
  const batch = input[0];
  const image = input.slice(1);
  const fits = o.shape[0] === batch;
  if (o.post.some((p) => p.op === 'ArgMax' || p.op === 'Round')) {
    const classes = m.classes?.length ?? UNKNOWN_CLASSES;
    const map = o.shape.length === 4 && o.shape[1] === 1 ? o.shape.slice(2) : o.shape.length === 3 ? o.shape.slice(1) : null;
    if (fits && numel(o.shape) === batch) return { shape: { image, batch, kind: 'classification', classes, map: [], pixels: 1 }, indices: true };
    if (fits && map) return { shape: { image, batch, kind: 'segmentation', classes, map, pixels: map[0] * map[1] }, indices: true };
  } else {
    if (fits && o.shape.length === 2) return { shape: { image, batch, kind: 'classification', classes: o.shape[1], map: [], pixels: 1 }, indices: false };
    if (fits && o.shape.length === 4) return { shape: { image, batch, kind: 'segmentation', classes: o.shape[1], map: o.shape.slice(2), pixels: o.shape[2] * o.shape[3] }, indices: false };
  }
  throw diag('MPCC3009', [`${out}'s output '${o.name}' is [${o.shape.join(',')}]: neither class scores [N, C] nor a segmentation map [N, C, H, W] (nor their class indices)`]);
}

/** A revealed class index (an exact integer after the client's Round) as the class it names:
 * MPCC3009 for one outside 0..C−1. */
function revealedClass(v: number, classes: number, out: string): number {
  const k = Math.round(v);
  if (!(k >= 0 && k < classes)) throw diag('MPCC3009', [`${out} revealed class ${v}, not one of the ${classes} classes${classes === UNKNOWN_CLASSES ? '' : ' its compile recorded'}`]);
  return k;
}

/** Every evaluated image read and its labels checked before the parties start (the measures'
 * own checks, on the labels taken as predictions): a secure evaluation may take hours, and a bad
 * label map or image found at its end would waste them. Coded errors as the run would give. */
function checkBeforehand(evaluated: number, imageAt: (i: number) => number, perImage: number, per: number, source: ReturnType<typeof evalSource>, metrics: ClassificationMetrics | SegmentationMetrics, log: ProgressSink): void {
  log(`eval: reading the ${evaluated} image${evaluated === 1 ? '' : 's'} and labels once before the secure run`);
  const x = new Float32Array(perImage);
  for (let i = 0; i < evaluated; i++) {
    source.fill(imageAt(i), 1, x);
    const labels = source.labelsOf(imageAt(i), 1);
    // labels as their own predictions: the measures check each label, nothing else
    const own = Int32Array.from(labels, (v) => (Number.isInteger(v) && v >= 0 ? v : 0));
    if (metrics instanceof ClassificationMetrics) metrics.addClasses(own, labels, imageAt(i), 1);
    else metrics.addClasses(own.subarray(0, per), labels, imageAt(i), 1, per);
  }
}

/** The per-inference DReLUs of OUT/cost.json (null when it has none). */
function costDrelus(out: string): { drelus: number | null; baselineDrelus: number | null } {
  try {
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as { drelus?: unknown; drelusBefore?: unknown };
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return { drelus: num(cost.drelus), baselineDrelus: num(cost.drelusBefore) };
  } catch {
    return { drelus: null, baselineDrelus: null };
  }
}

/** OUT/plan.json's identity (the plan the program was compiled with), as a model eval's --plan. */
function compiledPlan(out: string): EvalReport['plan'] {
  const file = join(out, 'plan.json');
  if (!existsSync(file)) return null;
  const method = readPlan(file).source.method;
  return { sha256: sha256(readFileSync(file)), method: typeof method === 'string' ? method : null };
}

/** Evaluates compiled program `out` on the labelled images of `options` by secure inference: the
 * three parties on this machine, or with `--peers` this machine as the client (P0, `out` its
 * folder or OUT) of a deployment's serving parties. */
export async function runSecureEval(out: string, options: SecureEvalOptions, flags: SecureEvalFlags, log: ProgressSink): Promise<{ report: EvalReport; seconds: number }> {
  for (const [key, flag] of PLAINTEXT_FLAGS) {
    const v = (options as SecureEvalOptions & Record<string, unknown>)[key];
    if (v !== undefined && v !== false) throw diag('MPCC0004', [flag, v === true ? '' : String(v), `'${out}' is a compiled program: it runs as compiled (give the model file to evaluate it in plaintext)`]);
  }
  if (options.passes !== undefined && options.passes !== 'canonicalize') throw diag('MPCC0004', ['--passes', options.passes, `'${out}' is a compiled program: it runs as compiled`]);
  if (options.peers === undefined && !existsSync(join(out, 'party1'))) {
    throw diag('MPCC0004', ['--peers', '', `'${out}' is one party's folder: evaluate OUT, all three parties' folders, or give --peers of a deployment whose server and helper serve it`]);
  }
  const manifest = readManifest(out);
  const { shape: given, indices } = programShape(manifest, out);
  // a classifier revealing indices, its classes not recorded: as many as class folders, if any
  const shape = indices && given.kind === 'classification' && given.classes === UNKNOWN_CLASSES && isFolder(options.data)
    ? { ...given, classes: listImageFolder(options.data).classes.length }
    : given;
  const images = isFolder(options.data) ? undefined : readImages(options.data, flags.dataShape);
  // every image within the program's range before any party starts (a party would refuse it mid-run)
  if (images) checkInputValues(options.data, images.shape, images.data, manifest.frac);
  if (images === undefined && options.dataShape !== undefined) throw diag('MPCC0004', ['--data-shape', options.dataShape, `'${options.data}' is an image folder: its images are preprocessed to the model's input`]);
  // as eval MODEL --plan: none of the images the compiled plan was made from (OUT/plan.json's
  // source.calib; a party folder alone holds no plan) among the evaluated ones (MPCC0015)
  const planFile = join(out, 'plan.json');
  const calibDigests = existsSync(planFile) ? planSampleDigests(readPlan(planFile).source, planFile) : undefined;
  const checkOverlap = (data: Float32Array, batch?: { first: number }) => {
    if (calibDigests) checkNoCalibrationOverlap(data, numel(shape.image), options.data, calibDigests, planFile, batch);
  };
  const source = evalSource({
    options, shape, ignoreIndex: flags.ignoreIndex, labelsFormat: flags.labelsFormat, dataShape: flags.dataShape, images,
    flags: imageFlagsFrom(options as SecureEvalOptions & Record<string, unknown>), recorded: manifest.input.preprocessing, log, checkOverlap, sample: flags.sample,
  });
  const total = source.count;
  const picks = samplePicks(total, flags.sample, log);
  const evaluated = picks ? picks.length : total;

  // the program's own batch: N images an inference, the last one zero-padded
  const perImage = numel(shape.image);
  const per = shape.kind === 'classification' ? 1 : shape.pixels;
  const inferences = Math.ceil(evaluated / shape.batch);
  const batchOf = (k: number) => ({ first: k * shape.batch, count: Math.min(shape.batch, evaluated - k * shape.batch) });
  const imageAt = (i: number) => (picks ? picks[i] : i);
  const newMetrics = () => (shape.kind === 'classification' ? new ClassificationMetrics(shape.classes, source.labels) : new SegmentationMetrics(shape.classes, flags.ignoreIndex, source.labels));
  checkBeforehand(evaluated, imageAt, perImage, per, source, newMetrics(), log);
  const metrics = newMetrics();
  // opened now: a path it cannot write fails before the evaluation, not after it
  const record = options.predictions === undefined ? undefined : new PredictionFile(options.predictions, evaluated, shape.map, shape.classes);
  // revealed indices without recorded classes: as many classes as the labels and predictions show
  let seen = 1;
  const see = (v: ArrayLike<number>) => {
    for (let i = 0; i < v.length; i++) if (v[i] !== flags.ignoreIndex) seen = Math.max(seen, Math.round(v[i]) + 1);
  };
  log(`eval: ${evaluated} image${evaluated === 1 ? '' : 's'} in ${inferences} secure inference${inferences === 1 ? '' : 's'} of ${out}${options.peers ? ` with the deployment at ${options.peers}` : ''}`);
  const started = performance.now();
  // Each inference's images are made as the client needs them and measured as it reveals them
  // (run-stream.ts): a few inputs and one output at a time, however many images.
  const labelsOf = new Map<number, Int32Array>();
  // a line a second at most (and the last): images done, seconds, and the time left at the pace
  // since the first output (the one-time setup and the first offline phase come before it)
  let said = 0;
  let firstAt = 0;
  let firstDone = 0;
  const progress = (done: number) => {
    const now = performance.now();
    if (firstDone === 0) [firstAt, firstDone] = [now, done];
    if (done < evaluated && now - said < 1000) return;
    said = now;
    const s = (now - started) / 1000;
    const left = done > firstDone ? `, about ${Math.ceil(((now - firstAt) / 1000 / (done - firstDone)) * (evaluated - done))} s left` : '';
    log(`eval: ${done}/${evaluated} image${evaluated === 1 ? '' : 's'} by secure inference, ${s.toFixed(1)} s${done < evaluated ? left : ''}`);
  };
  const runs = await streamSecureInferences(
    out,
    inferences,
    (k, file) => {
      const { first, count } = batchOf(k);
      const x = new Float32Array(shape.batch * perImage);
      const labels = new Int32Array(count * per);
      for (let j = 0; j < count; j++) {
        source.fill(imageAt(first + j), 1, x.subarray(j * perImage));
        labels.set(Array.from(source.labelsOf(imageAt(first + j), 1)), j * per);
      }
      writeFileSync(file, encodeNpy(manifest.input.shape, x));
      labelsOf.set(k, labels);
    },
    (k, values) => {
      const { first, count } = batchOf(k);
      progress(first + count);
      const labels = labelsOf.get(k)!;
      labelsOf.delete(k);
      if (indices) {
        const classes = Int32Array.from({ length: count * shape.pixels }, (_, i) => revealedClass(values[i], shape.classes, out));
        if (shape.classes === UNKNOWN_CLASSES) {
          see(classes);
          see(labels);
        }
        if (metrics instanceof ClassificationMetrics) metrics.addClasses(classes, labels, first, count);
        else metrics.addClasses(classes, labels, first, count, shape.pixels);
        record?.add(classes);
      } else {
        if (metrics instanceof ClassificationMetrics) metrics.add(values, labels, first, count);
        else metrics.add(values, labels, first, count, shape.pixels);
        record?.add(predictions(values, count, shape.classes, shape.pixels));
      }
    },
    { deployment: options.peers !== undefined ? { peers: options.peers, key: options.key, peerKeys: options.peerKeys, insecure: options.insecure } : undefined, roundTimeout: options.roundTimeout },
    log,
  ).catch((err: unknown) => {
    record?.abort();
    throw err;
  });
  const seconds = (performance.now() - started) / 1000;
  const classes = shape.classes !== UNKNOWN_CLASSES ? shape.classes : seen;
  record?.finish(classes);
  const mean = (f: (s: RunSummary) => number) => runs.reduce((a, r) => a + f(r), 0) / runs.length;
  const measured = metrics instanceof SegmentationMetrics ? metrics.result(classes) : metrics.result();
  const cost = costDrelus(out);
  const report: EvalReport = {
    // from a class index only the top-1 is known
    ...measuredFields(measured, { of: picks ? total : undefined, reduceZeroLabel: options.reduceZeroLabel, noTop5: indices }),
    drelus: cost.drelus === null ? null : cost.drelus / shape.batch,
    baselineDrelus: cost.baselineDrelus === null ? null : cost.baselineDrelus / shape.batch,
    runner: 'secure',
    // a client's own folder (party0/) does not record the model's hash
    model: { sha256: (manifest as Partial<Manifest>).modelHash ?? null },
    plan: compiledPlan(out),
    secure: {
      out,
      ...(options.peers !== undefined ? { peers: options.peers } : {}),
      inferences: runs.length,
      online: { seconds: mean((s) => s.online.seconds), bytes: mean((s) => s.bytes.online), rounds: runs[0].online.rounds },
      offline: { seconds: mean((s) => s.offline.seconds), bytes: mean((s) => s.bytes.preprocessing) },
      oneTimeBytes: runs[0].bytes.oneTime,
      architecture: manifest.architecture,
    },
  };
  return { report, seconds };
}
