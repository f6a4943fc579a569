// The accuracy measures of `mpcc eval` (compiler/commands/eval.ts), accumulated batch by batch:
// top-1 and top-5 for classification, mean IoU and pixel accuracy for segmentation.
//
// Ties: classes are ranked by score, highest first, and equal scores by class index, lowest
// first (as ArgMax picks the first maximum), so top-1 is exactly "ArgMax equals the label".
// Segmentation predicts each pixel's ArgMax over the classes; pixels labelled with the ignore
// index count nowhere; a class's IoU is intersection / union over the remaining pixels, and the
// mean runs over the classes that occur in the labels or the predictions (union > 0). ADE20K's
// labels shift by one first (reduceZeroLabel, `mpcc eval --reduce-zero-label`).
import { diag } from '../runtime/diagnostics.js';

/** Rank of class `label` among `classes` scores starting at `offset` (0 = the best). */
export function classRank(scores: ArrayLike<number>, offset: number, classes: number, label: number): number {
  const mine = scores[offset + label];
  let rank = 0;
  for (let j = 0; j < classes; j++) {
    const s = scores[offset + j];
    if (s > mine || (s === mine && j < label)) rank++;
  }
  return rank;
}

/** The labels file as errors name it: path and shape. */
export interface LabelsSource {
  readonly file: string;
  readonly shape: readonly number[];
}

/** MPCC3006 naming the labels file and its shape. */
function badLabel(src: LabelsSource, why: string): Error {
  return diag('MPCC3006', [src.file, src.shape.join(','), why]);
}

/** Where pixel `p` (flat, row-major) of a label map of `shape` [N, H, W] is: "row r, column c"
 * (a flat index when the shape is not a map). */
export function pixelPlace(p: number, shape: readonly number[]): string {
  const w = shape.length >= 3 ? shape[shape.length - 1] : 0;
  return w > 0 ? `row ${Math.floor(p / w)}, column ${p % w}` : `${p}`;
}

/** Classes scoring at most this many are too few for a meaningful top-5 (it is null then). */
const TOP5_MIN_CLASSES = 6;

/** Top-1 and top-5 counts over [N, C] scores. */
export class ClassificationMetrics {
  private n = 0;
  private top1 = 0;
  private top5 = 0;

  /** `labels` names the labels in errors (a label outside 0..C−1 is MPCC3006). */
  constructor(readonly classes: number, private readonly labels: LabelsSource) {}

  /** Adds images [first, first + count) of the set: scores [count, C] row-major, their labels
   * `labels[0..count)`. */
  add(scores: ArrayLike<number>, labels: ArrayLike<number>, first: number, count: number): void {
    for (let i = 0; i < count; i++) {
      const label = this.checked(labels[i], first + i);
      const rank = classRank(scores, i * this.classes, this.classes, label);
      if (rank < 1) this.top1++;
      if (rank < 5) this.top5++;
      this.n++;
    }
  }

  /** Adds images [first, first + count) of the set by their predicted classes (a program that
   * reveals only class indices): top-1 only, and top-5 is null from then on. */
  addClasses(predicted: ArrayLike<number>, labels: ArrayLike<number>, first: number, count: number): void {
    for (let i = 0; i < count; i++) {
      const label = this.checked(labels[i], first + i);
      if (predicted[i] === label) this.top1++;
      this.n++;
    }
    this.ranked = false;
  }

  private ranked = true;

  private checked(label: number, image: number): number {
    if (!Number.isInteger(label) || label < 0 || label >= this.classes) {
      throw badLabel(this.labels, `label ${label} of image ${image} is not a class of the model (0..${this.classes - 1})`);
    }
    return label;
  }

  /** Fractions of the images seen so far (top5 null with fewer than 6 classes, or when classes
   * alone were added). */
  result(): { top1: number; top5: number | null; n: number } {
    const frac = (k: number) => (this.n ? k / this.n : 0);
    return { top1: frac(this.top1), top5: this.classes >= TOP5_MIN_CLASSES && this.ranked ? frac(this.top5) : null, n: this.n };
  }
}

/** The class of position `p` in scores laid out [C, pixels] from `base`: the ArgMax over the
 * classes, the first maximum on a tie (as ONNX ArgMax, and as classRank ranks). */
export function argmaxAt(scores: ArrayLike<number>, base: number, classes: number, pixels: number, p: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) if (scores[base + k * pixels + p] > scores[base + best * pixels + p]) best = k;
  return best;
}

/** Every image's predicted class (a classifier's) or every pixel's (a segmenter's): the ArgMax
 * over the classes of scores [count, C, pixels], the first maximum on a tie as ArgMax picks it,
 * the way the measures rank (classRank); [count, pixels]. */
export function predictions(scores: ArrayLike<number>, count: number, classes: number, pixels: number): Int32Array {
  const out = new Int32Array(count * pixels);
  for (let i = 0; i < count; i++) {
    const base = i * classes * pixels;
    for (let p = 0; p < pixels; p++) out[i * pixels + p] = argmaxAt(scores, base, classes, pixels, p);
  }
  return out;
}

/** Segmentation labels as mmsegmentation reads ADE20K's with reduce_zero_label (what the seed
 * paper's ADE20K models were trained and measured on): 0 ("other") counts nowhere (becomes
 * `ignoreIndex`), k in 1..classes is class k − 1, and the ignore index stays. `bad(raw, at)` makes
 * the error for any other value, at its index in `labels`. */
export function reduceZeroLabel(labels: ArrayLike<number>, ignoreIndex: number, classes: number, bad: (raw: number, at: number) => Error): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const raw = labels[i];
    if (raw === ignoreIndex || raw === 0) out[i] = ignoreIndex;
    else if (Number.isInteger(raw) && raw > 0 && raw <= classes) out[i] = raw - 1;
    else throw bad(raw, i);
  }
  return out;
}

/** Per-class intersections and unions over [N, C, H, W] scores and N×H×W labels. */
export class SegmentationMetrics {
  private n = 0;
  private correct = 0;
  private valid = 0;
  private readonly intersection: Float64Array;
  private readonly predicted: Float64Array;
  private readonly labelled: Float64Array;

  /** `ignoreIndex` pixels count nowhere; another label outside 0..C−1 is MPCC3006 naming `labels`. */
  constructor(readonly classes: number, private readonly ignoreIndex: number, private readonly labels: LabelsSource) {
    this.intersection = new Float64Array(classes);
    this.predicted = new Float64Array(classes);
    this.labelled = new Float64Array(classes);
  }

  /** Adds the maps of images [first, first + count) of the set, `pixels` pixels each: scores
   * [count, C, pixels], their labels [count, pixels]. */
  add(scores: ArrayLike<number>, labels: ArrayLike<number>, first: number, count: number, pixels: number): void {
    const c = this.classes;
    this.count(labels, first, count, pixels, (i, p) => argmaxAt(scores, i * c * pixels, c, pixels, p));
  }

  /** Adds the maps of images [first, first + count) by their pixels' predicted classes
   * [count, pixels] (a program that reveals only class indices), their labels [count, pixels]. */
  addClasses(predicted: ArrayLike<number>, labels: ArrayLike<number>, first: number, count: number, pixels: number): void {
    this.count(labels, first, count, pixels, (i, p) => predicted[i * pixels + p]);
  }

  private count(labels: ArrayLike<number>, first: number, count: number, pixels: number, classOf: (i: number, p: number) => number): void {
    const c = this.classes;
    for (let i = 0; i < count; i++) {
      for (let p = 0; p < pixels; p++) {
        const label = labels[i * pixels + p];
        if (label === this.ignoreIndex) continue;
        if (!Number.isInteger(label) || label < 0 || label >= c) {
          throw badLabel(this.labels, `label ${label} at pixel (${pixelPlace(p, this.labels.shape)}) of image ${first + i} is neither a class (0..${c - 1}) nor the ignore index ${this.ignoreIndex}`);
        }
        const best = classOf(i, p);
        this.valid++;
        this.predicted[best]++;
        this.labelled[label]++;
        if (best === label) {
          this.correct++;
          this.intersection[label]++;
        }
      }
      this.n++;
    }
  }

  /** Mean IoU over the classes present, pixel accuracy over the labelled pixels; IoU per class
   * of the first `classes` (all by default: a class beyond them must be absent). */
  result(classes = this.classes): { miou: number; pixelAcc: number; n: number; iou: (number | null)[] } {
    const iou: (number | null)[] = [];
    let sum = 0, present = 0;
    for (let k = 0; k < classes; k++) {
      const union = this.predicted[k] + this.labelled[k] - this.intersection[k];
      if (union === 0) { iou.push(null); continue; }
      const v = this.intersection[k] / union;
      iou.push(v);
      sum += v;
      present++;
    }
    return { miou: present ? sum / present : 0, pixelAcc: this.valid ? this.correct / this.valid : 0, n: this.n, iou };
  }
}
