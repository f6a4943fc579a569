// The runtime's catalog of diagnostics (codes MPCC5xxx). The runtime never imports the
// compiler, so it keeps its own catalog beside ir/diagnostics.ts; the message style is the
// same: a code and a one-line message built from a template. Errors about a peer always name
// it with its id and role ("peer 2 (helper)") so an operator knows which process to look at.

import type { PartyId } from './session.js';

/** Templates of all runtime diagnostics; `{0}`, `{1}`… are filled by `runtimeError`. */
export const RUNTIME_ERRORS = {
  MPCC5001: 'peer {0} disconnected: {1}',
  MPCC5002: 'timed out after {1} ms waiting for peer {0} in round {2}',
  MPCC5003: 'malformed frame from peer {0}: {1}',
  MPCC5004: 'frame of the wrong round from peer {0}: expected round {1}, got round {2}',
  MPCC5005: 'handshake with peer {0} failed: {1}',
  MPCC5006: 'could not connect to peer {0} at {1} within {2} ms: {3}',
  MPCC5007: 'peer {0} runs wire version {1}, this party runs version {2}',
  MPCC5008: "peer {0} belongs to another session (its tag '{1}' differs from this party's tag '{2}')",
  MPCC5009: 'session of party {0} is closed: {1}',
  MPCC5010: 'invalid round: {0}',
  MPCC5011: 'peer {0} aborted the session: {1}',
  MPCC5012: 'peer {0} closed the session, but this party still waits for its frame of round {1}',
  MPCC5013: 'deadlock: every party waits for a frame that no party will send ({0})',
  MPCC5014: 'invalid transport configuration: {0}',
  // 51xx: ring arithmetic kernels modules (runtime/kernels-module.ts, ring-wasm.ts).
  MPCC5101: 'ring kernels missing at {0}: run `npm run build`, which generates them ({1})',
  MPCC5102: 'kernels module {0} is not a valid WebAssembly module for this runtime: {1}',
  MPCC5103: 'kernels module {0} lacks kernels this runtime calls: {1} (written by another mpcc build?)',
  MPCC5104: 'internal error in the kernel thread: {0}',
  // 52xx: the program executor (runtime/program/).
  MPCC5201: "internal error: step '{0}' receives from party {1} without expectBytes (a merged frame could not be split)",
  MPCC5202: "schedule mismatch: step '{0}' ({1}) started in round {2}, scheduled for round {3}",
  MPCC5203: 'schedule mismatch: {0} took {1} rounds, the program predicts {2}',
  MPCC5204: "no one-time setup for weight layer '{0}'",
  MPCC5205: "weights missing or malformed: '{0}'",
  MPCC5206: "unknown step kind '{0}' (program from another mpcc version?)",
  MPCC5207: 'program format {0} is not supported (this runtime runs format {1})',
  MPCC5208: 'program of party {0} given to party {1}',
  MPCC5209: 'invalid input: {0}',
  MPCC5210: "program refers to value '{0}' that no step produces",
  MPCC5211: "step '{0}' produced {1} values, the program expects {2}",
  MPCC5220: 'artifact {0}: {1}',
  MPCC5221: 'artifacts of another version or model: {0}',
} as const;

/** A runtime diagnostic code of the catalog. */
export type RuntimeErrorCode = keyof typeof RUNTIME_ERRORS;

/** A failure of the three-party runtime (transport, handshake, protocol framing). */
export class RuntimeError extends Error {
  constructor(readonly code: RuntimeErrorCode, message: string, readonly peer?: PartyId) {
    super(message);
    this.name = 'RuntimeError';
  }
  /** The one line a CLI prints. */
  format(): string {
    return `error ${this.code}: ${this.message}`;
  }
}

const ROLES = ['client', 'server', 'helper'] as const;

/** The role name of a party: 0 client, 1 server, 2 helper. */
export function roleOf(id: PartyId): string {
  return ROLES[id];
}

/** "peer 2 (helper)": how messages name a party. */
export function peerName(id: PartyId): string {
  return `${id} (${ROLES[id]})`;
}

/** Builds the RuntimeError of `code`; `peer`, when given, fills `{0}` with its name and is
 * kept on the error so callers can tell which party failed. */
export function runtimeError(code: RuntimeErrorCode, args: readonly unknown[] = [], peer?: PartyId): RuntimeError {
  const all = peer === undefined ? args : [peerName(peer), ...args];
  const text = RUNTIME_ERRORS[code].replace(/\{(\d+)\}/g, (_, i: string) => String(all[Number(i)]));
  return new RuntimeError(code, `${text}`, peer);
}
