// Entry point of one party's worker thread (started by runInWorkers in workers.ts): links
// the ports it was given, agrees keys, runs the party's exported function, reports back.

import { parentPort, workerData } from 'node:worker_threads';
import { PartySession } from '../session/party-session.js';
import { RuntimeError } from '../diagnostics.js';
import { PortLink, type WorkerPartyData, type WorkerPartyResult } from './workers.js';

const data = workerData as WorkerPartyData;

async function main(): Promise<void> {
  const links = data.ports.map((port, peer) => (port ? new PortLink(peer as 0 | 1 | 2, port) : null));
  const session = new PartySession(data.id, links, data.options);
  let result: WorkerPartyResult;
  try {
    await session.start();
    const mod = (await import(data.module)) as Record<string, unknown>;
    const fn = mod[data.exportName];
    if (typeof fn !== 'function') throw new Error(`module ${data.module} has no exported function '${data.exportName}'`);
    const value = await (fn as (s: PartySession, arg: unknown) => Promise<unknown>)(session, data.arg);
    await session.close();
    result = { ok: true, value };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    await session.abort(err);
    result = { ok: false, error: { name: err.name, message: err.message, stack: err.stack, code: err instanceof RuntimeError ? err.code : undefined, peer: err instanceof RuntimeError ? err.peer : undefined } };
  }
  parentPort!.postMessage(result);
}

void main();
