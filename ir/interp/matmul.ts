// Gemm and MatMul on the packed GEMM core (ir/interp/gemm.ts): transposes become packing
// strides, MatMul's batch dimensions broadcast as numpy's matmul does.
import { Tensor } from '../tensor.js';
import { numel, stridesOf } from '../types.js';
import { type FloatArray, packA, packB, packedLength } from './gemm.js';
import { defineKernels } from './kernels.js';
import { allocFloats, runGemm } from './parallel.js';

/** Tile shape of a Gemm/MatMul product. */
const TILE_M = 64, TILE_N = 64;

defineKernels({
  Gemm: ([a, b, c], ctx) => {
    const t = ctx.outputTypes[0];
    const dtype = t.dtype === 'float64' ? 'float64' : 'float32';
    const transA = (ctx.attr<number>('transA') ?? 0) !== 0, transB = (ctx.attr<number>('transB') ?? 0) !== 0;
    const alpha = ctx.attr<number>('alpha') ?? 1, beta = ctx.attr<number>('beta') ?? 1;
    const [M, N] = t.shape;
    const K = transA ? a!.shape[0] : a!.shape[1];
    const ap = allocFloats(dtype, packedLength(M, K)), bp = allocFloats(dtype, packedLength(N, K));
    packA(a!.data, 0, transA ? 1 : K, transA ? M : 1, M, K, ap);
    packB(b!.data, 0, transB ? 1 : N, transB ? K : 1, K, N, bp);
    const out = allocFloats(dtype, M * N);
    // A bias of N values (shape [N] or [1,N]) rides in the product; any other shape is added after.
    const cs = c?.shape ?? [];
    const perColumn = c !== undefined && numel(cs) === N && cs[cs.length - 1] === N && (cs.length < 2 || cs[0] === 1);
    runGemm({
      ap, bp, c: out, cOff: 0, ldc: N, bias: perColumn ? (c!.data as FloatArray) : undefined, biasOff: 0, biasPerColumn: true,
      M, N, K, mc: TILE_M, nc: TILE_N, alpha, beta,
    });
    if (c && !perColumn && beta !== 0) {
      const rows = cs.length === 2 ? cs[0] : 1, cols = cs.length >= 1 ? cs[cs.length - 1] : 1;
      const cd = c.data;
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) out[i * N + j] += beta * cd[(rows === 1 ? 0 : i) * cols + (cols === 1 ? 0 : j)];
    }
    return [new Tensor(dtype, t.shape, out)];
  },

  MatMul: ([a, b], ctx) => {
    const t = ctx.outputTypes[0];
    const dtype = t.dtype === 'float64' ? 'float64' : 'float32';
    const { M, K, N, batchA, batchB, rank, batch } = matmulDims(a!.shape, b!.shape);
    const stepA = broadcastSteps(batchA, rank), stepB = broadcastSteps(batchB, rank);
    const out = allocFloats(dtype, numel(t.shape));
    const ap = allocFloats(dtype, packedLength(M, K)), bp = allocFloats(dtype, packedLength(N, K));
    const count = numel(batch), bStrides = stridesOf(batch);
    for (let bi = 0; bi < count; bi++) {
      let offA = 0, offB = 0;
      for (let d = 0, r = bi; d < rank; d++) {
        const idx = Math.floor(r / bStrides[d]);
        r -= idx * bStrides[d];
        offA += idx * stepA[d];
        offB += idx * stepB[d];
      }
      packA(a!.data, offA * M * K, K, 1, M, K, ap);
      packB(b!.data, offB * K * N, N, 1, K, N, bp);
      runGemm({ ap, bp, c: out, cOff: bi * M * N, ldc: N, biasOff: 0, biasPerColumn: false, M, N, K, mc: TILE_M, nc: TILE_N, alpha: 1, beta: 1 });
    }
    return [new Tensor(dtype, t.shape, out)];
  },
});

/** MatMul's matrix sizes and batch dimensions (each operand's and the broadcast ones), by numpy's rules. */
export function matmulDims(aShape: readonly number[], bShape: readonly number[]): { M: number; K: number; N: number; batchA: number[]; batchB: number[]; rank: number; batch: number[] } {
  // A 1-D left operand is a row, a 1-D right operand a column (dropped after).
  const as = aShape.length === 1 ? [1, aShape[0]] : [...aShape];
  const bs = bShape.length === 1 ? [bShape[0], 1] : [...bShape];
  const M = as[as.length - 2], K = as[as.length - 1], N = bs[bs.length - 1];
  const batchA = as.slice(0, -2), batchB = bs.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = batchA[batchA.length - rank + i] ?? 1, db = batchB[batchB.length - rank + i] ?? 1;
    batch.push(da === 1 ? db : da);
  }
  return { M, K, N, batchA, batchB, rank, batch };
}

/** Matrix-index step of each broadcast batch axis for an operand with batch dims `dims`. */
function broadcastSteps(dims: readonly number[], rank: number): number[] {
  const strides = stridesOf(dims);
  const steps: number[] = [];
  for (let i = 0; i < rank; i++) {
    const j = dims.length - rank + i;
    steps.push(j < 0 || dims[j] === 1 ? 0 : strides[j]);
  }
  return steps;
}
