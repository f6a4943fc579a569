// Resize (nearest with every nearest_mode, linear, every coordinate transformation) and
// constant Pad against onnxruntime-node.
import { expect } from 'chai';
import { floats } from '../../../compiler/onnx/writer.js';
import '../../../ir/interp/index.js';
import { TestRandom, ortOp, relError, runKernel, tensorFrom, type Operand } from './support.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
// onnxruntime 1.30 rejects tf_half_pixel_for_nearest; it is checked by hand below.
const coordModes = ['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel'];
const nearestModes = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

describe('interpreter: Resize and Pad', function () {
  this.timeout(60000);

  it('Resize matches onnxruntime: 4-D maps, sizes or scales, up and down, every mode', async () => {
    const r = new TestRandom(13);
    for (let i = 0; i < 80; i++) {
      const mode = r.pick(['nearest', 'linear']);
      const coord = r.pick(coordModes);
      const nearest = r.pick(nearestModes);
      const shape = [r.int(1, 2), r.int(1, 3), r.int(1, 9), r.int(1, 9)];
      const x: Operand = { data: r.floats(size(shape)), shape };
      const attrs = { mode, coordinate_transformation_mode: coord, nearest_mode: nearest };
      let ref, scales: number[];
      if (r.next() < 0.5) {
        scales = [1, 1, r.pick([0.5, 0.6, 1, 1.5, 2, 3, 2.3]), r.pick([0.5, 0.75, 1, 2, 4, 1.7])];
        if (shape.slice(2).some((d, k) => Math.floor(d * scales[k + 2]) < 1)) continue;
        ref = await ortOp('Resize', [x, null, { data: scales, shape: [4], constant: true }], attrs);
      } else {
        const sizes = [shape[0], shape[1], r.int(1, 17), r.int(1, 17)];
        scales = sizes.map((s, k) => s / shape[k]);
        ref = await ortOp('Resize', [x, null, null, { data: sizes, shape: [4], dtype: 'int64', constant: true }], attrs);
      }
      const out = runKernel('Resize', [tensorFrom(x)], { ...attrs, sizes: ref.dims, scales }, ref.dims);
      expect(relError(out.data, ref.data), JSON.stringify({ shape, scales, ...attrs })).to.be.at.most(1e-4);
    }
  });

  it('Resize matches onnxruntime on a DeepLab-style bilinear upsampling (28 → 224, align_corners=false)', async () => {
    const r = new TestRandom(14);
    const x: Operand = { data: r.floats(21 * 28 * 28), shape: [1, 21, 28, 28] };
    const sizes = [1, 21, 224, 224];
    const attrs = { mode: 'linear', coordinate_transformation_mode: 'half_pixel' };
    const ref = await ortOp('Resize', [x, null, null, { data: sizes, shape: [4], dtype: 'int64', constant: true }], attrs);
    const out = runKernel('Resize', [tensorFrom(x)], { ...attrs, sizes, scales: [1, 1, 8, 8] }, ref.dims);
    expect(relError(out.data, ref.data)).to.be.at.most(1e-4);
  });

  it('Resize with tf_half_pixel_for_nearest picks floor((x + 0.5) / scale) (hand-computed)', () => {
    // 1×1×1×4 → 1×1×1×6, scale 1.5: sources (x+0.5)/1.5 = 0.33, 1, 1.67, 2.33, 3, 3.67.
    const x = tensorFrom({ data: [10, 20, 30, 40], shape: [1, 1, 1, 4] });
    const attrs = { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nearest', scales: [1, 1, 1, 1.5] };
    const floor = runKernel('Resize', [x], { ...attrs, nearest_mode: 'floor' }, [1, 1, 1, 6]);
    expect(Array.from(floor.data)).to.deep.equal([10, 20, 20, 30, 40, 40]);
    const ceil = runKernel('Resize', [x], { ...attrs, nearest_mode: 'ceil' }, [1, 1, 1, 6]);
    expect(Array.from(ceil.data)).to.deep.equal([20, 20, 30, 40, 40, 40]);
  });

  it('Pad (constant) matches onnxruntime with positive, zero and negative pads', async () => {
    const r = new TestRandom(15);
    for (const [shape, pads] of [
      [[1, 2, 3, 4], [0, 0, 1, 2, 0, 0, 3, 0]], [[5], [2, 3]], [[2, 3, 4], [1, -1, 0, 0, 2, -2]], [[3, 4], [0, 0, 0, 0]], [[2, 2, 2, 2], [1, 1, 1, 1, 1, 1, 1, 1]],
    ] as [number[], number[]][]) {
      const value = r.pick([0, 1.5, -3]);
      const x: Operand = { data: r.floats(size(shape)), shape };
      const ref = await ortOp('Pad', [x, { data: pads, shape: [pads.length], dtype: 'int64', constant: true }, { data: [value], shape: [], constant: true }], { mode: 'constant' });
      const out = runKernel('Pad', [tensorFrom(x)], { pads, value }, ref.dims);
      expect(relError(out.data, ref.data), `${shape} ${pads}`).to.be.at.most(1e-4);
    }
  });
});
