// Calibration data for the block-ReLU planner (`mpcc plan`, `mpcc compile --budget`): the samples
// the distortion is measured on, from an .npy array (N×C×H×W float32, float64 converted, used as
// it is), from a folder of such arrays (each C×H×W or N×C×H×W, stacked in name order, as `mpcc run
// --input` files are), or from a folder of PNG/JPEG images (decoded by compiler/calibration/images.ts,
// preprocessed as torchvision would by compiler/calibration/preprocess.ts). The result records
// where the samples came from (files and hashes, per-sample digests), which the planner writes
// into the plan's `source.calib` and `mpcc eval` checks against its evaluation images.
//
// A folder: the files directly in it whose extension is .png, .jpg or .jpeg, or .npy (any case),
// sorted by name (code points); other files and subfolders are ignored, and a folder holding both
// images and arrays is refused (MPCC0020: images are preprocessed, arrays used as they are). A
// folder with neither but subfolders is a dataset's class folders (torchvision's ImageFolder
// layout, compiler/calibration/image-folder.ts): `--calib-samples N` takes N of its images spread
// evenly through it, so every class keeps its share. Otherwise `--calib-samples N` takes the
// first N samples. Asking for more than there are is an error (MPCC0014).
import { readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { diag } from '../../runtime/diagnostics.js';
import { decodeNpy, readFileBytes } from '../npy.js';
import { decodeImage, imageKind } from './images.js';
import { byName, listImageFolder } from './image-folder.js';
import { PRESETS, type Preprocessing, type SizeSpec, preprocess } from './preprocess.js';
import { bytesSha256, float32Sha256, sampleDigests } from './sample-digests.js';

/** Calibration samples, N×C×H×W float32, and where they came from. */
export interface CalibrationSet {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
  readonly source: CalibrationSource;
}

/** The record of a calibration set a plan keeps (plan.source.calib). */
export interface CalibrationSource {
  readonly kind: 'npy' | 'images';
  /** The --calib path as given. */
  readonly path: string;
  /** sha256 of the float32 samples as used (little-endian bytes, N×C×H×W). */
  readonly sha256: string;
  readonly samples: number;
  /** The files used: the .npy, or each array or image of a folder (sorted by name), with the
   * sha256 of its bytes. */
  readonly files: readonly { name: string; sha256: string }[];
  /** The transforms applied to images (absent for .npy). */
  readonly preprocessing?: Record<string, unknown>;
  /** From class folders (image-folder.ts): the images in them, `samples` of which were taken
   * spread evenly through them in ImageFolder's order (absent otherwise). */
  readonly of?: number;
  /** Per sample, the first 16 hex digits of the sha256 of its float32 bytes. */
  readonly sampleDigests: readonly string[];
}

/** The image flags (compiler/commands/calib-flags.ts parses them): how images are preprocessed. */
export interface ImageFlags {
  /** One number: the shorter side (aspect kept); [h, w]: exact. */
  readonly resize?: number | [number, number];
  /** One number: a square; [h, w]. */
  readonly crop?: number | [number, number];
  readonly mean?: number[];
  readonly std?: number[];
  /** A name of PRESETS; explicit options override its values. */
  readonly preset?: string;
}

/** What the calibration flags say (compiler/commands/calib-flags.ts parses them). */
export interface CalibrationOptions extends ImageFlags {
  /** An .npy file, or a folder of .npy arrays, of PNG/JPEG images or of class folders of them. */
  readonly calib: string;
  /** Use the first N samples. */
  readonly calibSamples?: number;
}

/** Loads the calibration samples of `opts` for a model whose input is `inputShape`
 * ([N, C, H, W] or [C, H, W]); `progress` hears each image decoded. Coded errors name the file. */
export function loadCalibration(opts: CalibrationOptions, inputShape: readonly number[], progress?: (done: number, total: number) => void): CalibrationSet {
  if (inputShape.length !== 3 && inputShape.length !== 4) {
    throw diag('MPCC0010', [opts.calib, '?', inputShape.join(','), 'the model does not take N×C×H×W images']);
  }
  const [c, h, w] = inputShape.slice(-3);
  let isDir: boolean;
  try {
    isDir = statSync(opts.calib).isDirectory();
  } catch (err) {
    throw diag('MPCC0002', [opts.calib, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
  if (isDir) {
    const listed = folderFiles(opts.calib);
    if (listed.arrays.length > 0 && listed.images.length > 0) throw diag('MPCC0020', [opts.calib, listed.images.length, listed.arrays.length]);
    if (listed.arrays.length > 0) return loadNpyFolder(opts, listed.arrays, c, h, w, progress);
    if (listed.images.length === 0 && listed.folders > 0) return loadClassFolders(opts, c, h, w, progress);
    return loadImages(opts, listed, c, h, w, progress);
  }
  if (!isNpy(opts.calib)) throw diag('MPCC0016', [opts.calib]);
  return loadNpy(opts, c, h, w);
}

const isNpy = (name: string) => name.toLowerCase().endsWith('.npy');

/** The number of samples to use of `available` (MPCC0014 when --calib-samples asks for more). */
function sampleCount(opts: CalibrationOptions, available: number): number {
  const n = opts.calibSamples ?? available;
  if (n > available) throw diag('MPCC0014', [n, opts.calib, available]);
  return n;
}

/** The set's source record and the set. */
function finish(opts: CalibrationOptions, kind: 'npy' | 'images', data: Float32Array, shape: [number, number, number, number], files: { name: string; sha256: string }[], preprocessing?: Record<string, unknown>, of?: number): CalibrationSet {
  const per = shape[1] * shape[2] * shape[3];
  const source: CalibrationSource = {
    kind, path: opts.calib, sha256: float32Sha256(data), samples: shape[0], files,
    ...(preprocessing ? { preprocessing } : {}),
    ...(of !== undefined ? { of } : {}),
    sampleDigests: sampleDigests(data, per),
  };
  return { data, shape, source };
}

/** Image transforms do not apply to arrays, used as they are (MPCC0004 naming the flag). */
function refuseTransforms(opts: CalibrationOptions, what: string): void {
  for (const [flag, value] of [['--resize', opts.resize], ['--crop', opts.crop], ['--mean', opts.mean], ['--std', opts.std], ['--preset', opts.preset]] as const) {
    if (value !== undefined && !(flag === '--preset' && value === 'none')) {
      throw diag('MPCC0004', [flag, String(value), `it applies to a folder of images; '${opts.calib}' is ${what}, used as it is`]);
    }
  }
}

/** The samples of .npy file `path` for a C×H×W model input: N×C×H×W, or C×H×W (one sample) when
 * `single` allows it; MPCC0010 naming the file otherwise. */
function npySamples(path: string, c: number, h: number, w: number, single: boolean): { data: Float32Array; count: number; bytes: Uint8Array } {
  const bytes = readFileBytes(path);
  const npy = decodeNpy(bytes, path);
  const s = single && npy.shape.length === 3 ? [1, ...npy.shape] : npy.shape;
  if (s.length !== 4 || s[1] !== c || s[2] !== h || s[3] !== w) {
    const why = s.length !== 4 ? `expected ${single ? 'C×H×W or ' : ''}N×C×H×W samples` : s[1] !== c ? `${s[1]} channels, the model takes ${c}` : `${s[2]}×${s[3]} samples, the model takes ${h}×${w}`;
    throw diag('MPCC0010', [path, npy.shape.join(','), `N,${c},${h},${w}`, why]);
  }
  return { data: npy.data, count: s[0], bytes };
}

/** MPCC0017 at the first non-finite value of `data` (samples of `per` values, the first
 * numbered `first`), naming `path`. */
function checkFinite(data: Float32Array, per: number, path: string, first = 0): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw diag('MPCC0017', [path, String(data[i]), first + Math.floor(i / per)]);
  }
}

function loadNpy(opts: CalibrationOptions, c: number, h: number, w: number): CalibrationSet {
  refuseTransforms(opts, 'an .npy array');
  const { data: all, count, bytes } = npySamples(opts.calib, c, h, w, false);
  const n = sampleCount(opts, count);
  const per = c * h * w;
  const data = all.slice(0, n * per);
  checkFinite(data, per, opts.calib);
  return finish(opts, 'npy', data, [n, c, h, w], [{ name: basename(opts.calib), sha256: bytesSha256(bytes) }]);
}

/** A folder of .npy arrays (`names`, sorted): each C×H×W (one sample) or N×C×H×W, stacked in name
 * order; files are read only until --calib-samples are reached. Sample numbers in errors count
 * from the folder's first sample. */
function loadNpyFolder(opts: CalibrationOptions, names: readonly string[], c: number, h: number, w: number, progress?: (done: number, total: number) => void): CalibrationSet {
  refuseTransforms(opts, 'a folder of .npy arrays');
  const per = c * h * w;
  const want = opts.calibSamples ?? Infinity;
  const parts: Float32Array[] = [];
  const files: { name: string; sha256: string }[] = [];
  let n = 0;
  for (let i = 0; i < names.length && n < want; i++) {
    const path = join(opts.calib, names[i]);
    const got = npySamples(path, c, h, w, true);
    const take = Math.min(got.count, want - n);
    const data = got.data.subarray(0, take * per);
    checkFinite(data, per, path, n);
    parts.push(data);
    files.push({ name: names[i], sha256: bytesSha256(got.bytes) });
    n += take;
    progress?.(i + 1, names.length);
  }
  sampleCount(opts, n);
  const data = new Float32Array(n * per);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return finish(opts, 'npy', data, [n, c, h, w], files);
}

/** The preprocessing of `opts`: the preset's values (`base`'s without --preset), each overridden
 * by its explicit option. */
export function resolvePreprocessing(opts: ImageFlags, base: Preprocessing = PRESETS.none): Preprocessing {
  const preset = opts.preset === undefined ? base : PRESETS[opts.preset];
  if (!preset) throw diag('MPCC0004', ['--preset', opts.preset!, `expected one of ${Object.keys(PRESETS).join(', ')}`]);
  return {
    resize: opts.resize ?? preset.resize,
    crop: opts.crop ?? preset.crop,
    mean: opts.mean ?? preset.mean,
    std: opts.std ?? preset.std,
  };
}

/** MPCC0011's note on a folder's `others` skipped entries. */
function ignoredNote(others: number): string {
  return others === 0 ? '' : ` (${others} other entr${others > 1 ? 'ies' : 'y'} ignored: only .png, .jpg, .jpeg and .npy files directly in it, or class folders of images, count)`;
}

/** The image and .npy files of `dir`, each sorted by name, and how many other entries were
 * skipped (`folders` of them subfolders). */
function folderFiles(dir: string): { images: string[]; arrays: string[]; others: number; folders: number } {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw diag('MPCC0002', [dir, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
  const images: string[] = [], arrays: string[] = [];
  let others = 0, folders = 0;
  for (const e of entries) {
    const file = e.isFile() || (e.isSymbolicLink() && statIsFile(join(dir, e.name)));
    if (file && imageKind(e.name)) images.push(e.name);
    else if (file && isNpy(e.name)) arrays.push(e.name);
    else {
      others++;
      if (!file && (e.isDirectory() || e.isSymbolicLink())) folders++;
    }
  }
  return { images: images.sort(byName), arrays: arrays.sort(byName), others, folders };
}

function statIsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const sizeText = (s: SizeSpec | undefined) => (s === undefined ? undefined : typeof s === 'number' ? s : [s[0], s[1]]);

/** Decodes PNG/JPEG file `path` and preprocesses it for a C×H×W input into `out` at `at`
 * (MPCC0012 when corrupt, MPCC0013 when it does not come out H×W); returns the sha256 of its bytes
 * and the image's own size. */
export function loadImage(path: string, c: 1 | 3, h: number, w: number, p: Preprocessing, out: Float32Array, at: number): { sha256: string; height: number; width: number } {
  const bytes = readFileBytes(path);
  const image = decodeImage(bytes, path, imageKind(path)!);
  const step = preprocess(image, c, p);
  if (step.size[0] !== h || step.size[1] !== w) {
    const got = p.resize === undefined && p.crop === undefined ? `${image.height}×${image.width}` : `${step.size[0]}×${step.size[1]} after --resize/--crop`;
    const hint = p.resize === undefined && p.crop === undefined ? 'give --resize and --crop (or --preset), or images of that size' : `set --crop ${h}x${w}`;
    throw diag('MPCC0013', [path, got, `${h}×${w}`, hint]);
  }
  step.run(out, at);
  return { sha256: bytesSha256(bytes), height: image.height, width: image.width };
}

/** The preprocessing of the image flags `flags` for images from `source` feeding a model of `c`
 * channels, over `base` (a compile's record: an explicit --preset replaces it, explicit transforms
 * override its): MPCC0019 unless c is 1 or 3, MPCC0004 for a --mean or --std of another length. */
export function imagePreprocessing(flags: ImageFlags, c: number, source: string, base?: Preprocessing): { c: 1 | 3; p: Preprocessing } {
  if (c !== 1 && c !== 3) throw diag('MPCC0019', [c, source]);
  const p = resolvePreprocessing(flags, base);
  for (const [flag, values] of [['--mean', p.mean], ['--std', p.std]] as const) {
    if (values !== undefined && values.length !== 1 && values.length !== c) {
      throw diag('MPCC0004', [flag, values.join(','), `the model takes ${c} channel${c > 1 ? 's' : ''}: give ${c > 1 ? `1 or ${c} values` : 'one value'}`]);
    }
  }
  return { c, p };
}

function loadImages(opts: CalibrationOptions, listed: { images: string[]; others: number }, channels: number, h: number, w: number, progress?: (done: number, total: number) => void): CalibrationSet {
  const { c, p } = imagePreprocessing(opts, channels, opts.calib);
  const { images: names, others } = listed;
  if (names.length === 0) throw diag('MPCC0011', [opts.calib, ignoredNote(others)]);
  const n = sampleCount(opts, names.length);
  const per = c * h * w;
  const data = new Float32Array(n * per);
  const files: { name: string; sha256: string }[] = [];
  for (let i = 0; i < n; i++) {
    files.push({ name: names[i], sha256: loadImage(join(opts.calib, names[i]), c, h, w, p, data, i * per).sha256 });
    progress?.(i + 1, n);
  }
  return finish(opts, 'images', data, [n, c, h, w], files, preprocessingRecord(opts, c, p));
}

/** The record of the transforms images went through (CalibrationSource.preprocessing). */
function preprocessingRecord(opts: CalibrationOptions, c: 1 | 3, p: Preprocessing): Record<string, unknown> {
  return {
    ...(opts.preset !== undefined ? { preset: opts.preset } : {}),
    channels: c === 1 ? 'L' : 'RGB',
    resize: sizeText(p.resize) ?? null,
    resample: 'bilinear, antialiased (PIL)',
    crop: sizeText(p.crop) ?? null,
    mean: p.mean ?? null,
    std: p.std ?? null,
  };
}

/** A folder of class folders (a dataset as torchvision's ImageFolder lays it out, listed by
 * image-folder.ts): `--calib-samples N` images spread evenly through it in ImageFolder's order,
 * image ⌊i·total/N⌋ for i < N, so every class keeps its share (all without the flag). */
function loadClassFolders(opts: CalibrationOptions, channels: number, h: number, w: number, progress?: (done: number, total: number) => void): CalibrationSet {
  const { c, p } = imagePreprocessing(opts, channels, opts.calib);
  const tree = listImageFolder(opts.calib);
  const total = tree.files.length;
  const n = sampleCount(opts, total);
  const per = c * h * w;
  const data = new Float32Array(n * per);
  const files: { name: string; sha256: string }[] = [];
  for (let i = 0; i < n; i++) {
    const path = tree.files[Math.floor((i * total) / n)];
    files.push({ name: relative(opts.calib, path), sha256: loadImage(path, c, h, w, p, data, i * per).sha256 });
    progress?.(i + 1, n);
  }
  return finish(opts, 'images', data, [n, c, h, w], files, preprocessingRecord(opts, c, p), total);
}
