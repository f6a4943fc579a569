// `mpcc eval --data DIR`: a classifier's labelled images from an image folder
// (compiler/calibration/image-folder.ts lists it as torchvision's ImageFolder does), decoded and
// preprocessed batch by batch as calibration images are (compiler/calibration/load.ts loadImage).
import { diag } from '../runtime/diagnostics.js';
import { type ImageFolderListing, listImageFolder } from './calibration/image-folder.js';
import { type ImageFlags, imagePreprocessing, loadImage } from './calibration/load.js';

/** The images of an image folder and their labels, loadable. */
export interface ImageFolderSet extends ImageFolderListing {
  /** Decodes and preprocesses images [first, first + count) into `out` (count × C×H×W). */
  fill(first: number, count: number, out: Float32Array): void;
}

/** The labelled images of folder `dir` for a classifier of `classes` classes (MPCC3011 unless
 * one class folder per class) whose input is C×H×W, preprocessed by the image flags `flags`. */
export function imageFolder(dir: string, flags: ImageFlags, classes: number, channels: number, h: number, w: number): ImageFolderSet {
  const { c, p } = imagePreprocessing(flags, channels, dir);
  const listed = listImageFolder(dir);
  if (listed.classes.length !== classes) throw diag('MPCC3011', [dir, listed.classes.length, classes]);
  const per = c * h * w;
  return {
    ...listed,
    fill(first, count, out) {
      for (let i = 0; i < count; i++) loadImage(listed.files[first + i], c, h, w, p, out, i * per);
    },
  };
}
