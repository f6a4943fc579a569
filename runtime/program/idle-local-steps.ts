// The idle local steps of the client-offline mode's online phase, for P0 and P2. In the mode
// every client-offline step (helper-select.ts, truncate-client-offline.ts, weights.ts
// applyWeightsClientOffline) ignores online the value P0 or P2 passes it: P0's output share was
// made in the offline phase (client-offline-pass.ts) and P2 holds no share at all; P2's reveal
// takes part emptily too (P0's reads its share: the output's). So a local step (no message: Add,
// Slice, Pad, the MaxPool trees' gathers, ...) whose every result reaches only such steps,
// directly or through other such local steps, computes values nobody reads online: the party
// skips it and passes an empty placeholder (measured on resnet50 under a 4×4 plan: a third of
// P2's online CPU was local steps on zeros and their garbage).

import { CLIENT_OFFLINE_KINDS, type ProgramStep } from './program.js';

/** Per party, the steps that ignore the value it passes them online. */
const IGNORING_KINDS: Readonly<Record<0 | 2, ReadonlySet<string>>> = {
  0: CLIENT_OFFLINE_KINDS,
  2: new Set([...CLIENT_OFFLINE_KINDS, 'reveal']),
};

/** Local step kinds: each computes its results from its inputs alone, with no message. */
const LOCAL_KINDS: ReadonlySet<string> = new Set(['add', 'sub', 'addConst', 'identity', 'transpose', 'slice', 'concat', 'pad', 'broadcast', 'avgPool', 'globalAvgPool', 'resize']);

/** The empty placeholder a skipped step's results carry (never read: see the file comment). */
export const SKIPPED_VALUE = new BigUint64Array(0);

const SKIPS = new WeakMap<readonly ProgramStep[], Map<0 | 2, ReadonlySet<number>>>();

/** The indices of the steps party `party` (0 or 2) skips online in `program` (none outside the
 * client-offline mode, or when the steps are not in dependency order). Backwards over the steps:
 * a value is needed when a step other than an ignoring one or a skipped local one reads it; a
 * local step is skipped when none of its results is needed. */
export function idleLocalSteps(program: { readonly steps: readonly ProgramStep[] }, party: 0 | 2): ReadonlySet<number> {
  const byParty = SKIPS.get(program.steps) ?? new Map<0 | 2, ReadonlySet<number>>();
  SKIPS.set(program.steps, byParty);
  const known = byParty.get(party);
  if (known) return known;
  const skipped = new Set<number>();
  if (program.steps.some((st) => CLIENT_OFFLINE_KINDS.has(st.kind)) && inDependencyOrder(program.steps)) {
    const needed = new Set<string>();
    for (let i = program.steps.length - 1; i >= 0; i--) {
      const st = program.steps[i];
      if (LOCAL_KINDS.has(st.kind) && st.rounds === 0 && !st.outputs.some((v) => needed.has(v))) skipped.add(i);
      else if (!IGNORING_KINDS[party].has(st.kind)) for (const v of st.inputs) needed.add(v);
    }
  }
  byParty.set(party, skipped);
  return skipped;
}

/** Whether every step's inputs are results of earlier steps. */
function inDependencyOrder(steps: readonly ProgramStep[]): boolean {
  const made = new Set<string>();
  for (const st of steps) {
    if (!st.inputs.every((v) => made.has(v))) return false;
    for (const v of st.outputs) made.add(v);
  }
  return true;
}
