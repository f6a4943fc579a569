// compiler/ring-choice.ts's note on a measured range: the samples it ran, and the rings of the
// helper's copies, worded for one ring and for several.
import { expect } from 'chai';
import { RING_AUTO, chooseRing, type RingRange } from '../../compiler/ring-choice.js';

const FRAC = 14;
/** A range whose largest value (on the products' 2·FRAC scale) is 4 real units: Z_2^40. */
const range = (extra: Partial<RingRange>): RingRange => ({ largest: 2 ** 30, node: '/conv', windowTop: 0, windowNode: '', samples: RING_AUTO.samples, ...extra });

describe('--ring auto: the note', () => {
  it('says how many samples it ran of how many were given', () => {
    expect(chooseRing(range({ of: RING_AUTO.samples }), FRAC).note).to.include(`over ${RING_AUTO.samples} samples`);
    expect(chooseRing(range({ of: 32 }), FRAC).note).to.include(`over the first ${RING_AUTO.samples} of 32 samples`);
    expect(chooseRing(range({ samples: 3, of: 3 }), FRAC).note).to.include('over 3 samples');
  });

  it('names the copies\' ring once, or counts them per ring', () => {
    // selected values of 2 and 300 real units at FRAC bits: Z_2^24 holds the first with 3 bits of margin, Z_2^32 the second
    const copies = [{ node: '/a', largest: 2 * 2 ** FRAC }, { node: '/b', largest: 2 * 2 ** FRAC }, { node: '/c', largest: 300 * 2 ** FRAC }];
    const one = chooseRing(range({ copies: copies.slice(0, 2) }), FRAC).note;
    expect(one).to.include('2 (block-)ReLUs send the helper their masked copies in Z_2^24, lifted by the top bit');
    const two = chooseRing(range({ copies }), FRAC).note;
    expect(two).to.include('3 (block-)ReLUs send the helper their masked copies (2 in Z_2^24, 1 in Z_2^32), lifted by the top bit');
  });

  it('names the window that keeps the ring up on the compared value\'s scale, and the plan\'s own window under it', () => {
    // values fit Z_2^40, a window over bits [8, 30) of a value with 14 truncation bits folded in reaches bit 43: Z_2^48
    const folded = chooseRing(range({ windowTop: 44, windowNode: '/relu', windowFolded: 14 }), FRAC);
    expect(folded.ring).to.equal(48);
    expect(folded.note).to.include("a narrowed window reaches bit 43 at '/relu' (its window's top bit 29, read 14 bits higher on the value before the truncation the comparison folds in)");
    // nothing folded: the window's own bits, no aside
    const own = chooseRing(range({ windowTop: 44, windowNode: '/relu', windowFolded: 0 }), FRAC).note;
    expect(own).to.include("a narrowed window reaches bit 43 at '/relu'").and.not.include('folds in');
  });
});
