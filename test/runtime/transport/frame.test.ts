// The frame decoder on its own: a byte stream cut at every kind of boundary gives the same
// frames, every payload 8-byte aligned, and a payload handed out as a view of its chunk is
// never disturbed by later chunks.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { encodeHeader, FrameDecoder, FrameKind, HEADER_BYTES, type Frame } from '../../../runtime/transport/frame.js';

/** A stream of data frames with the given payload lengths (random payloads). */
function stream(lengths: number[]): { bytes: Uint8Array; payloads: Uint8Array[] } {
  const payloads = lengths.map((n) => new Uint8Array(randomBytes(n)));
  const bytes = new Uint8Array(lengths.reduce((t, n) => t + HEADER_BYTES + n, 0));
  let at = 0;
  payloads.forEach((p, round) => {
    bytes.set(encodeHeader(FrameKind.Data, round, p.length, { online: p.length, preprocessing: 0, oneTime: 0 }), at);
    bytes.set(p, at + HEADER_BYTES);
    at += HEADER_BYTES + p.length;
  });
  return { bytes, payloads };
}

/** Decodes `bytes` delivered in fresh chunks cut at `cuts`; returns the frames. */
function decode(bytes: Uint8Array, cuts: number[]): Frame[] {
  const frames: Frame[] = [];
  const dec = new FrameDecoder(1, 1 << 20, (f) => frames.push(f));
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    dec.push(bytes.slice(from, to)); // a fresh chunk, as a socket delivers
    from = to;
  }
  expect(dec.midFrame).to.equal(false);
  return frames;
}

describe('runtime/transport frame decoder', () => {
  const lengths = [0, 8, 3, 16, 1000, 5, 40_000, 24, 7];

  it('gives the same aligned payloads whole, byte by byte, and cut at random', () => {
    const { bytes, payloads } = stream(lengths);
    const cuttings = [[], Array.from({ length: bytes.length - 1 }, (_, i) => i + 1), [...new Set(Array.from({ length: 40 }, () => 1 + Math.floor(Math.random() * (bytes.length - 1))))].sort((a, b) => a - b)];
    for (const cuts of cuttings) {
      const frames = decode(bytes, cuts);
      expect(frames.map((f) => f.round)).to.deep.equal(lengths.map((_, i) => i));
      frames.forEach((f, i) => {
        expect(f.kind).to.equal(FrameKind.Data);
        expect(f.payload).to.deep.equal(payloads[i]);
        expect(f.payload.byteOffset % 8, `frame ${i} with ${cuts.length} cuts`).to.equal(0);
        expect(f.payload).to.be.an.instanceOf(Uint8Array);
        expect(Buffer.isBuffer(f.payload)).to.equal(false);
      });
    }
  });

  it('keeps a payload that is a view of its chunk intact while later chunks arrive', () => {
    // All frames in one chunk: the payloads at offsets 24, 56 and 88 are views of it, the
    // fourth starts unaligned (at 115) and is copied.
    const { bytes, payloads } = stream([8, 8, 3, 16]);
    const frames: Frame[] = [];
    const dec = new FrameDecoder(1, 1 << 20, (f) => frames.push(f));
    const chunk = bytes.slice();
    dec.push(chunk);
    const more = stream([64]);
    dec.push(more.bytes.slice());
    expect(frames.length).to.equal(5);
    payloads.forEach((p, i) => expect(frames[i].payload).to.deep.equal(p));
    expect(frames[0].payload.buffer).to.equal(chunk.buffer); // no copy
    expect(frames[2].payload.buffer).to.equal(chunk.buffer);
    expect(frames[3].payload.buffer).to.not.equal(chunk.buffer); // unaligned: copied
    expect(frames[4].payload).to.deep.equal(more.payloads[0]);
  });
});
