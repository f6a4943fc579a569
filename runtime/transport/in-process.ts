// The in-process transport: three parties in one process, linked by in-memory frame queues.
// Delivery is synchronous and copy-free where it can be: a frame with one message hands the
// sender's array to the receiver (copied only when it is not 8-byte aligned, so receivers
// may view every payload as a BigUint64Array); a frame with several messages is merged into
// one fresh array. Because all three parties live in one event loop, the group also detects
// deadlocks: when every live party waits for a frame that none will send, all fail at once
// with MPCC5013 instead of hanging.

import { runtimeError } from '../diagnostics.js';
import { PartySession, type SessionMonitor, type SessionOptions } from '../session/party-session.js';
import type { PartyId, Phase } from '../session/session.js';
import type { Frame, FrameKind } from './frame.js';
import type { LinkHandlers, PeerLink } from './link.js';
import { runParties } from '../session/run-parties.js';

/** How long every party must stay blocked with no frame moving before it is a deadlock. */
const DEADLOCK_MS = 1500;

/** One end of an in-memory frame queue pair. */
class MemoryLink implements PeerLink {
  other!: MemoryLink;
  private handlers: LinkHandlers | null = null;
  private backlog: Frame[] = [];
  private closed = false;
  private brokenReported = false;

  constructor(readonly peer: PartyId, private readonly self: PartyId, private readonly group: InProcessGroup) {}

  send(kind: FrameKind, round: number, phases: Record<Phase, number>, parts: readonly Uint8Array[], length: number): void {
    if (this.closed) throw runtimeError('MPCC5009', [this.self, 'its link is closed']);
    let payload: Uint8Array;
    if (parts.length === 1 && parts[0].byteOffset % 8 === 0) {
      payload = parts[0];
    } else {
      payload = new Uint8Array(length);
      let at = 0;
      for (const p of parts) {
        payload.set(p, at);
        at += p.length;
      }
    }
    this.group.progress++;
    this.other.deliver({ kind, round, phases, payload });
  }

  attach(h: LinkHandlers): void {
    this.handlers = h;
    const early = this.backlog;
    this.backlog = [];
    for (const f of early) h.frame(f);
    if (this.other.closed) this.reportBroken();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.other.reportBroken();
  }

  private deliver(f: Frame): void {
    if (this.closed) return;
    if (this.handlers) this.handlers.frame(f);
    else this.backlog.push(f);
  }

  private reportBroken(): void {
    if (this.closed || this.brokenReported || !this.handlers) return;
    this.brokenReported = true;
    this.handlers.broken(runtimeError('MPCC5001', ['its in-process link was closed without a goodbye'], this.peer));
  }
}

/** The three sessions of one process, watched for deadlock. */
class InProcessGroup implements SessionMonitor {
  sessions: PartySession[] = [];
  progress = 0;
  private timer: NodeJS.Timeout | null = null;

  blockedChanged(): void {
    const live = this.sessions.filter((s) => !s.finished);
    const stuck = live.length > 0 && live.every((s) => s.blocked);
    if (!stuck) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    if (this.timer) return;
    const stamp = this.progress;
    this.timer = setTimeout(() => {
      this.timer = null;
      const still = this.sessions.filter((s) => !s.finished);
      if (this.progress !== stamp || !still.every((s) => s.blocked)) return;
      const err = runtimeError('MPCC5013', [still.map((s) => s.describeWait()).join('; ')]);
      for (const s of still) s.interrupt(err);
    }, DEADLOCK_MS);
  }
}

/** Makes one party's session over its links (a PartySession, or a subclass of it). */
export type SessionMaker = (id: PartyId, links: (PeerLink | null)[], options: SessionOptions) => PartySession;

/** Three connected sessions (parties 0, 1, 2) in this process, keys agreed; `make` builds each
 * (the warm-up makes sessions of the class a party's transport uses, warm-up.ts). */
export async function createInProcessSessions(options: Omit<SessionOptions, 'monitor'> = {}, make: SessionMaker = (id, links, o) => new PartySession(id, links, o)): Promise<[PartySession, PartySession, PartySession]> {
  const group = new InProcessGroup();
  const links: (MemoryLink | null)[][] = [0, 1, 2].map(() => [null, null, null]);
  for (const a of [0, 1, 2] as const) {
    for (const b of [0, 1, 2] as const) {
      if (a < b) {
        const ab = new MemoryLink(b, a, group);
        const ba = new MemoryLink(a, b, group);
        ab.other = ba;
        ba.other = ab;
        links[a][b] = ab;
        links[b][a] = ba;
      }
    }
  }
  const sessions = ([0, 1, 2] as const).map((id) => make(id, links[id], { ...options, monitor: group }));
  group.sessions = sessions;
  await Promise.all(sessions.map((s) => s.start()));
  return sessions as [PartySession, PartySession, PartySession];
}

/** Runs `fn` as all three parties in this process and returns their results by party id.
 * If one party throws, the others' rounds fail (they get its abort) instead of hanging,
 * and the first error thrown is rethrown. Sessions are closed afterwards. */
export async function runInProcess<T>(fn: (s: PartySession) => Promise<T>, options: Omit<SessionOptions, 'monitor'> = {}): Promise<[T, T, T]> {
  return runParties(await createInProcessSessions(options), fn);
}
