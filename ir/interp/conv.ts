// Convolution kernel (direct loops; a faster im2col/blocked version may replace the body).
import { Tensor, allocData } from '../tensor.js';
import { numel } from '../types.js';
import { defineKernels } from './kernels.js';

defineKernels({
  Conv: ([x, w, b], ctx) => {
    const t = ctx.outputTypes[0];
    const [n, c, h, wd] = x!.shape;
    const [o, cg, kh, kw] = w!.shape;
    const [, , oh, ow] = t.shape;
    const [sh, sw] = ctx.attr<number[]>('strides');
    const [pt, pl] = ctx.attr<number[]>('pads');
    const [dh, dw] = ctx.attr<number[]>('dilations');
    const og = o / ctx.attr<number>('group');
    const out = allocData(t.dtype, numel(t.shape));
    const xd = x!.data, wdta = w!.data, bd = b?.data;
    for (let bi = 0; bi < n; bi++)
      for (let oc = 0; oc < o; oc++) {
        const g = Math.floor(oc / og);
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            let acc = bd ? bd[oc] : 0;
            for (let ic = 0; ic < cg; ic++)
              for (let ky = 0; ky < kh; ky++) {
                const iy = oy * sh - pt + ky * dh;
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < kw; kx++) {
                  const ix = ox * sw - pl + kx * dw;
                  if (ix < 0 || ix >= wd) continue;
                  acc += xd[((bi * c + g * cg + ic) * h + iy) * wd + ix] * wdta[((oc * cg + ic) * kh + ky) * kw + kx];
                }
              }
            out[((bi * o + oc) * oh + oy) * ow + ox] = acc;
          }
      }
    return [new Tensor(t.dtype, t.shape, out)];
  },
});
