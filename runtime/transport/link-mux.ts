// Serving: one persistent link that carries a sequence of sessions and, between them, control
// messages (runtime/transport/serving.ts).
//
// A serving party runs one PartySession per inference over the same connections (the P1–P2
// link for the whole server session, the P0 links for one client). Sessions follow each other
// on a link, never overlap, and each is fenced by an end marker: when a session closes on
// this side (cleanly or not), its sub-link sends a control frame {t:'end'} and waits for the
// peer's. TCP keeps order, so every frame that arrives after the peer's k-th end marker
// belongs to the peer's session k (0-based): frames of a session this side already closed
// are dropped (an abort's leftovers never reach the next inference), frames of a session not
// yet opened here wait for it. Control frames ({t: …} JSON of at most MAX_CONTROL_BYTES) go
// to a queue read with nextControl(); they carry only public coordination (a client's nonce
// and count, accept or refuse, stop, a pre-dealt bundle's id and ephemeral X25519 public keys),
// never a share or a key.

import { runtimeError, type RuntimeError } from '../diagnostics.js';
import { zeroPhases } from '../session/counters.js';
import type { PartyId, Phase } from '../session/session.js';
import { FrameKind, type Frame } from './frame.js';
import type { LinkHandlers, PeerLink } from './link.js';
import type { TcpLink } from './tcp.js';

/** Largest control message a party accepts. */
export const MAX_CONTROL_BYTES = 4096;
/** How long a closing session waits for the peer's end marker before giving up the link. */
const END_GRACE_MS = 30_000;

/** A control message: its type `t` and public fields. */
export type ControlMessage = { t: string } & Record<string, unknown>;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Sessions one after another, and control messages between them, over one link. */
export class LinkMux {
  /** End markers received from the peer: the peer's current session index. */
  private peerEnds = 0;
  /** Sub-links opened here (the next one's index). */
  private opened = 0;
  private active: SubLink | null = null;
  /** Frames of sessions not yet opened here, with their session index. */
  private readonly future: { epoch: number; frame: Frame }[] = [];
  private readonly controls: ControlMessage[] = [];
  private readonly controlWaiters: { resolve(m: ControlMessage): void; reject(e: RuntimeError): void }[] = [];
  private readonly endWaiters: { epoch: number; resolve(): void }[] = [];
  private brokenWith: RuntimeError | null = null;
  private readonly brokenWaiters: ((e: RuntimeError) => void)[] = [];
  /** Set when no session follows on this link: a closing session does not wait for the peer's end. */
  private retired = false;

  constructor(readonly base: TcpLink) {
    base.attach({ frame: (f) => this.onFrame(f), broken: (e) => this.onBroken(e), admit: (kind, round, length) => this.admit(kind, round, length) });
  }

  /** The peer at the other end. */
  get peer(): PartyId {
    return this.base.peer;
  }

  /** The error the link broke with, or null while it is up. */
  get broken(): RuntimeError | null {
    return this.brokenWith;
  }

  /** The link of the next session (the previous one must be closed). */
  open(): PeerLink {
    if (this.active && !this.active.closedHere) throw runtimeError('MPCC5014', [`a session on the link to party ${this.peer} is still open`]);
    const sub = new SubLink(this, this.opened++);
    this.active = sub;
    return sub;
  }

  /** Sends a control message. */
  sendControl(m: ControlMessage): void {
    const payload = utf8.encode(JSON.stringify(m));
    this.base.send(FrameKind.Control, 0, zeroPhases(), [payload], payload.length);
  }

  /** The next control message (other than an end marker); with `timeoutMs` > 0, MPCC5005
   * naming the peer when none comes in time. Rejects when the link breaks. */
  nextControl(timeoutMs = 0, waitingFor = 'a control message'): Promise<ControlMessage> {
    const queued = this.controls.shift();
    if (queued) return Promise.resolve(queued);
    if (this.brokenWith) return Promise.reject(this.brokenWith);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const w = {
        resolve: (m: ControlMessage) => (clearTimeout(timer), resolve(m)),
        reject: (e: RuntimeError) => (clearTimeout(timer), reject(e)),
      };
      this.controlWaiters.push(w);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          const i = this.controlWaiters.indexOf(w);
          if (i >= 0) this.controlWaiters.splice(i, 1);
          reject(runtimeError('MPCC5005', [`no ${waitingFor} within ${timeoutMs} ms`], this.peer));
        }, timeoutMs);
      }
    });
  }

  /** The next queued control message, if one arrived and nobody waits for it (no wait). */
  pollControl(): ControlMessage | undefined {
    return this.controls.shift();
  }

  /** Resolves with the error the link breaks with (at once if it is broken). Unlike
   * nextControl, it takes no control message. */
  whenBroken(): Promise<RuntimeError> {
    if (this.brokenWith) return Promise.resolve(this.brokenWith);
    return new Promise((resolve) => this.brokenWaiters.push(resolve));
  }

  /** No session follows on this link (it closes after the current one): closing the current
   * session no longer waits for the peer's end marker. */
  retire(): void {
    this.retired = true;
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.base.close();
  }

  /** Session `epoch` ended here: tell the peer and wait for its end of the same session. */
  async endSession(sub: SubLink): Promise<void> {
    if (this.brokenWith) return;
    try {
      this.sendControl({ t: 'end' });
    } catch {
      return; // the link is down: nothing more will come
    }
    if (this.peerEnds > sub.epoch || this.retired) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.onBroken(runtimeError('MPCC5005', [`its session did not end within ${END_GRACE_MS} ms of this party's`], this.peer));
        this.base.socket.destroy();
      }, END_GRACE_MS);
      this.endWaiters.push({ epoch: sub.epoch, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private onFrame(f: Frame): void {
    if (f.kind === FrameKind.Control) return this.onControl(f);
    const epoch = this.peerEnds;
    const a = this.active;
    if (a && a.epoch === epoch && !a.closedHere) a.deliver(f);
    else if (epoch >= this.opened) this.future.push({ epoch, frame: f });
    // else: a frame of a session this side already closed: dropped.
  }

  private onControl(f: Frame): void {
    let m: ControlMessage;
    try {
      const v = JSON.parse(utf8d.decode(f.payload)) as unknown;
      if (typeof v !== 'object' || v === null || typeof (v as { t?: unknown }).t !== 'string') throw new Error('no type');
      m = v as ControlMessage;
    } catch {
      return this.fatal(runtimeError('MPCC5003', ['a control frame that is not a control message'], this.peer));
    }
    if (m.t === 'end') {
      this.peerEnds++;
      for (const w of this.endWaiters.splice(0)) {
        if (this.peerEnds > w.epoch) w.resolve();
        else this.endWaiters.push(w);
      }
      return;
    }
    const w = this.controlWaiters.shift();
    if (w) w.resolve(m);
    else this.controls.push(m);
  }

  private admit(kind: FrameKind, round: number, length: number): void {
    if (kind === FrameKind.Control) {
      if (length > MAX_CONTROL_BYTES) throw runtimeError('MPCC5003', [`a control frame of ${length} bytes (at most ${MAX_CONTROL_BYTES})`], this.peer);
      return;
    }
    const a = this.active;
    if (a && a.epoch === this.peerEnds && !a.closedHere) a.admit(kind, round, length);
  }

  private fatal(err: RuntimeError): void {
    this.onBroken(err);
    this.base.socket.destroy();
  }

  private onBroken(err: RuntimeError): void {
    if (this.brokenWith) return;
    this.brokenWith = err;
    for (const w of this.controlWaiters.splice(0)) w.reject(err);
    for (const w of this.endWaiters.splice(0)) w.resolve();
    for (const w of this.brokenWaiters.splice(0)) w(err);
    if (this.active && !this.active.closedHere) this.active.fail(err);
  }

  /** Frames that arrived for session `epoch` before it opened here. */
  takeFuture(epoch: number): Frame[] {
    const mine = this.future.filter((x) => x.epoch === epoch).map((x) => x.frame);
    const rest = this.future.filter((x) => x.epoch > epoch);
    this.future.length = 0;
    this.future.push(...rest);
    return mine;
  }
}

/** One session's view of a multiplexed link. */
class SubLink implements PeerLink {
  private handlers: LinkHandlers | null = null;
  closedHere = false;
  readonly channelSecret?: Uint8Array;
  readonly frameOverhead: number;

  constructor(private readonly mux: LinkMux, readonly epoch: number) {
    this.channelSecret = mux.base.channelSecret;
    this.frameOverhead = mux.base.frameOverhead;
  }

  get peer(): PartyId {
    return this.mux.peer;
  }

  send(kind: FrameKind, round: number, phases: Record<Phase, number>, parts: readonly Uint8Array[], length: number): void {
    if (this.closedHere) throw runtimeError('MPCC5009', [this.mux.peer, 'this session ended on the link']);
    this.mux.base.send(kind, round, phases, parts, length);
  }

  attach(h: LinkHandlers): void {
    this.handlers = h;
    for (const f of this.mux.takeFuture(this.epoch)) h.frame(f);
    if (this.mux.broken) h.broken(this.mux.broken);
  }

  close(): Promise<void> {
    if (this.closedHere) return Promise.resolve();
    this.closedHere = true;
    return this.mux.endSession(this);
  }

  deliver(f: Frame): void {
    this.handlers?.frame(f);
  }

  admit(kind: FrameKind, round: number, length: number): void {
    this.handlers?.admit?.(kind, round, length);
  }

  fail(err: RuntimeError): void {
    this.handlers?.broken(err);
  }
}
