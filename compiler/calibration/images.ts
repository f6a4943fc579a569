// Decoding calibration images to 8-bit RGB, as torchvision's ImageFolder loader does
// (PIL's Image.open(...).convert('RGB')). The one wrapper of the decoder libraries: pngjs for
// PNG, jpeg-js for JPEG; nothing else imports them. PNG: palette, gray (1 to 16 bits), gray +
// alpha, RGB and RGBA; alpha is dropped as PIL's convert('RGB') drops it (no compositing);
// 16-bit samples keep their high byte, as PIL reads 16-bit RGB. JPEG: gray and color (YCbCr,
// and CMYK/YCCK as jpeg-js converts them); its IDCT is not libjpeg's, so pixels may differ
// from PIL's by a few levels (test/compiler/calibration/preprocess.test.ts measures it).
// Label maps (segmentation masks, decodeLabelPng) are PNGs whose values are class indices, as PIL
// reads them: a palette image's indices (Pascal VOC's masks), a gray image's values.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { diag } from '../../runtime/diagnostics.js';

/** An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** Image file kinds the loader reads, by lower-case extension. */
export const IMAGE_EXTENSIONS: Readonly<Record<string, 'png' | 'jpeg'>> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg' };

/** Largest image the loader decodes (pixels): larger files are refused before allocation. */
const MAX_PIXELS = 100_000_000;

/** The image kind of file `name` by its extension (case-insensitive), or undefined. */
export function imageKind(name: string): 'png' | 'jpeg' | undefined {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? undefined : IMAGE_EXTENSIONS[name.slice(dot).toLowerCase()];
}

/** Decodes the bytes of image file `path` to RGB (MPCC0012 naming the file when it is corrupt). */
export function decodeImage(bytes: Uint8Array, path: string, kind: 'png' | 'jpeg'): RgbImage {
  try {
    return kind === 'png' ? decodePng(bytes) : decodeJpeg(bytes);
  } catch (err) {
    // the decoder's words when they say something (a bad CRC, an unknown chunk); a stream that
    // simply ran out is a truncated file
    const said = (err as Error).message;
    const why = /read requests|finished stream|unexpected end|premature/i.test(said) ? 'truncated or corrupt: it ends before its image data does' : said;
    throw diag('MPCC0012', [path, `not a readable ${kind.toUpperCase()} (${why})`]);
  }
}

function decodePng(bytes: Uint8Array): RgbImage {
  // IHDR's bit depth (byte 24): 16-bit samples are read unscaled and keep their high byte
  // (pngjs would round v·255/65535, PIL takes v >> 8); lower depths pngjs scales to 0..255
  const sixteen = bytes.length > 24 && bytes[24] === 16;
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: sixteen });
  const n = png.width * png.height;
  if (n > MAX_PIXELS) throw new Error(`${png.width}×${png.height} pixels exceed ${MAX_PIXELS}`);
  const rgba = png.data as unknown as ArrayLike<number>;
  const shift = sixteen ? 8 : 0;
  const rgb = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = rgba[4 * i] >> shift;
    rgb[3 * i + 1] = rgba[4 * i + 1] >> shift;
    rgb[3 * i + 2] = rgba[4 * i + 2] >> shift;
  }
  return { width: png.width, height: png.height, rgb };
}

function decodeJpeg(bytes: Uint8Array): RgbImage {
  // tolerantDecoding off: a truncated or damaged file is an error, not a half-gray image
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_PIXELS / 1e6 });
  if (img.data.length !== 3 * img.width * img.height) throw new Error(`decoded ${img.data.length} bytes for ${img.width}×${img.height} pixels`);
  return { width: img.width, height: img.height, rgb: img.data };
}

/** A label map: one class index per pixel, rows top to bottom. */
export interface LabelMap {
  readonly width: number;
  readonly height: number;
  readonly labels: Uint16Array;
}

/** Decodes a mask PNG to its class indices as PIL's Image.open reads them (np.array of a 'P' or
 * 'L' image): a palette image's indices, a gray image's values (1 to 16 bits, unscaled).
 * MPCC3014 naming the file for a color or gray + alpha PNG (its values are colors, not classes),
 * a palette whose used colors repeat (its indices cannot be recovered), or a corrupt file. */
export function decodeLabelPng(bytes: Uint8Array, path: string): LabelMap {
  let png: { width: number; height: number; data: unknown; colorType: number; palette?: number[][]; transColor?: unknown };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true }) as unknown as typeof png;
  } catch (err) {
    throw diag('MPCC3014', [path, `not a readable PNG (${(err as Error).message})`]);
  }
  const n = png.width * png.height;
  if (n > MAX_PIXELS) throw diag('MPCC3014', [path, `${png.width}×${png.height} pixels exceed ${MAX_PIXELS}`]);
  const data = png.data as unknown as ArrayLike<number>;
  const labels = new Uint16Array(n);
  if (png.colorType === 0) {
    // pngjs zeroes a gray image's transparent value (tRNS): that pixel's class would be lost
    if (png.transColor) throw diag('MPCC3014', [path, 'a gray PNG with a transparent value (tRNS chunk): give the label map without it']);
    for (let i = 0; i < n; i++) labels[i] = data[4 * i];
    return { width: png.width, height: png.height, labels };
  }
  if (png.colorType !== 3 || !png.palette) {
    const kind = png.colorType === 4 ? 'a gray + alpha' : png.colorType === 2 ? 'an RGB' : 'an RGBA';
    throw diag('MPCC3014', [path, `${kind} PNG: a label map is a palette or gray PNG whose indices or values are the classes`]);
  }
  // pngjs hands out the palette's colors: each maps back to its index, unless two entries share it
  const index = new Map<number, number>();
  const shared = new Map<number, number>();
  png.palette.forEach(([r, g, b, a], i) => {
    const key = ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
    if (!index.has(key)) index.set(key, i);
    else if (!shared.has(key)) shared.set(key, i);
  });
  for (let i = 0; i < n; i++) {
    const key = ((data[4 * i] << 24) | (data[4 * i + 1] << 16) | (data[4 * i + 2] << 8) | data[4 * i + 3]) >>> 0;
    const at = index.get(key)!;
    if (shared.has(key)) throw diag('MPCC3014', [path, `palette entries ${at} and ${shared.get(key)} have the same color, so pixel ${i}'s class is ambiguous`]);
    labels[i] = at;
  }
  return { width: png.width, height: png.height, labels };
}
