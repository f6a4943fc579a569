// Test harness for the protocols: three parties in one process over an in-memory session
// (a stand-in until the runtime's own in-process transport is used), a recorder of what each
// party receives, and helpers to run one protocol on all three parties at once.

import { randomBytes } from 'node:crypto';
import { createInProcessSessions } from '../../../runtime/transport/in-process.js';
import { createLocalTcpSessions } from '../../../runtime/transport/tcp.js';
import type { PartySession } from '../../../runtime/session/party-session.js';
import type { Outgoing, PartyId, Phase, Session } from '../../../runtime/session/session.js';

/** A frame a party received, for the security tests. */
export interface Received {
  from: PartyId;
  /** Index of the party's round call (counting calls with nothing to do). */
  round: number;
  data: Uint8Array;
}

/** A party session that logs every frame it receives. */
export type RecordingSession = PartySession & { received: Received[] };

const open: PartySession[] = [];

// Sessions made by a test are closed after it.
afterEach(async () => {
  const all = open.splice(0);
  await Promise.all(all.map((s) => s.close().catch(() => undefined)));
});

/** Three connected sessions (keys agreed by X25519) over the in-process transport or over
 * TCP on localhost, recording what they receive. */
export async function sessions(transport: 'in-process' | 'tcp' = 'in-process'): Promise<[RecordingSession, RecordingSession, RecordingSession]> {
  const ss: readonly PartySession[] = transport === 'tcp' ? await createLocalTcpSessions() : await createInProcessSessions();
  open.push(...ss);
  return ss.map((s) => {
    const rec = s as RecordingSession;
    rec.received = [];
    let calls = 0;
    const round = s.round.bind(s);
    rec.round = async (outgoing, from, expectBytes) => {
      const at = calls++;
      const got = await round(outgoing, from, expectBytes);
      for (const [p, data] of got) rec.received.push({ from: p, round: at, data });
      return got;
    };
    return rec;
  }) as [RecordingSession, RecordingSession, RecordingSession];
}

/** Runs `fn` on the three parties concurrently. */
export function run3<T>(ss: readonly Session[], fn: (s: Session) => Promise<T> | T): Promise<[T, T, T]> {
  return Promise.all([fn(ss[0]), fn(ss[1]), fn(ss[2])]) as Promise<[T, T, T]>;
}

/** A snapshot of the counters, to diff around one protocol call. */
export function snapshot(s: Session): { sent: Record<Phase, number>; received: Record<Phase, number>; sentTo: number[]; rounds: number; byLabel: Map<string, number> } {
  const c = s.counters;
  return { sent: { ...c.sent }, received: { ...c.received }, sentTo: [...c.sentTo], rounds: c.rounds, byLabel: new Map(c.byLabel) };
}

/** Counters after minus before. */
export function delta(after: ReturnType<typeof snapshot>, before: ReturnType<typeof snapshot>) {
  const sub = (a: Record<Phase, number>, b: Record<Phase, number>) => ({ online: a.online - b.online, preprocessing: a.preprocessing - b.preprocessing, oneTime: a.oneTime - b.oneTime });
  const byLabel = new Map<string, number>();
  for (const [k, v] of after.byLabel) if (v - (before.byLabel.get(k) ?? 0) !== 0) byLabel.set(k, v - (before.byLabel.get(k) ?? 0));
  return {
    sent: sub(after.sent, before.sent),
    received: sub(after.received, before.received),
    sentTo: after.sentTo.map((v, i) => v - before.sentTo[i]),
    rounds: after.rounds - before.rounds,
    byLabel,
  };
}

/** Shares a plaintext vector between P0 and P1 (test-side, random split). */
export function split(x: BigUint64Array): [BigUint64Array, BigUint64Array, BigUint64Array] {
  const r = new BigUint64Array(randomBytes(8 * x.length).buffer);
  const x0 = new BigUint64Array(x.length);
  for (let i = 0; i < x.length; i++) x0[i] = x[i] - r[i];
  return [x0, r, new BigUint64Array(x.length)];
}

/** Reconstructs from P0's and P1's shares. */
export function join(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** Uniform random ring elements (test data; not protocol randomness). */
export function randomRing(n: number): BigUint64Array {
  return new BigUint64Array(randomBytes(8 * n).buffer);
}

/** Random signed values of magnitude below 2^bits, as ring elements. */
export function randomSigned(n: number, bits: number): BigUint64Array {
  const r = randomRing(n);
  const out = new BigUint64Array(n);
  const span = 1n << BigInt(bits);
  for (let i = 0; i < n; i++) out[i] = BigInt.asUintN(64, (r[i] % (2n * span)) - span);
  return out;
}

/** The offline exchange of client-offline dealings (runtime/protocols/client-offline.ts). */
export { exchangeClientOfflineDealings as offlineExchange } from '../../../runtime/protocols/client-offline.js';

/** Shares of x with P0's share chosen so that x0 + 2^62 lands in a given top-bit case. */
export function sharesWithWrap(x: BigUint64Array, p0Top: 0 | 1): [BigUint64Array, BigUint64Array, BigUint64Array] {
  const r = randomRing(x.length);
  const x0 = new BigUint64Array(x.length);
  const x1 = new BigUint64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    // v0 = x0 + 2^62 with its top bit p0Top, the rest random
    const v0 = (r[i] & ((1n << 63n) - 1n)) | (BigInt(p0Top) << 63n);
    x0[i] = BigInt.asUintN(64, v0 - (1n << 62n));
    x1[i] = BigInt.asUintN(64, x[i] - x0[i]);
  }
  return [x0, x1, new BigUint64Array(x.length)];
}

/** Values for the truncation tests (n ≥ 100): random of up to 62 bits and of 20 bits, edge values
 * (every wrap case near ±2^61, ±2^62, small powers of two) and tiny ones. */
export function truncationValues(n: number): BigUint64Array {
  const edges = [0n, 1n, -1n, 2n ** 61n - 1n, -(2n ** 61n), 2n ** 61n + 12345n, -(2n ** 61n) - 1n, 2n ** 62n - 1n, -(2n ** 62n) + 1n, 2n ** 40n, -(2n ** 40n), 4095n, -4096n, -4097n];
  const x = new BigUint64Array(n);
  const [wide, narrow, rest] = [Math.floor(n / 2), Math.floor(n / 4), Math.floor((3 * n) / 4)];
  x.set(randomSigned(wide, 62));
  x.set(randomSigned(narrow, 20), wide);
  edges.forEach((e, i) => (x[rest + i] = BigInt.asUintN(64, e)));
  for (let i = rest + edges.length; i < n; i++) x[i] = BigInt.asUintN(64, BigInt(i % 7) - 3n);
  return x;
}

/** x = −5·2^16 in n elements shared with x0 = 2^63 − 3 (P0's share just below the sign boundary)
 * and x1 = x − x0: shares that wrap across 2^63, where SecureML's local truncation fails. */
export function wrappingShares(n: number): { x: BigUint64Array; shares: [BigUint64Array, BigUint64Array, BigUint64Array] } {
  const x = new BigUint64Array(n).fill(BigInt.asUintN(64, -5n * 2n ** 16n));
  const x0 = new BigUint64Array(n).fill(2n ** 63n - 3n);
  const x1 = new BigUint64Array(n);
  for (let i = 0; i < n; i++) x1[i] = x[i] - x0[i];
  return { x, shares: [x0, x1, new BigUint64Array(n)] };
}
