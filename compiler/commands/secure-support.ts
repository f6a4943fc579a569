// What `mpcc run` and `mpcc party` share: checking the client's input against the manifest,
// a party's report, its progress lines, and the output summary.
import { diag } from '../../runtime/diagnostics.js';
import type { ManifestBase, ProgramProgress, RunResult } from '../../runtime/program/index.js';
import type { InputPreprocessing } from '../../runtime/program/manifest.js';
import type { PostOp } from '../../runtime/program/program.js';
import { describePreprocessing } from '../calibration/input-record.js';
import { checkClassCount, nameOf, readClassNames } from '../class-names.js';
import type { ProgressSink } from '../cli-support.js';
import { readNpy } from '../npy.js';
import { checkInputValues } from '../../passes/quantize/value-range.js';
import { type ImageFlags, imagePreprocessing, loadImage } from '../calibration/load.js';
import { imageKind } from '../calibration/images.js';
import { refuseImageFlags } from './calib-flags.js';
import { sameShape } from '../../ir/types.js';

/** What one party reports after a run (P0 adds the outputs). */
export interface PartyReport {
  party: number;
  /** Seconds of the inference, offline + online (one-time setup excluded), of its online
   * phase (input given → output revealed), of its offline phase and of the one-time setup. */
  seconds: number;
  onlineSeconds: number;
  offlineSeconds: number;
  setupSeconds: number;
  /** CPU seconds of the online and offline phases (runtime/program/run.ts RunResult.cpuSeconds). */
  onlineCpuSeconds: number;
  offlineCpuSeconds: number;
  /** Online rounds, offline rounds (the closing exchange) and one-time rounds. */
  rounds: number;
  offlineRounds: number;
  oneTimeRounds: number;
  sent: { online: number; preprocessing: number; oneTime: number };
  outputs?: Record<string, number[]>;
  /** A serving client's (`mpcc party --serve` as party 0) inference: its input file and where
   * its output was written (null: printed, or in `outputs`). */
  input?: string;
  output?: string | null;
}

/** The client's input as the manifest wants it (an .npy of its shape, or C×H×W for batch 1;
 * MPCC3002 another shape, MPCC3003 dtype, MPCC3010
 * a NaN, ±Inf or a value beyond the fixed-point range): checked before any party connects. A
 * PNG/JPEG file is one image, preprocessed as calibration images are (compiler/calibration/load.ts
 * loadImage): as the manifest records the compile's calibration images were (input.preprocessing),
 * the image flags `flags` overriding it (an explicit --preset replaces it); the flags are refused
 * with an .npy (MPCC0004). */
export function readClientInput(path: string, m: ManifestBase, flags: ImageFlags = {}): Float32Array {
  if (imageKind(path)) {
    const x = imageInput(path, m.input.shape, flags, m.input.preprocessing);
    checkInputValues(path, m.input.shape, x, m.frac);
    return x;
  }
  refuseImageFlags(flags, path);
  const x = readNpy(path);
  if (!fitsInput(x.shape, m.input.shape)) throw diag('MPCC3002', [m.input.name, x.shape.join(','), m.input.shape.join(','), path]);
  checkInputValues(path, m.input.shape, x.data, m.frac);
  return x.data;
}

/** Whether an .npy of `shape` is an input of shape `want`: that shape, or for a model of batch 1
 * one C×H×W image (as a calibration sample is written); `mpcc run`, `party` and `infer`. */
export function fitsInput(shape: readonly number[], want: readonly number[]): boolean {
  return sameShape(shape, want) || (want[0] === 1 && sameShape(shape, want.slice(1)));
}

/** The progress line saying how image input `path` is preprocessed when the manifest's record
 * applies (an image, the record present, and no --preset replacing it), else undefined. */
export function recordedInputNote(path: string, m: ManifestBase, flags: ImageFlags): string | undefined {
  const rec = m.input.preprocessing;
  if (!imageKind(path) || !rec || flags.preset !== undefined) return undefined;
  const overridden = (['resize', 'crop', 'mean', 'std'] as const).filter((k) => flags[k] !== undefined);
  return `input ${path}: preprocessed as the compile's calibration images were (${describePreprocessing(rec)})${overridden.length ? `, but ${overridden.map((k) => `--${k}`).join(', ')} as given` : ''}`;
}

/** Image file `path` (PNG/JPEG) as a model's one 1×C×H×W input of `shape`, preprocessed by the
 * image flags `flags` over `recorded` (the manifest's input.preprocessing); MPCC0004 for a model
 * that takes another input; MPCC0012, MPCC0013 from loadImage. Also `mpcc infer --input IMG`. */
export function imageInput(path: string, shape: readonly number[], flags: ImageFlags, recorded?: InputPreprocessing): Float32Array {
  if (shape.length !== 4 || shape[0] !== 1) throw diag('MPCC0004', ['--input', path, `an image is one 1×C×H×W input, but the model takes [${shape.join(',')}]: give an .npy`]);
  const { c, p } = imagePreprocessing(flags, shape[1], path, recorded);
  const x = new Float32Array(shape[1] * shape[2] * shape[3]);
  loadImage(path, c, shape[2], shape[3], p, x, 0);
  return x;
}

/** A party's report from its run (P0's with its outputs unless `withOutputs` is false). */
export function partyReport(r: RunResult, withOutputs = true): PartyReport {
  const c = r.counters.sent;
  const rep: PartyReport = {
    party: r.party,
    seconds: r.seconds.offline + r.seconds.online,
    onlineSeconds: r.seconds.online,
    offlineSeconds: r.seconds.offline,
    setupSeconds: r.seconds.setup,
    onlineCpuSeconds: r.cpuSeconds.online,
    offlineCpuSeconds: r.cpuSeconds.offline,
    rounds: r.rounds,
    offlineRounds: r.offlineRounds,
    oneTimeRounds: r.oneTimeRounds,
    sent: { online: c.online, preprocessing: c.preprocessing, oneTime: c.oneTime },
  };
  if (r.party === 0 && withOutputs) rep.outputs = Object.fromEntries([...r.outputs].map(([k, v]) => [k, Array.from(v)]));
  return rep;
}

/** Top classes of a [1, C] output, one line each, with their names when given; of class indices
 * (whose `post` ends in Round, reveal-argmax's, or in the client's ArgMax), the class, or the most
 * frequent classes of a map. */
export function topClasses(name: string, v: readonly number[], post: readonly PostOp[] = [], names?: readonly string[], k = 5): string[] {
  const last = post[post.length - 1]?.op;
  if (last === 'Round' || last === 'ArgMax') {
    if (v.length === 1) return [`${name}: class ${v[0]}${nameOf(names, v[0])}`];
    const counts = new Map<number, number>();
    for (const c of v) counts.set(c, (counts.get(c) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
    return [`${name}: ${v.length} class indices (a map)`, ...top.map(([c, n]) => `  class ${c}${nameOf(names, c)}: ${((100 * n) / v.length).toFixed(1)}% of the pixels`)];
  }
  const order = v.map((_, i) => i).sort((a, b) => v[b] - v[a] || a - b);
  return [`${name}: ${v.length} values`, ...order.slice(0, Math.min(k, v.length)).map((c, r) => `  top-${r + 1}: class ${c}${nameOf(names, c)}  ${v[c].toPrecision(5)}`)];
}

/** How outputs print: each one's client ops (class indices print as classes) and the first
 * output's class names. */
export interface OutputPrinting {
  readonly posts?: Readonly<Record<string, readonly PostOp[]>>;
  readonly names?: readonly string[];
}

/** The printing of manifest `m`'s outputs, with --classes `file` (checked) or the compile's names. */
export function outputPrinting(m: ManifestBase, file: string | undefined): OutputPrinting {
  return { posts: Object.fromEntries(m.outputs.map((o) => [o.name, o.post])), names: runClassNames(file, m) };
}

/** The lines printed for a run's outputs: top classes (names on the first output's). */
export function outputLines(outputs: Record<string, number[]>, print: OutputPrinting): string[] {
  return Object.entries(outputs).flatMap(([k, v], i) => topClasses(k, v, print.posts?.[k], i === 0 ? print.names : undefined));
}

/** The class names printed for a run of manifest `m`: --classes `file` (MPCC0004 unless one per
 * class: the manifest's own names' count, or the first output's classes when it holds scores), or
 * the names the compile recorded. */
export function runClassNames(file: string | undefined, m: ManifestBase): readonly string[] | undefined {
  if (file === undefined) return m.classes;
  const names = readClassNames(file);
  const out = m.outputs[0];
  const last = out.post[out.post.length - 1]?.op;
  if (m.classes) checkClassCount(names, file, m.classes.length, out.name);
  else if (last !== 'Round' && last !== 'ArgMax' && out.shape.length >= 2) checkClassCount(names, file, out.shape[1], out.name);
  return names;
}

/** A program run's progress as lines to `log` for party `id`: at most one every 500 ms, and
 * the last step of each phase. */
export function partyProgress(id: number, log: ProgressSink): (p: ProgramProgress) => void {
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < 500 && p.done !== p.total) return;
    last = now;
    log(`party ${id}: ${p.phase} ${p.done}/${p.total} steps, round ${p.round}`);
  };
}
