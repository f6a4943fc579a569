// Label maps through `mpcc eval`'s Resize (PIL's NEAREST, compiler/calibration/preprocess.ts
// preprocessLabels) against Pillow itself: test/fixtures/labels/ holds palette and gray PNGs that
// Pillow 9.4 wrote and what its Image.resize((w, h), NEAREST) made of them (its
// make_fixtures.py). The sizes are chosen for ties: an output pixel whose center falls exactly on
// an input pixel boundary, where Pillow's stepped double-precision centers decide, at steps that
// are not exact in binary (2/3, 4/3, 8/3, 4/5, ...). The maps are decoded by decodeLabelPng, so
// Pillow's own PNG encoder is read too.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpyIntegers } from '../../../compiler/npy.js';
import { decodeLabelPng } from '../../../compiler/calibration/images.js';
import { preprocessLabels } from '../../../compiler/calibration/preprocess.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'labels');

interface Case {
  name: string;
  map: string;
  resize: [number, number];
  expected: string;
}

const CASES: Case[] = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8'));

/** Pixel centers stepped exactly, ⌊(2x + 1)·in / (2·out)⌋: where Pillow differs from it, a tie. */
const exact = (inSize: number, outSize: number) => Array.from({ length: outSize }, (_, x) => Math.floor(((2 * x + 1) * inSize) / (2 * outSize)));

describe('label maps resized with NEAREST as Pillow resizes them (ties included)', () => {
  it(`${CASES.length} cases: equal to Pillow's output, pixel for pixel`, () => {
    expect(CASES.length).to.be.greaterThan(30);
    for (const c of CASES) {
      const path = join(FIXTURES, c.map);
      const map = decodeLabelPng(readFileSync(path), path);
      const [h, w] = c.resize;
      const { size, run } = preprocessLabels(map, { resize: [h, w] }, 255);
      expect(size, c.name).to.deep.equal([h, w]);
      const out = new Int32Array(h * w);
      run(out, 0);
      const want = readNpyIntegers(join(FIXTURES, c.expected));
      expect(want.shape, c.name).to.deep.equal([h, w]);
      const differ = Array.from(out).findIndex((v, i) => v !== want.data[i]);
      expect(differ, `${c.name}: first difference at row ${Math.floor(differ / w)}, column ${differ % w}`).to.equal(-1);
    }
  });

  it('the fixtures hold ties where exact centers and Pillow\'s stepped ones part (so the test can fail)', () => {
    // a resize from exact centers ⌊(2x + 1)·in/(2·out)⌋ differs from Pillow in some tie case: the
    // stepped double-precision arithmetic matters, and the cases above exercise it
    let parted = 0;
    for (const c of CASES) {
      const path = join(FIXTURES, c.map);
      const map = decodeLabelPng(readFileSync(path), path);
      const [h, w] = c.resize;
      const rows = exact(map.height, h), cols = exact(map.width, w);
      const want = readNpyIntegers(join(FIXTURES, c.expected)).data;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (map.labels[rows[y] * map.width + cols[x]] !== want[y * w + x]) parted++;
    }
    expect(parted).to.be.greaterThan(0);
  });
});
