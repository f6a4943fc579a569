// A link: this party's end of the ordered, reliable frame stream to one peer. Transports
// (in-process queues, TCP sockets) implement it; the party session runs rounds, handshake
// and fault handling on top, identically for every transport.

import type { PartyId, Phase } from '../session/session.js';
import type { RuntimeError } from '../diagnostics.js';
import type { Frame, FrameKind } from './frame.js';

/** What a link reports to its owner. */
export interface LinkHandlers {
  /** A complete, header-checked frame from the peer, in sending order. */
  frame(f: Frame): void;
  /** The link ended without a goodbye or abort frame (peer died, socket closed, malformed
   * input): no more frames will come. Called at most once. */
  broken(err: RuntimeError): void;
  /** A frame's header, before its payload is allocated or read: throws a RuntimeError to
   * refuse it (a length the schedule does not expect); the link then breaks with it. */
  admit?(kind: FrameKind, round: number, length: number): void;
}

/** One end of the frame stream between this party and `peer`. */
export interface PeerLink {
  readonly peer: PartyId;
  /** Secret of the authenticated channel (Noise_KK, noise.ts), known only to the two ends;
   * absent on unauthenticated links. The session mixes it into the pair's key. */
  readonly channelSecret?: Uint8Array;
  /** Wire bytes a frame costs beyond its payload (HEADER_BYTES when absent). */
  readonly frameOverhead?: number;
  /** Sends one frame whose payload is `parts` concatenated (`length` bytes in total). The
   * link may keep references to the parts until they are written: callers must not modify
   * them afterwards. */
  send(kind: FrameKind, round: number, phases: Record<Phase, number>, parts: readonly Uint8Array[], length: number): void;
  /** Installs the handlers; frames that arrived earlier are delivered now. */
  attach(h: LinkHandlers): void;
  /** Ends the link once everything sent is flushed; `broken` is not called after this. */
  close(): Promise<void>;
}
