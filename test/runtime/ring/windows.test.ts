// The one output-size formula of sliding windows (runtime/ring/windows.ts) against a count of
// the windows that fit, position by position, and hand-computed shapes of ResNet layers.
import { expect } from 'chai';
import { conv2dOutShape, poolOutShape, windowOutSize } from '../../../runtime/ring/windows.js';

/** Windows along one axis by enumeration over the padded input of length L: floor mode keeps
 * a window while it fits (start + span ≤ L); ceil mode keeps one while the window before it
 * left part of the padded input uncovered and it starts before the end padding. */
function countWindows(inSize: number, kernel: number, stride: number, padBefore: number, padAfter: number, dilation: number, ceilMode: boolean): number {
  const span = dilation * (kernel - 1) + 1;
  const padded = inSize + padBefore + padAfter;
  let count = 1;
  for (let start = stride; ; start += stride) {
    const keep = ceilMode ? start - stride + span < padded && start < inSize + padBefore : start + span <= padded;
    if (!keep) return count;
    count++;
  }
}

describe('runtime/ring/windows: one output-size formula', () => {
  it('equals the count of windows on every small case, floor and ceil mode', () => {
    let cases = 0;
    for (let inSize = 1; inSize <= 12; inSize++)
      for (let kernel = 1; kernel <= 4; kernel++)
        for (let stride = 1; stride <= 3; stride++)
          for (let dilation = 1; dilation <= 2; dilation++)
            for (let padBefore = 0; padBefore < kernel; padBefore++)
              for (let padAfter = 0; padAfter < kernel; padAfter++) {
                if (dilation * (kernel - 1) + 1 > inSize + padBefore + padAfter) continue;
                for (const ceil of [false, true]) {
                  const want = countWindows(inSize, kernel, stride, padBefore, padAfter, dilation, ceil);
                  expect(windowOutSize(inSize, kernel, stride, padBefore, padAfter, dilation, ceil), `${inSize} k${kernel} s${stride} d${dilation} p${padBefore},${padAfter} ceil ${ceil}`).to.equal(want);
                  cases++;
                }
              }
    expect(cases).to.be.greaterThan(1000);
  });

  it('hand-computed shapes: ResNet stem conv and pool, a dilated conv, ceil mode dropping a window', () => {
    const conv = { strides: [2, 2], pads: [3, 3, 3, 3], dilations: [1, 1], group: 1 } as const;
    expect(conv2dOutShape({ ...conv, inShape: [1, 3, 224, 224], weightShape: [64, 3, 7, 7] })).to.deep.equal([1, 64, 112, 112]);
    expect(conv2dOutShape({ ...conv, inShape: [1, 4, 9, 9], weightShape: [4, 4, 3, 3], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [2, 2] })).to.deep.equal([1, 4, 5, 5]);
    expect(poolOutShape({ inShape: [1, 64, 112, 112], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })).to.deep.equal([1, 64, 56, 56]);
    // 5 + 2 pads, k 2, s 2: ceil gives 4, but the 4th window would start in the end padding.
    expect(windowOutSize(5, 2, 2, 1, 1, 1, true)).to.equal(3);
    expect(windowOutSize(6, 3, 2, 1, 1, 1, true)).to.equal(4);
    expect(windowOutSize(6, 3, 2, 1, 1, 1, false)).to.equal(3);
  });
});
