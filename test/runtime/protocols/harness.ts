// Test harness for the protocols: three parties in one process over an in-memory session
// (a stand-in until the runtime's own in-process transport is used), a recorder of what each
// party receives, and helpers to run one protocol on all three parties at once.

import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Counters, Outgoing, PartyId, Phase, Prg, Session } from '../../../runtime/session.js';

class StreamPrg implements Prg {
  private readonly cipher;
  constructor(key: Uint8Array) {
    this.cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    out.set(this.cipher.update(Buffer.alloc(n)));
    return out;
  }
  ring(n: number): BigUint64Array {
    return new BigUint64Array(this.bytes(8 * n).buffer);
  }
}

class Family {
  private readonly streams = new Map<string, StreamPrg>();
  constructor(private readonly key: Uint8Array) {}
  get(purpose: string): StreamPrg {
    let s = this.streams.get(purpose);
    if (!s) {
      const k = createHmac('sha256', this.key).update(purpose).digest().subarray(0, 16);
      this.streams.set(purpose, (s = new StreamPrg(k)));
    }
    return s;
  }
}

interface Frame {
  data: Uint8Array;
  phases: Record<Phase, number>;
}

/** A frame a party received, for the security tests. */
export interface Received {
  from: PartyId;
  round: number;
  data: Uint8Array;
}

const zero = (): Record<Phase, number> => ({ online: 0, preprocessing: 0, oneTime: 0 });

/** An in-memory session; `received` logs every frame it got. */
export class MemorySession implements Session {
  readonly counters: Counters = { sent: zero(), received: zero(), sentTo: [0, 0, 0], rounds: 0, byLabel: new Map() };
  readonly received: Received[] = [];
  peers: MemorySession[] = [];
  private readonly inbox: Frame[][] = [[], [], []];
  private readonly waiters: (((f: Frame) => void) | null)[] = [null, null, null];
  private readonly own_ = new Family(randomBytes(16));

  constructor(readonly id: PartyId, private readonly pairKeys: Uint8Array[], private readonly commonKey: Uint8Array, private readonly families = new Map<string, Family>()) {}

  private family(key: Uint8Array, name: string): Family {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = new Family(key)));
    return f;
  }
  shared(peer: PartyId, purpose: string): Prg {
    const [a, b] = peer < this.id ? [peer, this.id] : [this.id, peer];
    return this.family(this.pairKeys[a + b - 1], `pair${a}${b}`).get(purpose);
  }
  common(purpose: string): Prg {
    return this.family(this.commonKey, 'common').get(purpose);
  }
  own(purpose: string): Prg {
    return this.own_.get(purpose);
  }
  deliver(from: PartyId, f: Frame): void {
    const w = this.waiters[from];
    if (w) {
      this.waiters[from] = null;
      w(f);
    } else this.inbox[from].push(f);
  }
  private next(from: PartyId): Promise<Frame> {
    const f = this.inbox[from].shift();
    if (f) return Promise.resolve(f);
    return new Promise((res) => (this.waiters[from] = res));
  }
  async round(outgoing: readonly Outgoing[], from: readonly PartyId[]): Promise<Map<PartyId, Uint8Array>> {
    const round = this.counters.rounds++;
    const byPeer = new Map<PartyId, Outgoing[]>();
    for (const m of outgoing) {
      if (m.to === this.id) throw new Error('message to self');
      byPeer.set(m.to, [...(byPeer.get(m.to) ?? []), m]);
    }
    for (const [to, msgs] of byPeer) {
      const len = msgs.reduce((t, m) => t + m.data.byteLength, 0);
      const data = new Uint8Array(len);
      const phases = zero();
      let at = 0;
      for (const m of msgs) {
        data.set(m.data, at);
        at += m.data.byteLength;
        const ph = m.phase ?? 'online';
        phases[ph] += m.data.byteLength;
        this.counters.sent[ph] += m.data.byteLength;
        this.counters.sentTo[to] += m.data.byteLength;
        this.counters.byLabel.set(m.label, (this.counters.byLabel.get(m.label) ?? 0) + m.data.byteLength);
      }
      this.peers[to].deliver(this.id, { data, phases });
    }
    const got = new Map<PartyId, Uint8Array>();
    for (const p of from) {
      const f = await this.next(p);
      for (const ph of ['online', 'preprocessing', 'oneTime'] as const) this.counters.received[ph] += f.phases[ph];
      this.received.push({ from: p, round, data: f.data });
      got.set(p, f.data);
    }
    return got;
  }
  async close(): Promise<void> {}
}

/** Three connected in-memory sessions with fresh random pair keys. */
export function memorySessions(): [MemorySession, MemorySession, MemorySession] {
  const pairKeys = [randomBytes(16), randomBytes(16), randomBytes(16)]; // 01, 02, 12
  const common = randomBytes(16);
  const ss = ([0, 1, 2] as PartyId[]).map((id) => new MemorySession(id, pairKeys, common)) as [MemorySession, MemorySession, MemorySession];
  for (const s of ss) s.peers = ss;
  return ss;
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
