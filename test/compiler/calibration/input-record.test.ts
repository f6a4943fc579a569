// The preprocessing a compile records for its clients (compiler/calibration/input-record.ts):
// from the compile's --calib flags, else from the plan's record of its images; and the warning
// when the two disagree (the plan measured on images preprocessed otherwise than clients' will be).
import { expect } from 'chai';
import { compilePreprocessing, preprocessingMismatch } from '../../../compiler/calibration/input-record.js';

/** A plan file's bytes whose source records images preprocessed by `preprocessing` (null: not applied). */
function planBytes(preprocessing: Record<string, unknown> | undefined): Uint8Array {
  const calib = preprocessing === undefined ? { kind: 'array' } : { kind: 'images', preprocessing };
  return new TextEncoder().encode(JSON.stringify({ source: { calib } }));
}

const IMAGENET = { resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

describe('compiler/calibration: the input preprocessing a compile records', () => {
  it("takes the compile's --calib flags first, else the plan's record", () => {
    expect(compilePreprocessing({ calib: 'imgs/', preset: 'imagenet' }, planBytes({ resize: [224, 224], crop: null, mean: null, std: null }))).to.deep.equal(IMAGENET);
    expect(compilePreprocessing(undefined, planBytes({ resize: [224, 224], crop: null, mean: null, std: null }))).to.deep.equal({ resize: [224, 224] });
    expect(compilePreprocessing(undefined, planBytes(undefined))).to.equal(undefined);
  });

  it('warns when --calib images are preprocessed otherwise than the plan was made on, naming both', () => {
    const plan = planBytes({ ...IMAGENET });
    expect(preprocessingMismatch({ calib: 'imgs/', preset: 'imagenet' }, plan)).to.equal(null);
    const w = preprocessingMismatch({ calib: 'imgs/', resize: [224, 224] }, plan);
    expect(w).to.equal(
      "the plan was made on images preprocessed as resize 256, crop 224, mean 0.485,0.456,0.406, std 0.229,0.224,0.225; this compile's --calib images are preprocessed as resize 224x224, and so will clients' images be: give the plan's image flags (e.g. its --preset) to --calib too",
    );
    expect(preprocessingMismatch({ calib: 'imgs/' }, plan)).to.contain('preprocessed as they are (no transform)');
    // nothing to compare: no plan, a plan made on arrays, an .npy --calib (used as it is)
    expect(preprocessingMismatch({ calib: 'imgs/' }, undefined)).to.equal(null);
    expect(preprocessingMismatch({ calib: 'imgs/' }, planBytes(undefined))).to.equal(null);
    expect(preprocessingMismatch({ calib: 'x.npy' }, plan)).to.equal(null);
  });
});
