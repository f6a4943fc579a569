// The TCP transport: one OS process per party, one TCP connection per pair of parties.
//
// Every party is given the host:port of all three. Parties 0 and 1 listen on their own
// address; a party dials every party with a lower id (1 dials 0; 2 dials 0 and 1), retrying
// until the connect timeout, since the others may not be up yet. A dialer first writes an
// 8-byte connect preamble: "mpcc" | u16 wire version (LE) | u8 its id | u8 the id it
// means to reach. Sockets run with Nagle off (setNoDelay): a round is one frame per peer and
// must leave at once.
//
// Authenticated mode (an `identity`: this party's static key and its peers' pinned public
// keys, runtime/session/identity.ts): after the preamble, dialer (initiator) and listener
// (responder) run the Noise_KK handshake of noise.ts, each message a u16 length and its bytes;
// the prologue is the preamble (wire version and both ids), the payload of both messages is
// the session tag (the model's public digest), so the keys are bound to both. Every frame
// after it is sealed (secure-channel.ts). Before authentication a listener keeps at most the
// preamble and one handshake message of a connection (MAX_HANDSHAKE_BYTES); a connection that
// sends more, fails authentication, claims a slot already taken or stalls past the deadline
// is refused and closed, and the listener keeps waiting for the real peer until its connect
// timeout (the error then lists what it refused: MPCC5016). A dialer whose handshake fails
// (the listener holds another key, or a man in the middle altered a message) stops at once
// with MPCC5015 naming the peer; one that receives more than a handshake message before
// authenticating, with MPCC5018.
//
// Plain mode (no identity): frames in the clear right after the preamble, neither encrypted
// nor authenticated; `mpcc party` allows it only on loopback or with --insecure. A party then
// reads the connections it dialed through Node's onread option, straight into each frame's
// payload array (no 64 KiB chunk per read, no copy); accepted connections deliver chunks.

import { connect, createServer, type OnReadOpts, type Server, type Socket } from 'node:net';
import { peerName, runtimeError, RuntimeError } from '../diagnostics.js';
import { PartySession, type SessionOptions } from '../session/party-session.js';
import type { PartyId, Phase } from '../session/session.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeHeader, FrameDecoder, HEADER_BYTES, WIRE_VERSION, type Frame, type FrameAdmission, type FrameKind } from './frame.js';
import { KKHandshake, type NoiseResult } from './noise.js';
import { SealedFrameDecoder, SEALED_OVERHEAD_BYTES, sealFrame } from './secure-channel.js';
import { ephemeralIdentities, type PartyIdentity } from '../session/identity.js';
import type { LinkHandlers, PeerLink } from './link.js';
import { runParties } from '../session/run-parties.js';
import { answerPreview, checkTag, concatBytes, lengthPrefixed, MAX_HANDSHAKE_BYTES, MAX_TAG_BYTES, PREAMBLE_BYTES, preamble, prologue, takeHandshake } from './handshake-wire.js';
import { checkHostsResolve, ConnectAborted, FATAL_CONNECT_ERRORS, fatal, firstFailure } from './connect-failures.js';
// the pre-authentication bytes and the connect failures live beside: their importers keep this path
export { checkTag, concatBytes, lengthPrefixed, MAX_HANDSHAKE_BYTES, PREAMBLE_BYTES, preamble, prologue, takeHandshake } from './handshake-wire.js';
export { checkHostsResolve, ConnectAborted, firstFailure } from './connect-failures.js';

/** Where and how a party connects to the other two. */
export interface TcpSessionOptions extends Omit<SessionOptions, 'monitor'> {
  /** This party's id. */
  id: PartyId;
  /** "host:port" of parties 0, 1 and 2 (this party's own entry is where it listens). */
  peers: readonly [string, string, string];
  /** Give up connecting (and handshaking) after this many ms; default 10 000. */
  timeoutMs?: number;
  /** Largest frame payload accepted from a peer; default 1 GiB. */
  maxFrameBytes?: number;
  /** This party's static key and its peers' pinned public keys: every link is then
   * authenticated and encrypted (Noise_KK). Without it the links are plain TCP. */
  identity?: PartyIdentity;
}

/** What dial and accept need besides the addresses. */
export interface ConnectContext {
  deadline: number;
  timeoutMs: number;
  max: number;
  tag: string;
  identity?: PartyIdentity;
  /** Stops the connecting: a dial stops retrying and closes its socket, a listener stops
   * waiting (both reject with ConnectAborted). Set when another link of the party failed. */
  signal?: AbortSignal;
}

/** Refusals a listener keeps for its error message. */
const MAX_REFUSALS = 8;
const RETRY_MS = 50;
const utf8 = new TextEncoder();
/** Idle time before TCP keepalive probes start. */
const KEEPALIVE_MS = 5000;
/** How long close() waits for the peer to acknowledge the end of the stream. */
const CLOSE_GRACE_MS = 2000;

/** Splits "host:port" (IPv6 hosts in brackets). */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw runtimeError('MPCC5014', [`'${s}' is not host:port`]);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** Reads a dialed plain-TCP socket through the onread option: every read lands in the frame
 * decoder's next buffer (the rest of a header, or of the payload array itself). Frames and
 * errors go to the link once bound; reads start only after 'connect', where the link is made,
 * so the queue before that is a safety net. */
class DirectReader {
  readonly decoder: FrameDecoder;
  private link: TcpLink | null = null;
  private early: Frame[] = [];
  private earlyError: unknown = null;

  constructor(peer: PartyId, maxFrameBytes: number) {
    this.decoder = new FrameDecoder(peer, maxFrameBytes, (f) => (this.link ? this.link.deliver(f) : this.early.push(f)));
  }

  /** The socket option (Node calls buffer() for the first read and after every callback). */
  readonly onread: OnReadOpts = {
    buffer: () => this.decoder.nextBuffer(),
    callback: (n: number) => {
      this.read(n);
      return true; // keep reading
    },
  };

  bind(link: TcpLink): void {
    this.link = link;
    for (const f of this.early.splice(0)) link.deliver(f);
    if (this.earlyError !== null) link.readFailed(this.earlyError);
  }

  private read(n: number): void {
    if (this.link?.ignoresInput) return;
    try {
      this.decoder.advance(n);
    } catch (e) {
      if (this.link) this.link.readFailed(e);
      else this.earlyError ??= e;
    }
  }
}

/** This party's end of a TCP connection to `peer`. */
export class TcpLink implements PeerLink {
  private handlers: LinkHandlers | null = null;
  private backlog: Frame[] = [];
  private pendingBroken: RuntimeError | null = null;
  private closing = false;
  private lastError: Error | null = null;
  private readonly decoder: { push(chunk: Uint8Array): void; readonly midFrame: boolean; admit: FrameAdmission | null };
  readonly channelSecret?: Uint8Array;
  readonly frameOverhead: number;

  /** With `direct`, the socket was created with direct.onread (see DirectReader); with
   * `secure`, the Noise handshake completed and every frame is sealed. */
  constructor(readonly peer: PartyId, readonly socket: Socket, maxFrameBytes: number, initial?: Uint8Array, direct?: DirectReader, private readonly secure?: NoiseResult) {
    // A peer host that vanishes without closing the connection is noticed by keepalive
    // probes (a process that dies is noticed at once: its kernel closes the socket).
    socket.setKeepAlive(true, KEEPALIVE_MS);
    this.channelSecret = secure?.channelSecret;
    this.frameOverhead = secure ? SEALED_OVERHEAD_BYTES : HEADER_BYTES;
    if (direct) {
      this.decoder = direct.decoder;
      direct.bind(this);
    } else {
      this.decoder = secure
        ? new SealedFrameDecoder(secure.receive, peer, maxFrameBytes, (f) => this.deliver(f))
        : new FrameDecoder(peer, maxFrameBytes, (f) => this.deliver(f));
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
    }
    socket.on('error', (e) => (this.lastError = e));
    socket.on('close', () => {
      if (this.closing) return;
      const how = this.lastError ? `connection lost (${(this.lastError as NodeJS.ErrnoException).code ?? this.lastError.message})` : 'connection closed';
      this.reportBroken(runtimeError('MPCC5001', [`${how}${this.decoder.midFrame ? ' in the middle of a frame' : ''} without a goodbye (did its process exit?)`], peer));
    });
    if (initial && initial.length > 0) this.onData(initial);
  }

  send(kind: FrameKind, round: number, phases: Record<Phase, number>, parts: readonly Uint8Array[], length: number): void {
    if (this.socket.destroyed) throw runtimeError('MPCC5001', ['its connection is closed'], this.peer);
    this.socket.cork();
    if (this.secure) {
      for (const b of sealFrame(this.secure.send, kind, round, phases, parts, length)) this.socket.write(b);
    } else {
      this.socket.write(encodeHeader(kind, round, length, phases));
      for (const p of parts) if (p.length > 0) this.socket.write(p);
    }
    this.socket.uncork();
  }

  attach(h: LinkHandlers): void {
    this.handlers = h;
    if (h.admit) this.decoder.admit = (kind, round, length) => h.admit!(kind, round, length);
    const early = this.backlog;
    this.backlog = [];
    for (const f of early) h.frame(f);
    if (this.pendingBroken) h.broken(this.pendingBroken);
  }

  close(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.closing = true;
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
  }

  /** A decoded frame: to the session, or kept until it attaches. */
  deliver(f: Frame): void {
    if (this.handlers) this.handlers.frame(f);
    else this.backlog.push(f);
  }

  /** True once input no longer matters (the link failed or is closing). */
  get ignoresInput(): boolean {
    return this.pendingBroken !== null || this.closing;
  }

  /** The decoder rejected the input: the link is broken. */
  readFailed(e: unknown): void {
    this.reportBroken(e instanceof RuntimeError ? e : runtimeError('MPCC5003', [(e as Error).message], this.peer));
    this.closing = true;
    this.socket.destroy();
  }

  private onData(chunk: Uint8Array): void {
    if (this.ignoresInput) return;
    try {
      this.decoder.push(chunk);
    } catch (e) {
      this.readFailed(e);
    }
  }

  private reportBroken(err: RuntimeError): void {
    if (this.pendingBroken) return;
    this.pendingBroken = err;
    this.handlers?.broken(err);
  }
}

/** A party's session over TCP; `socketTo` exposes a raw connection for fault-injection tests. */
export class TcpPartySession extends PartySession {
  constructor(id: PartyId, private readonly tcpLinks: (TcpLink | null)[], options: SessionOptions) {
    super(id, tcpLinks, options);
  }
  /** The socket to `peer` (tests write malformed bytes into it). */
  socketTo(peer: PartyId): Socket {
    return this.tcpLinks[peer]!.socket;
  }
}

/** Dials `to` until it accepts or the deadline passes. A refused or unreachable address is
 * retried (the peer may not be up yet); a failed authentication is not. */
export function dial(id: PartyId, to: PartyId, address: string, ctx: ConnectContext): Promise<TcpLink> {
  const { host, port } = parseHostPort(address);
  return new Promise((resolve, reject) => {
    let socket: Socket | null = null;
    let retry: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (err: Error | null, link?: TcpLink) => {
      if (settled) return;
      settled = true;
      clearTimeout(retry);
      ctx.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(link!);
    };
    const onAbort = () => {
      socket?.destroy();
      settle(new ConnectAborted());
    };
    if (ctx.signal?.aborted) return onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const attempt = () => {
      const direct = ctx.identity ? undefined : new DirectReader(to, ctx.max);
      const s: Socket = direct ? connect({ host, port, onread: direct.onread }) : connect({ host, port });
      socket = s;
      s.setNoDelay(true);
      const onError = (e: NodeJS.ErrnoException) => {
        s.destroy();
        if (e.code !== undefined && FATAL_CONNECT_ERRORS.has(e.code)) settle(fatal(runtimeError('MPCC5014', [`the host of peer ${peerName(to)}'s address ${address} is not found (${e.code})`])));
        else if (Date.now() + RETRY_MS >= ctx.deadline) settle(runtimeError('MPCC5006', [address, ctx.timeoutMs, e.code ?? e.message], to));
        else retry = setTimeout(attempt, RETRY_MS);
      };
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        if (settled) return void s.destroy();
        if (!ctx.identity) {
          s.write(preamble(id, to));
          return settle(null, new TcpLink(to, s, ctx.max, undefined, direct));
        }
        handshakeAsInitiator(id, to, address, s, ctx, ctx.identity).then(
          (link) => (settled ? s.destroy() : settle(null, link)),
          (e: RuntimeError) => {
            s.destroy();
            settle(e);
          },
        );
      });
    };
    attempt();
  });
}

/** The initiator's side of Noise_KK on a connected socket: message 1 out, message 2 in. */
function handshakeAsInitiator(id: PartyId, to: PartyId, address: string, socket: Socket, ctx: ConnectContext, identity: PartyIdentity): Promise<TcpLink> {
  return new Promise((resolve, reject) => {
    let buf: Uint8Array = new Uint8Array(0);
    let done = false;
    const hs = new KKHandshake(true, identity.own, identity.peers[to]!, prologue(id, to));
    const finish = (err: RuntimeError | null, link?: TcpLink) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(link!);
    };
    const onData = (chunk: Buffer) => {
      buf = concatBytes(buf, chunk);
      const got = takeHandshake(buf);
      if (got === 'more') return;
      // a length no handshake message has (takeHandshake's only 'too big' for a reply that
      // starts with its length): another program answers at that address, or a flood
      if (got === 'too big') return finish(fatal(runtimeError('MPCC5015', [`the answer at ${address} is not an mpcc handshake (it begins ${answerPreview(buf)}, no handshake message is that long): another program listens there, not party ${to}`], to)));
      let payload: Uint8Array;
      try {
        payload = hs.readMessage2(got.message);
      } catch {
        return finish(runtimeError('MPCC5015', [`its handshake reply at ${address} does not verify: it does not hold the pinned key of party ${to}, or a man in the middle altered it`], to));
      }
      try {
        checkTag(payload, ctx.tag, to);
      } catch (e) {
        return finish(e as RuntimeError);
      }
      // Sealed frames may follow the reply in the same chunk.
      finish(null, new TcpLink(to, socket, ctx.max, got.rest.slice(), undefined, hs.result()));
    };
    const onClose = () =>
      finish(
        buf.length > 0
          ? fatal(runtimeError('MPCC5015', [`the answer at ${address} is not an mpcc handshake (it begins ${answerPreview(buf)}) and the connection closed: another program listens there, not party ${to}`], to))
          : runtimeError('MPCC5015', [`the connection to ${address} closed during the handshake: the listener refused it (it pins another key for this party, or this party's pinned party${to}.pub is not its key: compare fingerprints with mpcc keygen --show) or failed, or another process answers at that address`], to),
      );
    const timer = setTimeout(() => finish(runtimeError('MPCC5005', [`no handshake reply from ${address} within ${ctx.timeoutMs} ms: it accepted the connection but said nothing (is it party ${to}'s mpcc, or another program listening there?)`], to)), Math.max(0, ctx.deadline - Date.now()));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => undefined); // 'close' follows and reports
    socket.write(concatBytes(preamble(id, to), lengthPrefixed(hs.writeMessage1(utf8.encode(ctx.tag)))));
  });
}

/** Accepts the parties with higher ids than `id` on its own address until the deadline. */
function accept(id: PartyId, peers: readonly [string, string, string], ctx: ConnectContext): Promise<TcpLink[]> {
  const { deadline, timeoutMs, max, identity } = ctx;
  const expected = ([0, 1, 2] as const).filter((p) => p > id);
  if (expected.length === 0) return Promise.resolve([]);
  const { host, port } = parseHostPort(peers[id]);
  return new Promise((resolve, reject) => {
    const links = new Map<PartyId, TcpLink>();
    const pending = new Set<Socket>();
    const refusals: string[] = [];
    let refusedCount = 0;
    let settled = false;
    const onAbort = () => finish(new ConnectAborted());
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
      server.close();
      for (const s of pending) s.destroy();
      if (err) {
        for (const l of links.values()) l.socket.destroy();
        reject(err);
      } else {
        resolve([...links.values()]);
      }
    };
    const onSocket = (socket: Socket) => {
      socket.setNoDelay(true);
      pending.add(socket);
      const who = `${socket.remoteAddress}:${socket.remotePort}`;
      let head: Uint8Array = new Uint8Array(0);
      let from: PartyId | null = null;
      /** Closes a connection that is not (yet) a peer: it takes no slot. */
      const refuse = (why: string) => {
        socket.off('data', onData);
        pending.delete(socket);
        socket.destroy();
        refusedCount++;
        if (refusals.length < MAX_REFUSALS) refusals.push(`a connection from ${who}${from === null ? '' : ` (claiming to be party ${from})`}: it ${why}`);
      };
      const stall = identity ? setTimeout(() => pending.has(socket) && refuse(`did not complete its handshake within ${timeoutMs} ms`), Math.max(0, deadline - Date.now())) : undefined;
      const onData = (chunk: Buffer) => {
        head = concatBytes(head, chunk);
        if (head.length < PREAMBLE_BYTES) return;
        const magicOk = head[0] === 0x6d && head[1] === 0x70 && head[2] === 0x63 && head[3] === 0x63;
        const version = new DataView(head.buffer, head.byteOffset).getUint16(4, true);
        const claimed = head[6] as PartyId;
        if (!magicOk) return refuse('is not an mpcc party (bad preamble)');
        if (!identity) {
          socket.off('data', onData);
          pending.delete(socket);
          if (!expected.includes(claimed) || links.has(claimed)) return void socket.destroy(); // not one of our peers (or a port scanner): ignore it
          if (version !== WIRE_VERSION) return finish(runtimeError('MPCC5007', [version, WIRE_VERSION], claimed));
          if (head[7] !== id) {
            socket.destroy();
            return finish(runtimeError('MPCC5005', [`it dialed ${peers[id]} to reach party ${head[7]}, but party ${id} listens there (check the order of the addresses)`], claimed));
          }
          links.set(claimed, new TcpLink(claimed, socket, max, head.subarray(PREAMBLE_BYTES)));
          if (links.size === expected.length) finish(null);
          return;
        }
        from = expected.includes(claimed) ? claimed : null;
        if (from === null) return refuse(`claims to be party ${claimed}, which does not dial party ${id}`);
        if (links.has(from)) return refuse('arrived after that party had authenticated');
        if (version !== WIRE_VERSION) return refuse(`runs wire version ${version}, this party runs version ${WIRE_VERSION}`);
        if (head[7] !== id) return refuse(`dialed ${peers[id]} to reach party ${head[7]}, but party ${id} listens there (check the order of the addresses)`);
        const got = takeHandshake(head.subarray(PREAMBLE_BYTES));
        if (got === 'more') return;
        if (got === 'too big' || got.rest.length > 0) {
          return refuse(`was cut off: ${runtimeError('MPCC5018', [head.length, PREAMBLE_BYTES + MAX_HANDSHAKE_BYTES], from).format()}`);
        }
        const hs = new KKHandshake(false, identity.own, identity.peers[from]!, prologue(from, id));
        let payload: Uint8Array;
        try {
          payload = hs.readMessage1(got.message);
        } catch {
          return refuse(`failed authentication (its key is not the one this party pins for party ${from}, or it pins another key for this party, party ${id}, or its handshake was altered)`);
        }
        // Authenticated from here: a different tag is a real peer of another session.
        socket.off('data', onData);
        pending.delete(socket);
        clearTimeout(stall);
        try {
          checkTag(payload, ctx.tag, from);
        } catch (e) {
          // Reply all the same, so the dialer learns of the mismatch from an authenticated
          // message too, and close.
          socket.end(lengthPrefixed(hs.writeMessage2(utf8.encode(ctx.tag))));
          return finish(e as RuntimeError);
        }
        socket.write(lengthPrefixed(hs.writeMessage2(utf8.encode(ctx.tag))));
        links.set(from, new TcpLink(from, socket, max, undefined, undefined, hs.result()));
        if (links.size === expected.length) finish(null);
      };
      socket.on('data', onData);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        clearTimeout(stall);
        pending.delete(socket);
      });
    };
    const server: Server = createServer(onSocket);
    server.on('error', (e: NodeJS.ErrnoException) => finish(runtimeError('MPCC5014', [`party ${id} cannot listen on ${peers[id]}: ${e.code ?? e.message}`])));
    const timer = setTimeout(() => {
      const missing = expected.filter((p) => !links.has(p));
      if (refusedCount > 0) {
        const more = refusedCount > refusals.length ? `; and ${refusedCount - refusals.length} more` : '';
        return finish(runtimeError('MPCC5016', [peers[id], timeoutMs, refusals.join('; ') + more], missing[0]));
      }
      // a one-shot client waits to be dialed; servers started with --serve wait to be dialed too
      const hint = id === 0 && missing.length === 2 ? '; if the server and helper run with --serve, run this client with --serve too (it then dials them)' : '';
      finish(runtimeError('MPCC5006', [peers[missing[0]], timeoutMs, `it never connected to this party's address ${peers[id]}${missing.length > 1 ? ` (nor did peer ${peerName(missing[1])})` : ''}${hint}`], missing[0]));
    }, Math.max(0, deadline - Date.now()));
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    server.listen(port, host);
  });
}

/** Connects this party to the other two over TCP and agrees the session keys. Fails with
 * MPCC5006 when a peer cannot be reached within `timeoutMs`. */
export async function connectTcpSession(options: TcpSessionOptions): Promise<TcpPartySession> {
  const { id, peers } = options;
  if (peers.length !== 3) throw runtimeError('MPCC5014', [`need the addresses of 3 parties, got ${peers.length}`]);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const deadline = Date.now() + timeoutMs;
  const lower = ([0, 1, 2] as const).filter((p) => p < id);
  if (options.identity) {
    for (const p of lower.concat(([0, 1, 2] as const).filter((q) => q > id))) {
      if (!options.identity.peers[p]) throw runtimeError('MPCC5014', [`party ${id} has no pinned public key of party ${p}`]);
    }
  }
  const tag = options.tag ?? '';
  if (utf8.encode(tag).length > MAX_TAG_BYTES) throw runtimeError('MPCC5014', [`a session tag of more than ${MAX_TAG_BYTES} bytes`]);
  await checkHostsResolve(id, peers.map((p) => parseHostPort(p).host));
  const abort = new AbortController();
  const ctx: ConnectContext = { deadline, timeoutMs, max, tag, identity: options.identity, signal: abort.signal };
  const results = await firstFailure<TcpLink | TcpLink[]>([accept(id, peers, ctx), ...lower.map((p) => dial(id, p, peers[p], ctx))], abort);
  // A listener that fails closes its pending handshakes, so a dialer's "closed during the
  // handshake" (MPCC5015) may be a consequence, and a peer that never came (MPCC5006) says
  // less than a refusal: report another failure first when there is one. Tasks stopped by
  // the first failure (ConnectAborted) report nothing.
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof ConnectAborted));
  const failure = rejected.find((r) => !['MPCC5015', 'MPCC5006'].includes((r.reason as RuntimeError).code)) ?? rejected[0];
  const links: (TcpLink | null)[] = [null, null, null];
  for (const r of results) {
    if (r.status !== 'fulfilled') continue;
    for (const l of Array.isArray(r.value) ? r.value : [r.value]) links[l.peer] = l;
  }
  if (failure) {
    for (const l of links) l?.socket.destroy();
    throw failure.reason;
  }
  const session = new TcpPartySession(id, links, { tag: options.tag, roundTimeoutMs: options.roundTimeoutMs, recordReceived: options.recordReceived });
  let timer: NodeJS.Timeout | undefined;
  const handshakeTimeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const slow = session.handshakeMissing()[0] ?? session.peers[0];
      reject(runtimeError('MPCC5005', [`no complete handshake within ${timeoutMs} ms`], slow));
    }, Math.max(1000, deadline - Date.now()));
  });
  try {
    await Promise.race([session.start(), handshakeTimeout]);
  } catch (e) {
    await session.abort(e as Error);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return session;
}

/** Three distinct free ports on 127.0.0.1, as "host:port" addresses. */
export async function freeLocalAddresses(): Promise<[string, string, string]> {
  const servers = [0, 1, 2].map(() => createServer());
  const ports = await Promise.all(
    servers.map((srv) => new Promise<number>((res, rej) => srv.once('error', rej).listen(0, '127.0.0.1', () => res((srv.address() as { port: number }).port)))),
  );
  await Promise.all(servers.map((srv) => new Promise((res) => srv.close(res))));
  return ports.map((p) => `127.0.0.1:${p}`) as [string, string, string];
}

/** Options of three local TCP parties: authenticated with fresh key pairs each pinning the
 * others (as `mpcc run` does), unless `insecure` (plain TCP) or `identities` are given. */
export type LocalTcpOptions = Omit<TcpSessionOptions, 'id' | 'peers' | 'identity'> & {
  insecure?: boolean;
  identities?: readonly [PartyIdentity, PartyIdentity, PartyIdentity];
};

/** Three TCP sessions in this process over real sockets on 127.0.0.1 (ephemeral ports). */
export async function createLocalTcpSessions(options: LocalTcpOptions = {}): Promise<[TcpPartySession, TcpPartySession, TcpPartySession]> {
  const { insecure, identities, ...rest } = options;
  const ids = insecure ? undefined : (identities ?? ephemeralIdentities());
  for (let attempt = 0; ; attempt++) {
    const peers = await freeLocalAddresses();
    const made = await Promise.allSettled(([0, 1, 2] as const).map((id) => connectTcpSession({ ...rest, id, peers, identity: ids?.[id] })));
    if (made.every((m) => m.status === 'fulfilled')) return made.map((m) => (m as PromiseFulfilledResult<TcpPartySession>).value) as [TcpPartySession, TcpPartySession, TcpPartySession];
    for (const m of made) if (m.status === 'fulfilled') await m.value.close();
    const err = (made.find((m) => m.status === 'rejected') as PromiseRejectedResult).reason;
    // Another process may have taken a port between probing and listening: try new ones.
    if (attempt >= 2 || !(err instanceof RuntimeError && err.code === 'MPCC5014')) throw err;
  }
}

/** Runs `fn` as all three parties in this process, connected over TCP on 127.0.0.1 (same
 * semantics as runInProcess: the first error is rethrown, the others fail instead of hang). */
export async function runLocalTcp<T>(fn: (s: TcpPartySession) => Promise<T>, options: LocalTcpOptions = {}): Promise<[T, T, T]> {
  return runParties(await createLocalTcpSessions(options), fn);
}
