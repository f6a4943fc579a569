// The encrypted frame stream of an authenticated link (after the Noise handshake, noise.ts).
//
// Every frame of frame.ts travels as two AEAD records under the direction's CipherState, each
// with the next counter nonce (AES-256-GCM, empty associated data):
//   E(header)   24-byte frame header + 16-byte tag = 40 bytes
//   E(payload)  L bytes + 16-byte tag (L read from the authenticated header; 16 bytes for L = 0)
// The receiver decrypts the header record first, checks it (frame.ts), then decrypts the
// payload as it arrives and hands the frame out only once its tag verified. A replayed,
// reordered, altered, inserted or truncated record fails its tag (the nonce is the record's
// position in the stream): MPCC5017, naming the peer. Records may exceed Noise's 65535-byte
// transport message limit; AES-GCM's own limit (64 GiB per message) is far above the 1 GiB
// frame limit. Wire overhead per frame: 56 bytes (24 in the clear format).

import type { PartyId, Phase } from '../session/session.js';
import { runtimeError } from '../diagnostics.js';
import { decodeHeader, encodeHeader, HEADER_BYTES, type Frame, type FrameAdmission, type FrameKind } from './frame.js';
import { TAGLEN, type CipherState } from './noise.js';

/** Bytes of the sealed header record. */
export const SEALED_HEADER_BYTES = HEADER_BYTES + TAGLEN;
/** Wire bytes of a sealed frame beyond its payload. */
export const SEALED_OVERHEAD_BYTES = SEALED_HEADER_BYTES + TAGLEN;

/** The byte strings that carry one sealed frame, in order. */
export function sealFrame(cs: CipherState, kind: FrameKind, round: number, phases: Record<Phase, number>, parts: readonly Uint8Array[], length: number): Uint8Array[] {
  const out: Uint8Array[] = [cs.encryptWithAd(new Uint8Array(0), encodeHeader(kind, round, length, phases))];
  const body = cs.encryptStream();
  for (const p of parts) if (p.length > 0) out.push(body.update(p));
  out.push(body.finish());
  return out;
}

/** Reassembles and opens sealed frames from a byte stream pushed in chunks. */
export class SealedFrameDecoder {
  private readonly head = new Uint8Array(SEALED_HEADER_BYTES);
  private headFill = 0;
  private current: { frame: Frame; fill: number; body: { update(c: Uint8Array): Buffer; finish(tag: Uint8Array): void } } | null = null;
  private readonly tag = new Uint8Array(TAGLEN);
  private tagFill = 0;
  /** Checks every header before its payload is allocated (set when a session attaches). */
  admit: FrameAdmission | null = null;

  constructor(
    private readonly cs: CipherState,
    private readonly peer: PartyId,
    private readonly maxFrameBytes: number,
    private readonly onFrame: (f: Frame) => void,
  ) {}

  /** Consumes a chunk; calls onFrame for every frame whose tags verified; throws MPCC5003 or
   * MPCC5017 on anything else. */
  push(chunk: Uint8Array): void {
    for (let off = 0; off < chunk.length; ) off += this.current === null ? this.takeHeader(chunk, off) : this.takeBody(chunk, off);
  }

  /** True while a frame has begun but not ended. */
  get midFrame(): boolean {
    return this.headFill > 0 || this.current !== null;
  }

  /** Takes header record bytes from chunk[off..]; opens the header once complete. */
  private takeHeader(chunk: Uint8Array, off: number): number {
    const n = Math.min(SEALED_HEADER_BYTES - this.headFill, chunk.length - off);
    this.head.set(chunk.subarray(off, off + n), this.headFill);
    this.headFill += n;
    if (this.headFill === SEALED_HEADER_BYTES) {
      this.headFill = 0;
      let header: Buffer;
      try {
        header = this.cs.decryptWithAd(new Uint8Array(0), this.head);
      } catch {
        throw runtimeError('MPCC5017', ['a frame header does not verify (altered, replayed, reordered or truncated)'], this.peer);
      }
      const h = decodeHeader(header, this.peer, this.maxFrameBytes);
      this.admit?.(h.kind, h.round, h.length);
      const b = Buffer.allocUnsafeSlow(h.length);
      const payload = new Uint8Array(b.buffer, b.byteOffset, h.length);
      this.current = { frame: { kind: h.kind, round: h.round, phases: h.phases, payload }, fill: 0, body: this.cs.decryptStream() };
      this.tagFill = 0;
    }
    return n;
  }

  /** Takes payload, then tag bytes from chunk[off..]; hands the frame out once its tag
   * verified. */
  private takeBody(chunk: Uint8Array, off: number): number {
    const cur = this.current!;
    const want = cur.frame.payload.length - cur.fill;
    if (want > 0) {
      const n = Math.min(want, chunk.length - off);
      cur.frame.payload.set(cur.body.update(chunk.subarray(off, off + n)), cur.fill);
      cur.fill += n;
      return n;
    }
    const t = Math.min(TAGLEN - this.tagFill, chunk.length - off);
    this.tag.set(chunk.subarray(off, off + t), this.tagFill);
    this.tagFill += t;
    if (this.tagFill === TAGLEN) {
      try {
        cur.body.finish(this.tag);
      } catch {
        throw runtimeError('MPCC5017', [`the payload of round ${cur.frame.round} does not verify (altered, replayed, reordered or truncated)`], this.peer);
      }
      this.current = null;
      this.tagFill = 0;
      this.onFrame(cur.frame);
    }
    return t;
  }
}
