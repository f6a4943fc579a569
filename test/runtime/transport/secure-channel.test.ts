// The authenticated channel's building blocks: the Noise_KK handshake against the published
// cacophony test vector of Noise_KK_25519_AESGCM_SHA256 (github.com/haskell-cryptography/
// cacophony, vectors/cacophony.txt, as redistributed in snow's tests/vectors), refusal of a
// key that is not the pinned one, and the sealed frame stream: frames cut at any boundary
// come out intact, while an altered, replayed, reordered, inserted or truncated record fails
// with MPCC5017 naming the peer.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { FrameKind, type Frame } from '../../../runtime/transport/frame.js';
import { CipherState, generateKeyPair, keyPairFromRaw, KKHandshake, noiseHkdf } from '../../../runtime/transport/noise.js';
import { SealedFrameDecoder, sealFrame, SEALED_OVERHEAD_BYTES } from '../../../runtime/transport/secure-channel.js';
import { RuntimeError } from '../../../runtime/diagnostics.js';

/** The cacophony vector, verbatim. */
const KK = {"protocol_name": "Noise_KK_25519_AESGCM_SHA256", "init_prologue": "4a6f686e2047616c74", "init_static": "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1", "init_ephemeral": "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a", "init_remote_static": "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62", "resp_prologue": "4a6f686e2047616c74", "resp_static": "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893", "resp_ephemeral": "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b", "resp_remote_static": "6bc3822a2aa7f4e6981d6538692b3cdf3e6df9eea6ed269eb41d93c22757b75a", "handshake_hash": "c03693acd830588fac76dd414c9e100e8c601d27511de855100239f7705fa3f2", "messages": [{"payload": "4c756477696720766f6e204d69736573", "ciphertext": "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79448564738a841228e693caeec4c497a8bd562231c3e51a1f03c4fd45dfe3a67870"}, {"payload": "4d757272617920526f746862617264", "ciphertext": "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843b94504c4d83506f5dd2568b68490eba8ed6f9cf2cca194a273c56d7ae3c558"}, {"payload": "462e20412e20486179656b", "ciphertext": "6a5c10a201d4e3a08f79f64949e55731f774913a4d949bda3fcebf"}, {"payload": "4361726c204d656e676572", "ciphertext": "4e8a1bf06926fdd74e2f516e2b0c11cc1dc3387fadeb75389d4342"}, {"payload": "4a65616e2d426170746973746520536179", "ciphertext": "c1df7194ca8ea51d4dd99059bc9b90288112d47237d8481f1773fb26a31629a05c"}, {"payload": "457567656e2042f6686d20766f6e2042617765726b", "ciphertext": "3edba4feaf590ee88dd8f5fba51db4bee651cf41afd410fe476c524ac9b1db24252fc55ff8"}]};

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('runtime/transport: Noise_KK and sealed frames', function () {
  it('reproduces the cacophony test vector of Noise_KK_25519_AESGCM_SHA256 (handshake, hash, transport messages)', () => {
    expect(KK.protocol_name).to.equal('Noise_KK_25519_AESGCM_SHA256');
    const is = keyPairFromRaw(hex(KK.init_static));
    const rs = keyPairFromRaw(hex(KK.resp_static));
    expect(toHex(is.publicRaw)).to.equal(KK.resp_remote_static);
    expect(toHex(rs.publicRaw)).to.equal(KK.init_remote_static);
    const init = new KKHandshake(true, is, rs.publicRaw, hex(KK.init_prologue), keyPairFromRaw(hex(KK.init_ephemeral)));
    const resp = new KKHandshake(false, rs, is.publicRaw, hex(KK.resp_prologue), keyPairFromRaw(hex(KK.resp_ephemeral)));
    const m = KK.messages;
    const c1 = init.writeMessage1(hex(m[0].payload));
    expect(toHex(c1)).to.equal(m[0].ciphertext);
    expect(toHex(resp.readMessage1(c1))).to.equal(m[0].payload);
    const c2 = resp.writeMessage2(hex(m[1].payload));
    expect(toHex(c2)).to.equal(m[1].ciphertext);
    expect(toHex(init.readMessage2(c2))).to.equal(m[1].payload);
    const a = init.result();
    const b = resp.result();
    expect(toHex(a.handshakeHash)).to.equal(KK.handshake_hash);
    expect(toHex(b.handshakeHash)).to.equal(KK.handshake_hash);
    expect(toHex(a.channelSecret)).to.equal(toHex(b.channelSecret));
    // Transport messages alternate: initiator, responder, initiator, …
    for (let i = 2; i < m.length; i++) {
      const [tx, rx] = i % 2 === 0 ? [a.send, b.receive] : [b.send, a.receive];
      const c = tx.encryptWithAd(new Uint8Array(0), hex(m[i].payload));
      expect(toHex(c), `message ${i}`).to.equal(m[i].ciphertext);
      expect(toHex(rx.decryptWithAd(new Uint8Array(0), c))).to.equal(m[i].payload);
    }
  });

  it('derives HKDF as the specification does (two and three outputs share their prefix)', () => {
    const ck = new Uint8Array(32).fill(1);
    const [a1, a2] = noiseHkdf(ck, new Uint8Array(0), 2);
    const [b1, b2, b3] = noiseHkdf(ck, new Uint8Array(0), 3);
    expect([toHex(a1), toHex(a2)]).to.deep.equal([toHex(b1), toHex(b2)]);
    expect(toHex(b3)).to.not.equal(toHex(b2));
  });

  it('refuses a handshake made with a key that is not the pinned one, at either end', () => {
    const [i, r, rogue] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
    const p = new Uint8Array([1, 2, 3]);
    // The rogue initiator claims i's identity: the responder pins i's key.
    const m1 = new KKHandshake(true, rogue, r.publicRaw, p).writeMessage1(new Uint8Array(0));
    expect(() => new KKHandshake(false, r, i.publicRaw, p).readMessage1(m1)).to.throw();
    // A rogue responder answers i: i pins r's key.
    const init = new KKHandshake(true, i, r.publicRaw, p);
    const m1b = init.writeMessage1(new Uint8Array(0));
    const fake = new KKHandshake(false, rogue, i.publicRaw, p);
    expect(() => fake.readMessage1(m1b)).to.throw(); // it cannot even read message 1
    // Another prologue (other ids or wire version): refused too.
    const init2 = new KKHandshake(true, i, r.publicRaw, p);
    expect(() => new KKHandshake(false, r, i.publicRaw, new Uint8Array([1, 2, 4])).readMessage1(init2.writeMessage1(new Uint8Array(0)))).to.throw();
  });

  /** A connected pair of cipher states and a stream of sealed frames with random payloads. */
  function sealedStream(lengths: number[]): { records: Uint8Array[][]; payloads: Uint8Array[]; rx: () => CipherState } {
    const key = randomBytes(32);
    const tx = new CipherState(Buffer.from(key));
    const payloads = lengths.map((n) => new Uint8Array(randomBytes(n)));
    const records = payloads.map((p, round) => sealFrame(tx, FrameKind.Data, round, { online: p.length, preprocessing: 0, oneTime: 0 }, [p.subarray(0, p.length >> 1), p.subarray(p.length >> 1)], p.length));
    return { records, payloads, rx: () => new CipherState(Buffer.from(key)) };
  }

  function open(rx: CipherState, bytes: Uint8Array, chunk: number): Frame[] {
    const frames: Frame[] = [];
    const dec = new SealedFrameDecoder(rx, 2, 1 << 24, (f) => frames.push(f));
    for (let at = 0; at < bytes.length; at += chunk) dec.push(bytes.slice(at, at + chunk));
    return frames;
  }

  const flat = (rs: Uint8Array[][]) => new Uint8Array(Buffer.concat(rs.flat()));

  it('opens sealed frames cut at any boundary, each costing 56 bytes of wire overhead', () => {
    const lengths = [0, 1, 15, 16, 17, 100, 70_000];
    const { records, payloads, rx } = sealedStream(lengths);
    const bytes = flat(records);
    expect(bytes.length).to.equal(lengths.reduce((t, n) => t + n + SEALED_OVERHEAD_BYTES, 0));
    for (const chunk of [1, 7, 40, 56, 4096, bytes.length]) {
      const frames = open(rx(), bytes, chunk);
      expect(frames.map((f) => toHex(f.payload)), `chunks of ${chunk}`).to.deep.equal(payloads.map(toHex));
      expect(frames.map((f) => f.round)).to.deep.equal(lengths.map((_, i) => i));
    }
    // The plaintext does not appear on the wire.
    expect(Buffer.from(bytes).includes(Buffer.from(payloads[6].subarray(0, 32)))).to.equal(false);
  });

  function expect5017(rx: CipherState, bytes: Uint8Array, what: string): RuntimeError {
    try {
      open(rx, bytes, 1000);
    } catch (e) {
      expect(e, what).to.be.instanceOf(RuntimeError);
      expect((e as RuntimeError).code, what + ': ' + (e as Error).message).to.equal('MPCC5017');
      expect((e as RuntimeError).peer).to.equal(2);
      expect((e as Error).message).to.contain('peer 2 (helper)');
      return e as RuntimeError;
    }
    throw new Error(`${what}: accepted`);
  }

  it('refuses an altered, replayed, reordered, inserted or truncated record (MPCC5017, naming the peer)', () => {
    const { records, rx } = sealedStream([10, 20, 30, 40]);
    const ok = flat(records);
    // Altered: every byte position of the second frame, one at a time (header and payload).
    const second = ok.length - flat(records.slice(1)).length;
    const secondEnd = second + records[1].reduce((t, r) => t + r.length, 0);
    for (let at = second; at < secondEnd; at++) {
      const bad = ok.slice();
      bad[at] ^= 0x01;
      expect5017(rx(), bad, `byte ${at} flipped`);
    }
    expect5017(rx(), flat([records[0], records[0], records[1]]), 'replayed');
    expect5017(rx(), flat([records[1], records[0]]), 'reordered');
    expect5017(rx(), flat([records[0], records[2], records[3]]), 'a frame dropped');
    const { records: other } = sealedStream([10]);
    expect5017(rx(), flat([records[0], other[0]]), 'a frame of another channel inserted');
    // Truncated: 5 bytes cut out of the middle of the second frame, the rest still flowing.
    const cut = Buffer.concat([ok.subarray(0, second + 45), ok.subarray(second + 50)]);
    expect5017(rx(), new Uint8Array(cut), 'truncated');
  });
});
