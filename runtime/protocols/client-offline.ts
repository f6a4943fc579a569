// The client-offline mode's common shape (helper-select.ts, truncate-client-offline.ts,
// weights.ts applyWeightsClientOffline): P0's share of every tensor after the first product is
// input-independent, so each protocol splits into a dealing all three parties make in the
// offline phase (P0 from its offline shares; its messages travel in the offline phase's closing
// exchange, phase 'preprocessing') and an online function that takes it.

import { runtimeError } from '../diagnostics.js';
import type { Outgoing, PartyId } from '../session/session.js';

/** One party's offline part of a client-offline protocol. */
export interface ClientOfflineDealing {
  /** This party's offline messages (phase 'preprocessing'), in the order its frame to each
   * peer carries them. */
  readonly outgoing: Outgoing[];
  /** Bytes it receives from each peer in the offline exchange. */
  readonly expect: Partial<Record<PartyId, number>>;
  /** The offline exchange's bytes arrived: take(p) gives exactly expect[p] bytes from p. */
  receive(take: (from: PartyId) => Uint8Array): void;
  /** P0: its output share (computed offline); P1, P2: null. */
  readonly output: BigUint64Array | null;
}

/** The bytes `take` gives from peer `p`, checked to be the `size` expected (MPCC5003 naming
 * the step otherwise), split into the parts' sizes. */
export function takeParts(take: (from: PartyId) => Uint8Array, p: PartyId, sizes: readonly number[], step: string): Uint8Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const bytes = take(p);
  if (!bytes || bytes.length !== total) throw runtimeError('MPCC5003', [`offline part of '${step}' of ${bytes?.length ?? 0} bytes, expected ${total}`], p);
  const parts: Uint8Array[] = [];
  for (let at = 0, i = 0; i < sizes.length; at += sizes[i++]) parts.push(bytes.subarray(at, at + sizes[i]));
  return parts;
}
