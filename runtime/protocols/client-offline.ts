// The client-offline mode's common shape (helper-select.ts, truncate-client-offline.ts,
// weights.ts applyWeightsClientOffline): P0's share of every tensor after the first product is
// input-independent, so each protocol splits into a dealing all three parties make in the
// offline phase (P0 from its offline shares; its messages travel in the offline phase's closing
// exchange, phase 'preprocessing') and an online function that takes it.

import { runtimeError } from '../diagnostics.js';
import type { Outgoing, PartyId, Session } from '../session/session.js';

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

/** An offline exchange of client-offline dealings by themselves (the warm-up, the protocol tests;
 * the offline phase packs them into its closing exchange, runtime/program/offline.ts):
 * one round carrying every dealing's outgoing messages (phase 'preprocessing') and `extra` ones
 * after them, then each dealing takes its bytes from the frames in order. Returns what is left
 * of each peer's frame (the extra messages' bytes). Every party calls it. */
export async function exchangeClientOfflineDealings(s: Session, deals: readonly ClientOfflineDealing[], extra: { outgoing?: Outgoing[]; expect?: Partial<Record<PartyId, number>> } = {}): Promise<Map<PartyId, Uint8Array>> {
  const expect: Partial<Record<PartyId, number>> = {};
  for (const d of [...deals.map((d) => d.expect), extra.expect ?? {}]) for (const [p, n] of Object.entries(d)) expect[Number(p) as PartyId] = (expect[Number(p) as PartyId] ?? 0) + n;
  const from = (Object.keys(expect).map(Number) as PartyId[]).filter((p) => expect[p]! > 0);
  const got = await s.round([...deals.flatMap((d) => d.outgoing), ...(extra.outgoing ?? [])], from, expect);
  const at: Partial<Record<PartyId, number>> = {};
  for (const d of deals)
    d.receive((p) => {
      const start = at[p] ?? 0;
      at[p] = start + (d.expect[p] ?? 0);
      return got.get(p)!.subarray(start, at[p]);
    });
  return new Map(from.map((p) => [p, got.get(p)!.subarray(at[p] ?? 0)]));
}
