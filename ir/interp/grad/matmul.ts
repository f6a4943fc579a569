// Backward of Gemm and MatMul. The activation operand's gradient dY·op(B)ᵀ of every probe is
// one GEMM (the probes stack as rows); gradients of a weight operand, needed only when it is
// not a constant, and MatMul's broadcast batches use plain loops.
import { numel } from '../../types.js';
import { type FloatArray, packA, packB, packedLength } from '../gemm.js';
import { matmulDims } from '../matmul.js';
import { allocFloats, runGemm } from '../parallel.js';
import { defineGradKernels, type GradContext, unbroadcast, zeros } from './kernels.js';

function gemmGrad([dy]: readonly (FloatArray | undefined)[], ctx: GradContext): (FloatArray | undefined)[] {
  const [a, b, c] = ctx.inputs;
  if (!dy) return [];
  const transA = (ctx.attr<number>('transA') ?? 0) !== 0, transB = (ctx.attr<number>('transB') ?? 0) !== 0;
  const alpha = ctx.attr<number>('alpha') ?? 1, beta = ctx.attr<number>('beta') ?? 1;
  const [M, N] = ctx.outputs[0].shape;
  const K = transA ? a!.shape[0] : a!.shape[1];
  const P = ctx.probes;
  const opA = (i: number, k: number): number => a!.data[transA ? k * M + i : i * K + k];
  const grads: (FloatArray | undefined)[] = [undefined, undefined, undefined];
  if (ctx.needs[0]) {
    // T = alpha·dY·op(B)ᵀ for all probes at once: (P·M × N)·(N × K).
    const ap = allocFloats(ctx.dtype, packedLength(P * M, N), false), bp = allocFloats(ctx.dtype, packedLength(K, N), false);
    packA(dy, 0, N, 1, P * M, N, ap);
    packB(b!.data, 0, transB ? K : 1, transB ? 1 : N, N, K, bp);
    const t = zeros(ctx, P * M * K);
    runGemm({ ap, bp, c: t, cOff: 0, ldc: K, biasOff: 0, biasPerColumn: false, M: P * M, N: K, K: N, mc: 64, nc: 64, alpha, beta: 1 });
    if (!transA || M === 1) grads[0] = t;
    else {
      const da = zeros(ctx, P * M * K);
      for (let p = 0; p < P; p++) for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) da[p * M * K + k * M + i] = t[p * M * K + i * K + k];
      grads[0] = da;
    }
  }
  if (ctx.needs[1]) {
    const db = zeros(ctx, P * K * N);
    for (let p = 0; p < P; p++)
      for (let k = 0; k < K; k++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let i = 0; i < M; i++) s += opA(i, k) * dy[p * M * N + i * N + j];
          db[p * K * N + (transB ? j * K + k : k * N + j)] = alpha * s;
        }
    grads[1] = db;
  }
  if (ctx.needs[2] && c) grads[2] = unbroadcast(dy, c.shape, [M, N], ctx, () => beta);
  return grads;
}

function matmulGrad([dy]: readonly (FloatArray | undefined)[], ctx: GradContext): (FloatArray | undefined)[] {
  const [a, b] = ctx.inputs;
  if (!dy) return [];
  const { M, K, N, batchA, batchB, batch } = matmulDims(a!.shape, b!.shape);
  const count = numel(batch);
  const offA = batchOffsets(batchA, batch), offB = batchOffsets(batchB, batch);
  const P = ctx.probes, na = a!.size, nb = b!.size, ny = count * M * N;
  const ad = a!.data, bd = b!.data;
  const da = ctx.needs[0] ? zeros(ctx, P * na) : undefined;
  const dbv = ctx.needs[1] ? zeros(ctx, P * nb) : undefined;
  for (let p = 0; p < P; p++)
    for (let bi = 0; bi < count; bi++) {
      const ya = offA[bi] * M * K, yb = offB[bi] * K * N, yo = p * ny + bi * M * N;
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          const g = dy[yo + i * N + j];
          if (g === 0) continue;
          for (let k = 0; k < K; k++) {
            if (da) da[p * na + ya + i * K + k] += g * bd[yb + k * N + j];
            if (dbv) dbv[p * nb + yb + k * N + j] += g * ad[ya + i * K + k];
          }
        }
    }
  return [da, dbv];
}

/** Matrix index in an operand with batch dims `dims` of each index of the broadcast `batch`. */
function batchOffsets(dims: readonly number[], batch: readonly number[]): Int32Array {
  const count = numel(batch), rank = batch.length;
  const out = new Int32Array(count);
  for (let bi = 0; bi < count; bi++) {
    let r = bi, off = 0, stride = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = r % batch[d];
      r = (r - idx) / batch[d];
      const j = dims.length - rank + d;
      if (j >= 0 && dims[j] !== 1) off += idx * stride;
      if (j >= 0) stride *= dims[j];
    }
    out[bi] = off;
  }
  return out;
}

defineGradKernels({ Gemm: gemmGrad, MatMul: matmulGrad });
