// Label maps as PIL reads them (np.array(Image.open(mask))): compiler/calibration/images.ts
// decodeLabelPng. PNGs written by our own encoder (examples/png.ts) from hand-packed scanlines; the
// expected labels are the values packed, by hand.
import { expect } from 'chai';
import { decodeLabelPng } from '../../../compiler/calibration/images.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { encodePngRows } from '../../../examples/png.js';

const labels = (png: Buffer) => Array.from(decodeLabelPng(png, 'mask.png').labels);

describe('label map PNGs (decodeLabelPng)', () => {
  it('gray: values unscaled at 16, 8 and 2 bits', () => {
    // 16-bit big-endian samples 3, 300 / 65535, 0
    expect(labels(encodePngRows([[0, 3, 1, 44], [255, 255, 0, 0]], 2, 16, 0))).to.deep.equal([3, 300, 65535, 0]);
    expect(labels(encodePngRows([[0, 21, 255]], 3, 8, 0))).to.deep.equal([0, 21, 255]);
    // 2-bit samples 0, 1, 2, 3 in one byte (pngjs would scale them to 0, 85, 170, 255)
    expect(labels(encodePngRows([[0b00011011]], 4, 2, 0))).to.deep.equal([0, 1, 2, 3]);
  });

  it('palette: the indices, not the colors, at 8 and 4 bits', () => {
    const palette = Array.from({ length: 16 }, (_, i) => [i * 10, i, 255 - i] as [number, number, number]);
    expect(labels(encodePngRows([[5, 2, 15]], 3, 8, 3, palette))).to.deep.equal([5, 2, 15]);
    expect(labels(encodePngRows([[0x52, 0xf0]], 3, 4, 3, palette))).to.deep.equal([5, 2, 15]);
  });

  it('MPCC3014 naming the file: RGB, gray + alpha, a repeated palette color in use, a corrupt file', () => {
    const code = (png: Buffer, text: RegExp) => expect(() => decodeLabelPng(png, 'mask.png')).to.throw(MpccError, text).with.property('code', 'MPCC3014');
    code(encodePngRows([[1, 2, 3]], 1, 8, 2), /label map 'mask\.png': an RGB PNG/);
    code(encodePngRows([[1, 255]], 1, 8, 4), /a gray \+ alpha PNG/);
    const twins: [number, number, number][] = [[0, 0, 0], [9, 9, 9], [9, 9, 9]];
    code(encodePngRows([[0, 2]], 2, 8, 3, twins), /palette entries 1 and 2 have the same color, so pixel 1's class is ambiguous/);
    // a palette repeating a color the map does not use is fine
    expect(labels(encodePngRows([[0, 0]], 2, 8, 3, twins))).to.deep.equal([0, 0]);
    code(Buffer.from('not a png'), /not a readable PNG/);
  });
});
