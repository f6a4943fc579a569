// MaxPool, AveragePool (count_include_pad, ceil_mode) and GlobalAveragePool against
// onnxruntime-node on random single-op models.
import { expect } from 'chai';
import '../../../ir/interp/index.js';
import { TestRandom, ortOp, relError, runKernel, tensorFrom, type Operand } from './support.js';

describe('interpreter: pooling', function () {
  this.timeout(60000);

  for (const op of ['MaxPool', 'AveragePool']) {
    it(`${op} matches onnxruntime on 60 random windows (strides, asymmetric pads, ceil_mode${op === 'MaxPool' ? ', dilations' : ', count_include_pad'})`, async () => {
      const r = new TestRandom(op.length * 31);
      let ran = 0;
      while (ran < 60) {
        const kh = r.int(1, 4), kw = r.int(1, 4);
        const pads = [r.int(0, kh - 1), r.int(0, kw - 1), r.int(0, kh - 1), r.int(0, kw - 1)];
        const strides = [r.int(1, 3), r.int(1, 3)];
        const dilations = op === 'MaxPool' ? [r.pick([1, 1, 2]), r.pick([1, 1, 2])] : [1, 1];
        const h = r.int(Math.max(kh, 3), 12), w = r.int(Math.max(kw, 3), 12);
        if (h + pads[0] + pads[2] < dilations[0] * (kh - 1) + 1 || w + pads[1] + pads[3] < dilations[1] * (kw - 1) + 1) continue;
        const ceil_mode = r.pick([0, 1]);
        const attrs: Record<string, number | number[]> = { kernel_shape: [kh, kw], strides, pads, ceil_mode };
        if (op === 'MaxPool') attrs.dilations = dilations;
        else attrs.count_include_pad = r.pick([0, 1]);
        const x: Operand = { data: r.floats(2 * 3 * h * w), shape: [2, 3, h, w] };
        const ref = await ortOp(op, [x], attrs, op === 'MaxPool' ? 12 : 11);
        const out = runKernel(op, [tensorFrom(x)], attrs, ref.dims);
        expect(relError(out.data, ref.data), JSON.stringify({ h, w, ...attrs })).to.be.at.most(1e-4);
        ran++;
      }
    });
  }

  it('GlobalAveragePool matches onnxruntime', async () => {
    const r = new TestRandom(5);
    for (const shape of [[1, 8, 7, 7], [2, 3, 5, 9], [1, 1, 1, 1]]) {
      const x: Operand = { data: r.floats(shape.reduce((a, b) => a * b)), shape };
      const ref = await ortOp('GlobalAveragePool', [x], {});
      expect(relError(runKernel('GlobalAveragePool', [tensorFrom(x)], {}, ref.dims).data, ref.data)).to.be.at.most(1e-4);
    }
  });
});
