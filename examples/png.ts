// A minimal PNG encoder for synthetic image sets (the tests' and the benchmarks'), independent of
// the decoder mpcc uses (pngjs): 8-bit gray, RGB or palette, or packed scanlines at any depth;
// filter 0 on every row, zlib's deflate and crc32 from node:zlib.
import { crc32, deflateSync } from 'node:zlib';

/** A PNG of `pixels`: h×w gray values (channels 1) or h×w×3 interleaved RGB (channels 3). */
export function encodePng(pixels: Uint8Array, h: number, w: number, channels: 1 | 3 = 1): Buffer {
  if (pixels.length !== h * w * channels) throw new Error(`encodePng: ${pixels.length} values for ${h}×${w}×${channels}`);
  return png(pixels, h, w, channels, channels === 1 ? 0 : 2, []);
}

/** A palette PNG (color type 3, 8-bit indices) of h×w `indices` and `palette`'s [r, g, b] colors. */
export function encodePalettePng(indices: Uint8Array, h: number, w: number, palette: readonly (readonly [number, number, number])[]): Buffer {
  if (indices.length !== h * w) throw new Error(`encodePalettePng: ${indices.length} indices for ${h}×${w}`);
  return png(indices, h, w, 1, 3, [['PLTE', Buffer.from(palette.flat())]]);
}

/** A PNG of packed scanlines `rows` (each without its filter byte) at any bit depth and color
 * type, with a palette for color type 3. */
export function encodePngRows(rows: readonly (readonly number[])[], w: number, depth: number, colorType: number, palette?: readonly (readonly [number, number, number])[]): Buffer {
  const extra: [string, Buffer][] = palette ? [['PLTE', Buffer.from(palette.flat())]] : [];
  return png(Uint8Array.from(rows.flat()), rows.length, w, 1, colorType, extra, depth, rows[0]?.length ?? 0);
}

function png(samples: Uint8Array, h: number, w: number, channels: number, colorType: number, extra: [string, Buffer][], depth = 8, rowBytes = w * channels): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const row = rowBytes;
  const rows = Buffer.alloc(h * (row + 1));
  for (let y = 0; y < h; y++) rows.set(samples.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  const chunks = [chunk('IHDR', ihdr), ...extra.map(([type, data]) => chunk(type, data)), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))];
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), ...chunks]);
}
