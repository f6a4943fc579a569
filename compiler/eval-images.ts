// `mpcc eval --data DIR`: labelled images from folders, decoded and preprocessed batch by batch as
// calibration images are (compiler/calibration/load.ts loadImage), so a large set never sits in
// memory. A classifier's come from class folders (compiler/calibration/image-folder.ts lists them as
// torchvision's ImageFolder does); a segmenter's from an image folder and a folder of label maps
// (compiler/calibration/segmentation-folder.ts, Pascal VOC's layout), each label map taken
// through its image's Resize and CenterCrop (compiler/calibration/preprocess.ts preprocessLabels).
import { diag } from '../runtime/diagnostics.js';
import { type ImageFolderListing, listImageFolder } from './calibration/image-folder.js';
import { decodeLabelPng } from './calibration/images.js';
import { type ImageFlags, imagePreprocessing, loadImage } from './calibration/load.js';
import { type Preprocessing, preprocessLabels } from './calibration/preprocess.js';
import { type SegmentationListing, listSegmentationFolder } from './calibration/segmentation-folder.js';
import { cityscapesTrainIds } from './calibration/cityscapes-folder.js';
import { readFileBytes } from './npy.js';
import { reduceZeroLabel } from './eval-metrics.js';

/** The images of an image folder and their labels, loadable. */
export interface ImageFolderSet extends ImageFolderListing {
  /** Decodes and preprocesses images [first, first + count) into `out` (count × C×H×W). */
  fill(first: number, count: number, out: Float32Array): void;
}

/** The labelled images of folder `dir` for a classifier of `classes` classes (MPCC3011 unless
 * one class folder per class) whose input is C×H×W, preprocessed by the image flags `flags` over
 * `base` (a compiled program's record, as imagePreprocessing's). */
export function imageFolder(dir: string, flags: ImageFlags, classes: number, channels: number, h: number, w: number, base?: Preprocessing): ImageFolderSet {
  const { c, p } = imagePreprocessing(flags, channels, dir, base);
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

/** The images of a segmentation set and their label maps, loadable. */
export interface SegmentationSet extends SegmentationListing {
  /** Decodes and preprocesses images [first, first + count) into `out` (count × C×H×W). */
  fill(first: number, count: number, out: Float32Array): void;
  /** Their label maps, count × H×W (after fill of the same images: each map is checked against
   * its image's size). */
  labels(first: number, count: number): Int32Array;
}

/** What a segmentation set is evaluated against: a segmenter of `classes` classes whose input is
 * C×H×W and whose output maps are H×W, with `ignoreIndex` the label that counts nowhere. */
export interface SegmenterShape {
  readonly classes: number;
  readonly channels: number;
  readonly h: number;
  readonly w: number;
  readonly ignoreIndex: number;
  /** ADE20K's labels (mmsegmentation's reduce_zero_label): 0 counts nowhere, k is class k − 1. */
  readonly reduceZeroLabel?: boolean;
}

/** The segmentation set of images `imagesDir` and label maps `masksDir` (ids from `split` when
 * given), preprocessed by the image flags `flags` over `base`: each label map must have its image's size and
 * hold only classes and the ignore index (MPCC3014 naming it; with `reduceZeroLabel` 0..classes,
 * relabelled); pixels a crop adds are ignored. */
export function segmentationFolder(imagesDir: string, masksDir: string, split: string | undefined, flags: ImageFlags, m: SegmenterShape, base?: Preprocessing): SegmentationSet {
  const { c, p } = imagePreprocessing(flags, m.channels, imagesDir, base);
  const listed = listSegmentationFolder(imagesDir, masksDir, split);
  const per = c * m.h * m.w;
  const pixels = m.h * m.w;
  // each image's own size, from fill, for its label map's check
  const sizes = new Map<number, { height: number; width: number }>();
  return {
    ...listed,
    fill(first, count, out) {
      for (let i = 0; i < count; i++) sizes.set(first + i, loadImage(listed.images[first + i], c, m.h, m.w, p, out, i * per));
    },
    labels(first, count) {
      const out = new Int32Array(count * pixels);
      for (let i = 0; i < count; i++) {
        const path = listed.masks[first + i];
        const map = decodeLabelPng(readFileBytes(path), path);
        const image = sizes.get(first + i);
        sizes.delete(first + i);
        if (!image) throw new Error(`internal: segmentationFolder: label map ${first + i} read before its image`);
        if (map.height !== image.height || map.width !== image.width) {
          throw diag('MPCC3014', [path, `it is ${map.height}×${map.width} but its image '${listed.images[first + i]}' is ${image.height}×${image.width}`]);
        }
        // the image's geometry came out H×W (loadImage checks it), so the map's does too
        preprocessLabels(map, p, m.ignoreIndex).run(out, i * pixels);
        const own = out.subarray(i * pixels, (i + 1) * pixels);
        const moved = p.resize !== undefined || p.crop !== undefined ? ' after --resize/--crop' : '';
        const where = (at: number) => `at row ${Math.floor(at / m.w)}, column ${at % m.w}${moved}`;
        if (listed.cityscapes?.labelIds) {
          // raw label ids to train ids: as with --reduce-zero-label, NEAREST and the crop commute with it
          own.set(cityscapesTrainIds(own, m.ignoreIndex, (k, at) =>
            diag('MPCC3014', [path, `it holds ${k} (${where(at)}), neither a Cityscapes label id (0..33) nor the ignore index ${m.ignoreIndex}`])));
        }
        if (m.reduceZeroLabel) {
          // NEAREST and the crop's padding commute with the relabelling: a map's values are moved, never mixed
          own.set(reduceZeroLabel(own, m.ignoreIndex, m.classes, (k, at) =>
            diag('MPCC3014', [path, `it holds ${k} (${where(at)}), neither 0 (other, counting nowhere), a class 1..${m.classes} of --reduce-zero-label (the model's 0..${m.classes - 1}) nor the ignore index ${m.ignoreIndex}`])));
          continue;
        }
        const bad = own.findIndex((k) => k !== m.ignoreIndex && (k < 0 || k >= m.classes));
        if (bad >= 0) throw diag('MPCC3014', [path, `it holds ${own[bad]} (${where(bad)}), neither a class of the model (0..${m.classes - 1}) nor the ignore index ${m.ignoreIndex}`]);
      }
      return out;
    },
  };
}
