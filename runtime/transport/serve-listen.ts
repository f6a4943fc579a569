// Serving: a listener that stays up and authenticates every connection as it comes
// (runtime/transport/serving.ts). The one-shot listener of tcp.ts takes one connection per
// peer and closes; a serving server takes its helper once and clients for as long as it runs.
//
// Each connection is held to the rules of tcp.ts before it counts: an 8-byte preamble naming
// a party this listener accepts and this party as the target, then (with an identity) the
// responder's side of Noise_KK against that party's pinned key, with the session tag as
// payload — at most a preamble and one handshake message before authentication, and a
// connection that stalls past the connect timeout, sends more, claims another id or fails
// authentication is refused and closed (reported through `onRefused`) without disturbing the
// party's current work.

import { createServer, type Server, type Socket } from 'node:net';
import { runtimeError, RuntimeError } from '../diagnostics.js';
import type { PartyIdentity } from '../session/identity.js';
import type { PartyId } from '../session/session.js';
import { WIRE_VERSION } from './frame.js';
import { KKHandshake } from './noise.js';
import { checkTag, concatBytes, lengthPrefixed, MAX_HANDSHAKE_BYTES, parseHostPort, PREAMBLE_BYTES, prologue, takeHandshake, TcpLink } from './tcp.js';

/** What the listener needs to authenticate a connection. */
export interface ListenContext {
  /** Per connection: time to complete the preamble and handshake. */
  timeoutMs: number;
  /** Largest frame payload accepted. */
  max: number;
  tag: string;
  identity?: PartyIdentity;
}

const utf8 = new TextEncoder();

/** Listens on `address` as party `id`, accepting parties `accepts`; every authenticated
 * connection goes to `onLink`, every refused one to `onRefused` with the reason. */
export class ServeListener {
  private server: Server | null = null;
  private readonly pending = new Set<Socket>();

  constructor(
    readonly id: PartyId,
    readonly address: string,
    private readonly accepts: readonly PartyId[],
    private readonly ctx: ListenContext,
    private readonly onLink: (link: TcpLink) => void,
    /** A refused connection: why, and for an authenticated party of another session its error (MPCC5008). */
    private readonly onRefused: (why: string, error?: RuntimeError) => void,
  ) {}

  /** Starts listening; MPCC5014 when the address cannot be bound. */
  listen(): Promise<void> {
    const { host, port } = parseHostPort(this.address);
    return new Promise((resolve, reject) => {
      const server = createServer((s) => this.onSocket(s));
      server.once('error', (e: NodeJS.ErrnoException) => reject(runtimeError('MPCC5014', [`party ${this.id} cannot listen on ${this.address}: ${e.code ?? e.message}`])));
      server.listen(port, host, () => {
        this.server = server;
        resolve();
      });
    });
  }

  /** Stops listening and drops connections still authenticating. */
  close(): void {
    this.server?.close();
    this.server = null;
    for (const s of this.pending) s.destroy();
    this.pending.clear();
  }

  private onSocket(socket: Socket): void {
    socket.setNoDelay(true);
    this.pending.add(socket);
    const who = `${socket.remoteAddress}:${socket.remotePort}`;
    let head: Uint8Array = new Uint8Array(0);
    let claimed: number | null = null;
    let done = false;
    const settle = () => {
      done = true;
      clearTimeout(stall);
      socket.off('data', onData);
      this.pending.delete(socket);
    };
    const refuse = (why: string) => {
      if (done) return;
      settle();
      socket.destroy();
      this.onRefused(`a connection from ${who}${claimed === null ? '' : ` (claiming to be party ${claimed})`}: it ${why}`);
    };
    const stall = setTimeout(() => refuse(`did not complete its handshake within ${this.ctx.timeoutMs} ms`), this.ctx.timeoutMs);
    const onData = (chunk: Buffer) => {
      head = concatBytes(head, chunk);
      if (head.length < PREAMBLE_BYTES) return;
      if (!(head[0] === 0x6d && head[1] === 0x70 && head[2] === 0x63 && head[3] === 0x63)) return refuse('is not an mpcc party (bad preamble)');
      const version = new DataView(head.buffer, head.byteOffset).getUint16(4, true);
      claimed = head[6];
      if (!this.accepts.includes(claimed as PartyId)) return refuse(`claims to be party ${claimed}, which does not connect to party ${this.id}`);
      if (version !== WIRE_VERSION) return refuse(`runs wire version ${version}, this party runs version ${WIRE_VERSION}`);
      if (head[7] !== this.id) return refuse(`dialed ${this.address} to reach party ${head[7]}, but party ${this.id} listens there (check the order of the addresses)`);
      const from = claimed as PartyId;
      const { identity } = this.ctx;
      if (!identity) {
        settle();
        return this.onLink(new TcpLink(from, socket, this.ctx.max, head.subarray(PREAMBLE_BYTES)));
      }
      const got = takeHandshake(head.subarray(PREAMBLE_BYTES));
      if (got === 'more') return;
      if (got === 'too big' || got.rest.length > 0) return refuse(`was cut off: ${runtimeError('MPCC5018', [head.length, PREAMBLE_BYTES + MAX_HANDSHAKE_BYTES], from).format()}`);
      const hs = new KKHandshake(false, identity.own, identity.peers[from]!, prologue(from, this.id));
      let payload: Uint8Array;
      try {
        payload = hs.readMessage1(got.message);
      } catch {
        return refuse(`failed authentication (its key is not the one this party pins for party ${from}, or it pins another key for this party, party ${this.id}, or its handshake was altered)`);
      }
      settle();
      try {
        checkTag(payload, this.ctx.tag, from);
      } catch (e) {
        // Authenticated, but for another model: reply so it learns why, and close.
        socket.end(lengthPrefixed(hs.writeMessage2(utf8.encode(this.ctx.tag))));
        return this.onRefused(`party ${from} from ${who} ${e instanceof RuntimeError ? e.format() : String(e)}`, e instanceof RuntimeError ? e : undefined);
      }
      socket.write(lengthPrefixed(hs.writeMessage2(utf8.encode(this.ctx.tag))));
      this.onLink(new TcpLink(from, socket, this.ctx.max, undefined, undefined, hs.result()));
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(stall);
      this.pending.delete(socket);
    });
  }
}
