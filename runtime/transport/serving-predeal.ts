// Pre-dealt bundles between the two serving parties (serving.ts; the keys in
// runtime/session/keys.ts, "Pre-dealt bundles"): the helper deals its next inference's offline
// phase while no client is connected. Over the P1–P2 link (control messages, public content):
//   P1 → P2   {t:'predeal', id, pub, setup}   P1, idle and holding no bundle, opens one: a random
//             public id and its fresh ephemeral X25519 key; setup: true the first time (the
//             one-time setup is then made here, from a key the pair derives from the same
//             exchange, so B exists before any client)
//   P2 → P1   {t:'predealt', id, pub}: P2's ephemeral key; both derive K12 (the link's channel
//             secret mixed in), P2 draws K02 and deals in the background (logged when ready);
//             or {t:'predeal-off'}: P2 runs without, P1 asks no more
//   P1 → P2   {t:'client', …, bundle: id}  P1 hands its bundle to the next client's first
//             inference; P2 answers {t:'ready', …, bundle: id | null} (null: it holds no such
//             bundle, both run without), P1 tells the client {t:'accept', bundle}
// That inference's session takes the bundle's streams for P0–P2 and P1–P2 (bundleSession,
// PartySession's `predeal`; P2 hands K02 to P0 in the handshake, sealed), and P2 runs only the
// offline exchange of the work it dealt (still dealing: the client waits for it). A bundle
// serves at most one inference, taken by the 'client' message whatever follows (refused,
// failed, served); the idle P1 then opens the next. A client's later inferences start at once,
// dealt in their own sessions (there is no idle time to deal in). A stop while P2 deals aborts
// the dealing (nothing is written); the P1–P2 link lost meanwhile is fatal, as ever.

import { runtimeError, RuntimeError } from '../diagnostics.js';
import * as keys from '../session/keys.js';
import type { BundleStreams, SessionPredeal } from '../session/party-session.js';
import { PrgFamily, privateFamily } from '../session/prg.js';
import type { ControlMessage } from './link-mux.js';

/** What a serving party does for pre-dealing (runtime/program/serve.ts ServerRunner). */
export interface PredealHooks {
  /** P1, P2: makes the one-time setup from a key only the pair holds, named `id`. */
  adoptSetup(id: string, key: Uint8Array): void;
  /** P2: deals the next inference's offline work on `streams`; a stop aborts it. */
  deal(streams: BundleStreams, signal: AbortSignal): Promise<unknown>;
}

/** A bundle held for the next client: P1 knows K12; P2 its streams, K02 and the dealing. */
export interface Bundle {
  id: string;
  k12?: Uint8Array;
  streams?: BundleStreams;
  clientKey?: Uint8Array;
  dealt?: Promise<unknown>;
  abort?: AbortController;
}

/** The id of a one-time setup made with bundle `id`'s exchange. */
function setupName(id: string): string {
  return `predeal-setup:${id}`;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** P1's request for a bundle (`setup`: make the one-time setup too) and, given P2's
 * 'predealt' reply, the bundle (MPCC5030 for another reply). */
export function requestBundle(setup: boolean): { message: ControlMessage; accept(reply: ControlMessage, channel: Uint8Array | undefined, hooks: PredealHooks): Bundle } {
  const id = keys.newBundleId();
  const share = keys.createKeyShare();
  return {
    message: { t: 'predeal', id, pub: hex(share.publicRaw), setup },
    accept(reply, channel, hooks) {
      const peer = keys.publicFromHex(reply.pub);
      if (reply.t !== 'predealt' || reply.id !== id || !peer) throw runtimeError('MPCC5030', [`expected predealt for bundle ${id}, got '${String(reply.t).slice(0, 40)}'`], 2);
      if (setup) hooks.adoptSetup(setupName(id), keys.pairwiseKey(share, 1, peer, 2, setupName(id), channel));
      return { id, k12: keys.pairwiseKey(share, 1, peer, 2, keys.predealTag(id), channel) };
    },
  };
}

/** P2's answer to P1's 'predeal' message (MPCC5030 when malformed), to send first, and the
 * start of the bundle: the setup made if asked, the dealing started (`log`: one line when it is
 * ready, or when it failed other than by a stop). */
export function answerBundle(m: ControlMessage): { reply: ControlMessage; start(channel: Uint8Array | undefined, hooks: PredealHooks, log: (line: string) => void): Bundle } {
  const peer = keys.publicFromHex(m.pub);
  if (typeof m.id !== 'string' || !/^[0-9a-f]{32}$/.test(m.id) || !peer || typeof m.setup !== 'boolean') throw runtimeError('MPCC5030', ['a predeal message without a bundle id, key or setup flag'], 1);
  const id = m.id;
  const share = keys.createKeyShare();
  return {
    reply: { t: 'predealt', id, pub: hex(share.publicRaw) },
    start(channel, hooks, log) {
      if (m.setup) hooks.adoptSetup(setupName(id), keys.pairwiseKey(share, 2, peer, 1, setupName(id), channel));
      const clientKey = keys.predealClientKey();
      const streams: BundleStreams = { id, pairs: { 0: new PrgFamily(clientKey), 1: new PrgFamily(keys.pairwiseKey(share, 2, peer, 1, keys.predealTag(id), channel)) }, own: privateFamily() };
      const abort = new AbortController();
      const startedAt = performance.now();
      const dealt = hooks.deal(streams, abort.signal);
      dealt.then(
        () => log(`party 2: next inference pre-dealt in ${((performance.now() - startedAt) / 1000).toFixed(2)} s (bundle ${id.slice(0, 8)})`),
        (e: unknown) => {
          if (!abort.signal.aborted) log(`party 2: pre-dealing bundle ${id.slice(0, 8)} failed: ${e instanceof RuntimeError ? e.format() : String(e)}`);
        },
      );
      return { id, streams, clientKey, dealt, abort };
    },
  };
}

/** The session option of a bundle's inference at server `id` (P1: its K12 streams; P2: the
 * dealing's streams and K02 for the client). */
export function bundleSession(id: 1 | 2, b: Bundle): SessionPredeal {
  return id === 1 ? { id: b.id, pairs: { 2: new PrgFamily(b.k12!) } } : { id: b.id, pairs: b.streams!.pairs, own: b.streams!.own, clientKey: b.clientKey };
}
