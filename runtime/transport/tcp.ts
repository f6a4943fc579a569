// The TCP transport: one OS process per party, one TCP connection per pair of parties.
//
// Every party is given the host:port of all three. Parties 0 and 1 listen on their own
// address; a party dials every party with a lower id (1 dials 0; 2 dials 0 and 1), retrying
// until the connect timeout, since the others may not be up yet. A dialer first writes an
// 8-byte connect preamble: "mpcc" | u16 wire version (LE) | u8 its id | u8 the id it
// means to reach; the listener checks it, so a party started with its peers' addresses in
// the wrong order fails at once with a clear error. After the preamble both directions carry
// the frames of frame.ts. Sockets run with Nagle off (setNoDelay): a round is one frame per
// peer and must leave at once. A party reads the connections it dialed (without TLS) through
// Node's onread option, straight into each frame's payload array: no 64 KiB chunk per read
// and no copy (measured ~0.25 s of CPU per GB received); connections it accepted (Node's
// server offers no such option) and TLS connections deliver chunks the decoder copies. With the `tls` option every connection is TLS with client and
// server certificates checked against a common CA; the preamble and frames then travel
// inside it. (Without TLS the links are neither encrypted nor authenticated: use it only on
// a trusted network.)

import { connect, createServer, type OnReadOpts, type Server, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { peerName, runtimeError, RuntimeError } from '../diagnostics.js';
import { PartySession, type SessionOptions } from '../session/party-session.js';
import type { PartyId, Phase } from '../session/session.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeHeader, FrameDecoder, WIRE_VERSION, type Frame, type FrameKind } from './frame.js';
import type { LinkHandlers, PeerLink } from './link.js';
import { runParties } from '../session/run-parties.js';

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
  /** Run every connection over mutually authenticated TLS (see TlsOptions). */
  tls?: TlsOptions;
}

/** TLS material of a party (PEM). Both ends of a connection present a certificate and
 * accept only certificates signed by `ca`; host names are not checked (the parties are
 * identified by their certificates' CA and by the connect preamble, not by DNS). */
export interface TlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}

/** What dial and accept need besides the addresses. */
interface ConnectContext {
  deadline: number;
  timeoutMs: number;
  max: number;
  tls?: TlsOptions;
}

const PREAMBLE_BYTES = 8;
const RETRY_MS = 50;
/** Idle time before TCP keepalive probes start. */
const KEEPALIVE_MS = 5000;
/** How long close() waits for the peer to acknowledge the end of the stream. */
const CLOSE_GRACE_MS = 2000;

function preamble(from: PartyId, to: PartyId): Uint8Array {
  const p = new Uint8Array(PREAMBLE_BYTES);
  p.set([0x6d, 0x70, 0x63, 0x63]); // "mpcc"
  new DataView(p.buffer).setUint16(4, WIRE_VERSION, true);
  p[6] = from;
  p[7] = to;
  return p;
}

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
  private readonly decoder: FrameDecoder;

  /** With `direct`, the socket was created with direct.onread (see DirectReader). */
  constructor(readonly peer: PartyId, readonly socket: Socket, maxFrameBytes: number, initial?: Uint8Array, direct?: DirectReader) {
    // A peer host that vanishes without closing the connection is noticed by keepalive
    // probes (a process that dies is noticed at once: its kernel closes the socket).
    socket.setKeepAlive(true, KEEPALIVE_MS);
    if (direct) {
      this.decoder = direct.decoder;
      direct.bind(this);
    } else {
      this.decoder = new FrameDecoder(peer, maxFrameBytes, (f) => this.deliver(f));
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
    this.socket.write(encodeHeader(kind, round, length, phases));
    for (const p of parts) if (p.length > 0) this.socket.write(p);
    this.socket.uncork();
  }

  attach(h: LinkHandlers): void {
    this.handlers = h;
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
 * retried (the peer may not be up yet); a failed TLS handshake is not. */
function dial(id: PartyId, to: PartyId, address: string, ctx: ConnectContext): Promise<TcpLink> {
  const { host, port } = parseHostPort(address);
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const direct = ctx.tls ? undefined : new DirectReader(to, ctx.max);
      const socket: Socket = ctx.tls
        ? tls.connect({ host, port, key: ctx.tls.key, cert: ctx.tls.cert, ca: ctx.tls.ca, checkServerIdentity: () => undefined })
        : connect({ host, port, onread: direct!.onread });
      socket.setNoDelay(true);
      let tcpUp = false;
      socket.once('connect', () => (tcpUp = true));
      const onError = (e: NodeJS.ErrnoException) => {
        socket.destroy();
        if (ctx.tls && tcpUp) reject(runtimeError('MPCC5005', [`TLS: ${e.message}`], to));
        else if (Date.now() + RETRY_MS >= ctx.deadline) reject(runtimeError('MPCC5006', [address, ctx.timeoutMs, e.code ?? e.message], to));
        else setTimeout(attempt, RETRY_MS);
      };
      socket.once('error', onError);
      socket.once(ctx.tls ? 'secureConnect' : 'connect', () => {
        socket.off('error', onError);
        socket.write(preamble(id, to));
        resolve(new TcpLink(to, socket, ctx.max, undefined, direct));
      });
    };
    attempt();
  });
}

/** Accepts the parties with higher ids than `id` on its own address until the deadline. */
function accept(id: PartyId, peers: readonly [string, string, string], ctx: ConnectContext): Promise<TcpLink[]> {
  const { deadline, timeoutMs, max } = ctx;
  const expected = ([0, 1, 2] as const).filter((p) => p > id);
  if (expected.length === 0) return Promise.resolve([]);
  const { host, port } = parseHostPort(peers[id]);
  return new Promise((resolve, reject) => {
    const links = new Map<PartyId, TcpLink>();
    const pending = new Set<Socket>();
    let settled = false;
    const finish = (err: RuntimeError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      server.close();
      for (const s of pending) s.destroy();
      if (err) {
        for (const l of links.values()) l.socket.destroy();
        reject(err);
      } else {
        resolve([...links.values()]);
      }
    };
    let tlsFailure: string | null = null;
    const onSocket = (socket: Socket) => {
      socket.setNoDelay(true);
      pending.add(socket);
      let head = new Uint8Array(0);
      const onData = (chunk: Buffer) => {
        const all = new Uint8Array(head.length + chunk.length);
        all.set(head);
        all.set(chunk, head.length);
        if (all.length < PREAMBLE_BYTES) return void (head = all);
        socket.off('data', onData);
        pending.delete(socket);
        const magicOk = all[0] === 0x6d && all[1] === 0x70 && all[2] === 0x63 && all[3] === 0x63;
        const version = new DataView(all.buffer).getUint16(4, true);
        const from = all[6] as PartyId;
        if (!magicOk || !expected.includes(from) || links.has(from)) {
          socket.destroy(); // not one of our peers (or a port scanner): ignore it
          return;
        }
        if (version !== WIRE_VERSION) return finish(runtimeError('MPCC5007', [version, WIRE_VERSION], from));
        if (all[7] !== id) {
          socket.destroy();
          return finish(runtimeError('MPCC5005', [`it dialed ${peers[id]} to reach party ${all[7]}, but party ${id} listens there (check the order of the addresses)`], from));
        }
        links.set(from, new TcpLink(from, socket, max, all.subarray(PREAMBLE_BYTES)));
        if (links.size === expected.length) finish(null);
      };
      socket.on('data', onData);
      socket.on('error', () => socket.destroy());
    };
    const server: Server = ctx.tls
      ? tls.createServer({ key: ctx.tls.key, cert: ctx.tls.cert, ca: ctx.tls.ca, requestCert: true, rejectUnauthorized: true }, onSocket)
      : createServer(onSocket);
    server.on('tlsClientError', (e: Error) => (tlsFailure = e.message));
    server.on('error', (e: NodeJS.ErrnoException) => finish(runtimeError('MPCC5014', [`party ${id} cannot listen on ${peers[id]}: ${e.code ?? e.message}`])));
    const timer = setTimeout(() => {
      const missing = expected.filter((p) => !links.has(p));
      if (tlsFailure !== null) return finish(runtimeError('MPCC5005', [`TLS: a connection to ${peers[id]} failed its handshake (${tlsFailure})`], missing[0]));
      finish(runtimeError('MPCC5006', [peers[missing[0]], timeoutMs, `it never connected to this party's address ${peers[id]}${missing.length > 1 ? ` (nor did peer ${peerName(missing[1])})` : ''}`], missing[0]));
    }, Math.max(0, deadline - Date.now()));
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
  const ctx: ConnectContext = { deadline, timeoutMs, max, tls: options.tls };
  const results = await Promise.allSettled([accept(id, peers, ctx), ...lower.map((p) => dial(id, p, peers[p], ctx))]);
  const failure = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
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

/** Three TCP sessions in this process over real sockets on 127.0.0.1 (ephemeral ports). */
export async function createLocalTcpSessions(options: Omit<TcpSessionOptions, 'id' | 'peers'> = {}): Promise<[TcpPartySession, TcpPartySession, TcpPartySession]> {
  for (let attempt = 0; ; attempt++) {
    const peers = await freeLocalAddresses();
    const made = await Promise.allSettled(([0, 1, 2] as const).map((id) => connectTcpSession({ ...options, id, peers })));
    if (made.every((m) => m.status === 'fulfilled')) return made.map((m) => (m as PromiseFulfilledResult<TcpPartySession>).value) as [TcpPartySession, TcpPartySession, TcpPartySession];
    for (const m of made) if (m.status === 'fulfilled') await m.value.close();
    const err = (made.find((m) => m.status === 'rejected') as PromiseRejectedResult).reason;
    // Another process may have taken a port between probing and listening: try new ones.
    if (attempt >= 2 || !(err instanceof RuntimeError && err.code === 'MPCC5014')) throw err;
  }
}

/** Runs `fn` as all three parties in this process, connected over TCP on 127.0.0.1 (same
 * semantics as runInProcess: the first error is rethrown, the others fail instead of hang). */
export async function runLocalTcp<T>(fn: (s: TcpPartySession) => Promise<T>, options: Omit<TcpSessionOptions, 'id' | 'peers'> = {}): Promise<[T, T, T]> {
  return runParties(await createLocalTcpSessions(options), fn);
}
