// The measures of `mpcc eval` (compiler/eval-metrics.ts) against values worked out by hand:
// top-k with tied scores, mean IoU with a class absent from labels and predictions, a class
// only predicted, and ignored pixels.
import { expect } from 'chai';
import { ClassificationMetrics, SegmentationMetrics, classRank, pixelPlace } from '../../compiler/eval-metrics.js';
import { MpccError } from '../../runtime/diagnostics.js';

const LABELS = { file: 'y.npy', shape: [6] };

describe('eval metrics', () => {
  // 7 classes; row 0 has a tie at 0.5 (classes 1 and 2), row 1 ties everywhere
  const row0 = [0.1, 0.5, 0.5, 0.2, 0.9, 0.0, 0.3];
  const row1 = [1, 1, 1, 1, 1, 1, 1];

  it('ranks tied scores by class index, lowest first (as ArgMax picks the first maximum)', () => {
    expect(classRank(row0, 0, 7, 4)).to.equal(0);
    expect(classRank(row0, 0, 7, 1)).to.equal(1); // below 0.9 only
    expect(classRank(row0, 0, 7, 2)).to.equal(2); // below 0.9 and the tied class 1
    expect(classRank(row0, 0, 7, 5)).to.equal(6);
    expect(classRank(row1, 0, 7, 0)).to.equal(0);
    expect(classRank(row1, 0, 7, 6)).to.equal(6);
  });

  it('top-1 and top-5 of six images, ties included', () => {
    const m = new ClassificationMetrics(7, LABELS);
    // ranks: label 2 → 2, label 4 → 0 (row 0); labels 0, 6, 5, 4 → 0, 6, 5, 4 (row 1)
    m.add([...row0, ...row0], [2, 4], 0, 2);
    m.add([...row1, ...row1, ...row1, ...row1], [0, 6, 5, 4], 2, 4);
    expect(m.result()).to.deep.equal({ top1: 2 / 6, top5: 4 / 6, n: 6 });
  });

  it('top-5 is null with five classes or fewer (every label would be in it)', () => {
    const m = new ClassificationMetrics(5, LABELS);
    m.add([0, 1, 2, 3, 4], [4], 0, 1);
    expect(m.result()).to.deep.equal({ top1: 1, top5: null, n: 1 });
  });

  it('MPCC3006: a label that is not a class of the model names the labels file', () => {
    const m = new ClassificationMetrics(7, LABELS);
    // the labels are the batch's; the error names the image by its index in the set
    expect(() => m.add(row0, [7], 3, 1)).to.throw(MpccError, /labels 'y\.npy' of shape \[6\] do not fit the model: label 7 of image 3 is not a class of the model \(0\.\.6\)/)
      .with.property('code', 'MPCC3006');
  });

  /** One-hot scores [1, C, pixels] predicting `pred`. */
  const oneHot = (pred: number[], classes: number) => {
    const s = new Float32Array(classes * pred.length);
    pred.forEach((k, p) => { s[k * pred.length + p] = 1; });
    return s;
  };

  it('mean IoU and pixel accuracy: absent class left out, ignored pixels count nowhere', () => {
    const m = new SegmentationMetrics(4, 255, { file: 'seg.npy', shape: [2, 2, 3] });
    // predictions [0,0,1,1,2,0], labels [0,1,1,255,2,2]; class 3 absent from both
    m.add(oneHot([0, 0, 1, 1, 2, 0], 4), [0, 1, 1, 255, 2, 2], 0, 1, 6);
    // class 0: ∩ 1, ∪ 3 → 1/3; class 1: ∩ 1, ∪ 2 → 1/2 (pixel 3 ignored); class 2: ∩ 1, ∪ 2 → 1/2
    let r = m.result();
    expect(r.iou).to.deep.equal([1 / 3, 1 / 2, 1 / 2, null]);
    expect(r.miou).to.be.closeTo(4 / 9, 1e-15);
    expect(r.pixelAcc).to.equal(3 / 5);
    // a second image predicting only class 3 with one labelled pixel (class 0): class 3 enters with IoU 0
    m.add(oneHot([3, 3, 3, 3, 3, 3], 4), [0, 255, 255, 255, 255, 255], 1, 1, 6);
    r = m.result();
    expect(r.iou).to.deep.equal([1 / 4, 1 / 2, 1 / 2, 0]);
    expect(r.miou).to.be.closeTo(5 / 16, 1e-15);
    expect(r.pixelAcc).to.equal(3 / 6);
    expect(r.n).to.equal(2);
  });

  it('segmentation ties go to the lowest class; MPCC3006 for a label neither a class nor the ignore index', () => {
    const m = new SegmentationMetrics(3, 255, { file: 'seg.npy', shape: [1, 1, 2] });
    m.add([1, 1, 1, 1, 0, 1], [0, 1], 0, 1, 2); // scores per class [1,1], [1,1], [0,1]: both pixels tie → class 0
    expect(m.result().pixelAcc).to.equal(1 / 2);
    expect(() => m.add([1, 0, 0, 0, 0, 0], [3, 0], 0, 1, 2)).to.throw(MpccError, /label 3 at pixel \(row 0, column 0\) of image 0 is neither a class \(0\.\.2\) nor the ignore index 255/)
      .with.property('code', 'MPCC3006');
    expect(() => m.add([1, 0, 0, 0, 0, 0], [0, 7], 0, 1, 2)).to.throw(MpccError, /label 7 at pixel \(row 0, column 1\) of image 0/);
    // a 3-row map: flat pixel 5 of a 2-wide map is row 2, column 1
    expect(pixelPlace(5, [1, 3, 2])).to.equal('row 2, column 1');
  });
});
