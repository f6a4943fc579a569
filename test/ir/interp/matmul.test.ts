// Gemm (transposes, alpha/beta, every bias shape) and MatMul (1-D operands, broadcast batch
// dimensions) against onnxruntime-node.
import { expect } from 'chai';
import { float } from '../../../compiler/onnx/writer.js';
import '../../../ir/interp/index.js';
import { TestRandom, ortOp, relError, runKernel, tensorFrom, type Operand } from './support.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe('interpreter: Gemm and MatMul', function () {
  this.timeout(60000);

  it('Gemm matches onnxruntime on 40 random products', async () => {
    const r = new TestRandom(3);
    for (let i = 0; i < 40; i++) {
      const M = r.int(1, 13), K = r.int(1, 40), N = r.int(1, 21);
      const transA = r.pick([0, 1]), transB = r.pick([0, 1]);
      const alpha = r.pick([1, 0.5, -2]), beta = r.pick([1, 0.25]);
      const cShape = r.pick([null, [N], [1, N], [M, N], [M, 1], [1], []]);
      const a: Operand = { data: r.floats(M * K), shape: transA ? [K, M] : [M, K] };
      const b: Operand = { data: r.floats(K * N), shape: transB ? [N, K] : [K, N], constant: r.next() < 0.5 };
      const c: Operand | null = cShape ? { data: r.floats(size(cShape)), shape: cShape, constant: true } : null;
      const ref = await ortOp('Gemm', c ? [a, b, c] : [a, b], { transA, transB, alpha: float(alpha), beta: float(beta) });
      const out = runKernel('Gemm', [tensorFrom(a), tensorFrom(b), c ? tensorFrom(c) : undefined], { transA, transB, alpha, beta }, ref.dims);
      expect(relError(out.data, ref.data), JSON.stringify({ M, K, N, transA, transB, cShape })).to.be.at.most(1e-4);
    }
  });

  it('Gemm of a classifier-sized product (2048 → 1000) on two threads', async () => {
    const r = new TestRandom(4);
    const a: Operand = { data: r.floats(2 * 2048), shape: [2, 2048] };
    const b: Operand = { data: r.floats(1000 * 2048, -0.1, 0.1), shape: [1000, 2048], constant: true };
    const c: Operand = { data: r.floats(1000), shape: [1000], constant: true };
    const ref = await ortOp('Gemm', [a, b, c], { transB: 1 });
    const out = runKernel('Gemm', [tensorFrom(a), tensorFrom(b), tensorFrom(c)], { transB: 1 }, ref.dims);
    expect(relError(out.data, ref.data)).to.be.at.most(1e-4);
  });

  it('MatMul matches onnxruntime with 1-D operands and broadcast batch dimensions', async () => {
    const r = new TestRandom(9);
    const cases: [number[], number[]][] = [
      [[5], [5, 3]], [[4, 5], [5]], [[7], [7]], [[2, 3, 4], [4, 6]], [[3, 4], [2, 4, 5]],
      [[2, 1, 3, 4], [1, 3, 4, 2]], [[1, 6, 8], [3, 8, 2]], [[64, 70], [70, 90]],
    ];
    for (const [sa, sb] of cases) {
      const a: Operand = { data: r.floats(size(sa)), shape: sa };
      const b: Operand = { data: r.floats(size(sb)), shape: sb };
      const ref = await ortOp('MatMul', [a, b], {});
      for (const precision of ['float32', 'float64'] as const) {
        const out = runKernel('MatMul', [tensorFrom(a), tensorFrom(b)], {}, ref.dims, 'float32', precision);
        expect(relError(out.data, ref.data), `${sa} x ${sb} ${precision}`).to.be.at.most(1e-4);
      }
    }
  });
});
