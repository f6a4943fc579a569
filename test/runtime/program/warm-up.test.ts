// The online phase's warm-up (runtime/program/warm-up.ts): its protocols run to the end on
// three in-process parties (a failure would be ignored in a real run, so it is checked here),
// once per process.
import { expect } from 'chai';
import { warmUp, warmUpOnce } from '../../../runtime/program/warm-up.js';

describe('runtime/program/warm-up: warming the online phase before the input', () => {
  it('runs every protocol of the warm-up to the end, classic and client-offline', async () => {
    await warmUp();
    await warmUp('clientOffline');
  });

  it('runs once per process and family: a second call waits for the first', () => {
    const first = warmUpOnce();
    expect(warmUpOnce()).to.equal(first);
    expect(warmUpOnce('classic')).to.equal(first);
    const other = warmUpOnce('clientOffline');
    expect(other).to.not.equal(first);
    expect(warmUpOnce('clientOffline')).to.equal(other);
    return Promise.all([first, other]);
  });
});
