// The per-party program the compiler emits (party{0,1,2}/program.json, validated by validate.ts):
// plain JSON-able data, the straight-line schedule of steps the executor runs. The three
// parties' programs list the same steps in the same order (the merger splits frames by that
// order); only P1's setup refers to weights it holds.

import type { PartyId } from '../session/session.js';
import type { Conv2dParams } from '../ring/windows.js';

/** Version of the program format (codegen writes it, the executor refuses others). */
export const PROGRAM_FORMAT = 1;

/** The rings a program may run in, by bits: Z_2^64 (the default), or a smaller Z_2^ℓ for a
 * client-offline program, whose every step is a ring homomorphism or exact (each ring-element
 * message then carries ℓ/8 bytes; passes/secure/lower-client-offline.ts, runtime/protocols/wire.ts). */
export { RING_BITS, SELECTION_RING_BITS, type RingBits } from '../protocols/wire.js';
import type { RingBits } from '../protocols/wire.js';

/** Step kinds whose messages carry ring elements, which a program in a smaller ring marks with
 * `params.ring` (its bits, as the program's `ring`). */
export const RING_PARAM_KINDS: ReadonlySet<string> = new Set(['weights', 'weightsSharedMask', 'weightsClientOffline', 'helperSelect', 'truncateClientOffline', 'reveal']);

/** Step kinds that carry a value of a smaller ring through unchanged in meaning (ring homomorphisms
 * that neither truncate nor compare): a 'helperSelect' step with its own, smaller `params.ring`
 * makes a value of that ring, these keep it there, and only a lifting 'truncateClientOffline'
 * (params.lift) brings it back to the program's ring (validate.ts). */
export const NARROW_CARRYING_KINDS: ReadonlySet<string> = new Set(['add', 'sub', 'addConst', 'identity', 'transpose', 'slice', 'concat', 'pad', 'broadcast']);

/** A bilinear map of a weight layer, as data. */
export type MapSpec = { kind: 'conv'; conv: Conv2dParams } | { kind: 'matmul'; m: number; k: number; n: number };

/** One-time setup of a weight layer (setupWeights): P1 masks its weights for P0. */
export interface SetupStep {
  /** Layer name: the key its inference steps use. */
  name: string;
  map: MapSpec;
  /** Key of the encoded weights in weights.bin (P1 only; the others hold none). */
  weights: string;
  /** The program's ring in bits when smaller than 64 (as Program.ring; absent at 64). */
  ring?: RingBits;
}

/** One step of the inference schedule. */
export interface ProgramStep {
  /** Unique name (the IR node's); its streams are prefixed by it. */
  name: string;
  /** Step kind in the step library (runtime/program/steps.ts). */
  kind: string;
  /** IR op the step comes from (for reading and progress). */
  op: string;
  /** Scheduled 1-based round of its first message (0 for local steps). */
  round: number;
  /** Rounds it takes. */
  rounds: number;
  /** Values it reads and writes (ring vectors, by name). */
  inputs: string[];
  outputs: string[];
  /** Kind-specific parameters (plain JSON). */
  params: Record<string, unknown>;
}

/** Step kinds that multiply an activation by P1's weights (each names its setup's `layer`). */
export const PRODUCT_KINDS: ReadonlySet<string> = new Set(['weights', 'reluWeights', 'weightsSharedMask', 'weightsClientOffline']);

/** Step kinds of the client-offline mode (DESIGN's "the helper selects"): each deals in the
 * offline phase from P0's input-independent shares (runtime/program/client-offline-pass.ts), and
 * a program holding one runs P0's whole program offline. */
export const CLIENT_OFFLINE_KINDS: ReadonlySet<string> = new Set(['helperSelect', 'truncateClientOffline', 'weightsClientOffline']);

/** True when `program` is of the client-offline mode (it has a step of CLIENT_OFFLINE_KINDS). */
export function isClientOffline(program: Pick<Program, 'steps'>): boolean {
  return program.steps.some((st) => CLIENT_OFFLINE_KINDS.has(st.kind));
}

/** The value holding a product step's product: a 'reluWeights' step's second result (after
 * the activation), every other product kind's first. A step with `keepMasked` adds P1's masked
 * activation as its last result (read by 'weightsSharedMask' steps). */
export function productValue(st: Pick<ProgramStep, 'kind' | 'outputs'>): string {
  return st.outputs[st.kind === 'reluWeights' ? 1 : 0];
}

/** A float operation the client applies to a revealed output (trailing Softmax/ArgMax, or the
 * Round of reveal-argmax's class indices). */
export type PostOp = { op: 'Softmax' | 'ArgMax'; axis: number; keepdims?: boolean } | { op: 'Round' };

/** A graph output as the client gets it. */
export interface ProgramOutput {
  name: string;
  /** The revealed value it is computed from. */
  value: string;
  shape: number[];
  post: PostOp[];
}

/** What one party runs. */
export interface Program {
  format: number;
  party: PartyId;
  frac: number;
  /** The ring Z_2^ring the program runs in, when smaller than 64 (RING_BITS; absent: Z_2^64):
   * only the low `ring` bits of a share mean anything, and every ring element travels in ring/8
   * bytes. Only a client-offline program (isClientOffline) runs in one. */
  ring?: RingBits;
  input: { name: string; value: string; shape: number[] };
  outputs: ProgramOutput[];
  setup: SetupStep[];
  steps: ProgramStep[];
  /** Inference rounds and one-time rounds the schedule predicts. */
  rounds: number;
  oneTimeRounds: number;
}
