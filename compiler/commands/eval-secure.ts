// `mpcc eval OUT --data ... [--labels ...]`: the accuracy of a compiled program measured by the
// secure protocol itself, the three parties running every evaluated image as `mpcc run --inputs`
// does (three processes over loopback TCP, one server session, the one-time setup once). The
// labelled images come from the same sources as a model's evaluation (compiler/eval-source.ts),
// images preprocessed by the compile's record (OUT/manifest.json input.preprocessing) unless
// image flags override it; the measures are eval's own (compiler/eval-metrics.ts) on the scores
// the client gets. The images of one inference are written as .npy files to a private temporary
// folder, removed after the run. A program that reveals class indices (`--reveal argmax`, a
// trailing ArgMax) is refused: the measures need scores. Flags that shape a model's plaintext
// run (--plan, --fixed, --runner, --frac-bits, --passes, --input-shape, --batch-size, --reconstruct)
// are refused too: OUT is what runs.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diag } from '../../runtime/diagnostics.js';
import { readManifest } from '../../runtime/program/index.js';
import type { Manifest } from '../../runtime/program/manifest.js';
import { sha256 } from '../../runtime/program/artifacts.js';
import { readPlan } from '../../passes/planning/plan-file.js';
import { numel } from '../../ir/types.js';
import type { ProgressFlags, ProgressSink } from '../cli-support.js';
import { ClassificationMetrics, SegmentationMetrics } from '../eval-metrics.js';
import { type EvalSourceOptions, type ModelShape, evalSource, isFolder, readImages } from '../eval-source.js';
import { encodeNpy } from '../npy.js';
import { imageFlagsFrom } from './calib-flags.js';
import type { EvalReport } from '../eval-report.js';
import { runSecureInputs } from './run.js';

/** Eval's options as a compiled program's evaluation reads them (the rest, flags of a plaintext
 * run, refused by name). */
export type SecureEvalOptions = EvalSourceOptions & ProgressFlags & { readonly passes?: string; readonly roundTimeout?: string };

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

/** The program's input and first output as eval reads a model's (MPCC3009 for a program whose
 * first output is not class scores or score maps). */
function programShape(m: Manifest, out: string): ModelShape {
  const input = m.input.shape;
  const o = m.outputs[0];
  if (input.length !== 4) throw diag('MPCC3009', [`${out}'s input '${m.input.name}' is [${input.join(',')}]; eval feeds N×C×H×W images`]);
  if (o.post.some((p) => p.op === 'ArgMax' || p.op === 'Round')) {
    throw diag('MPCC0004', ['<model>', out, `its output '${o.name}' is class indices (the client's ArgMax, or --reveal argmax): eval measures scores, so compile the model again without them to measure it securely`]);
  }
  const batch = input[0];
  if (o.shape.length === 2 && o.shape[0] === batch) return { image: input.slice(1), batch, kind: 'classification', classes: o.shape[1], map: [], pixels: 1 };
  if (o.shape.length === 4 && o.shape[0] === batch) return { image: input.slice(1), batch, kind: 'segmentation', classes: o.shape[1], map: o.shape.slice(2), pixels: o.shape[2] * o.shape[3] };
  throw diag('MPCC3009', [`${out}'s output '${o.name}' is [${o.shape.join(',')}]: neither class scores [N, C] nor a segmentation map [N, C, H, W]`]);
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

/** Evaluates compiled program `out` on the labelled images of `options` by secure inference. */
export async function runSecureEval(out: string, options: SecureEvalOptions, flags: SecureEvalFlags, log: ProgressSink): Promise<{ report: EvalReport; seconds: number }> {
  for (const [key, flag] of PLAINTEXT_FLAGS) {
    const v = (options as SecureEvalOptions & Record<string, unknown>)[key];
    if (v !== undefined && v !== false) throw diag('MPCC0004', [flag, String(v), `'${out}' is a compiled program: it runs as compiled (give the model file to evaluate it in plaintext)`]);
  }
  if (options.passes !== undefined && options.passes !== 'canonicalize') throw diag('MPCC0004', ['--passes', options.passes, `'${out}' is a compiled program: it runs as compiled`]);
  const manifest = readManifest(out);
  const shape = programShape(manifest, out);
  if (options.reduceZeroLabel && shape.kind === 'classification') throw diag('MPCC0004', ['--reduce-zero-label', '', 'the program classifies: the flag shifts segmentation label maps (ADE20K\'s 0 = other)']);
  const images = isFolder(options.data) ? undefined : readImages(options.data, flags.dataShape);
  if (images === undefined && options.dataShape !== undefined) throw diag('MPCC0004', ['--data-shape', options.dataShape, `'${options.data}' is an image folder: its images are preprocessed to the model's input`]);
  const source = evalSource({
    options, shape, ignoreIndex: flags.ignoreIndex, labelsFormat: flags.labelsFormat, dataShape: flags.dataShape, images,
    flags: imageFlagsFrom(options as SecureEvalOptions & Record<string, unknown>), recorded: manifest.input.preprocessing, log, checkOverlap: () => {},
  });
  const total = source.count;
  const sample = flags.sample;
  const picks = sample === undefined || sample >= total ? null : Int32Array.from({ length: sample }, (_, i) => Math.floor((i * total) / sample));
  const evaluated = picks ? picks.length : total;
  if (picks) log(`eval: ${evaluated} of the ${total} images (--sample)`);
  const metrics = shape.kind === 'classification' ? new ClassificationMetrics(shape.classes, source.labels) : new SegmentationMetrics(shape.classes, flags.ignoreIndex, source.labels);

  // the program's own batch: N images an inference, the last one zero-padded
  const perImage = numel(shape.image);
  const per = shape.kind === 'classification' ? 1 : shape.pixels;
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-eval-'));
  try {
    const files: string[] = [];
    const batches: { first: number; count: number; labels: Int32Array }[] = [];
    for (let first = 0; first < evaluated; first += shape.batch) {
      const count = Math.min(shape.batch, evaluated - first);
      const x = new Float32Array(shape.batch * perImage);
      const labels = new Int32Array(count * per);
      for (let j = 0; j < count; j++) {
        const at = picks ? picks[first + j] : first + j;
        source.fill(at, 1, x.subarray(j * perImage));
        labels.set(Array.from(source.labelsOf(at, 1)), j * per);
      }
      const file = join(dir, `${files.length}.npy`);
      writeFileSync(file, encodeNpy(manifest.input.shape, x));
      files.push(file);
      batches.push({ first, count, labels });
    }
    log(`eval: ${evaluated} images in ${files.length} secure inference(s) of ${out}`);
    const started = performance.now();
    const runs = await runSecureInputs(out, { inputs: files, roundTimeout: options.roundTimeout, quiet: options.quiet, progress: options.progress }, log);
    const seconds = (performance.now() - started) / 1000;
    const name = manifest.outputs[0].name;
    runs.forEach((r, i) => {
      const { first, count, labels } = batches[i];
      const scores = r.outputs[name];
      if (shape.kind === 'classification') (metrics as ClassificationMetrics).add(scores, labels, first, count);
      else (metrics as SegmentationMetrics).add(scores, labels, first, count, shape.pixels);
    });
    const mean = (f: (s: (typeof runs)[number]['summary']) => number) => runs.reduce((a, r) => a + f(r.summary), 0) / runs.length;
    const measured = metrics.result();
    const cost = costDrelus(out);
    const report: EvalReport = {
      top1: 'top1' in measured ? measured.top1 : null,
      top5: 'top5' in measured ? measured.top5 : null,
      miou: 'miou' in measured ? measured.miou : null,
      pixelAcc: 'pixelAcc' in measured ? measured.pixelAcc : null,
      iou: 'iou' in measured ? measured.iou : null,
      n: measured.n,
      ...(picks ? { of: total } : {}),
      ...(options.reduceZeroLabel ? { reduceZeroLabel: true as const } : {}),
      drelus: cost.drelus === null ? null : cost.drelus / shape.batch,
      baselineDrelus: cost.baselineDrelus === null ? null : cost.baselineDrelus / shape.batch,
      runner: 'secure',
      model: { sha256: manifest.modelHash },
      plan: compiledPlan(out),
      secure: {
        out,
        inferences: runs.length,
        online: { seconds: mean((s) => s.online.seconds), bytes: mean((s) => s.bytes.online), rounds: runs[0].summary.online.rounds },
        offline: { seconds: mean((s) => s.offline.seconds), bytes: mean((s) => s.bytes.preprocessing) },
        oneTimeBytes: runs[0].summary.bytes.oneTime,
        architecture: manifest.architecture,
      },
    };
    return { report, seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
