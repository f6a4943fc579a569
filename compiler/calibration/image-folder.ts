// Labelled images laid out as torchvision's ImageFolder reads them, for `mpcc eval --data DIR`
// and for calibration from a dataset's class folders (`--calib DIR`, compiler/calibration/load.ts).
// Each folder directly in DIR is a class; its label is the folder's index among them sorted by
// name (code points, as Python sorts). A class's images are its PNG and JPEG files at any depth,
// in the order ImageFolder lists them: folders by path, files by name within each. Files directly
// in DIR and files of other kinds are ignored, but an image ImageFolder would read and mpcc cannot
// decode (.bmp, .webp, …) is refused (MPCC3012), as a folder with no image is (MPCC3013), so the
// set is ImageFolder's. Unlike ImageFolder, a class folder may be empty: a subset of a dataset
// keeps its labels by keeping every class's folder. This file lists; the images are decoded and
// preprocessed by their readers one by one (compiler/calibration/load.ts loadImage), so a large
// set never sits in memory.
import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { diag } from '../../runtime/diagnostics.js';
import { imageKind } from './images.js';
import { statOf } from '../cli-support.js';

/** The extensions torchvision's ImageFolder reads (IMG_EXTENSIONS), compared in lower case. */
const IMAGEFOLDER_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

export const isDirectory = (dir: string, e: Dirent) => e.isDirectory() || (e.isSymbolicLink() && statOf(join(dir, e.name))?.isDirectory() === true);
/** Whether entry `e` of `dir` is a file (a symbolic link to one counts). */
export const isFile = (dir: string, e: Dirent) => e.isFile() || (e.isSymbolicLink() && statOf(join(dir, e.name))?.isFile() === true);
/** Names compared by code point, as Python sorts strings. */
export const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The file's status (symbolic links followed), or undefined when there is none. */
/** The entries of folder `dir` (MPCC0002 when it cannot be read). */
export function entries(dir: string): Dirent[] {
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

/** The images of image folder `dir` in ImageFolder's order, with their labels and class names. */
export interface ImageFolderListing {
  readonly dir: string;
  /** The class folders' names, sorted: label i is classes[i]. */
  readonly classes: readonly string[];
  /** Every image's path (dir joined) and label, in ImageFolder's order. */
  readonly files: readonly string[];
  readonly labels: Int32Array;
}

/** Lists image folder `dir` (MPCC3012 for images mpcc cannot decode, MPCC3013 for none). */
export function listImageFolder(dir: string): ImageFolderListing {
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
  return { dir, classes: classNames, files, labels: Int32Array.from(labels) };
}
