// Wire format of the three-party runtime (version 1).
//
// Between two parties flows one ordered stream of frames per direction. Every frame is a
// 24-byte header followed by its payload; all integers are unsigned little-endian:
//
//   offset size field
//   0      2    magic 0x4d50 ("PM" on the wire: bytes 0x50 0x4d)
//   2      1    kind: 1 handshake, 2 data (one protocol round), 3 goodbye, 4 abort,
//                 5 control (serving: a small JSON message outside any session, link-mux.ts)
//   3      1    flags, must be 0
//   4      4    round: the sender's sequence number of this frame kind on this link
//                 (data frames count 0, 1, 2, … per directed pair; handshake steps 0, 1)
//   8      4    payload length L in bytes
//   12     4    bytes of L counted as phase 'online'
//   16     4    bytes of L counted as phase 'preprocessing'
//   20     4    bytes of L counted as phase 'oneTime'
//   24     L    payload
//
// A data frame carries every message one party sends to one peer in one round, concatenated
// in the order of the round() call (message labels stay local: the schedule is static, so
// the receiver knows the layout). The three phase fields must add up to L; they let the
// receiver count bytes by phase exactly as the sender did. Goodbye (clean close) and abort
// (the sender failed) carry a UTF-8 reason and zero phase fields. There are no
// acknowledgements: TCP orders and delivers, the round numbers catch any desynchronization.
//
// A receiver rejects, with a RuntimeError naming the peer and never by guessing: a bad magic,
// kind or flags; phase fields that do not add up to L; L above the configured maximum; a
// round number other than the next expected one; a data frame whose length differs from the
// length the receiving round declared it expects (checked on the header alone, before the
// payload is allocated, when that round is already waiting: FrameDecoder.admit).

import type { Phase, PartyId } from '../session/session.js';
import { runtimeError } from '../diagnostics.js';

/** Version of this wire format (exchanged in the handshake). */
export const WIRE_VERSION = 1;
/** Bytes of a frame header. */
export const HEADER_BYTES = 24;
/** Largest payload accepted by default (1 GiB). */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 30;

const MAGIC = 0x4d50;

/** What a frame is for. */
export enum FrameKind {
  Handshake = 1,
  Data = 2,
  Goodbye = 3,
  Abort = 4,
  /** Serving: a small JSON message between sessions (runtime/transport/link-mux.ts). */
  Control = 5,
}

/** A decoded frame. `payload` is a fresh, 8-byte-aligned array owned by the receiver. */
export interface Frame {
  kind: FrameKind;
  round: number;
  phases: Record<Phase, number>;
  payload: Uint8Array;
}

/** The 24 header bytes of a frame. */
export function encodeHeader(kind: FrameKind, round: number, length: number, phases: Record<Phase, number>): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  const v = new DataView(h.buffer);
  v.setUint16(0, MAGIC, true);
  v.setUint8(2, kind);
  v.setUint8(3, 0);
  v.setUint32(4, round >>> 0, true);
  v.setUint32(8, length, true);
  v.setUint32(12, phases.online, true);
  v.setUint32(16, phases.preprocessing, true);
  v.setUint32(20, phases.oneTime, true);
  return h;
}

/** Parses and checks a header; throws MPCC5003 (naming `peer`) on anything malformed. */
export function decodeHeader(h: Uint8Array, peer: PartyId, maxFrameBytes: number): { kind: FrameKind; round: number; length: number; phases: Record<Phase, number> } {
  const v = new DataView(h.buffer, h.byteOffset, HEADER_BYTES);
  const magic = v.getUint16(0, true);
  if (magic !== MAGIC) throw runtimeError('MPCC5003', [`bad magic 0x${magic.toString(16)} (not an mpcc frame)`], peer);
  const kind = v.getUint8(2);
  if (kind < FrameKind.Handshake || kind > FrameKind.Control) throw runtimeError('MPCC5003', [`unknown frame kind ${kind}`], peer);
  const flags = v.getUint8(3);
  if (flags !== 0) throw runtimeError('MPCC5003', [`unknown flags 0x${flags.toString(16)}`], peer);
  const round = v.getUint32(4, true);
  const length = v.getUint32(8, true);
  const phases = { online: v.getUint32(12, true), preprocessing: v.getUint32(16, true), oneTime: v.getUint32(20, true) };
  if (length > maxFrameBytes) throw runtimeError('MPCC5003', [`payload length ${length} exceeds the maximum ${maxFrameBytes}`], peer);
  const counted = phases.online + phases.preprocessing + phases.oneTime;
  if (kind === FrameKind.Data ? counted !== length : counted !== 0) {
    throw runtimeError('MPCC5003', [`payload length ${length} does not match its phase lengths ${phases.online}+${phases.preprocessing}+${phases.oneTime}`], peer);
  }
  return { kind, round, length, phases };
}

/** Asked with a frame's header before its payload is allocated; throws to refuse the frame
 * (the session's check against the static schedule, LinkHandlers.admit). */
export type FrameAdmission = (kind: FrameKind, round: number, length: number) => void;

/** Reassembles frames from a byte stream, pushed in chunks (TCP chunks arrive at arbitrary
 * boundaries) or pulled: the transport reads straight into nextBuffer() and reports the
 * bytes with advance(), so a payload is received in place, with no chunk and no copy. A
 * pushed payload that arrives whole inside one 8-byte-aligned stretch of a chunk is handed
 * out as a view of that chunk (the transport never reuses a chunk it delivered); any other
 * payload is copied once, into a fresh array of exactly its length. Use one mode per
 * decoder. */
export class FrameDecoder {
  private readonly header = new Uint8Array(HEADER_BYTES);
  private headerFill = 0;
  private current: Frame | null = null;
  private bodyFill = 0;
  /** Checks every header before its payload is allocated (set when a session attaches). */
  admit: FrameAdmission | null = null;

  constructor(
    private readonly peer: PartyId,
    private readonly maxFrameBytes: number,
    private readonly onFrame: (f: Frame) => void,
  ) {}

  /** True while a frame has begun but not ended (a close now means a truncated frame). */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.current !== null;
  }

  /** Consumes a chunk; calls onFrame for every completed frame; throws on malformed input. */
  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.current === null) {
        const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - off);
        this.header.set(chunk.subarray(off, off + n), this.headerFill);
        this.headerFill += n;
        off += n;
        if (this.headerFill < HEADER_BYTES) return;
        const h = decodeHeader(this.header, this.peer, this.maxFrameBytes);
        this.admit?.(h.kind, h.round, h.length);
        this.headerFill = 0;
        if (h.length <= chunk.length - off && (chunk.byteOffset + off) % 8 === 0) {
          const payload = chunk.subarray(off, off + h.length);
          off += h.length;
          this.onFrame({ kind: h.kind, round: h.round, phases: h.phases, payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.length) });
          continue;
        }
        this.current = { kind: h.kind, round: h.round, phases: h.phases, payload: uninitialized(h.length) };
        this.bodyFill = 0;
      }
      const body = this.current.payload;
      const n = Math.min(body.length - this.bodyFill, chunk.length - off);
      // (A zero-length payload completes here with n = 0.)
      if (n > 0) body.set(chunk.subarray(off, off + n), this.bodyFill);
      this.bodyFill += n;
      off += n;
      if (this.bodyFill === body.length) {
        const f = this.current;
        this.current = null;
        this.onFrame(f);
      }
    }
  }

  /** Pull mode: where the stream's next bytes go, the rest of the header or the rest of the
   * current payload (never empty). */
  nextBuffer(): Uint8Array {
    return this.current ? this.current.payload.subarray(this.bodyFill) : this.header.subarray(this.headerFill);
  }

  /** Pull mode: `n` bytes were written at the start of the last nextBuffer(). Calls onFrame
   * for a completed frame; throws on a malformed header. */
  advance(n: number): void {
    if (this.current === null) {
      this.headerFill += n;
      if (this.headerFill < HEADER_BYTES) return;
      const h = decodeHeader(this.header, this.peer, this.maxFrameBytes);
      this.admit?.(h.kind, h.round, h.length);
      this.headerFill = 0;
      this.current = { kind: h.kind, round: h.round, phases: h.phases, payload: uninitialized(h.length) };
      this.bodyFill = 0;
    } else {
      this.bodyFill += n;
    }
    if (this.bodyFill === this.current.payload.length) {
      const f = this.current;
      this.current = null;
      this.onFrame(f);
    }
  }
}

/** A fresh array of n bytes, not zeroed (the decoder writes every byte before handing it
 * out): zeroing is a pass of its own when the allocator recycles memory. Its ArrayBuffer is
 * its own, so it is 8-byte aligned. */
function uninitialized(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  // A plain Uint8Array view: Buffer's slice() shares memory, a typed array's copies.
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** UTF-8 bytes of a goodbye/abort reason. */
export function encodeReason(reason: string): Uint8Array {
  return utf8.encode(reason.slice(0, 2000));
}

/** The reason text of a goodbye/abort payload. */
export function decodeReason(payload: Uint8Array): string {
  return utf8d.decode(payload);
}
