// Where `mpcc eval` (compiler/commands/eval.ts) takes its labelled images from: an .npy (or raw
// float32) array with labels from an .npy (or raw bytes), a classifier's class folders
// (compiler/eval-images.ts imageFolder), or a segmenter's image folder and label maps
// (segmentationFolder). Each is an EvalSource that fills images batch by batch and gives their
// labels, checked against the model's input and output (ModelShape).
import { statSync } from 'node:fs';
import { MpccError, diag } from '../runtime/diagnostics.js';
import type { InputPreprocessing } from '../runtime/program/manifest.js';
import { type ProgressSink, NO_PROGRESS } from './cli-support.js';
import type { ImageFlags } from './calibration/load.js';
import { type LabelsSource, pixelPlace, reduceZeroLabel } from './eval-metrics.js';
import { imageFolder, segmentationFolder } from './eval-images.js';
import { CITYSCAPES_CLASSES } from './calibration/cityscapes-folder.js';
import { readFileBytes, readNpy, readNpyIntegers } from './npy.js';
import { numel } from '../ir/types.js';
import { checkInputValues } from '../passes/quantize/value-range.js';

/** The options an evaluation set is read by (EvalOptions' data flags). */
export interface EvalSourceOptions {
  readonly data: string;
  readonly labels?: string;
  readonly split?: string;
  readonly labelsFormat?: string;
  readonly dataShape?: string;
  readonly reduceZeroLabel?: boolean;
}

/** What eval reads off the model: its image shape, batch size and output kind. */
export interface ModelShape {
  readonly image: number[];
  readonly batch: number;
  readonly kind: 'classification' | 'segmentation';
  readonly classes: number;
  /** Output map [H, W] of a segmenter ([] for a classifier). */
  readonly map: number[];
  readonly pixels: number;
}

/** What an evaluation set is read against. */
export interface SourceRequest {
  readonly options: EvalSourceOptions;
  readonly shape: ModelShape;
  readonly ignoreIndex: number;
  readonly labelsFormat: 'npy' | 'u8';
  readonly dataShape: number[] | undefined;
  /** The --data array, read beforehand (readImages), or undefined for a folder. */
  readonly images: { data: Float32Array; count: number; shape: number[] } | undefined;
  /** The image flags folders' images are preprocessed by, over `recorded` (a compiled program's
   * record, runtime/program/manifest.ts: an explicit --preset replaces it, a transform overrides). */
  readonly flags: ImageFlags;
  readonly recorded?: InputPreprocessing;
  readonly log: ProgressSink;
  /** Called on every batch of images filled (or the whole array at once): the calibration-overlap checks. */
  readonly checkOverlap: (data: Float32Array, batch?: { first: number }) => void;
  /** --sample n: an .npy of exactly n labels (n below the images) holds the sampled images'
   * labels, in the order sampled (what `--predictions` of a --sample n evaluation writes). */
  readonly sample?: number;
}

/** The labelled images of `req.options` as an EvalSource for a model of `req.shape`. */
export function evalSource(req: SourceRequest): EvalSource {
  const { options, shape, ignoreIndex, labelsFormat, dataShape, images, flags, recorded, log, checkOverlap, sample } = req;
  if (options.reduceZeroLabel && shape.kind === 'classification') throw diag('MPCC0004', ['--reduce-zero-label', '', 'the model classifies: the flag shifts segmentation label maps (ADE20K\'s 0 = other)']);
  const perImage = numel(shape.image);
  if (images) {
    checkImages(options.data, images.shape, dataShape, shape.image);
    checkOverlap(images.data);
    const sampled = sample !== undefined && sample < images.count ? sample : undefined;
    const labels = readLabels(options.labels!, labelsFormat, shape, images.count, options.data, sampled);
    const per = shape.kind === 'classification' ? 1 : shape.pixels;
    // labels of the sampled images only: image ⌊i·N/n⌋'s is the i-th (samplePicks' order)
    const position = new Map<number, number>();
    if (labels.sampled) samplePicks(images.count, sampled, NO_PROGRESS)!.forEach((at, i) => position.set(at, i));
    const rowsOf = (first: number, count: number) => {
      if (!labels.sampled) return sliceOf(labels.data, first * per, (first + count) * per);
      const out = new Int32Array(count * per);
      for (let j = 0; j < count; j++) {
        const i = position.get(first + j);
        if (i === undefined) throw new Error(`internal: image ${first + j} is not among the --sample ${sampled}`);
        for (let p = 0; p < per; p++) out[j * per + p] = labels.data[i * per + p];
      }
      return out;
    };
    const reduce = (raw: ArrayLike<number>, first: number) => reduceZeroLabel(raw, ignoreIndex, shape.classes, (k, at) =>
      diag('MPCC3006', [labels.source.file, labels.source.shape.join(','), `label ${k} at pixel (${pixelPlace(at % per, labels.source.shape)}) of image ${first + Math.floor(at / per)} is neither 0 (other, counting nowhere), a class 1..${shape.classes} of --reduce-zero-label (the model's 0..${shape.classes - 1}) nor the ignore index ${ignoreIndex}`]));
    return {
      count: images.count,
      labels: labels.source,
      fill: (first, count, out) => out.set(images.data.subarray(first * perImage, (first + count) * perImage)),
      labelsOf: (first, count) => {
        const raw = rowsOf(first, count);
        return options.reduceZeroLabel ? reduce(raw, first) : raw;
      },
    };
  } else if (shape.kind === 'classification') {
    if (options.labels !== undefined) throw diag('MPCC0004', ['--labels', options.labels, `'${options.data}' is an image folder and the model classifies: its class folders give the labels`]);
    if (options.split !== undefined) throw diag('MPCC0004', ['--split', options.split, `the model classifies: --split picks the images of a segmentation set`]);
    const set = imageFolder(options.data, flags, shape.classes, shape.image[0], shape.image[1], shape.image[2], recorded);
    log(`eval: ${set.files.length} images in ${set.classes.length} class folders of ${options.data}`);
    return {
      count: set.files.length,
      labels: { file: options.data, shape: [set.files.length] },
      fill: (first, count, out) => {
        set.fill(first, count, out);
        checkOverlap(out.subarray(0, count * perImage), { first });
      },
      labelsOf: (first, count) => set.labels.subarray(first, first + count),
    };
  } else {
    return segmentationSource(options, shape, ignoreIndex, flags, recorded, log, checkOverlap);
  }
}

/** The images eval runs on and their labels: `fill` writes images [first, first + count) at the
 * start of `out`, `labelsOf` gives their labels (one per image, or one per pixel of each map),
 * called after `fill` of the same images. */
export interface EvalSource {
  readonly count: number;
  /** What errors name the labels by. */
  readonly labels: LabelsSource;
  fill(first: number, count: number, out: Float32Array): void;
  labelsOf(first: number, count: number): ArrayLike<number>;
}

/** Elements [from, to) of labels read from a file. */
const sliceOf = (data: ArrayLike<number>, from: number, to: number): ArrayLike<number> =>
  ArrayBuffer.isView(data) ? (data as Int32Array).subarray(from, to) : Array.prototype.slice.call(data, from, to);

/** A segmenter's images and label maps from folders (--data IMAGES --labels MASKS [--split]). */
function segmentationSource(options: EvalSourceOptions, shape: ModelShape, ignoreIndex: number, flags: ImageFlags, recorded: InputPreprocessing | undefined, log: ProgressSink, checkOverlap: (data: Float32Array, batch: { first: number }) => void): EvalSource {
  const masks = options.labels;
  if (masks === undefined) throw diag('MPCC0004', ['--labels', '', `the model segments: give --labels the folder of label maps (PNG, one <id>.png per image of '${options.data}')`]);
  if (!isFolder(masks)) throw diag('MPCC0004', ['--labels', masks, `'${options.data}' is an image folder: --labels is then the folder of its label maps (PNG)`]);
  const [c, h, w] = shape.image;
  if (shape.map[0] !== h || shape.map[1] !== w) {
    throw diag('MPCC3009', [`the model's output maps are ${shape.map.join('×')} but its input is ${h}×${w}: label maps follow their images through --resize/--crop, so they need a segmenter whose output has its input's size (or give --data an .npy and --labels label maps of the output's size)`]);
  }
  const set = segmentationFolder(options.data, masks, options.split, flags, { classes: shape.classes, channels: c, h, w, ignoreIndex, reduceZeroLabel: options.reduceZeroLabel === true }, recorded);
  if (set.cityscapes && options.reduceZeroLabel) throw diag('MPCC0004', ['--reduce-zero-label', '', `'${masks}' is laid out as Cityscapes': its train ids start at 0 (road), and 255 counts nowhere already`]);
  const layout = set.cityscapes ? ` (Cityscapes: ${set.cityscapes.cities} cities, ${set.cityscapes.labelIds ? 'label ids mapped to the 19 train ids' : 'train ids'})` : '';
  if (set.cityscapes && shape.classes !== CITYSCAPES_CLASSES) {
    const why = shape.classes > CITYSCAPES_CLASSES ? `its classes ${CITYSCAPES_CLASSES}.. are never labelled` : `train ids ${shape.classes}.. are no class of it (MPCC3014 where a map holds one)`;
    log(`eval: note: the model has ${shape.classes} classes, Cityscapes ${CITYSCAPES_CLASSES}: ${why}`);
  }
  log(`eval: ${set.ids.length} image${set.ids.length === 1 ? '' : 's'} with label maps in ${options.data} and ${masks}${layout}${options.split ? ` (split ${options.split})` : ''}`);
  const perImage = c * h * w;
  return {
    count: set.ids.length,
    labels: { file: masks, shape: [set.ids.length, h, w] },
    fill: (first, count, out) => {
      set.fill(first, count, out);
      checkOverlap(out.subarray(0, count * perImage), { first });
    },
    labelsOf: (first, count) => set.labels(first, count),
  };
}

/** True when `path` is a folder (an image folder), false for a file; MPCC0002 when it is
 * neither. */
export function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (err) {
    throw diag('MPCC0002', [path, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
}

/** The images as one float32 array of shape [N, C, H, W]; MPCC3010 naming the file and the first
 * NaN or ±Inf (index [image, c, h, w]): no network takes it, and a float run would not say so. */
export function readImages(path: string, dataShape: number[] | undefined): { data: Float32Array; count: number; shape: number[] } {
  if (dataShape === undefined) {
    let x;
    try {
      x = readNpy(path);
    } catch (err) {
      // raw float32 carries no header: say how to read it
      if (err instanceof MpccError && err.code === 'MPCC3001' && /magic/.test(err.message)) throw diag('MPCC3001', [path, 'it has no .npy header (raw little-endian float32 images need --data-shape N,C,H,W or C,H,W)']);
      throw err;
    }
    if (x.shape.length !== 4) throw diag('MPCC3007', [path, x.shape.join(','), 'expected N×C×H×W images']);
    checkInputValues(path, x.shape, x.data);
    return { data: x.data, count: x.shape[0], shape: x.shape };
  }
  const bytes = readFileBytes(path);
  const per = numel(dataShape.slice(-3)) * 4;
  const shape = dataShape.length === 3 ? [Math.floor(bytes.length / per), ...dataShape] : dataShape;
  if (bytes.length !== shape[0] * per) throw diag('MPCC3007', [path, shape.join(','), `the file holds ${bytes.length} bytes, not ${shape[0]} images of ${per} bytes (raw float32)`]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(bytes.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(4 * i, true);
  checkInputValues(path, shape, data);
  return { data, count: shape[0], shape };
}

/** Fails unless every image has the model's input shape (MPCC3007 naming the file, or MPCC0004 naming --data-shape). */
function checkImages(path: string, shape: readonly number[], dataShape: number[] | undefined, image: readonly number[]): void {
  if (shape.slice(1).every((d, i) => d === image[i])) return;
  const want = `the model takes N×${image.join('×')}`;
  if (dataShape !== undefined) throw diag('MPCC0004', ['--data-shape', dataShape.join(','), want]);
  throw diag('MPCC3007', [path, shape.join(','), want]);
}

/** The labels, checked against the model's kind and the image count. */
function readLabels(path: string, format: 'npy' | 'u8', shape: ModelShape, count: number, dataPath: string, sampled?: number): { data: ArrayLike<number>; source: LabelsSource; sampled: boolean } {
  let data: ArrayLike<number>, dims: number[];
  const pixels = shape.pixels;
  if (format === 'u8') {
    data = readFileBytes(path);
    // raw bytes carry no shape: one label per image, or one per pixel of each output map
    const perImage = shape.kind === 'classification' ? 1 : pixels;
    const n = data.length / perImage;
    dims = shape.kind === 'classification' || !Number.isInteger(n) ? [data.length] : [n, ...shape.map];
    if (shape.kind === 'segmentation' && data.length === count && count * pixels !== count) {
      throw diag('MPCC3006', [path, dims.join(','), `the model segments ${shape.map.join('×')} maps; it needs one label per pixel (${count}×${pixels} bytes), not one per image`]);
    }
    if (!Number.isInteger(n)) throw diag('MPCC3006', [path, dims.join(','), `${data.length} bytes are not a whole number of ${shape.map.join('×')} label maps`]);
  } else {
    const labels = readNpyIntegers(path);
    data = labels.data;
    dims = labels.shape;
    const squeezed = dims.filter((d, i) => !(i === 1 && d === 1 && dims.length > 1));
    if (shape.kind === 'classification' && squeezed.length !== 1) {
      throw diag('MPCC3006', [path, dims.join(','), `the model classifies (output [N, ${shape.classes}]); it needs one class label per image, shape [N]`]);
    }
    if (shape.kind === 'segmentation' && (squeezed.length !== 3 || squeezed[1] !== shape.map[0] || squeezed[2] !== shape.map[1])) {
      throw diag('MPCC3006', [path, dims.join(','), `the model segments ${shape.map.join('×')} maps; it needs labels N×${shape.map.join('×')}`]);
    }
  }
  const labelCount = dims.length ? dims[0] : 0;
  const perSample = sampled !== undefined && labelCount === sampled;
  if (labelCount !== count && !perSample) throw diag('MPCC3005', [path, labelCount, dataPath, `${count} images${sampled !== undefined ? ` (or, for --sample ${sampled}, ${sampled} labels: the sampled images')` : ''}`]);
  return { data, source: { file: path, shape: dims }, sampled: perSample };
}

/** --sample n of `total` images: image ⌊i·total/n⌋ for i < n, so a set sorted by class (an image
 * folder) keeps every class's share; null without --sample or when n covers the set. */
export function samplePicks(total: number, sample: number | undefined, log: ProgressSink): Int32Array | null {
  if (sample !== undefined && sample > total) throw diag('MPCC0004', ['--sample', String(sample), `the set holds ${total} image${total === 1 ? '' : 's'}: give at most ${total}, or leave --sample out to evaluate them all`]);
  if (sample === undefined || sample === total) return null;
  log(`eval: ${sample} of the ${total} images (--sample)`);
  return Int32Array.from({ length: sample }, (_, i) => Math.floor((i * total) / sample));
}
