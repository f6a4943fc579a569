// Decoding and preprocessing of calibration images against torchvision: the fixtures under
// test/fixtures/calibration/ were made by its make_fixtures.py with Debian's Pillow 9.4 and
// torchvision 0.14 (ImageFolder's loader, Grayscale, Resize, CenterCrop, ToTensor, Normalize).
// PNG decoding and PIL's antialiased bilinear resize are reproduced bit for bit, so the PNG
// cases must agree to float32 rounding (1e-6 after Normalize's division; measured 0). JPEG:
// jpeg-js's IDCT is not libjpeg-turbo's, and it replicates subsampled chroma where libjpeg
// interpolates it ("fancy upsampling"). Measured in 8-bit levels (max / mean): gray and 4:4:4
// color 1–3 / ≤ 0.55, held to ≤ 3 / ≤ 1; 4:2:0 color (PIL's default, on this chroma-noisy
// picture) 47 / 9.7 at full size and 19 / 3.6 after resize 24 + crop 20, held to ≤ 64 / ≤ 12.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy } from '../../../compiler/npy.js';
import { decodeImage, imageKind } from '../../../compiler/calibration/images.js';
import { PRESETS, preprocess, resizedSize, toChannels, resizeBilinear } from '../../../compiler/calibration/preprocess.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'calibration');

/** One case of cases.json. */
interface FixtureCase {
  name: string; image: string; channels: 1 | 3; resize: number | [number, number] | null; crop: number | [number, number] | null;
  mean: number[] | null; std: number[] | null; expected: string;
}

const cases = (JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as FixtureCase[]).filter((c) => c.name !== 'folder');

/** Our tensor of one fixture case. */
function ours(c: FixtureCase): { shape: number[]; data: Float32Array } {
  const path = join(FIXTURES, 'images', c.image);
  const img = decodeImage(readFileSync(path), path, imageKind(c.image)!);
  const step = preprocess(img, c.channels, { resize: c.resize ?? undefined, crop: c.crop ?? undefined, mean: c.mean ?? undefined, std: c.std ?? undefined });
  const data = new Float32Array(c.channels * step.size[0] * step.size[1]);
  step.run(data, 0);
  return { shape: [c.channels, ...step.size], data };
}

/** Largest and mean difference in 8-bit levels, undoing the normalization of case `c`. */
function levels(c: FixtureCase, a: Float32Array, b: Float32Array, perChannel: number): { max: number; mean: number } {
  let max = 0, sum = 0;
  for (let i = 0; i < a.length; i++) {
    const k = Math.floor(i / perChannel);
    const s = c.std ? c.std[c.std.length === 1 ? 0 : k] : 1;
    const e = Math.abs(a[i] - b[i]) * s * 255;
    max = Math.max(max, e);
    sum += e;
  }
  return { max, mean: sum / a.length };
}

describe('calibration image preprocessing against torchvision', () => {
  for (const c of cases) {
    const jpeg = imageKind(c.image) === 'jpeg';
    it(`${c.name}: ${c.image}, ${c.channels} channel(s), resize ${JSON.stringify(c.resize)}, crop ${JSON.stringify(c.crop)}`, () => {
      const want = readNpy(join(FIXTURES, c.expected));
      const got = ours(c);
      expect(got.shape).to.deep.equal(want.shape);
      const { max, mean } = levels(c, got.data, want.data, got.shape[1] * got.shape[2]);
      if (!jpeg) {
        let worst = 0;
        for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - want.data[i]));
        expect(worst, 'PNG: float32 rounding only').to.be.at.most(1e-6);
      } else if (c.image === 'e-color.JPG') {
        expect(max, 'JPEG 4:2:0: largest difference in 8-bit levels').to.be.at.most(64);
        expect(mean, 'JPEG 4:2:0: mean difference in 8-bit levels').to.be.at.most(12);
      } else {
        expect(max, 'JPEG gray or 4:4:4: largest difference in 8-bit levels').to.be.at.most(3 + 1e-3);
        expect(mean, 'JPEG gray or 4:4:4: mean difference in 8-bit levels').to.be.at.most(1);
      }
    });
  }

  it('computes the sizes of torchvision Resize (shorter side, longer truncated)', () => {
    expect(resizedSize(53, 37, 24)).to.deep.equal([34, 24]); // 24·53/37 = 34.4
    expect(resizedSize(29, 41, 24)).to.deep.equal([24, 33]); // 24·41/29 = 33.9
    expect(resizedSize(20, 20, 7)).to.deep.equal([7, 7]);
    expect(resizedSize(20, 30, [5, 9])).to.deep.equal([5, 9]);
  });

  it("converts to gray with PIL's 'L' weights and keeps a same-size resize the identity", () => {
    const gray = toChannels({ width: 3, height: 1, rgb: Uint8Array.from([255, 0, 0, 0, 255, 0, 10, 20, 30]) }, 1);
    // 255·0.299 = 76.2, 255·0.587 = 149.7, 10·0.299 + 20·0.587 + 30·0.114 = 18.1
    expect([...gray.pixels]).to.deep.equal([76, 150, 18]);
    expect(resizeBilinear(gray, 1, 3)).to.equal(gray);
  });

  it('downscales a constant image to the same constant, and averages 2×2 blocks when halving', () => {
    const flat = { width: 8, height: 6, channels: 1 as const, pixels: new Uint8Array(48).fill(77) };
    expect([...resizeBilinear(flat, 3, 4).pixels].every((v) => v === 77)).to.equal(true);
    // halving with the antialiased triangle: weights 1/4, 3/4, 3/4, 1/4 per axis (support 2)
    const row = { width: 4, height: 1, channels: 1 as const, pixels: Uint8Array.from([0, 100, 200, 40]) };
    const half = resizeBilinear(row, 1, 2).pixels;
    // out[0]: center 1, taps x=0..2 with weights 0.75·0 + 0.75·100 + 0.25·200 over 1.75 → 71.4
    expect([...half]).to.deep.equal([Math.round((75 + 50) / 1.75), Math.round((0.25 * 100 + 0.75 * 200 + 0.75 * 40) / 1.75)]);
  });

  it('decodes a 16-bit gray + alpha PNG by the high byte of each sample, alpha dropped (PNG built by hand)', () => {
    const chunk = (kind: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(kind, 'latin1'), data]);
      const head = Buffer.alloc(4), tail = Buffer.alloc(4);
      head.writeUInt32BE(data.length);
      tail.writeUInt32BE(crc32(body));
      return Buffer.concat([head, body, tail]);
    };
    const samples = [0x0000, 0x01ff, 0x8000, 0xff00, 0xffff, 0x7fff];
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(3, 0);
    ihdr.writeUInt32BE(2, 4);
    ihdr[8] = 16; // bit depth
    ihdr[9] = 4; // gray + alpha
    const raw: number[] = [];
    for (let y = 0; y < 2; y++) {
      raw.push(0); // filter: none
      for (let x = 0; x < 3; x++) raw.push(samples[3 * y + x] >> 8, samples[3 * y + x] & 255, 0x12, 0x34);
    }
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(raw))), chunk('IEND', Buffer.alloc(0))]);
    const img = decodeImage(png, 'gray16.png', 'png');
    expect([img.width, img.height]).to.deep.equal([3, 2]);
    expect([...img.rgb]).to.deep.equal([0, 1, 128, 255, 255, 127].flatMap((v) => [v, v, v]));
  });

  it('has the ImageNet preset of torchvision (resize 256, crop 224, mean and std)', () => {
    expect(PRESETS.imagenet).to.deep.equal({ resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  });
});
