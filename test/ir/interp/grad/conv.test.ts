// Conv's backward kernel (ir/interp/grad/conv.ts) against finite differences: padding,
// asymmetric pads, strides, dilations, groups, depthwise with a channel multiplier, 1×1.
import { describe, it } from 'mocha';
import { expectGradients, randomConstant } from './check.js';

type ConvCase = { name: string; x: number[]; w: number[]; attrs: Record<string, number | number[]>; bias?: boolean };

const CASES: ConvCase[] = [
  { name: '3×3, pad 1, bias', x: [1, 3, 6, 5], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: 'stride 2, asymmetric pads', x: [1, 2, 7, 6], w: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [0, 1, 1, 0] } },
  { name: 'dilation 2, stride (1, 2)', x: [1, 2, 8, 7], w: [2, 2, 3, 2], attrs: { dilations: [2, 2], strides: [1, 2], pads: [2, 1, 2, 1] } },
  { name: 'groups 2', x: [1, 4, 5, 5], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { name: 'depthwise, multiplier 2, stride 2', x: [1, 3, 6, 6], w: [6, 1, 3, 3], attrs: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: '1×1', x: [1, 5, 4, 3], w: [3, 5, 1, 1], attrs: {} },
  { name: '1×1 stride 2 (a ResNet downsample)', x: [1, 4, 5, 5], w: [6, 4, 1, 1], attrs: { strides: [2, 2] } },
];

describe('ir/interp/grad: Conv against finite differences', () => {
  for (const c of CASES)
    it(c.name, () => {
      expectGradients((b, rand) => {
        const x = b.input('x', { dtype: 'float32', shape: c.x });
        const w = randomConstant(b, rand, 'w', c.w);
        const ins = c.bias ? [x, w, randomConstant(b, rand, 'bias', [c.w[0]])] : [x, w];
        b.output(b.op('Conv', ins, c.attrs));
      });
    });
});
