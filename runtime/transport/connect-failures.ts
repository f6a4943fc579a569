// How a party's connecting ends when a link fails (runtime/transport/tcp.ts, serving-client.ts):
// failures no retry or wait mends stop the party's other dials and its listener at once
// (`firstFailure`), which then reject with ConnectAborted, not reported.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { peerName, runtimeError, type RuntimeError } from '../diagnostics.js';
import type { PartyId } from '../session/session.js';

/** A dial or listener stopped because another link of the same party failed first: that
 * failure is the one to report. */
export class ConnectAborted extends Error {
  constructor() {
    super('connecting stopped: another link failed');
  }
}

/** Socket errors no retry mends: the host name does not resolve. */
export const FATAL_CONNECT_ERRORS = new Set(['ENOTFOUND']);

/** Failures that make this party's other links pointless (firstFailure stops them): an address
 * that does not resolve, one where another program answers, an address this party cannot listen
 * on (MPCC5014). A refused key is not one: the other links go on, so that the peers see the
 * refusal too and say why. */
const fatalFailures = new WeakSet<Error>();
export function fatal(e: RuntimeError): RuntimeError {
  fatalFailures.add(e);
  return e;
}

/** Runs a party's connecting tasks (its listener and dials, which share `abort`'s signal) to
 * the end: a fatal failure (an address that does not resolve, another program at a peer's
 * address, one this party cannot listen on) stops the others at once, so it is reported then
 * rather than at the connect deadline. The tasks it stopped reject with ConnectAborted (not
 * to be reported); links already made are the caller's to close. */
export async function firstFailure<T>(tasks: Promise<T>[], abort: AbortController): Promise<PromiseSettledResult<T>[]> {
  for (const t of tasks) t.catch((e: unknown) => (e instanceof Error && (fatalFailures.has(e) || (e as RuntimeError).code === 'MPCC5014') ? abort.abort() : undefined));
  return Promise.allSettled(tasks);
}

/** MPCC5014 at once when a peer's host name does not resolve: a party that only listens for a
 * peer (P0 for P1 and P2, a serving P1 for its helper) would otherwise wait for it until its
 * connect deadline. `hosts` by party id (this party's own entry skipped). */
export async function checkHostsResolve(id: PartyId, hosts: readonly string[]): Promise<void> {
  await Promise.all(
    hosts.map(async (host, p) => {
      if (p === id || isIP(host.replace(/^\[|\]$/g, '')) !== 0) return;
      try {
        await lookup(host);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== undefined && FATAL_CONNECT_ERRORS.has(code)) throw fatal(runtimeError('MPCC5014', [`the host of peer ${peerName(p as PartyId)}'s address, '${host}', is not found (${code})`]));
      }
    }),
  );
}
