// Input sharing (no message) and reveal of a result to the client (one message P1 → P0).

import { add, sub } from '../ring/ring.js';
import type { Session } from '../session/session.js';
import { bytesRing, ringBytes, splitFrame } from './wire.js';

/** Shares P0's input x of `n` ring elements: P0 gets x − r, P1 gets r, with r from the
 * P0–P1 stream, so no message is sent. P1 and P2 pass `null` for x; P2 gets zeros. */
export function shareInput(s: Session, x: BigUint64Array | null, n: number): BigUint64Array {
  if (s.id === 2) return new BigUint64Array(n);
  const r = s.shared(s.id === 0 ? 1 : 0, 'input').ring(n);
  if (s.id === 1) return r;
  if (!x || x.length !== n) throw new Error(`shareInput: P0 must pass ${n} input elements`);
  return sub(x, r);
}

/** Reveals a shared vector to P0 only: P1 sends its share (8n bytes, one round). P0 gets the
 * value; P1 and P2 get null. Every party calls it (P2 takes part in the round emptily). */
export async function revealToClient(s: Session, share: BigUint64Array): Promise<BigUint64Array | null> {
  const n = share.length;
  if (s.id === 1) {
    await s.round([{ to: 0, data: ringBytes(share.slice()), label: 'reveal' }], []);
    return null;
  }
  if (s.id === 2) {
    await s.round([], []);
    return null;
  }
  const got = await s.round([], [1], { 1: 8 * n });
  const [x1] = splitFrame(got.get(1), [8 * n], 1, 'reveal');
  return add(share, bytesRing(x1));
}
