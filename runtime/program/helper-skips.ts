// The helper's idle local steps in the client-offline mode. There P2 holds no share of any
// tensor after the products reading the client's input: its protocols (helper-select.ts,
// truncate-client-offline.ts, weights.ts applyWeightsClientOffline) take what they need from the
// offline phase and the round's messages and ignore the value they are passed, and its reveal
// takes part emptily. So a local step (no message: Add, Slice, Pad, the MaxPool trees' gathers,
// ...) whose every result reaches only such steps, directly or through other such local steps,
// computes zeros nobody reads: P2 skips it and passes an empty placeholder (measured on resnet50
// under a 4×4 plan: a third of P2's online CPU was local steps on zeros and their garbage).

import { CLIENT_OFFLINE_KINDS, type ProgramStep } from './program.js';

/** Steps that ignore the value P2 passes them (they return P2's placeholder or nothing). */
const IGNORING_KINDS: ReadonlySet<string> = new Set([...CLIENT_OFFLINE_KINDS, 'reveal']);

/** Local step kinds: each computes its results from its inputs alone, with no message. */
const LOCAL_KINDS: ReadonlySet<string> = new Set(['add', 'sub', 'addConst', 'identity', 'transpose', 'slice', 'concat', 'pad', 'broadcast', 'avgPool', 'globalAvgPool', 'resize']);

/** The empty placeholder a skipped step's results carry (never read: see the file comment). */
export const SKIPPED_VALUE = new BigUint64Array(0);

const SKIPS = new WeakMap<readonly ProgramStep[], ReadonlySet<number>>();

/** The indices of the steps P2 skips in `program` (none outside the client-offline mode, or when
 * the steps are not in dependency order). Backwards over the steps: a value is needed when a
 * step other than an ignoring one or a skipped local one reads it; a local step is skipped when
 * none of its results is needed. */
export function helperSkippedSteps(program: { readonly steps: readonly ProgramStep[] }): ReadonlySet<number> {
  const known = SKIPS.get(program.steps);
  if (known) return known;
  const skipped = new Set<number>();
  if (program.steps.some((st) => CLIENT_OFFLINE_KINDS.has(st.kind)) && inDependencyOrder(program.steps)) {
    const needed = new Set<string>();
    for (let i = program.steps.length - 1; i >= 0; i--) {
      const st = program.steps[i];
      if (LOCAL_KINDS.has(st.kind) && st.rounds === 0 && !st.outputs.some((v) => needed.has(v))) skipped.add(i);
      else if (!IGNORING_KINDS.has(st.kind)) for (const v of st.inputs) needed.add(v);
    }
  }
  SKIPS.set(program.steps, skipped);
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
