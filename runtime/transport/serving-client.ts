// P0 as the client of serving parties (runtime/transport/serving.ts has the protocol: the
// hello, the servers' answer, and an open client's wait/go/bye): runAsClient connects to both
// servers, runs one session per inference and, for an open client, prepares each next
// inference (handshake, setup, offline phase) before its input comes.

import { randomBytes } from 'node:crypto';
import { runtimeError, RuntimeError, type DiagnosticCode } from '../diagnostics.js';
import { PartySession } from '../session/party-session.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame.js';
import { LinkMux, type ControlMessage } from './link-mux.js';
import { startSession, type ServingOptions } from './serving.js';
import { ConnectAborted, dial, firstFailure, type ConnectContext, type TcpLink } from './tcp.js';

/** Thrown by an open client's inference when its input will not come (end of its input):
 * the prepared session is closed cleanly and the client leaves. */
export class NoMoreInput extends Error {
  constructor() {
    super('no more input');
  }
}

/** How often a waiting open client tells the servers it is still there. */
export const CLIENT_HEARTBEAT_MS = 3000;

/** Options of a client of serving parties. */
export interface ClientOptions extends ServingOptions {
  /** Inferences this client will run over its connection, or 'open': one after another until
   * `run` throws NoMoreInput, each prepared (handshake, setup, offline phase) before its input. */
  inferences: number | 'open';
  /** Keep what each inference's session received (security tests). */
  recordReceived?: boolean;
  /** A stop request (SIGTERM) while a session starts: MPCC5051 (`run` passes the same signal
   * to runProgram for the phases after). */
  signal?: AbortSignal;
  /** An open client whose server stops (MPCC5034, e.g. at its --max-inferences) while an
   * inference is prepared but not yet given its input: resolves true when no input is coming
   * (the client's input has ended), and the client then leaves as at its end, its results
   * kept; otherwise (or without it) the stop is the client's error. */
  inputEnded?: () => Promise<boolean>;
}

/** What a client's inference gets to wait for its input. */
export interface PreparedInference {
  /** Resolves with `input` once it is there; an open client first tells both servers ('go'),
   * and while it waits tells them every CLIENT_HEARTBEAT_MS that it is still there ('wait').
   * Rejects with the input's own error, or at once when a server stops (MPCC5034) or a link is
   * lost. A client with a fixed count just waits. */
  awaitInput<I>(input: Promise<I>): Promise<I>;
}

/** P0 as the client of serving P1 and P2: connects to both, is accepted (or refused with
 * MPCC5031–5034 naming the refusing party), runs `run` once per inference, each in a fresh
 * session, and disconnects. Returns the inferences' results in order. An open client ends
 * when `run` throws NoMoreInput (its prepared session closed, never run, and the servers told
 * 'bye'); its other errors also tell the servers 'bye' before they are thrown. */
export async function runAsClient<T>(options: ClientOptions, run: (session: PartySession, index: number, prepared: PreparedInference) => Promise<T>): Promise<T[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const abort = new AbortController();
  const ctx: ConnectContext = { deadline: Date.now() + timeoutMs, timeoutMs, max: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, tag: options.tag, identity: options.identity, signal: abort.signal };
  // a fatal failure stops the other dial: another program at a server's address, or a host that
  // does not resolve, is reported at once, not at the other dial's deadline
  const dialed = await firstFailure([dial(0, 1, options.peers[1], ctx), dial(0, 2, options.peers[2], ctx)], abort);
  const failed = dialed.find((d): d is PromiseRejectedResult => d.status === 'rejected' && !(d.reason instanceof ConnectAborted));
  if (failed) {
    for (const d of dialed) if (d.status === 'fulfilled') d.value.socket.destroy();
    throw failed.reason;
  }
  const [m1, m2] = dialed.map((d) => new LinkMux((d as PromiseFulfilledResult<TcpLink>).value));
  const open = options.inferences === 'open';
  const tellBoth = (m: ControlMessage) => {
    for (const mux of [m1, m2]) {
      try {
        mux.sendControl(m);
      } catch {
        // that server is gone: `lost` says so
      }
    }
  };
  try {
    const nonce = randomBytes(16).toString('hex');
    tellBoth(open ? { t: 'hello', nonce, open: true } : { t: 'hello', nonce, inferences: options.inferences });
    const stopped = new Promise<never>((_, reject) => {
      const signal = options.signal;
      const onAbort = () => reject(runtimeError('MPCC5051', [String(signal?.reason ?? 'stopped'), 'offline']));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    stopped.catch(() => undefined);
    const reply = await Promise.race([m1.nextControl(timeoutMs, "answer to this client's hello"), stopped]);
    if (reply.t === 'refuse') {
      const code = String(reply.code);
      const args = Array.isArray(reply.args) ? reply.args.map((a) => String(a).slice(0, 200)) : [];
      if (!/^MPCC503[0-4]$/.test(code)) throw runtimeError('MPCC5030', [`a refusal with code '${code.slice(0, 20)}'`], 1);
      throw runtimeError(code as DiagnosticCode, args, 1);
    }
    if (reply.t !== 'accept') throw runtimeError('MPCC5030', [`expected accept or refuse, got '${reply.t}'`], 1);
    // The pre-dealt bundle P1 announces for the first inference (public id), which P2 must name
    // again, sealed, beside K02 in that session's handshake (PartySession, MPCC5050 otherwise).
    const bundle = reply.bundle ?? null;
    if (bundle !== null && (typeof bundle !== 'string' || !/^[0-9a-f]{32}$/.test(bundle))) throw runtimeError('MPCC5030', ['an accept whose bundle id is not 16 bytes in hex'], 1);
    // An open client may wait long for its input, outside any round: it watches both servers
    // meanwhile, so a server's stop or a lost link ends it at once instead of a hang.
    let lostWith: unknown = null;
    const watch = async (m: LinkMux): Promise<never> => {
      const c = await m.nextControl();
      if (c.t === 'stop') throw runtimeError('MPCC5034', [String(c.reason).slice(0, 200)], m.peer);
      if (c.t === 'gave-up') throw runtimeError('MPCC5036', [Number(c.inference) || 0, Number(c.ms) || 0], m.peer);
      throw runtimeError('MPCC5030', [`'${String(c.t).slice(0, 40)}' from a server while it serves this client`], m.peer);
    };
    const lost: Promise<never> = open
      ? Promise.race([watch(m1), watch(m2)]).catch((e: unknown) => {
          lostWith = e;
          throw e;
        })
      : new Promise<never>(() => undefined);
    lost.catch(() => undefined);
    // Whether the current inference was given its input (and the servers told 'go').
    let given = false;
    const prepared: PreparedInference = {
      awaitInput: async (input) => {
        if (!open) return input;
        const heartbeat = setInterval(() => tellBoth({ t: 'wait' }), CLIENT_HEARTBEAT_MS);
        try {
          const x = await Promise.race([input, lost, stopped]);
          tellBoth({ t: 'go' });
          given = true;
          return x;
        } finally {
          clearInterval(heartbeat);
        }
      },
    };
    const results: T[] = [];
    for (let index = 0; open || index < (options.inferences as number); index++) {
      const session = new PartySession(0, [null, m1.open(), m2.open()], { tag: options.tag, roundTimeoutMs: options.roundTimeoutMs, recordReceived: options.recordReceived, predeal: { id: index === 0 ? bundle : null } });
      given = false;
      try {
        await Promise.race([startSession(session, timeoutMs), lost, stopped]);
        results.push(await Promise.race([run(session, index, prepared), lost]));
        await session.close();
      } catch (e) {
        if (open && lostWith === null) {
          // The client's own end (no more input, a bad input, a stop): the servers are told
          // and the prepared session closes cleanly where it can (a stop in the middle of the
          // offline phase leaves frames unread: then it is aborted).
          const reason = e instanceof NoMoreInput ? 'end' : e instanceof RuntimeError && e.code === 'MPCC5051' ? 'stop' : 'error';
          tellBoth({ t: 'bye', reason, inferences: index });
          await session.close().catch((c: unknown) => session.abort(c instanceof Error ? c : new Error(String(c))).catch(() => undefined));
          if (e instanceof NoMoreInput) return results;
          throw e;
        }
        for (const m of [m1, m2]) m.retire();
        await session.abort(e instanceof Error ? e : new Error(String(e))).catch(() => undefined);
        // A server stopping while this inference only waited for an input that is not coming:
        // the client's end, not an error (its prepared inference abandoned).
        const stopping = lostWith instanceof RuntimeError && lostWith.code === 'MPCC5034';
        if (open && stopping && !given && options.inputEnded && (await options.inputEnded())) return results;
        throw e;
      }
    }
    return results;
  } finally {
    await Promise.all([m1.close(), m2.close()]);
  }
}
