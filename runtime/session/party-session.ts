// A party's Session over three links (one per peer): the connect handshake, rounds with
// one merged frame per peer, counters, and fault handling. Transport-independent: the
// in-process and TCP transports only supply links.
//
// Frames are checked against the static schedule: a round declares the payload length it
// expects from each peer (the merger sums its steps' expectBytes), and a data frame of another
// length is refused with MPCC5021 naming the peer and the round. The TCP decoders ask
// `admit` with the header alone, so a frame announcing more than its round expects is refused
// before its payload is allocated or read; a frame that arrives before its round is declared
// is checked when the round takes it; frames left unread when the session closes (sent
// beyond the schedule) fail the close. Every round's wait has a timeout (round-timeout.ts).
//
// A serving session may run on a pre-dealt bundle (SessionPredeal; keys.ts "Pre-dealt bundles"):
// its P0–P2 and P1–P2 streams are then the bundle's, and P2's handshake step 1 frame to P0
// carries K02 and the bundle id beside its contribution (48 bytes instead of 16).
//
// Faults: any failure the session sees (a peer disconnecting without goodbye, a malformed or
// out-of-order frame, a round timeout, a peer's abort) fails the whole session: pending and
// later rounds reject with that RuntimeError, and the remaining peers get an abort frame so
// they fail too instead of waiting. A peer's clean goodbye only fails rounds that still wait
// for a frame from it.

import { peerName, runtimeError, RuntimeError, DIAGNOSTICS, type DiagnosticCode } from '../diagnostics.js';
import { newCounters, zeroPhases, type PartyCounters } from './counters.js';
import { PrgFamily, privateFamily } from './prg.js';
import type { Outgoing, PartyId, Phase, Prg, RoundOptions, Session } from './session.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameKind, HEADER_BYTES, decodeReason, encodeReason, type Frame, WIRE_VERSION } from '../transport/frame.js';
import type { PeerLink } from '../transport/link.js';
import * as keys from './keys.js';
import { roundTimeoutMs, type RoundTimeout } from './round-timeout.js';

/** Options common to every transport. */
export interface SessionOptions {
  /** Session tag all three parties must agree on (e.g. the model's hash); default ''. */
  tag?: string;
  /** Fail a round that waits longer than this many ms for a peer (MPCC5002), or 'schedule':
   * each round's timeout from its byte counts (round-timeout.ts). 0 = wait forever (default). */
  roundTimeoutMs?: RoundTimeout;
  /** Observer of blocking (the in-process transport uses it to detect deadlocks). */
  monitor?: SessionMonitor;
  /** Keep every received payload in `receivedLog` (security tests inspect what a party saw),
   * and every waiting round's timeout in `timeoutLog`. */
  recordReceived?: boolean;
  /** This session runs on a pre-dealt bundle (serving; keys.ts, "Pre-dealt bundles"). */
  predeal?: SessionPredeal;
}

/** The pre-dealt bundle a serving session runs on: its P0–P2 and P1–P2 streams are the
 * bundle's, positions carried over from P2's pre-dealing; the P0–P1 and common keys stay the
 * session's own. */
export interface SessionPredeal {
  /** The bundle's public id; at P0 the one P1 announced, or null (none expected). */
  id: string | null;
  /** P1: its stream family with P2 (from K12); P2: with P0 (K02) and P1 (K12), as the pre-dealing left them. */
  pairs?: Partial<Record<PartyId, PrgFamily>>;
  /** P2: the private streams the pre-dealing drew from. */
  own?: PrgFamily;
  /** P2: K02, handed to P0 in the handshake (padded with the session's own P0–P2 key). */
  clientKey?: Uint8Array;
}

/** The streams of a pre-dealt bundle at the helper: its families with P0 (K02) and P1 (K12)
 * and its own, which the dealing draws from and the session that runs the bundle continues. */
export interface BundleStreams {
  /** The bundle's public id. */
  id: string;
  pairs: Record<0 | 1, PrgFamily>;
  own: PrgFamily;
}

/** A payload a party received, with the sender and the index of the receiver's round()
 * call (idle calls included). */
export interface ReceivedPayload {
  from: PartyId;
  round: number;
  data: Uint8Array;
}

/** Told when a session starts or stops waiting for frames. */
export interface SessionMonitor {
  blockedChanged(s: PartySession): void;
}

interface Waiter {
  resolve(f: Frame): void;
  reject(e: RuntimeError): void;
  /** Payload length the schedule expects for this frame (data frames of a round). */
  expect?: number;
  /** This party's round (1-based round() call) the frame is for. */
  round: number;
}

/** Frames of one kind from one peer: arrived-but-unread ones, and reads waiting for more. */
class Inbox {
  readonly frames: Frame[] = [];
  head = 0;
  readonly waiters: Waiter[] = [];
  /** Next round number expected to arrive. */
  arrived = 0;
  /** Next round number to be read. */
  read = 0;
}

const PEERS: Record<PartyId, [PartyId, PartyId]> = { 0: [1, 2], 1: [0, 2], 2: [0, 1] };

/** A party's view of a running three-party session. */
export class PartySession implements Session {
  readonly counters: PartyCounters = newCounters();
  /** Public fingerprint of the session's keys (same at all three parties). */
  fingerprint = '';
  private readonly inboxes: Record<FrameKind.Handshake | FrameKind.Data, Inbox[]> = {
    [FrameKind.Handshake]: [new Inbox(), new Inbox(), new Inbox()],
    [FrameKind.Data]: [new Inbox(), new Inbox(), new Inbox()],
  };
  private readonly sendRound = [0, 0, 0];
  private readonly handshakeSent = [0, 0, 0];
  /** Why a peer's stream ended cleanly (goodbye), or null while it is open. */
  private readonly peerGone: (string | null)[] = [null, null, null];
  private failure: RuntimeError | null = null;
  private closedReason: string | null = null;
  private pendingReads = 0;
  private pairFamilies: (PrgFamily | null)[] = [null, null, null];
  private commonFamily: PrgFamily | null = null;
  private ownFamily = privateFamily();
  private readonly tag: string;
  private readonly predeal?: SessionPredeal;
  /** The pre-dealt bundle this session runs on (public id), or null. */
  bundle: string | null = null;
  private readonly roundTimeout: RoundTimeout;
  private readonly monitor?: SessionMonitor;
  /** [round, timeout ms] of every round that waited for frames (only with `recordReceived`). */
  readonly timeoutLog: [number, number][] = [];
  /** Every payload received, in order (only with the `recordReceived` option). */
  readonly receivedLog: ReceivedPayload[] = [];
  private readonly recordReceived: boolean;
  /** round() calls so far, idle ones included (the receivedLog's round index). */
  private calls = 0;

  /** `links[p]` is the link to peer p (null at this party's own index). Call `start()`. */
  constructor(readonly id: PartyId, private readonly links: readonly (PeerLink | null)[], options: SessionOptions = {}) {
    this.tag = options.tag ?? '';
    this.roundTimeout = options.roundTimeoutMs ?? 0;
    this.monitor = options.monitor;
    this.recordReceived = options.recordReceived ?? false;
    this.predeal = options.predeal;
    for (const p of PEERS[id]) {
      const link = links[p];
      if (!link || link.peer !== p) throw runtimeError('MPCC5014', [`party ${id} needs a link to peer ${p}`]);
      link.attach({ frame: (f) => this.onFrame(p, f), broken: (e) => this.onBroken(p, e), admit: (kind, round, length) => this.admit(p, kind, round, length) });
    }
  }

  /** The peers of this party, in id order. */
  get peers(): readonly PartyId[] {
    return PEERS[this.id];
  }

  /** True while a read waits for a frame that has not arrived. */
  get blocked(): boolean {
    return this.pendingReads > 0 && this.failure === null && this.closedReason === null;
  }

  /** True once the session failed or was closed. */
  get finished(): boolean {
    return this.failure !== null || this.closedReason !== null;
  }

  /** What this party is waiting for (for deadlock reports). */
  describeWait(): string {
    const waits: string[] = [];
    for (const p of PEERS[this.id]) {
      const box = this.inboxes[FrameKind.Data][p];
      if (box.waiters.length > 0) waits.push(`party ${this.id} waits for round ${box.read - box.waiters.length} from peer ${p}`);
    }
    return waits.join(', ');
  }

  /** Peers whose handshake frames have not all arrived (for timeout reports). */
  handshakeMissing(): PartyId[] {
    return this.peers.filter((p) => this.inboxes[FrameKind.Handshake][p].arrived < 2);
  }

  /** Runs the key-agreement handshake (keys.ts); must finish before the first round. */
  async start(): Promise<void> {
    try {
      const share = keys.createKeyShare();
      const hello = keys.encodeHello({ version: WIRE_VERSION, party: this.id, tag: this.tag, publicRaw: share.publicRaw });
      for (const p of this.peers) this.sendHandshake(p, hello);
      const publicKeys: Uint8Array[] = [];
      publicKeys[this.id] = share.publicRaw;
      const pairKeys: Uint8Array[] = [];
      for (const p of this.peers) {
        publicKeys[p] = keys.checkHello((await this.take(p, FrameKind.Handshake)).payload, p, this.tag).publicRaw;
        pairKeys[p] = keys.pairwiseKey(share, this.id, publicKeys[p], p, this.tag, this.links[p]!.channelSecret);
        this.pairFamilies[p] = new PrgFamily(pairKeys[p]);
      }
      const contributions: Uint8Array[] = [];
      contributions[this.id] = keys.commonContribution();
      const predeal = this.predeal;
      for (const p of this.peers) {
        const masked = keys.xorBytes(contributions[this.id], keys.contributionPad(pairKeys[p], this.id));
        // P2 of a pre-dealt session hands P0 the bundle's K02 and id beside its contribution.
        const k02 = this.id === 2 && p === 0 && predeal?.clientKey && predeal.id ? [keys.xorBytes(predeal.clientKey, keys.predealPad(pairKeys[0])), Buffer.from(predeal.id, 'hex')] : [];
        this.sendHandshake(p, k02.length > 0 ? Buffer.concat([masked, ...k02]) : masked);
      }
      let clientKey: Uint8Array | null = null;
      for (const p of this.peers) {
        const frame = (await this.take(p, FrameKind.Handshake)).payload;
        const bundled = this.id === 0 && p === 2 && frame.length === 48;
        if (frame.length !== 16 && !bundled) throw runtimeError('MPCC5005', [`contribution of ${frame.length} bytes, expected 16`], p);
        const masked = frame.subarray(0, 16);
        contributions[p] = keys.xorBytes(masked, keys.contributionPad(pairKeys[p], p));
        if (this.id === 0 && p === 2) {
          // The bundle P2 says this session runs on must be the one P1 announced.
          const got = bundled ? Buffer.from(frame.subarray(32, 48)).toString('hex') : null;
          const want = predeal?.id ?? null;
          if (got !== want) throw runtimeError('MPCC5050', ['inference (pre-dealt bundle)', got ?? '(none)', want ?? '(none)'], 2);
          if (bundled) clientKey = keys.xorBytes(frame.subarray(16, 32), keys.predealPad(pairKeys[2]));
        }
      }
      this.commonFamily = new PrgFamily(keys.commonKey(contributions, publicKeys, this.tag));
      this.fingerprint = keys.sessionFingerprint(publicKeys);
      if (clientKey) this.pairFamilies[2] = new PrgFamily(clientKey);
      if (predeal?.id) {
        for (const p of this.peers) if (predeal.pairs?.[p]) this.pairFamilies[p] = predeal.pairs[p]!;
        if (predeal.own) this.ownFamily = predeal.own;
      }
      this.bundle = clientKey ? (predeal?.id ?? null) : predeal?.id && predeal.pairs ? predeal.id : null;
    } catch (e) {
      const err = e instanceof RuntimeError ? e : runtimeError('MPCC5005', [(e as Error).message], undefined);
      this.fail(err);
      throw err;
    }
  }

  /** Stream shared with `peer` for `purpose` (same bytes at both parties). */
  shared(peer: PartyId, purpose: string): Prg {
    const fam = peer === this.id ? null : this.pairFamilies[peer];
    if (!fam) throw runtimeError('MPCC5010', [`no stream shared by party ${this.id} with party ${peer} (handshake not done?)`]);
    return fam.get(purpose);
  }

  /** Stream shared by all three parties for `purpose`. */
  common(purpose: string): Prg {
    if (!this.commonFamily) throw runtimeError('MPCC5010', ['no common stream before the handshake']);
    return this.commonFamily.get(purpose);
  }

  /** This party's private stream for `purpose`. */
  own(purpose: string): Prg {
    return this.ownFamily.get(purpose);
  }

  /** One round: a merged frame to every peer with messages, then one frame from each peer
   * in `from`. `expectBytes[p]`, when given, is the payload length the frame from p must
   * have (a mismatch fails the session with MPCC5021, before allocation on TCP). Received payloads are fresh or
   * 8-byte-aligned arrays; outgoing data must not be modified after the call. */
  async round(outgoing: readonly Outgoing[], from: readonly PartyId[], expectBytes?: Partial<Record<PartyId, number>>, options?: RoundOptions): Promise<Map<PartyId, Uint8Array>> {
    this.checkOpen();
    const byPeer: (Outgoing[] | undefined)[] = [undefined, undefined, undefined];
    for (const m of outgoing) {
      if ((m.to !== 0 && m.to !== 1 && m.to !== 2) || m.to === this.id) throw runtimeError('MPCC5010', [`party ${this.id} cannot send to '${String(m.to)}' (label '${m.label}')`]);
      (byPeer[m.to] ??= []).push(m);
    }
    for (let i = 0; i < from.length; i++) {
      const p = from[i];
      if ((p !== 0 && p !== 1 && p !== 2) || p === this.id || from.indexOf(p) !== i) throw runtimeError('MPCC5010', [`party ${this.id} cannot receive from [${from.join(', ')}]`]);
    }
    let maxBytes = 0;
    for (const p of this.peers) {
      const msgs = byPeer[p];
      if (!msgs) continue;
      maxBytes = Math.max(maxBytes, msgs.reduce((t, m) => t + m.data.length, 0));
      if (this.peerGone[p] !== null) throw this.fail(runtimeError('MPCC5001', [`it closed the session (${this.peerGone[p]}) but this party sends it round ${this.sendRound[p]}`], p));
      this.sendData(p, msgs);
    }
    // A round counts for this party only if it sends or receives in it (an idle call is a
    // placeholder of the schedule and costs nothing); the log indexes every call.
    const roundIndex = this.calls++;
    if (outgoing.length > 0 || from.length > 0) this.counters.rounds++;
    if (from.length === 0) return new Map();
    for (const p of from) maxBytes = Math.max(maxBytes, expectBytes?.[p] ?? 0);
    const reads = from.map((p) => this.take(p, FrameKind.Data, expectBytes?.[p], roundIndex + 1));
    const policyMs = roundTimeoutMs(this.roundTimeout, maxBytes);
    const timeoutMs = policyMs > 0 && options?.timeoutMs !== undefined ? Math.max(policyMs, options.timeoutMs) : policyMs;
    if (this.recordReceived) this.timeoutLog.push([roundIndex + 1, timeoutMs]);
    const frames = timeoutMs > 0 ? await this.withTimeout(reads, from, timeoutMs, roundIndex + 1) : await Promise.all(reads);
    const result = new Map<PartyId, Uint8Array>();
    for (let i = 0; i < from.length; i++) {
      const p = from[i];
      const f = frames[i];
      const c = this.counters;
      c.received.online += f.phases.online;
      c.received.preprocessing += f.phases.preprocessing;
      c.received.oneTime += f.phases.oneTime;
      c.receivedFrom[p] += f.payload.length;
      c.framesReceived[p]++;
      result.set(p, f.payload);
      if (this.recordReceived) this.receivedLog.push({ from: p, round: roundIndex, data: f.payload });
    }
    return result;
  }

  /** Closes the session cleanly: peers get a goodbye; pending rounds here fail. */
  async close(): Promise<void> {
    if (this.closedReason !== null) return;
    const extra = this.failure === null ? this.peers.find((p) => this.unreadData(p) > 0) : undefined;
    if (extra !== undefined) {
      const err = this.fail(runtimeError('MPCC5021', [this.calls, `${this.unreadData(extra)} data frame(s) beyond the schedule, never read (the program ended)`], extra));
      await this.close();
      throw err;
    }
    this.closedReason = 'closed';
    if (this.failure === null) {
      for (const p of this.peers) if (this.peerGone[p] === null) this.sendControl(p, FrameKind.Goodbye, `party ${this.id} closed the session`);
      this.rejectAll(runtimeError('MPCC5009', [this.id, 'closed while a round was waiting']));
    }
    await Promise.all(this.peers.map((p) => this.links[p]!.close()));
  }

  /** Fails the session with `reason` (e.g. the party's own code threw) and tells the peers,
   * so their pending rounds fail instead of waiting. */
  async abort(reason: Error): Promise<void> {
    const own = reason instanceof RuntimeError ? reason : runtimeError('MPCC5009', [this.id, `aborted: ${reason.message}`]);
    this.fail(own, reason instanceof RuntimeError ? undefined : `MPCC5011 ${this.id} ${this.id} ${reason.message}`);
    await this.close();
  }

  private sendData(p: PartyId, msgs: Outgoing[]): void {
    // Every transport enforces the same limit, so a protocol that runs in one process also
    // runs over TCP (whose receivers refuse larger frames).
    const total = msgs.reduce((t, m) => t + m.data.length, 0);
    if (total > DEFAULT_MAX_FRAME_BYTES) throw runtimeError('MPCC5010', [`a frame of ${total} bytes to party ${p} exceeds the limit of ${DEFAULT_MAX_FRAME_BYTES}; split the round`]);
    const phases = zeroPhases();
    const parts: Uint8Array[] = [];
    let length = 0;
    const c = this.counters;
    for (const m of msgs) {
      const phase: Phase = m.phase ?? 'online';
      const n = m.data.length;
      phases[phase] += n;
      length += n;
      parts.push(m.data);
      c.byLabel.set(m.label, (c.byLabel.get(m.label) ?? 0) + n);
      let lp = c.byLabelPhase.get(m.label);
      if (!lp) c.byLabelPhase.set(m.label, (lp = zeroPhases()));
      lp[phase] += n;
    }
    c.sent.online += phases.online;
    c.sent.preprocessing += phases.preprocessing;
    c.sent.oneTime += phases.oneTime;
    c.sentToByPhase[p].online += phases.online;
    c.sentToByPhase[p].preprocessing += phases.preprocessing;
    c.sentToByPhase[p].oneTime += phases.oneTime;
    c.sentTo[p] += length;
    c.framesSent[p]++;
    c.wireSent += (this.links[p]!.frameOverhead ?? HEADER_BYTES) + length;
    this.links[p]!.send(FrameKind.Data, this.sendRound[p]++, phases, parts, length);
  }

  private sendHandshake(p: PartyId, payload: Uint8Array): void {
    this.links[p]!.send(FrameKind.Handshake, this.handshakeSent[p]++, zeroPhases(), [payload], payload.length);
  }

  private sendControl(p: PartyId, kind: FrameKind.Goodbye | FrameKind.Abort, reason: string): void {
    const payload = encodeReason(reason);
    try {
      this.links[p]!.send(kind, 0, zeroPhases(), [payload], payload.length);
    } catch {
      // The link is already down; the peer learns of our end from that.
    }
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closedReason !== null) throw runtimeError('MPCC5009', [this.id, this.closedReason]);
  }

  /** Data frames from `p` that arrived and were never read. */
  private unreadData(p: PartyId): number {
    const box = this.inboxes[FrameKind.Data][p];
    return box.frames.length - box.head;
  }

  /** The next frame of `kind` from `p`, in order; `expect`: the payload length the schedule
   * expects (MPCC5021 otherwise), for this party's round `round`. */
  private take(p: PartyId, kind: FrameKind.Handshake | FrameKind.Data, expect?: number, round = this.calls): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    const box = this.inboxes[kind][p];
    if (box.head < box.frames.length) {
      const f = box.frames[box.head];
      box.frames[box.head++] = undefined as unknown as Frame; // release the payload
      if (box.head === box.frames.length) box.frames.length = box.head = 0;
      box.read++;
      if (expect !== undefined && f.payload.length !== expect) return Promise.reject(this.fail(this.offSchedule(p, round, f.payload.length, expect)));
      return Promise.resolve(f);
    }
    if (this.peerGone[p] !== null) return Promise.reject(this.fail(runtimeError('MPCC5012', [box.read], p)));
    box.read++;
    return new Promise<Frame>((resolve, reject) => {
      box.waiters.push({ resolve, reject, expect, round });
      this.pendingReads++;
      this.monitor?.blockedChanged(this);
    });
  }

  /** Fails the session from outside (deadlock detection), without relaying to peers. */
  interrupt(err: RuntimeError): void {
    this.fail(err, null);
  }

  /** The error of a data frame of `length` bytes where the schedule expects `expect`. */
  private offSchedule(p: PartyId, round: number, length: number, expect: number): RuntimeError {
    const what = expect === 0 ? 'an empty frame' : `${expect} bytes`;
    return runtimeError('MPCC5021', [round, `its frame ${length > expect ? 'announces' : 'carries'} ${length} bytes, the schedule expects ${what}`], p);
  }

  /** Called by a transport with a frame's header, before its payload is allocated or read:
   * throws (and fails the session) when the round already waiting for that frame expects
   * another length. A frame ahead of its round is checked when the round takes it. */
  private admit(p: PartyId, kind: FrameKind, round: number, length: number): void {
    if (kind !== FrameKind.Data || this.failure) return;
    const box = this.inboxes[FrameKind.Data][p];
    const w = box.waiters[0];
    if (round === box.arrived && w?.expect !== undefined && length !== w.expect) throw this.fail(this.offSchedule(p, w.round, length, w.expect));
  }

  private onBroken(p: PartyId, err: RuntimeError): void {
    // After a goodbye the peer's link may end: that is its clean close, not a failure.
    if (this.peerGone[p] === null) this.fail(err);
  }

  private onFrame(p: PartyId, f: Frame): void {
    if (this.failure) return;
    if (f.kind === FrameKind.Abort) {
      // passed on to the third party too, so it learns the reason even when this party's link
      // closes before the origin's own abort reaches it
      const reason = decodeReason(f.payload);
      this.fail(this.abortError(p, reason), reason, p);
      return;
    }
    if (f.kind === FrameKind.Goodbye) {
      this.peerGone[p] = decodeReason(f.payload);
      // Reads already waiting on p can never be served.
      const box = this.inboxes[FrameKind.Data][p];
      if (box.waiters.length > 0) this.fail(runtimeError('MPCC5012', [box.read - box.waiters.length], p));
      if (this.inboxes[FrameKind.Handshake][p].waiters.length > 0) this.fail(runtimeError('MPCC5005', ['it closed the session during the handshake'], p));
      return;
    }
    if (f.kind === FrameKind.Control) {
      // Control messages travel between sessions (link-mux.ts), never inside one.
      this.fail(runtimeError('MPCC5003', ['a control frame inside a session'], p));
      return;
    }
    const box = this.inboxes[f.kind as FrameKind.Handshake | FrameKind.Data][p];
    if (f.round !== box.arrived) {
      this.fail(runtimeError('MPCC5004', [box.arrived, f.round], p));
      return;
    }
    const next = box.waiters[0];
    if (next?.expect !== undefined && f.payload.length !== next.expect) {
      this.fail(this.offSchedule(p, next.round, f.payload.length, next.expect));
      return;
    }
    box.arrived++;
    const w = box.waiters.shift();
    if (w) {
      this.pendingReads--;
      this.monitor?.blockedChanged(this);
      w.resolve(f);
    } else {
      box.frames.push(f);
    }
  }

  /** The error an abort frame from `sender` stands for. Its reason is "code root origin
   * message" (origin: the party whose own failure it was; the sender, or the party it passes on):
   * when the root cause is a third party (e.g. the peer that died), the error keeps that code and
   * names that party, so all survivors report the same culprit; the culprit itself, and a party
   * that threw, get MPCC5011 naming the origin. */
  private abortError(sender: PartyId, reason: string): RuntimeError {
    const m = /^(MPCC5\d{3}) ([012-]) ([012]) ([\s\S]*)$/.exec(reason);
    if (!m) return runtimeError('MPCC5011', [reason], sender);
    const root = m[2] === '-' ? undefined : (Number(m[2]) as PartyId);
    const origin = Number(m[3]) as PartyId;
    if (m[1] === 'MPCC5011' || root === undefined || root === this.id || !(m[1] in DIAGNOSTICS)) return runtimeError('MPCC5011', [m[4]], origin);
    return new RuntimeError(m[1] as DiagnosticCode, `${m[4]} (reported by peer ${peerName(origin)})`, root);
  }

  /** Records the first failure, rejects every waiting read, and sends the peers but `except`
   * an abort frame with `relay` ("code root origin message", abortError; null: tell nobody).
   * The culprit is told too: a slow party (e.g. one the round timeout gave up on) then stops with
   * the reason (MPCC5011 naming the origin) rather than with its links closing under it; a dead
   * one's link refuses the write, which sendControl ignores. Returns the error the session failed
   * with (the first one). */
  private fail(err: RuntimeError, relay: string | null = `${err.code} ${err.peer ?? '-'} ${this.id} ${err.message}`, except?: PartyId): RuntimeError {
    if (this.failure) return this.failure;
    if (this.closedReason !== null) return err;
    this.failure = err;
    if (relay !== null) {
      for (const p of this.peers) if (this.peerGone[p] === null && p !== except) this.sendControl(p, FrameKind.Abort, relay);
    }
    this.rejectAll(err);
    return err;
  }

  private rejectAll(err: RuntimeError): void {
    for (const kind of [FrameKind.Handshake, FrameKind.Data] as const) {
      for (const box of this.inboxes[kind]) {
        const ws = box.waiters.splice(0);
        for (const w of ws) w.reject(err);
      }
    }
    if (this.pendingReads > 0) {
      this.pendingReads = 0;
      this.monitor?.blockedChanged(this);
    }
  }

  /** The frames of `reads`, or MPCC5002 naming the first peer still silent after `ms`. */
  private async withTimeout(reads: Promise<Frame>[], from: readonly PartyId[], ms: number, round: number): Promise<Frame[]> {
    const done: boolean[] = reads.map(() => false);
    reads.forEach((r, i) => r.then(() => (done[i] = true), () => undefined));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const i = done.indexOf(false);
        const p = from[i < 0 ? 0 : i];
        reject(this.fail(runtimeError('MPCC5002', [ms, round], p)));
      }, ms);
    });
    try {
      return await Promise.race([Promise.all(reads), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
