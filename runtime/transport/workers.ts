// The worker-thread transport: three parties in one process, each on its own thread, linked
// by MessageChannel ports. Unlike the single-threaded in-process transport, the parties
// compute in parallel (on this 2-core machine the three parties share two cores instead of
// one). A party's code cannot be a closure (threads share no heap): it is an exported
// function `(session, arg) => result` of a module, which every worker imports. Frames cross
// threads as one copied, transferred buffer each; results and errors come back by
// structured clone.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { runtimeError, RuntimeError, type DiagnosticCode } from '../diagnostics.js';
import type { SessionOptions } from '../session/party-session.js';
import type { PartyId, Phase } from '../session/session.js';
import type { Frame, FrameKind } from './frame.js';
import type { LinkHandlers, PeerLink } from './link.js';

/** How long the other parties may take to fail after one reported an error, before their
 * threads are terminated. */
const FAIL_GRACE_MS = 5000;

/** A frame as posted between threads. */
interface PortFrame {
  k: FrameKind;
  r: number;
  p: [number, number, number];
  d: Uint8Array;
}

/** This party's end of a MessageChannel to `peer`. */
export class PortLink implements PeerLink {
  private handlers: LinkHandlers | null = null;
  private backlog: Frame[] = [];
  private closed = false;
  private broken: RuntimeError | null = null;

  constructor(readonly peer: PartyId, private readonly port: MessagePort) {
    port.on('message', (m: PortFrame) => {
      const f: Frame = { kind: m.k, round: m.r, phases: { online: m.p[0], preprocessing: m.p[1], oneTime: m.p[2] }, payload: m.d };
      if (this.handlers) this.handlers.frame(f);
      else this.backlog.push(f);
    });
    port.on('close', () => {
      if (this.closed) return;
      this.broken = runtimeError('MPCC5001', ['its thread closed the channel without a goodbye (did it crash or exit?)'], peer);
      this.handlers?.broken(this.broken);
    });
  }

  send(kind: FrameKind, round: number, phases: Record<Phase, number>, parts: readonly Uint8Array[], length: number): void {
    if (this.closed || this.broken) throw runtimeError('MPCC5001', ['its channel is closed'], this.peer);
    // One copy into a fresh buffer, then transferred: the sender keeps its own arrays intact.
    const d = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      d.set(p, at);
      at += p.length;
    }
    const m: PortFrame = { k: kind, r: round, p: [phases.online, phases.preprocessing, phases.oneTime], d };
    this.port.postMessage(m, [d.buffer]);
  }

  attach(h: LinkHandlers): void {
    this.handlers = h;
    const early = this.backlog;
    this.backlog = [];
    for (const f of early) h.frame(f);
    if (this.broken) h.broken(this.broken);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued messages leave before the channel closes (close drops nothing already
    // posted, but give the event loop a turn so a goodbye is not raced by the close event).
    await new Promise((res) => setImmediate(res));
    this.port.close();
  }
}

/** What the parent gives each worker. */
export interface WorkerPartyData {
  id: PartyId;
  module: string;
  exportName: string;
  arg: unknown;
  options: Omit<SessionOptions, 'monitor'>;
  ports: (MessagePort | null)[];
}

/** What a worker reports back. */
export type WorkerPartyResult = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; code?: string; peer?: PartyId; stack?: string } };

function revive(e: { name: string; message: string; code?: string; peer?: PartyId; stack?: string }): Error {
  if (e.name === 'RuntimeError' && e.code) {
    const r = new RuntimeError(e.code as DiagnosticCode, e.message, e.peer);
    return r;
  }
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/** Runs `module`'s export `exportName(session, arg)` as all three parties, each on its own
 * worker thread, and returns the three results by party id. The module is given as a URL or
 * absolute path (e.g. `new URL('./job.js', import.meta.url)`). The first error any party
 * throws is rethrown; the other parties fail (abort frames) instead of hanging. */
export async function runInWorkers<T>(module: string | URL, exportName: string, arg?: unknown, options: Omit<SessionOptions, 'monitor'> = {}): Promise<[T, T, T]> {
  const outcomes = await settleInWorkers<T>(module, exportName, arg, options);
  const errors = outcomes.filter((o): o is { ok: false; error: Error } => !o.ok).map((o) => o.error);
  if (errors.length > 0) throw rootCause(errors);
  return outcomes.map((o) => (o as { ok: true; value: T }).value) as [T, T, T];
}

/** One party's outcome in settleInWorkers. */
export type PartyOutcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Like runInWorkers, but returns every party's outcome (value or error) instead of throwing. */
export async function settleInWorkers<T>(module: string | URL, exportName: string, arg?: unknown, options: Omit<SessionOptions, 'monitor'> = {}): Promise<[PartyOutcome<T>, PartyOutcome<T>, PartyOutcome<T>]> {
  const moduleUrl = module instanceof URL ? module.href : module.startsWith('file:') ? module : new URL(`file://${module}`).href;
  const channels = { '01': new MessageChannel(), '02': new MessageChannel(), '12': new MessageChannel() };
  const portsOf: (MessagePort | null)[][] = [
    [null, channels['01'].port1, channels['02'].port1],
    [channels['01'].port2, null, channels['12'].port1],
    [channels['02'].port2, channels['12'].port2, null],
  ];
  const script = new URL('./worker-party.js', import.meta.url);
  const workers: Worker[] = [];
  const outcomes = ([0, 1, 2] as const).map((id) => {
    const ports = portsOf[id];
    const data: WorkerPartyData = { id, module: moduleUrl, exportName, arg, options: { ...options }, ports };
    const w = new Worker(script, { workerData: data, transferList: ports.filter((p): p is MessagePort => p !== null) });
    workers.push(w);
    return new Promise<WorkerPartyResult>((resolve) => {
      let reported = false;
      w.once('message', (r: WorkerPartyResult) => {
        reported = true;
        resolve(r);
      });
      w.once('error', (e: Error) => {
        reported = true;
        resolve({ ok: false, error: { name: e.name, message: e.message, stack: e.stack } });
      });
      w.once('exit', (code) => {
        if (!reported) resolve({ ok: false, error: { name: 'Error', message: `party ${id}'s thread exited with code ${code} before reporting` } });
      });
    });
  });
  let graceTimer: NodeJS.Timeout | null = null;
  const results = await Promise.all(
    outcomes.map((p) =>
      p.then((r): PartyOutcome<T> => {
        if (r.ok) return { ok: true, value: r.value as T };
        graceTimer ??= setTimeout(() => workers.forEach((w) => void w.terminate()), FAIL_GRACE_MS);
        return { ok: false, error: revive(r.error) };
      }),
    ),
  );
  if (graceTimer) clearTimeout(graceTimer);
  await Promise.all(workers.map((w) => w.terminate()));
  return results as [PartyOutcome<T>, PartyOutcome<T>, PartyOutcome<T>];
}

/** The error that most likely caused the others: a party's own failure (its code threw or
 * its thread died) before a runtime error, and a peer's abort (a consequence) last. */
function rootCause(errors: Error[]): Error {
  const rank = (e: Error) => (!(e instanceof RuntimeError) ? 0 : e.code === 'MPCC5011' ? 2 : 1);
  return errors.reduce((best, e) => (rank(e) < rank(best) ? e : best));
}
