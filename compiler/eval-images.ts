// `mpcc eval --data DIR`: labelled images laid out as torchvision's ImageFolder reads them. Each
// folder directly in DIR is a class; its label is the folder's index among them sorted by name
// (code points, as Python sorts). A class's images are its PNG and JPEG files at any depth, in
// the order ImageFolder lists them: folders by path, files by name within each. Files directly
// in DIR and files of other kinds are ignored, but an image ImageFolder would read and mpcc cannot
// decode (.bmp, .webp, …) is refused (MPCC3012), as a folder with no image is (MPCC3013), so the
// set evaluated is ImageFolder's. Unlike ImageFolder, a class folder may be empty: a subset of a
// dataset keeps its labels by keeping every class's folder. Images are decoded and preprocessed
// batch by batch (compiler/calibration/load.ts loadImage, the calibration images' pipeline), so a
// large set never sits in memory at once.
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { diag } from '../runtime/diagnostics.js';
import { type ImageFlags, imagePreprocessing, loadImage } from './calibration/load.js';
import { imageKind } from './calibration/images.js';
import type { Preprocessing } from './calibration/preprocess.js';

/** The extensions torchvision's ImageFolder reads (IMG_EXTENSIONS), compared in lower case. */
const IMAGEFOLDER_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

/** The images of an image folder and their labels. */
export interface ImageFolderSet {
  readonly dir: string;
  /** The class folders' names, sorted: label i is classes[i]. */
  readonly classes: readonly string[];
  /** Every image's path (under dir) and label, in ImageFolder's order. */
  readonly files: readonly string[];
  readonly labels: Int32Array;
  /** The preprocessing applied. */
  readonly preprocessing: Preprocessing;
  /** Decodes and preprocesses images [first, first + count) into `out` (count × C×H×W). */
  fill(first: number, count: number, out: Float32Array): void;
}

const isDirectory = (dir: string, e: Dirent) => e.isDirectory() || (e.isSymbolicLink() && statOf(join(dir, e.name))?.isDirectory() === true);
const isFile = (dir: string, e: Dirent) => e.isFile() || (e.isSymbolicLink() && statOf(join(dir, e.name))?.isFile() === true);
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw diag('MPCC0002', [dir, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
}

/** The files of class folder `root` at any depth, as ImageFolder lists them (os.walk's folders
 * sorted by path, each one's files by name), paths joined to `root`. */
function classFiles(root: string): string[] {
  const folders: string[] = [];
  const walk = (dir: string, seen: Set<string>) => {
    // a symbolic link back up the tree would loop: each real folder is walked once
    const real = statOf(dir);
    const key = real ? `${real.dev}:${real.ino}` : dir;
    if (seen.has(key)) return;
    seen.add(key);
    folders.push(dir);
    for (const e of entries(dir)) if (isDirectory(dir, e)) walk(join(dir, e.name), seen);
  };
  walk(root, new Set());
  folders.sort(byName);
  return folders.flatMap((dir) => entries(dir).filter((e) => isFile(dir, e)).map((e) => e.name).sort(byName).map((name) => join(dir, name)));
}

/** The labelled images of folder `dir` for a classifier of `classes` classes whose input is
 * C×H×W, preprocessed by the image flags `flags`. */
export function imageFolder(dir: string, flags: ImageFlags, classes: number, channels: number, h: number, w: number): ImageFolderSet {
  const { c, p } = imagePreprocessing(flags, channels, dir);
  const top = entries(dir);
  const classNames = top.filter((e) => isDirectory(dir, e)).map((e) => e.name).sort(byName);
  const loose = top.length - classNames.length;
  const files: string[] = [];
  const labels: number[] = [];
  const undecodable: string[] = [];
  classNames.forEach((name, label) => {
    for (const path of classFiles(join(dir, name))) {
      const lower = path.toLowerCase();
      if (!IMAGEFOLDER_EXTENSIONS.some((ext) => lower.endsWith(ext))) continue;
      if (!imageKind(path)) {
        undecodable.push(path);
        continue;
      }
      files.push(path);
      labels.push(label);
    }
  });
  if (undecodable.length > 0) throw diag('MPCC3012', [dir, undecodable.length, undecodable[0]]);
  if (files.length === 0) {
    const why = classNames.length === 0 ? ` (it has no class folder${loose ? `; ${loose} entr${loose > 1 ? 'ies' : 'y'} directly in it ignored` : ''})` : '';
    throw diag('MPCC3013', [dir, why]);
  }
  if (classNames.length !== classes) throw diag('MPCC3011', [dir, classNames.length, classes]);
  const per = c * h * w;
  return {
    dir,
    classes: classNames,
    files,
    labels: Int32Array.from(labels),
    preprocessing: p,
    fill(first, count, out) {
      for (let i = 0; i < count; i++) loadImage(files[first + i], c, h, w, p, out, i * per);
    },
  };
}
