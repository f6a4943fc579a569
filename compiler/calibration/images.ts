// Decoding calibration images to 8-bit RGB, as torchvision's ImageFolder loader does
// (PIL's Image.open(...).convert('RGB')). The one wrapper of the decoder libraries: pngjs for
// PNG, jpeg-js for JPEG; nothing else imports them. PNG: palette, gray (1 to 16 bits), gray +
// alpha, RGB and RGBA; alpha is dropped as PIL's convert('RGB') drops it (no compositing);
// 16-bit samples keep their high byte, as PIL reads 16-bit RGB. JPEG: gray and color (YCbCr,
// and CMYK/YCCK as jpeg-js converts them); its IDCT is not libjpeg's, so pixels may differ
// from PIL's by a few levels (test/compiler/calibration/preprocess.test.ts measures it).
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
    throw diag('MPCC0012', [path, `not a readable ${kind.toUpperCase()} (${(err as Error).message})`]);
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
