// Serving: the server P1 and the helper P2 stay up and serve inferences to clients that come
// one after another; a client P0 connects to both, runs one or more inferences, and leaves.
//
// Topology. P1 listens (for P2 once, and for clients); P2 listens for clients and dials P1
// at start. The P1–P2 link (Noise_KK as in tcp.ts) lasts the whole server session; every
// client makes a fresh authenticated connection to each server (P0 dials P1 and P2), so the
// P0 links live one client long. Why persistent: P1 and P2 must agree which client comes
// next, and a link that is already up and authenticated carries that agreement in order with
// the sessions; the one-time setup's mask B, drawn by P1 and P2 together, lives as long as
// their pair does.
//
// A client's arrival (control messages, link-mux.ts; public content only):
//   P0 → P1, P0 → P2  {t:'hello', nonce, inferences}   (nonce: 16 fresh random bytes, hex)
//                     or {t:'hello', nonce, open: true}: an open count, ended by a 'bye'
//   P1 → P2           {t:'client', nonce, inferences, setup}   P1 coordinates: it takes one
//                     client at a time and refuses any other meanwhile (MPCC5031), and one
//                     asking more than --max-inferences leaves (MPCC5032)
//   P2 → P1           {t:'ready', setup: bool} once a client with that nonce reached P2
//                     (it keeps a few hellos waiting), or {t:'missing'} (P1 refuses, MPCC5033)
//   P1 → P0           {t:'accept'} or {t:'refuse', code, args}
// `setup` names the one-time setup P1 holds (the fingerprint of the session that made it);
// P2 answers whether it holds the same, and only then do both reuse it.
// Then one PartySession per inference over the three links (fresh handshake, hence fresh
// pairwise and common keys per inference), fenced on every link by end markers.
//
// An open client (inputs that come one by one, `mpcc party --id 0 --serve --input -`) prepares
// its next inference while it waits: as soon as inference k's online phase ends, it opens
// inference k+1's session, and all three run its handshake, setup and offline phase before
// its input exists. Then, inside the session, on the P0 links:
//   P0 → P1, P0 → P2  {t:'wait'} every CLIENT_HEARTBEAT_MS while its input has not come
//                     {t:'go'} once it has: the online phase follows (P1 and P2 wait for it
//                     after their offline phase, without a round timeout)
//                     {t:'bye', reason: 'end'|'error'|'stop', inferences}: no more input (end
//                     of stdin, a bad input, a stop at the client): the prepared session is
//                     closed cleanly, never run; the servers log a departure, not a failure
//   P1 → P0, P2 → P0  {t:'stop', reason}: the server is stopping (MPCC5034 at the client)
// A server whose prepared inference hears nothing from its client (no wait, go or bye) within
// clientSilenceMs gives it up (MPCC5035); a client whose connection closes is noticed at once.
// Pre-dealing (ServeOptions.predeal; `mpcc party --serve` by default, `--no-predeal` off): the
// helper deals each client's first inference while no client is connected, on a bundle P1 opens
// with it over their link when idle; the 'client', 'ready' and 'accept' messages name the bundle
// (serving-predeal.ts has the exchange, the keys and the rules). Without pre-dealing every mask
// comes from the inference's own session keys. A failed inference (a client gone, a timeout, an
// abort) ends that client: the servers log it and wait for the next. The round timeout applies
// inside an inference only; waiting for the next client has none. A stop (SIGTERM,
// --max-inferences reached, or the other server's {t:'stop'}) aborts the current inference
// (MPCC5034 to its peers), tells the other server, and closes every connection.

import { randomBytes } from 'node:crypto';
import { runtimeError, RuntimeError, type DiagnosticCode } from '../diagnostics.js';
import type { PartyIdentity } from '../session/identity.js';
import { PartySession } from '../session/party-session.js';
import type { RoundTimeout } from '../session/round-timeout.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame.js';
import type { PeerLink } from './link.js';
import { LinkMux, type ControlMessage } from './link-mux.js';
import { ServeListener } from './serve-listen.js';
import { answerBundle, bundleSession, requestBundle, type Bundle, type PredealHooks } from './serving-predeal.js';
import { checkHostsResolve, dial, parseHostPort, type ConnectContext, type TcpLink } from './tcp.js';

/** Addresses, keys and limits of a serving party or a client. */
export interface ServingOptions {
  /** "host:port" of parties 0 (unused), 1 and 2. */
  peers: readonly [string, string, string];
  /** Session tag (artifact format, mpcc version, architecture digest). */
  tag: string;
  identity?: PartyIdentity;
  /** Connect and handshake timeout (ms); default 10 000. */
  timeoutMs?: number;
  /** Timeout of every round inside an inference. */
  roundTimeoutMs?: RoundTimeout;
  maxFrameBytes?: number;
}

/** What a serving party knows about the inference it runs. */
export interface InferenceContext {
  /** Clients this server session has taken so far, this one included. */
  client: number;
  /** 0-based inference of this client connection. */
  index: number;
  /** The one-time setup both servers hold and reuse (its id), or null: make it in this
   * inference. Only meaningful for index 0 (later inferences reuse the client's). */
  reuseSetup: string | null;
  /** An open client's inference: to be called once the offline phase is done (RunOptions.
   * beforeOnline); resolves on the client's 'go', rejects with ClientLeft on its 'bye', with
   * MPCC5035 on its silence, MPCC5034 on a stop. Null for a client with a fixed count. */
  clientReady: (() => Promise<void>) | null;
  /** P2: the offline work pre-dealt for this inference (PredealHooks.deal's promise), or null
   * (not pre-dealt; P1 and P0 learn it from the session's `bundle`). */
  predealt: Promise<unknown> | null;
}

/** How an open client left (its 'bye'): the prepared inference is abandoned, not failed. */
export class ClientLeft extends Error {
  constructor(readonly reason: string) {
    super(`the client left (${reason})`);
  }
}

/** How long a server's prepared inference waits for a word from its client by default. */
const CLIENT_SILENCE_MS = 15_000;
/** Why an open client leaves: public, one of a few words. */
const BYE_REASONS: Record<string, string> = { end: 'end of its input', error: 'an error at the client', stop: 'stopped at the client' };

export type { PredealHooks } from './serving-predeal.js';

/** Options of a serving party (P1 or P2). */
export interface ServeOptions extends ServingOptions {
  id: 1 | 2;
  /** Stop (exit 0) after this many completed inferences; default unlimited. */
  maxInferences?: number;
  /** Progress and event lines (stderr). */
  log: (line: string) => void;
  /** Id of the one-time setup this party holds now, or null. */
  setupId: () => string | null;
  /** How long a prepared inference of an open client waits without a word from it (ms);
   * default 15 000 (the client speaks every CLIENT_HEARTBEAT_MS, serving-client.ts, while it waits). */
  clientSilenceMs?: number;
  /** Pre-deal each client's first inference while no client is connected (both servers must
   * give it; P1 asks, a P2 without it declines); absent: no pre-dealing. */
  predeal?: PredealHooks;
  /** Keep what each inference's session received (security tests). */
  recordReceived?: boolean;
}

/** What a server session did. */
export interface ServeSummary {
  clients: number;
  inferences: number;
  failedClients: number;
  /** Why it stopped. */
  reason: string;
}

/** A client connection at a server, its hello read. */
interface ClientConn {
  mux: LinkMux;
  nonce: string;
  /** Its inference count, or null: open (until its 'bye'). */
  inferences: number | null;
}

/** Largest inference count one client may ask for. */
const MAX_CLIENT_INFERENCES = 1_000_000;
/** Clients P2 keeps waiting for P1's word. */
const MAX_WAITING_AT_HELPER = 8;

/** The hello of a client, checked (MPCC5030 otherwise). */
function checkHello(m: ControlMessage): { nonce: string; inferences: number | null } {
  const { nonce, inferences, open } = m as { nonce?: unknown; inferences?: unknown; open?: unknown };
  if (m.t !== 'hello') throw runtimeError('MPCC5030', [`expected a hello, got '${String(m.t).slice(0, 40)}'`], 0);
  if (typeof nonce !== 'string' || !/^[0-9a-f]{32}$/.test(nonce)) throw runtimeError('MPCC5030', ['its nonce is not 16 bytes in hex'], 0);
  if (open === true && inferences === undefined) return { nonce, inferences: null };
  if (typeof inferences !== 'number' || !Number.isInteger(inferences) || inferences < 1 || inferences > MAX_CLIENT_INFERENCES) {
    throw runtimeError('MPCC5030', [`its inference count ${JSON.stringify(inferences)} is not an integer in [1, ${MAX_CLIENT_INFERENCES}]`], 0);
  }
  return { nonce, inferences };
}

/** Runs `session.start()` under the connect timeout. */
export async function startSession(session: PartySession, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(runtimeError('MPCC5005', [`no complete handshake within ${timeoutMs} ms`], session.handshakeMissing()[0] ?? session.peers[0])), timeoutMs);
  });
  try {
    await Promise.race([session.start(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A serving P1 or P2: `serve()` runs until stopped; `stop()` may be called at any time. */
export class ServingParty {
  private readonly timeoutMs: number;
  private readonly ctx: ConnectContext;
  private listener: ServeListener | null = null;
  private helper: LinkMux | null = null;
  private current: PartySession | null = null;
  private stopping: string | null = null;
  /** Loops waiting for a client (or for stop), woken when one arrives. */
  private readonly wakers = new Set<() => void>();
  /** Resolves (null) once the party stops. */
  private readonly stopped: Promise<null>;
  private signalStopped: () => void = () => undefined;
  /** The next control message from the other server, read ahead (peekHelper). */
  private helperNext: Promise<ControlMessage> | null = null;
  /** P1: the client taken (at most one); P2: clients waiting, by nonce. */
  private readonly clients: ClientConn[] = [];
  private busy = false;
  /** The client being served, told when this party stops. */
  private currentClient: ClientConn | null = null;
  private served = 0;
  /** The pre-dealt bundle held for the next client, or null. */
  private bundle: Bundle | null = null;
  /** P1: the helper declined pre-dealing (or the option is off). */
  private predealOff = false;
  private summary: ServeSummary = { clients: 0, inferences: 0, failedClients: 0, reason: '' };

  constructor(
    private readonly options: ServeOptions,
    private readonly runInference: (session: PartySession, ctx: InferenceContext) => Promise<void>,
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.stopped = new Promise<null>((resolve) => (this.signalStopped = () => resolve(null)));
    this.ctx = { deadline: 0, timeoutMs: this.timeoutMs, max: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, tag: options.tag, identity: options.identity };
  }

  private get id(): 1 | 2 {
    return this.options.id;
  }

  private get remaining(): number {
    return (this.options.maxInferences ?? Infinity) - this.served;
  }

  /** Listens, links the two servers, then serves clients until stopped. */
  async serve(): Promise<ServeSummary> {
    const { id, peers, log } = this.options;
    await checkHostsResolve(id, peers.map((p) => parseHostPort(p).host));
    this.listener = new ServeListener(id, peers[id], id === 1 ? [0, 2] : [0], { ...this.ctx }, (l) => this.onLink(l), (why, err) => {
      // a helper of another compile never becomes the right one: its error now (no log line too)
      if (err?.peer === 2 && err.code === 'MPCC5008' && this.helperGaveUp) this.helperGaveUp(err);
      else log(`party ${id}: refused ${why}`);
      if (/claiming to be party 2\)/.test(why)) this.helperRefused = why; // said if the helper never links
    });
    await this.listener.listen();
    try {
      if (id === 1) {
        log(`party 1: listening on ${peers[1]}; waiting for the helper (party 2)`);
        this.helper = await this.waitForHelper();
      } else {
        this.helper = new LinkMux(await dial(2, 1, peers[1], { ...this.ctx, deadline: Date.now() + this.timeoutMs }));
      }
      log(`party ${id}: linked to party ${id === 1 ? 2 : 1}; serving clients on ${peers[id]}`);
      while (!this.stopping) {
        if (this.remaining <= 0) {
          this.stop(`served ${this.served} inference(s) (--max-inferences)`);
          break;
        }
        if (id === 1) {
          if (this.options.predeal && !this.predealOff && !this.bundle) await this.openBundle();
          if (this.stopping) break;
          await this.serveNextAsServer();
        } else await this.serveNextAsHelper();
      }
    } catch (e) {
      if (!this.stopping) {
        this.shutdown();
        throw e;
      }
    }
    this.shutdown();
    this.summary.reason = this.stopping ?? '';
    this.summary.inferences = this.served;
    return this.summary;
  }

  /** Stops serving: aborts the current inference, tells the other server, closes. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = reason;
    this.options.log(`party ${this.id}: stopping: ${reason}${this.current ? ' (aborting the current inference)' : ''}`);
    const s = this.current;
    if (s) void s.abort(runtimeError('MPCC5034', [reason], this.id)).catch(() => undefined);
    try {
      // An open client may be waiting for its input, not in a round: tell it.
      this.currentClient?.mux.sendControl({ t: 'stop', reason });
    } catch {
      // gone already
    }
    try {
      if (this.helper && !this.helper.broken) this.helper.sendControl({ t: 'stop', reason });
    } catch {
      // the other server is gone already
    }
    this.dropBundle();
    this.signalStopped();
    this.wakeAll();
    this.helperGaveUp?.(runtimeError('MPCC5034', [reason], this.id));
    if (!s) this.shutdown();
  }

  private shutdown(): void {
    this.dropBundle();
    this.listener?.close();
    void this.helper?.close();
    for (const c of this.clients.splice(0)) void c.mux.close();
  }

  private onLink(link: TcpLink): void {
    if (link.peer === 2) {
      if (this.helperWaiter) {
        const w = this.helperWaiter;
        this.helperWaiter = null;
        w(new LinkMux(link));
      } else {
        this.options.log(`party 1: refused a second connection from party 2 (the helper is linked already)`);
        link.socket.destroy();
      }
      return;
    }
    void this.onClient(new LinkMux(link));
  }

  private helperWaiter: ((m: LinkMux) => void) | null = null;
  private helperRefused: string | null = null;
  /** Ends the wait for the helper at start (a stop before it came). */
  private helperGaveUp: ((e: RuntimeError) => void) | null = null;

  private waitForHelper(): Promise<LinkMux> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.helperWaiter = null;
        reject(runtimeError('MPCC5006', [this.options.peers[2], this.timeoutMs, this.helperRefused ? `the helper's connections were refused, the last one: ${this.helperRefused}` : `the helper never connected to this party's address ${this.options.peers[1]}`], 2));
      }, this.timeoutMs);
      this.helperWaiter = (m) => {
        clearTimeout(timer);
        this.helperGaveUp = null;
        resolve(m);
      };
      this.helperGaveUp = (e) => {
        clearTimeout(timer);
        this.helperWaiter = this.helperGaveUp = null;
        reject(e);
      };
    });
  }

  /** A client connected: read its hello, then take it (P1: if free), keep it (P2) or refuse. */
  private async onClient(mux: LinkMux): Promise<void> {
    const { id, log } = this.options;
    let hello: { nonce: string; inferences: number | null };
    try {
      hello = checkHello(await mux.nextControl(this.timeoutMs, 'hello'));
    } catch (e) {
      const err = e as RuntimeError;
      if (err.code === 'MPCC5030') this.refuse(mux, 'MPCC5030', [`it refused this client's hello: ${err.message.replace(/^.*?: /, '')}`]);
      else void mux.close();
      log(`party ${id}: refused a client: ${err.message}`);
      return;
    }
    if (this.stopping) return this.refuse(mux, 'MPCC5034', [this.stopping]);
    if (id === 1) {
      if (this.busy) return this.refuse(mux, 'MPCC5031', []);
      if ((hello.inferences ?? 1) > this.remaining) return this.refuse(mux, 'MPCC5032', [hello.inferences ?? 1, this.remaining]);
      this.busy = true;
    } else if (this.clients.length >= MAX_WAITING_AT_HELPER) {
      return this.refuse(mux, 'MPCC5031', []);
    }
    const conn = { mux, ...hello };
    this.clients.push(conn);
    // A client that leaves while it waits is forgotten (P2).
    if (id === 2) void mux.whenBroken().then(() => this.forget(conn));
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const w of [...this.wakers]) w();
  }

  /** The next control message from the other server, without taking it. */
  private peekHelper(): Promise<ControlMessage> {
    return (this.helperNext ??= this.helper!.nextControl());
  }

  /** The next control message from the other server. */
  private takeHelper(): Promise<ControlMessage> {
    const p = this.peekHelper();
    this.helperNext = null;
    return p;
  }

  private forget(conn: ClientConn): void {
    const i = this.clients.indexOf(conn);
    if (i >= 0) this.clients.splice(i, 1);
  }

  private refuse(mux: LinkMux, code: DiagnosticCode, args: unknown[]): void {
    const why = code === 'MPCC5031' ? 'another client is being served' : code === 'MPCC5032' ? `it asked for ${String(args[0])} inference(s), ${String(args[1])} left before --max-inferences` : code === 'MPCC5033' ? 'it never connected to the helper' : 'see its error';
    this.options.log(`party ${this.options.id}: refused a client (${code}): ${why}`);
    try {
      mux.sendControl({ t: 'refuse', code, args });
    } catch {
      // gone already
    }
    void mux.close();
  }

  /** Waits until `ready()` gives a value, or the party stops (null). */
  private async until<T>(ready: () => T | null, timeoutMs = 0): Promise<T | null> {
    const started = Date.now();
    for (;;) {
      const v = ready();
      if (v !== null || this.stopping) return v;
      if (timeoutMs > 0 && Date.now() - started >= timeoutMs) return null;
      await new Promise<void>((resolve) => {
        const waker = () => {
          clearTimeout(timer);
          this.wakers.delete(waker);
          resolve();
        };
        const timer = timeoutMs > 0 ? setTimeout(waker, timeoutMs - (Date.now() - started)) : undefined;
        this.wakers.add(waker);
      });
    }
  }

  /** P1: the next client, agreed with the helper, served. */
  private async serveNextAsServer(): Promise<void> {
    const helper = this.helper!;
    // Between clients the helper may only say stop.
    const next = await Promise.race([this.until(() => this.clients.shift() ?? null).then((c) => ({ c })), this.peekHelper().then((m) => ({ m }))]);
    if ('m' in next) {
      const m = await this.takeHelper();
      if (m.t === 'stop') return this.stop(`the helper stopped: ${String(m.reason)}`);
      throw runtimeError('MPCC5030', [`'${m.t}' while no client is served`], 2);
    }
    const conn = next.c;
    if (!conn) return;
    try {
      const setup = this.options.setupId();
      // The bundle goes to this client whatever happens next: it is never used twice.
      const bundle = this.bundle;
      this.bundle = null;
      helper.sendControl({ t: 'client', nonce: conn.nonce, inferences: conn.inferences, setup, bundle: bundle?.id ?? null });
      const reply = await this.takeHelper();
      if (reply.t === 'stop') return this.stop(`the helper stopped: ${String(reply.reason)}`);
      if (reply.t === 'missing') return this.refuse(conn.mux, 'MPCC5033', [this.timeoutMs]);
      if (reply.t !== 'ready') throw runtimeError('MPCC5030', [`expected ready or missing, got '${reply.t}'`], 2);
      if (reply.bundle !== null && reply.bundle !== undefined && reply.bundle !== bundle?.id) throw runtimeError('MPCC5030', [`a ready for a bundle this server never opened`], 2);
      const used = reply.bundle === bundle?.id && bundle ? bundle : null;
      conn.mux.sendControl({ t: 'accept', bundle: used?.id ?? null });
      await this.serveClient(conn, reply.setup === true && setup !== null ? setup : null, used);
    } finally {
      this.busy = false;
    }
  }

  /** P2: waits for P1's word on the next client, then serves it. */
  private async serveNextAsHelper(): Promise<void> {
    const helper = this.helper!;
    if ((await Promise.race([this.peekHelper(), this.stopped])) === null) return;
    const m = await this.takeHelper();
    if (m.t === 'stop') return this.stop(`the server stopped: ${String(m.reason)}`);
    if (m.t === 'predeal') return this.dealBundle(m);
    if (m.t !== 'client') throw runtimeError('MPCC5030', [`expected a client, got '${m.t}'`], 1);
    // The bundle goes to this client if P1 names it, and is dropped otherwise: never used twice.
    const held = this.bundle;
    this.bundle = null;
    const bundle = held && m.bundle === held.id ? held : null;
    if (held && !bundle) held.abort?.abort('not used');
    const conn = await this.until(() => this.clients.find((c) => c.nonce === m.nonce) ?? null, this.timeoutMs);
    if (!conn) {
      bundle?.abort?.abort('its client never came');
      if (!this.stopping) helper.sendControl({ t: 'missing' });
      return;
    }
    this.forget(conn);
    const setup = typeof m.setup === 'string' && m.setup === this.options.setupId() ? m.setup : null;
    // A bundle dealt on another setup's B is useless: run without it.
    const used = bundle && setup !== null ? bundle : null;
    if (bundle && !used) bundle.abort?.abort('another one-time setup');
    helper.sendControl({ t: 'ready', setup: setup !== null, bundle: used?.id ?? null });
    await this.serveClient(conn, setup, used);
  }

  /** P1, idle without a bundle: opens one with the helper (serving-predeal.ts) and, the first
   * time, makes the one-time setup from the same exchange. */
  private async openBundle(): Promise<void> {
    const request = requestBundle(this.options.setupId() === null);
    this.helper!.sendControl(request.message);
    // A stop meanwhile (SIGTERM) ends the wait: the helper may never answer.
    const reply = await Promise.race([this.takeHelper(), this.stopped]);
    if (reply === null) return;
    if (reply.t === 'stop') return this.stop(`the helper stopped: ${String(reply.reason)}`);
    if (reply.t === 'predeal-off') {
      this.predealOff = true;
      this.options.log(`party 1: the helper does not pre-deal (--no-predeal): every inference is dealt once its client is there`);
      return;
    }
    this.bundle = request.accept(reply, this.helper!.base.channelSecret, this.options.predeal!);
  }

  /** P2: P1 opened a bundle: answer at once, then deal the next inference on its streams in the
   * background (the next client's first inference waits for it). */
  private dealBundle(m: ControlMessage): void {
    const hooks = this.options.predeal;
    if (!hooks) {
      this.helper!.sendControl({ t: 'predeal-off' });
      return;
    }
    this.dropBundle();
    const answer = answerBundle(m);
    this.helper!.sendControl(answer.reply);
    this.bundle = answer.start(this.helper!.base.channelSecret, hooks, this.options.log);
  }

  /** Drops the bundle held (P2: its dealing stopped). */
  private dropBundle(): void {
    this.bundle?.abort?.abort('dropped');
    this.bundle = null;
  }

  /** Runs the client's inferences, one session each; a failure ends this client only. An
   * open client's inferences run until its 'bye' (a departure, not a failure). */
  private async serveClient(conn: ClientConn, reuseSetup: string | null, bundle: Bundle | null = null): Promise<void> {
    const { id, log } = this.options;
    const client = ++this.summary.clients;
    const open = conn.inferences === null;
    // the setup a first client finds was made at start-up, for the pre-dealing
    const setup = reuseSetup === null ? '' : client === 1 ? ', one-time setup made at start-up' : ', one-time setup reused';
    log(`party ${id}: client ${client}: ${open ? 'open' : conn.inferences} inference(s)${setup}`);
    this.currentClient = conn;
    for (let index = 0; (open || index < conn.inferences!) && !this.stopping; index++) {
      if (open && this.remaining <= 0) {
        // The servers stop after this one (--max-inferences): the client must not prepare more.
        this.tell(conn, { t: 'stop', reason: `served ${this.served} inference(s) (--max-inferences)` });
        break;
      }
      const links: (PeerLink | null)[] = [null, null, null];
      links[0] = conn.mux.open();
      links[id === 1 ? 2 : 1] = this.helper!.open();
      // Only the first inference runs on the bundle (the later ones start at once).
      const b = index === 0 ? bundle : null;
      const predeal = b ? bundleSession(id, b) : undefined;
      const session = new PartySession(id, links, { tag: this.options.tag, roundTimeoutMs: this.options.roundTimeoutMs, predeal, recordReceived: this.options.recordReceived });
      this.current = session;
      try {
        await startSession(session, this.timeoutMs);
        await this.runInference(session, { client, index, reuseSetup, clientReady: open ? () => this.clientWord(conn, client, index) : null, predealt: (id === 2 && b?.dealt) || null });
        await session.close();
        this.served++;
        log(`party ${id}: client ${client}: inference ${index + 1} done (${this.served} served)`);
      } catch (e) {
        const left = e instanceof ClientLeft ? e : open ? this.byeQueued(conn) : null;
        if (left && !this.stopping) {
          // A departure: the prepared session is closed (cleanly when it can be), never run.
          await session.close().catch((c: unknown) => session.abort(c instanceof Error ? c : new Error(String(c))).catch(() => undefined));
          log(`party ${id}: client ${client}: left (${left.reason}) after ${index} inference(s); its prepared inference ${index + 1} is abandoned`);
          break;
        }
        conn.mux.retire(); // this client ends here: no need to wait for its end marker
        await session.abort(e instanceof Error ? e : new Error(String(e))).catch(() => undefined);
        this.summary.failedClients++;
        const err = e instanceof RuntimeError ? e.format() : String(e);
        log(`party ${id}: client ${client}: inference ${index + 1} ended: ${err}`);
        if (this.helper!.broken) {
          // The other server's stop arrived before its link closed: a stop, not a failure.
          const m = this.helper!.pollControl();
          if (m?.t !== 'stop') throw this.helper!.broken;
          this.stop(`the ${id === 1 ? 'helper' : 'server'} stopped: ${String(m.reason)}`);
        }
        break;
      } finally {
        this.current = null;
        b?.abort?.abort('its inference ended'); // a dealing still running is of no use any more
      }
    }
    this.currentClient = null;
    await conn.mux.close();
    if (this.stopping) this.shutdown();
  }

  /** Sends a control message to a client, if it is still there. */
  private tell(conn: ClientConn, m: ControlMessage): void {
    try {
      conn.mux.sendControl(m);
    } catch {
      // gone already
    }
  }

  /** The 'bye' an open client sent before its session ended (e.g. stopped in the offline
   * phase), if one is queued. */
  private byeQueued(conn: ClientConn): ClientLeft | null {
    for (let m = conn.mux.pollControl(); m; m = conn.mux.pollControl()) if (m.t === 'bye') return new ClientLeft(BYE_REASONS[String(m.reason)] ?? 'its own reason');
    return null;
  }

  /** A prepared inference of an open client waits for the client's word: 'go' (its input is
   * there: the online phase follows), 'wait' (still there), 'bye' (ClientLeft); silence for
   * clientSilenceMs (MPCC5035), a lost connection, or this party's stop ends the wait. */
  private async clientWord(conn: ClientConn, client: number, index: number): Promise<void> {
    const silenceMs = this.options.clientSilenceMs ?? CLIENT_SILENCE_MS;
    for (;;) {
      const word = conn.mux.nextControl(silenceMs, 'word').catch((e: RuntimeError) => {
        if (e.code !== 'MPCC5005') throw e;
        // told first, so a client that wakes (SIGSTOP, a suspended laptop) learns why (MPCC5036)
        this.tell(conn, { t: 'gave-up', inference: index + 1, ms: silenceMs });
        throw runtimeError('MPCC5035', [client, index + 1, silenceMs], 0);
      });
      const m = await Promise.race([word, this.stopped, this.helper!.whenBroken().then((e) => Promise.reject(e))]);
      if (m === null) throw runtimeError('MPCC5034', [this.stopping ?? 'stopped'], this.id);
      if (m.t === 'go') return;
      if (m.t === 'bye') throw new ClientLeft(BYE_REASONS[String(m.reason)] ?? 'its own reason');
      if (m.t !== 'wait') throw runtimeError('MPCC5030', [`expected wait, go or bye from the client, got '${String(m.t).slice(0, 40)}'`], 0);
    }
  }
}
