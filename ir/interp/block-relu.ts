// The float kernel of BlockRelu: per channel, every tile (the runtime's tiling, blockLayout)
// passes when its sum is ≥ 0 and becomes 0 otherwise; identity channels pass unchanged.
import { blockLayout } from '../../runtime/protocols/block-relu.js';
import { blockSizesFrom } from '../ops/block-relu.js';
import { Tensor, allocData } from '../tensor.js';
import { defineKernels } from './kernels.js';

defineKernels({
  BlockRelu: ([x], ctx) => {
    const shape = x!.shape as [number, number, number, number];
    const { patchOf, patches } = blockLayout(shape, blockSizesFrom(ctx.attr<number[]>('blocks')));
    const src = x!.data;
    // Tile sums in float64 whatever the run's precision: the sign of a sum near zero is the
    // one decision a rounding could flip.
    const sums = new Float64Array(patches);
    for (let i = 0; i < src.length; i++) if (patchOf[i] >= 0) sums[patchOf[i]] += src[i];
    const out = allocData(ctx.outputTypes[0].dtype, src.length);
    for (let i = 0; i < src.length; i++) {
      const p = patchOf[i];
      out[i] = p < 0 || sums[p] >= 0 ? src[i] : 0;
    }
    return [new Tensor(ctx.outputTypes[0].dtype, x!.shape, out)];
  },
});
