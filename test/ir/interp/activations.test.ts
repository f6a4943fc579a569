// Activations, normalization and reductions against onnxruntime-node: Relu, Sigmoid, Clip,
// HardSigmoid, Softmax, BatchNormalization, ReduceMean, ArgMax, Round.
import { expect } from 'chai';
import { float } from '../../../compiler/onnx/writer.js';
import '../../../ir/interp/index.js';
import { TestRandom, ortOp, relError, runKernel, tensorFrom, type Operand } from './support.js';
import { applyPost } from '../../../runtime/program/post.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const scalar = (v: number): Operand => ({ data: [v], shape: [], constant: true });

describe('interpreter: activations, normalization, reductions', function () {
  this.timeout(60000);
  const r = new TestRandom(21);
  const shapes = [[2, 3, 5, 4], [7], [1, 16, 3, 3], [3, 4]];

  it('Relu and Sigmoid match onnxruntime', async () => {
    for (const op of ['Relu', 'Sigmoid'])
      for (const shape of shapes) {
        const x: Operand = { data: r.floats(size(shape), -6, 6), shape };
        const ref = await ortOp(op, [x], {});
        expect(relError(runKernel(op, [tensorFrom(x)], {}, ref.dims).data, ref.data), op).to.be.at.most(1e-4);
      }
  });

  it('Round matches onnxruntime: halves to even, negative values, and the client\'s post op the same', async () => {
    const halves = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, -3.5, 2.4999, -2.5001, 1e-5, -1e-5, 7.9999847, 100.5];
    const x: Operand = { data: [...halves, ...r.floats(50, -20, 20)], shape: [halves.length + 50] };
    const ref = await ortOp('Round', [x], {});
    expect(Array.from(runKernel('Round', [tensorFrom(x)], {}, ref.dims).data)).to.deep.equal(Array.from(ref.data));
    // the client's Round of reveal-argmax's indices (runtime/program/post.ts) is the same function
    expect(Array.from(applyPost(Float64Array.from(x.data), x.shape, [{ op: 'Round' }]))).to.deep.equal(Array.from(ref.data, Number));
  });

  it('Clip matches onnxruntime with min and max, either, or none', async () => {
    for (const [lo, hi] of [[0, 6], [-1, undefined], [undefined, 0.5], [undefined, undefined], [2, 2]]) {
      const x: Operand = { data: r.floats(60, -8, 8), shape: [3, 20] };
      const ref = await ortOp('Clip', [x, lo === undefined ? null : scalar(lo), hi === undefined ? null : scalar(hi)], {});
      const attrs = { ...(lo === undefined ? {} : { min: lo }), ...(hi === undefined ? {} : { max: hi }) };
      expect(relError(runKernel('Clip', [tensorFrom(x)], attrs, ref.dims).data, ref.data), `${lo},${hi}`).to.be.at.most(1e-4);
    }
  });

  it('HardSigmoid matches onnxruntime with default and given alpha, beta', async () => {
    for (const ab of [{}, { alpha: 1 / 6, beta: 0.5 }, { alpha: 0.7, beta: -0.1 }] as Record<string, number>[]) {
      const x: Operand = { data: r.floats(50, -6, 6), shape: [5, 10] };
      const onnx = Object.fromEntries(Object.entries(ab).map(([k, v]) => [k, float(v)]));
      const ref = await ortOp('HardSigmoid', [x], onnx);
      expect(relError(runKernel('HardSigmoid', [tensorFrom(x)], ab, ref.dims).data, ref.data)).to.be.at.most(1e-4);
    }
  });

  it('Softmax matches onnxruntime along every axis', async () => {
    const shape = [2, 3, 4, 5];
    for (let axis = -1; axis < 4; axis++) {
      const x: Operand = { data: r.floats(size(shape), -10, 10), shape };
      const ref = await ortOp('Softmax', [x], { axis });
      const out = runKernel('Softmax', [tensorFrom(x)], { axis: axis < 0 ? axis + 4 : axis }, ref.dims);
      expect(relError(out.data, ref.data), `axis ${axis}`).to.be.at.most(1e-4);
    }
  });

  it('BatchNormalization matches onnxruntime (batch 2, several epsilons)', async () => {
    for (const [shape, eps] of [[[2, 4, 3, 5], 1e-5], [[1, 6, 7, 7], 1e-3], [[3, 5], 0.1]] as [number[], number][]) {
      const c = shape[1];
      const x: Operand = { data: r.floats(size(shape)), shape };
      const ops: Operand[] = [r.floats(c), r.floats(c), r.floats(c), r.floats(c, 0.1, 3)].map((d) => ({ data: d, shape: [c], constant: true }));
      const ref = await ortOp('BatchNormalization', [x, ...ops], { epsilon: float(eps) }, 15);
      const out = runKernel('BatchNormalization', [tensorFrom(x), ...ops.map(tensorFrom)], { epsilon: eps }, ref.dims);
      expect(relError(out.data, ref.data), `${shape}`).to.be.at.most(1e-4);
    }
  });

  it('ReduceMean matches onnxruntime over axis sets, with and without keepdims', async () => {
    const shape = [2, 3, 4, 5];
    for (const axes of [[1], [2, 3], [0, 2], [], [3], [0, 1, 2, 3]])
      for (const keepdims of [1, 0]) {
        const x: Operand = { data: r.floats(size(shape)), shape };
        const ref = await ortOp('ReduceMean', [x], axes.length ? { axes, keepdims } : { keepdims });
        const out = runKernel('ReduceMean', [tensorFrom(x)], { axes, keepdims }, ref.dims);
        expect(out.shape).to.deep.equal(ref.dims);
        expect(relError(out.data, ref.data), `${axes} ${keepdims}`).to.be.at.most(1e-4);
      }
  });

  it('ArgMax matches onnxruntime (int64 result, keepdims, select_last_index with ties)', async () => {
    const shape = [3, 4, 5];
    for (let axis = 0; axis < 3; axis++)
      for (const keepdims of [1, 0])
        for (const select_last_index of [0, 1]) {
          // Few distinct values, so ties are common and select_last_index matters.
          const x: Operand = { data: Float32Array.from(r.floats(size(shape), 0, 3), Math.floor), shape };
          const ref = await ortOp('ArgMax', [x], { axis, keepdims, select_last_index }, 13, 'int64');
          const out = runKernel('ArgMax', [tensorFrom(x)], { axis, keepdims, select_last_index }, ref.dims, 'int64');
          expect(out.dtype).to.equal('int64');
          expect(Array.from(out.data), `${axis} ${keepdims} ${select_last_index}`).to.deep.equal(Array.from(ref.data));
        }
  });
});
