// The Noise protocol framework (revision 34, noiseprotocol.org/noise.html), the one handshake
// pattern mpcc uses: Noise_KK_25519_AESGCM_SHA256, written to the specification with
// node:crypto primitives (X25519, AES-256-GCM, SHA-256, HMAC). KK: both parties know each
// other's static public key in advance (pinned from `mpcc keygen` files):
//
//   -> s                 (pre-message: the initiator's static key, known to the responder)
//   <- s                 (pre-message: the responder's static key, known to the initiator)
//   ...
//   -> e, es, ss         (message 1: initiator's ephemeral key, encrypted payload)
//   <- e, ee, se         (message 2: responder's ephemeral key, encrypted payload)
//
// Message 1 authenticates the initiator to the responder (its payload decrypts only with the
// ss term of the pinned keys); message 2 authenticates the responder (the se term needs the
// initiator's pinned static key). After it, Split() gives one CipherState per direction.
// Checked against the cacophony test vector of this protocol name
// (test/runtime/transport/noise.test.ts).
//
// One addition the specification leaves to applications: a 32-byte `channelSecret`, the third
// output of HKDF(ck, zerolen, 3) at Split() (the first two are the transport keys), from which
// the session derives its pairwise correlated-randomness key.

import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** The protocol name, hashed into the initial state. */
export const NOISE_PROTOCOL = 'Noise_KK_25519_AESGCM_SHA256';
/** Bytes of an X25519 public key. */
export const DHLEN = 32;
/** Bytes of an AES-GCM tag. */
export const TAGLEN = 16;

/** DER prefixes of X25519 keys: SubjectPublicKeyInfo and PKCS#8; the raw 32 bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** An X25519 key pair with its raw public key. */
export interface KeyPair {
  privateKey: KeyObject;
  publicRaw: Uint8Array;
}

/** A fresh X25519 key pair. */
export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  return keyPairOf(privateKey);
}

/** The key pair of an X25519 private key. */
export function keyPairOf(privateKey: KeyObject): KeyPair {
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicRaw: new Uint8Array(der.subarray(der.length - DHLEN)) };
}

/** The key pair of a raw 32-byte X25519 private key (test vectors). */
export function keyPairFromRaw(raw: Uint8Array): KeyPair {
  return keyPairOf(createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' }));
}

/** X25519(private, raw public); throws on a low-order or malformed public key. */
export function dh(own: KeyPair, peerRaw: Uint8Array): Buffer {
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, peerRaw]), format: 'der', type: 'spki' });
  return diffieHellman({ privateKey: own.privateKey, publicKey });
}

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The specification's HKDF(chaining_key, input_key_material, num_outputs). */
export function noiseHkdf(ck: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Buffer[] {
  const temp = hmac(ck, ikm);
  const o1 = hmac(temp, Buffer.of(1));
  const o2 = hmac(temp, o1, Buffer.of(2));
  if (outputs === 2) return [o1, o2];
  return [o1, o2, hmac(temp, o2, Buffer.of(3))];
}

/** AESGCM nonce: 32 zero bits, then the 64-bit counter big-endian. */
function nonce(n: bigint): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(n, 4);
  return iv;
}

/** The specification's CipherState: a key and a 64-bit counter nonce, one per message. */
export class CipherState {
  private n = 0n;
  constructor(private k: Buffer | null = null) {}

  get hasKey(): boolean {
    return this.k !== null;
  }

  initializeKey(k: Buffer): void {
    this.k = k;
    this.n = 0n;
  }

  /** The next nonce, consumed (the counter never repeats: 2^64 - 1 is reserved). */
  private next(): Buffer {
    if (this.n >= 0xffffffffffffffffn) throw new Error('nonce exhausted');
    return nonce(this.n++);
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Buffer {
    if (!this.k) return Buffer.from(plaintext);
    const c = createCipheriv('aes-256-gcm', this.k, this.next());
    c.setAAD(ad);
    return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  }

  /** Throws (the nonce still counts) when the tag does not verify. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Buffer {
    if (!this.k) return Buffer.from(ciphertext);
    if (ciphertext.length < TAGLEN) throw new Error(`ciphertext of ${ciphertext.length} bytes is shorter than its tag`);
    const d = createDecipheriv('aes-256-gcm', this.k, this.next());
    d.setAAD(ad);
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAGLEN));
    return Buffer.concat([d.update(ciphertext.subarray(0, ciphertext.length - TAGLEN)), d.final()]);
  }

  /** A streaming encryption of one message under the next nonce (large frames: no concat). */
  encryptStream(): { update(p: Uint8Array): Buffer; finish(): Buffer } {
    const c = createCipheriv('aes-256-gcm', this.key(), this.next());
    return { update: (p) => c.update(p), finish: () => Buffer.concat([c.final(), c.getAuthTag()]) };
  }

  /** A streaming decryption of one message under the next nonce; finish() throws when the
   * tag does not verify (the plaintext handed out before must then be discarded). */
  decryptStream(): { update(c: Uint8Array): Buffer; finish(tag: Uint8Array): void } {
    const d = createDecipheriv('aes-256-gcm', this.key(), this.next());
    return {
      update: (c) => d.update(c),
      finish: (tag) => {
        d.setAuthTag(tag);
        d.final();
      },
    };
  }

  private key(): Buffer {
    if (!this.k) throw new Error('no key');
    return this.k;
  }
}

/** The specification's SymmetricState. */
class SymmetricState {
  ck: Buffer;
  h: Buffer;
  readonly cipher = new CipherState();

  constructor(protocolName: string) {
    const name = Buffer.from(protocolName, 'ascii');
    this.h = name.length <= 32 ? Buffer.concat([name, Buffer.alloc(32 - name.length)]) : sha256(name);
    this.ck = this.h;
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = noiseHkdf(this.ck, ikm, 2);
    this.ck = ck;
    this.cipher.initializeKey(k);
  }

  mixHash(data: Uint8Array): void {
    this.h = sha256(this.h, data);
  }

  encryptAndHash(plaintext: Uint8Array): Buffer {
    const c = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(c);
    return c;
  }

  decryptAndHash(ciphertext: Uint8Array): Buffer {
    const p = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return p;
  }
}

/** What a completed handshake gives: a CipherState per direction and the channel secret. */
export interface NoiseResult {
  /** Encrypts what this party sends. */
  send: CipherState;
  /** Decrypts what this party receives. */
  receive: CipherState;
  /** 32 secret bytes known only to the two authenticated ends (see the header comment). */
  channelSecret: Uint8Array;
  /** The handshake hash h (public: a transcript digest, for channel binding and logs). */
  handshakeHash: Uint8Array;
}

/** One end of a Noise_KK handshake. The initiator calls writeMessage1, readMessage2; the
 * responder readMessage1, writeMessage2; then result(). `ephemeral` is for test vectors. */
export class KKHandshake {
  private readonly ss: SymmetricState;
  private e: KeyPair | null = null;
  private re: Uint8Array | null = null;
  private done = false;

  constructor(
    readonly initiator: boolean,
    private readonly s: KeyPair,
    private readonly rs: Uint8Array,
    prologue: Uint8Array,
    private readonly ephemeral?: KeyPair,
  ) {
    this.ss = new SymmetricState(NOISE_PROTOCOL);
    this.ss.mixHash(prologue);
    // Pre-messages: the initiator's static key first, then the responder's.
    const [si, sr] = initiator ? [s.publicRaw, rs] : [rs, s.publicRaw];
    this.ss.mixHash(si);
    this.ss.mixHash(sr);
  }

  /** -> e, es, ss, payload. */
  writeMessage1(payload: Uint8Array): Buffer {
    this.expect(this.initiator && this.e === null);
    const e = (this.e = this.ephemeral ?? generateKeyPair());
    this.ss.mixHash(e.publicRaw);
    this.ss.mixKey(dh(e, this.rs));
    this.ss.mixKey(dh(this.s, this.rs));
    return Buffer.concat([e.publicRaw, this.ss.encryptAndHash(payload)]);
  }

  /** Reads message 1 (responder); throws when it was not made with the pinned keys. */
  readMessage1(message: Uint8Array): Buffer {
    this.expect(!this.initiator && this.re === null);
    if (message.length < DHLEN + TAGLEN) throw new Error(`handshake message of ${message.length} bytes is too short`);
    const re = (this.re = message.slice(0, DHLEN));
    this.ss.mixHash(re);
    this.ss.mixKey(dh(this.s, re));
    this.ss.mixKey(dh(this.s, this.rs));
    return this.ss.decryptAndHash(message.subarray(DHLEN));
  }

  /** <- e, ee, se, payload. */
  writeMessage2(payload: Uint8Array): Buffer {
    this.expect(!this.initiator && this.re !== null && this.e === null);
    const e = (this.e = this.ephemeral ?? generateKeyPair());
    this.ss.mixHash(e.publicRaw);
    this.ss.mixKey(dh(e, this.re!));
    this.ss.mixKey(dh(e, this.rs));
    const out = Buffer.concat([e.publicRaw, this.ss.encryptAndHash(payload)]);
    this.done = true;
    return out;
  }

  /** Reads message 2 (initiator); throws when the responder does not hold the pinned key. */
  readMessage2(message: Uint8Array): Buffer {
    this.expect(this.initiator && this.e !== null && this.re === null);
    if (message.length < DHLEN + TAGLEN) throw new Error(`handshake message of ${message.length} bytes is too short`);
    const re = (this.re = message.slice(0, DHLEN));
    this.ss.mixHash(re);
    this.ss.mixKey(dh(this.e!, re));
    this.ss.mixKey(dh(this.s, re));
    const payload = this.ss.decryptAndHash(message.subarray(DHLEN));
    this.done = true;
    return payload;
  }

  /** Split(): the transport CipherStates (initiator → responder first) and the extras. */
  result(): NoiseResult {
    this.expect(this.done);
    const [k1, k2, extra] = noiseHkdf(this.ss.ck, new Uint8Array(0), 3);
    const [c1, c2] = [new CipherState(k1), new CipherState(k2)];
    return { send: this.initiator ? c1 : c2, receive: this.initiator ? c2 : c1, channelSecret: new Uint8Array(extra), handshakeHash: new Uint8Array(this.ss.h) };
  }

  private expect(ok: boolean): void {
    if (!ok) throw new Error('Noise handshake step out of order');
  }
}
