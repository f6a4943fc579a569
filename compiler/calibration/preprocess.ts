// The preprocessing of calibration images, written to give what torchvision's transforms give
// on PIL images: Grayscale (PIL's convert('L')) for a one-channel model, Resize (PIL's
// antialiased bilinear resampling, bit for bit: Pillow's Resample.c with its 22-bit fixed-point
// coefficients and 8-bit rounding between the horizontal and the vertical pass), CenterCrop
// (zero padding when the crop is larger), ToTensor (÷255) and Normalize, in float32 as torch
// computes them. Named presets fill the flags a user leaves out. A segmentation set's label maps
// follow their image's geometry as torchvision's segmentation references resize a target: Resize
// with PIL's NEAREST, then the same CenterCrop, pixels a crop adds taking the ignore index.
import type { LabelMap, RgbImage } from './images.js';
import { roundHalfEven } from '../../runtime/program/post.js';

/** An 8-bit image of 1 (L) or 3 (RGB) interleaved channels. */
export interface Image8 {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly pixels: Uint8Array;
}

/** A resize or crop size: one number (resize: the shorter side; crop: a square) or [h, w]. */
export type SizeSpec = number | readonly [number, number];

/** The transforms applied to every image of a folder. */
export interface Preprocessing {
  readonly resize?: SizeSpec;
  readonly crop?: SizeSpec;
  /** Per channel (one value applies to all channels). */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/** Named presets: torchvision's ImageNet evaluation transform, and none. */
export const PRESETS: Readonly<Record<string, Preprocessing>> = {
  imagenet: { resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  none: {},
};

/** The image with the model's channel count: RGB as is, or PIL's "L" (ITU-R 601-2 luma,
 * L = R·299/1000 + G·587/1000 + B·114/1000, in PIL's 16-bit fixed point, rounded). */
export function toChannels(img: RgbImage, channels: 1 | 3): Image8 {
  if (channels === 3) return { width: img.width, height: img.height, channels, pixels: img.rgb };
  const n = img.width * img.height;
  const gray = new Uint8Array(n);
  const rgb = img.rgb;
  for (let i = 0; i < n; i++) gray[i] = (rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >>> 16;
  return { width: img.width, height: img.height, channels, pixels: gray };
}

/** The [height, width] torchvision's Resize(spec) gives an image of `height`×`width`: one
 * number sets the shorter side and keeps the aspect ratio (the longer side truncated). */
export function resizedSize(height: number, width: number, spec: SizeSpec): [number, number] {
  if (typeof spec !== 'number') return [spec[0], spec[1]];
  if (width <= height) return [Math.trunc((spec * height) / width), spec];
  return [spec, Math.trunc((spec * width) / height)];
}

/** Fixed-point precision of Pillow's 8-bit resampling coefficients. */
const PRECISION_BITS = 32 - 8 - 2;

/** Per output index, the first input index, the tap count and `ksize` fixed-point weights:
 * Pillow's precompute_coeffs with the bilinear (triangle) filter, its support scaled by the
 * reduction factor when downscaling (the antialias), then normalize_coeffs_8bpc. */
function coefficients(inSize: number, outSize: number): { bounds: Int32Array; weights: Int32Array; ksize: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(2 * outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      k[x] = t < 1 ? 1 - t : 0;
      ww += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x] / ww : k[x];
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

/** Pillow's clip8: a fixed-point sum to 0..255. */
function clip8(v: number): number {
  if (v >= 1 << (PRECISION_BITS + 8)) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** One resampling pass along rows (`horizontal`) or columns, as Pillow's ResampleHorizontal_8bpc
 * and ResampleVertical_8bpc: the result rounded to 8 bits. */
function resamplePass(src: Image8, outSize: number, horizontal: boolean): Image8 {
  const { width, height, channels: c, pixels } = src;
  const inSize = horizontal ? width : height;
  const { bounds, weights, ksize } = coefficients(inSize, outSize);
  const ow = horizontal ? outSize : width;
  const oh = horizontal ? height : outSize;
  const out = new Uint8Array(ow * oh * c);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const o = horizontal ? x : y;
      const xmin = bounds[2 * o], taps = bounds[2 * o + 1], kb = o * ksize;
      for (let ch = 0; ch < c; ch++) {
        let ss = half;
        for (let t = 0; t < taps; t++) {
          const at = horizontal ? (y * width + xmin + t) * c + ch : ((xmin + t) * width + x) * c + ch;
          ss += pixels[at] * weights[kb + t];
        }
        out[(y * ow + x) * c + ch] = clip8(ss);
      }
    }
  }
  return { width: ow, height: oh, channels: c, pixels: out };
}

/** The image resampled to `height`×`width` as PIL's Image.resize(…, BILINEAR) does: the
 * horizontal pass, then the vertical, each skipped when that side keeps its size. */
export function resizeBilinear(img: Image8, height: number, width: number): Image8 {
  let out = img;
  if (width !== img.width) out = resamplePass(out, width, true);
  if (height !== img.height) out = resamplePass(out, height, false);
  return out;
}

/** Offset of a centered crop of `crop` in `size`: half the difference rounded as CenterCrop's
 * Python round() does, ties to even (negative: torchvision pads the image with zeros, the extra
 * pixel of an odd padding going to the end). */
function cropOffset(size: number, crop: number): number {
  return crop > size ? -Math.floor((crop - size) / 2) : roundHalfEven((size - crop) / 2);
}

/** The [height, width] a crop spec gives. */
export function cropSize(spec: SizeSpec): [number, number] {
  return typeof spec === 'number' ? [spec, spec] : [spec[0], spec[1]];
}

/** Center crop (or zero padding) to `ch`×`cw`, ToTensor and Normalize: C×H×W float32 written
 * into `out` at `at`. */
export function toTensor(img: Image8, ch: number, cw: number, mean: readonly number[] | undefined, std: readonly number[] | undefined, out: Float32Array, at: number): void {
  const top = cropOffset(img.height, ch), left = cropOffset(img.width, cw);
  const c = img.channels;
  const f = Math.fround;
  for (let k = 0; k < c; k++) {
    const m = f(mean ? mean[mean.length === 1 ? 0 : k] : 0);
    const s = f(std ? std[std.length === 1 ? 0 : k] : 1);
    const normalize = mean !== undefined || std !== undefined;
    for (let y = 0; y < ch; y++) {
      const sy = y + top;
      for (let x = 0; x < cw; x++) {
        const sx = x + left;
        const inside = sy >= 0 && sy < img.height && sx >= 0 && sx < img.width;
        const v = f((inside ? img.pixels[(sy * img.width + sx) * c + k] : 0) / 255);
        out[at + (k * ch + y) * cw + x] = normalize ? f(f(v - m) / s) : v;
      }
    }
  }
}

/** One image through the whole pipeline: the model's channels, Resize, CenterCrop, ToTensor,
 * Normalize; `size` is the [height, width] the result has (the crop's, else the resize's). */
export function preprocess(img: RgbImage, channels: 1 | 3, p: Preprocessing): { size: [number, number]; run: (out: Float32Array, at: number) => void } {
  let image = toChannels(img, channels);
  if (p.resize !== undefined) {
    const [h, w] = resizedSize(image.height, image.width, p.resize);
    image = resizeBilinear(image, h, w);
  }
  const [ch, cw] = p.crop !== undefined ? cropSize(p.crop) : [image.height, image.width];
  const done = image;
  return { size: [ch, cw], run: (out, at) => toTensor(done, ch, cw, p.mean, p.std, out, at) };
}

/** Source index of each of `outSize` pixels resized from `inSize` by PIL's NEAREST
 * (ImagingScaleAffine: the scale in/out, pixel centers stepped by repeated addition in double
 * precision, truncated). */
function nearestIndices(inSize: number, outSize: number): Int32Array {
  const scale = inSize / outSize;
  const idx = new Int32Array(outSize);
  let at = scale * 0.5;
  for (let x = 0; x < outSize; x++) {
    idx[x] = Math.min(Math.trunc(at), inSize - 1);
    at += scale;
  }
  return idx;
}

/** A label map through an image's Resize (PIL's NEAREST) and CenterCrop: the [height, width] it
 * has and `run`, which writes its labels into `out` at `at`, pixels the crop adds set to `fill`. */
export function preprocessLabels(map: LabelMap, p: Preprocessing, fill: number): { size: [number, number]; run: (out: Int32Array, at: number) => void } {
  const [rh, rw] = p.resize !== undefined ? resizedSize(map.height, map.width, p.resize) : [map.height, map.width];
  const [ch, cw] = p.crop !== undefined ? cropSize(p.crop) : [rh, rw];
  const run = (out: Int32Array, at: number) => {
    const rows = nearestIndices(map.height, rh), cols = nearestIndices(map.width, rw);
    const top = cropOffset(rh, ch), left = cropOffset(rw, cw);
    for (let y = 0; y < ch; y++) {
      const sy = y + top;
      for (let x = 0; x < cw; x++) {
        const sx = x + left;
        const inside = sy >= 0 && sy < rh && sx >= 0 && sx < rw;
        out[at + y * cw + x] = inside ? map.labels[rows[sy] * map.width + cols[sx]] : fill;
      }
    }
  };
  return { size: [ch, cw], run };
}
