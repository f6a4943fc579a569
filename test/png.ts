// A minimal PNG encoder for tests, independent of the decoder mpcc uses (pngjs): 8-bit gray or
// RGB, filter 0 on every row, zlib's deflate and crc32 from node:zlib.
import { crc32, deflateSync } from 'node:zlib';

/** A PNG of `pixels`: h×w gray values (channels 1) or h×w×3 interleaved RGB (channels 3). */
export function encodePng(pixels: Uint8Array, h: number, w: number, channels: 1 | 3 = 1): Buffer {
  if (pixels.length !== h * w * channels) throw new Error(`encodePng: ${pixels.length} values for ${h}×${w}×${channels}`);
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
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // gray or RGB
  const row = w * channels;
  const rows = Buffer.alloc(h * (row + 1));
  for (let y = 0; y < h; y++) rows.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
