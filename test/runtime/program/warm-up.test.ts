// The online phase's warm-up (runtime/program/warm-up.ts): its protocols run to the end on
// three in-process parties (a failure would be ignored in a real run, so it is checked here),
// once per process.
import { expect } from 'chai';
import { warmUp, warmUpOnce } from '../../../runtime/program/warm-up.js';

describe('runtime/program/warm-up: warming the online phase before the input', () => {
  it('runs every protocol of the warm-up to the end', async () => {
    await warmUp();
  });

  it('runs once per process: a second call waits for the first', () => {
    const first = warmUpOnce();
    expect(warmUpOnce()).to.equal(first);
    return first;
  });
});
