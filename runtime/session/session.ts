// The contract between the runtime's layers: what a protocol sees of its party's session.
// Transports and key agreement (runtime/transport/, runtime/session/prg.ts) implement it; protocols
// (runtime/protocols/) use only this interface, so they run unchanged in one process or
// over TCP.

/** P0 client (input, output), P1 server (weights), P2 helper. */
export type PartyId = 0 | 1 | 2;

/** Which budget a message is counted in: per inference online, input-independent
 * preprocessing (helper-dealt correlations), or once per model session (weight masks). */
export type Phase = 'online' | 'preprocessing' | 'oneTime';

/** A deterministic stream of pseudo-random bytes (AES-128-CTR under a per-session key). */
export interface Prg {
  /** The next `n` bytes of the stream. */
  bytes(n: number): Uint8Array;
  /** The next `n` ring elements (uniform in Z_2^64). */
  ring(n: number): BigUint64Array;
  /** Overwrites `out` with the next out.length bytes (optional: lets a caller draw straight
   * into the kernels' memory; the same stream bytes as `bytes(out.length)`). */
  fill?(out: Uint8Array): void;
}

/** Byte and round counters, split by phase, peer and protocol step label. */
export interface Counters {
  /** Bytes this party sent, per phase. */
  sent: Record<Phase, number>;
  /** Bytes this party received, per phase. */
  received: Record<Phase, number>;
  /** Bytes sent to each peer (index = peer id; own index stays 0). */
  sentTo: [number, number, number];
  /** Rounds this party took part in (a round = one exchange step, all peers' frames together):
   * a call of Session.round counts if it sends or receives anything; an idle call does not. */
  rounds: number;
  /** Bytes sent per protocol step label (e.g. 'drelu.reveal'). */
  byLabel: Map<string, number>;
}

/** One message of a round: bytes for one peer, labelled with the protocol step. */
export interface Outgoing {
  to: PartyId;
  data: Uint8Array;
  label: string;
  phase?: Phase; // default 'online'
}

/** Per-call options of Session.round. */
export interface RoundOptions {
  /** Wait this long (ms) for the round's frames instead of the session's round timeout
   * (the offline phase's closing exchange, whose peers may compute for long before it);
   * ignored when the session waits forever. */
  timeoutMs?: number;
}

/** A party's view of a running three-party session. */
export interface Session {
  readonly id: PartyId;
  /** Stream shared with `peer` (both sides get the same bytes for the same `purpose`);
   * a stream per purpose keeps protocols independent of each other's consumption. */
  shared(peer: PartyId, purpose: string): Prg;
  /** Stream shared by all three parties for `purpose`. */
  common(purpose: string): Prg;
  /** This party's private randomness. */
  own(purpose: string): Prg;
  /** One communication round: sends every outgoing message (all messages to one peer are
   * merged into one frame), then waits for one frame from each peer in `from`. Returns the
   * received frames per peer. Every party involved must call `round` the same number of
   * times in the same order (the schedule is static); a peer that dies or sends a frame of
   * the wrong round fails the call with a RuntimeError naming the peer.
   * A frame is sent to a peer only if some message goes to it (send an empty message to
   * send an empty frame). Outgoing data belongs to the runtime after the call (do not modify
   * it); received payloads are 8-byte aligned, so they can be viewed as BigUint64Array.
   * `expectBytes[p]`, when given, is the exact payload length expected from p: a frame of
   * another length fails the call (MPCC5003) instead of being misread. */
  round(outgoing: readonly Outgoing[], from: readonly PartyId[], expectBytes?: Partial<Record<PartyId, number>>, options?: RoundOptions): Promise<Map<PartyId, Uint8Array>>;
  /** Input-independent material the offline phase prepared for `purpose` of this step
   * (runtime/program/offline.ts), handed out once; undefined when none was prepared, and
   * the protocol then deals it itself, from the same streams. */
  prepared?(purpose: string): unknown;
  /** The session's byte and round counters. */
  readonly counters: Counters;
  /** Closes connections; further rounds fail. */
  close(): Promise<void>;
}
