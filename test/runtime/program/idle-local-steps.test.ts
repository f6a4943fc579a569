// The idle local steps (runtime/program/idle-local-steps.ts) on hand-written step lists, each
// case's answer worked out by hand from the rule: in a client-offline program P0 or P2 skips a
// local step whose every result reaches only steps that ignore its value online (the mode's kinds;
// for P2 the reveal too), directly or through other skipped local steps. Running programs with skips is
// covered by every client-offline end-to-end test (the secure outputs against the references).

import { expect } from 'chai';
import { idleLocalSteps } from '../../../runtime/program/idle-local-steps.js';
import type { ProgramStep } from '../../../runtime/program/index.js';

const step = (kind: string, inputs: string[], outputs: string[], rounds = 0): ProgramStep => ({ name: outputs[0] ?? kind, kind, op: kind, round: 0, rounds, inputs, outputs, params: {} });
const skips = (steps: ProgramStep[], party: 0 | 2 = 2) => [...idleLocalSteps({ steps }, party)].sort((a, b) => a - b);

describe('runtime/idle-local-steps: P0 and P2 skip the local steps whose results no step reads online', () => {
  it('a residual block of the mode: the Add, the Slice and the Pad before client-offline steps and the reveal are skipped', () => {
    const steps = [
      step('input', [], ['x']),
      step('weights', ['x'], ['c1'], 1), // the first product reads the input: P2's zeros needed
      step('truncateClientOffline', ['c1'], ['t1'], 2),
      step('pad', ['t1'], ['p1']), // 3: read by a client-offline product only
      step('weightsClientOffline', ['p1'], ['c2']),
      step('helperSelect', ['c2', 't1'], ['h2'], 3),
      step('add', ['h2', 't1'], ['a2']), // 6: read by a skipped slice only
      step('slice', ['a2'], ['s2']), // 7: read by the reveal only
      step('reveal', ['s2'], []),
    ];
    expect(skips(steps)).to.deep.equal([3, 6, 7]);
    // P0 reads its share of what it reveals: the Add and the Slice run, the Pad is skipped.
    expect(skips(steps, 0)).to.deep.equal([3]);
  });

  it('a local step whose result also reaches a step that reads P2\'s value runs, and so does its chain', () => {
    const steps = [
      step('input', [], ['x']),
      step('identity', ['x'], ['i']), // 1: feeds the first product, which checks its length
      step('weights', ['i'], ['c1'], 1),
      step('truncateClientOffline', ['c1'], ['t1'], 2),
      step('add', ['t1', 't1'], ['a']), // 4: read by a classic product below
      step('transpose', ['a'], ['b']), // 5: read by helperSelect only
      step('helperSelect', ['b'], ['h'], 3),
      step('weightsSharedMask', ['a'], ['c3'], 1),
      step('reveal', ['h'], []),
    ];
    expect(skips(steps)).to.deep.equal([5]);
  });

  it('a local step with a round, or a kind that is not local, is never skipped', () => {
    const steps = [
      step('input', [], ['x']),
      step('truncateClientOffline', ['x'], ['t'], 2),
      step('resize', ['t'], ['r'], 1), // a round: not local
      step('clip', ['t'], ['k']), // not a local kind
      step('reveal', ['r'], []),
      step('reveal', ['k'], []),
    ];
    expect(skips(steps)).to.deep.equal([]);
  });

  it('nothing outside the client-offline mode, nor when the steps are not in dependency order', () => {
    const classic = [step('input', [], ['x']), step('add', ['x', 'x'], ['a']), step('relu', ['a'], ['r'], 3), step('reveal', ['r'], [])];
    expect(skips(classic)).to.deep.equal([]);
    const outOfOrder = [
      step('input', [], ['x']),
      step('slice', ['t'], ['s']), // reads a later step's result
      step('truncateClientOffline', ['x'], ['t'], 2),
      step('reveal', ['s'], []),
    ];
    expect(skips(outOfOrder)).to.deep.equal([]);
  });
});
