// Constant-mode Pad of any rank; negative pads crop, as in ONNX.
import { Tensor, allocData } from '../tensor.js';
import { numel, stridesOf } from '../types.js';
import { defineKernels } from './kernels.js';

defineKernels({
  Pad: ([x], ctx) => {
    const t = ctx.outputTypes[0];
    const pads = ctx.attr<number[]>('pads');
    const value = ctx.attr<number>('value') ?? 0;
    const inShape = x!.shape, outShape = t.shape, rank = inShape.length;
    const out = allocData(t.dtype, numel(outShape));
    if (value !== 0) out.fill(value);
    const src = x!.data, outStrides = stridesOf(outShape);
    if (rank === 0) {
      out[0] = src[0];
      return [new Tensor(t.dtype, outShape, out)];
    }
    // Copy row by row along the last axis: each input row lands (cropped) in one output row.
    const last = rank - 1;
    const begin = pads[last];
    const lo = Math.max(0, -begin), hi = Math.min(inShape[last], outShape[last] - begin);
    const rows = numel(inShape.slice(0, last));
    const coord = new Array<number>(last).fill(0);
    for (let r = 0; r < rows; r++) {
      let o = 0, inside = true;
      for (let d = 0; d < last; d++) {
        const oc = coord[d] + pads[d];
        if (oc < 0 || oc >= outShape[d]) { inside = false; break; }
        o += oc * outStrides[d];
      }
      if (inside) {
        const i0 = r * inShape[last];
        for (let i = lo; i < hi; i++) out[o + begin + i] = src[i0 + i];
      }
      for (let d = last - 1; d >= 0; d--) {
        if (++coord[d] < inShape[d]) break;
        coord[d] = 0;
      }
    }
    return [new Tensor(t.dtype, outShape, out)];
  },
});
