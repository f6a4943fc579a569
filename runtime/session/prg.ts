// Pseudo-random streams: AES-128-CTR keystream (node:crypto) under a 128-bit key.
//
// A session holds one 128-bit key per pair of parties, one common to all three, and one of
// its own. Each protocol step asks for a stream by purpose; the purpose's stream key is
// HMAC-SHA256(key, "mpcc-prg-v1/" + purpose) truncated to 16 bytes, with a zero IV. Distinct
// purposes therefore give independent streams (the HMAC is a PRF), and the counter never
// repeats within a stream (2^128 blocks). The keystream is the encryption of zeros: one
// cipher.update call over a large zero buffer runs at AES-NI speed, so big requests cost
// one call and small requests are served from a buffered chunk.

import { createCipheriv, createHmac, randomBytes, type Cipher } from 'node:crypto';
import type { Prg } from './session.js';

/** Bytes fetched at once when serving small requests (amortizes the cipher call). */
const CHUNK = 16 * 1024;
/** Largest piece encrypted per call: bigger outputs make OpenSSL's fresh buffers page-fault
 * (8 MiB pieces measured at half the speed of 64-256 KiB ones). */
const MAX_ZEROS = 256 * 1024;

let zeros = new Uint8Array(CHUNK);

function zeroBuffer(n: number): Uint8Array {
  if (zeros.length < n) zeros = new Uint8Array(Math.min(MAX_ZEROS, Math.max(n, zeros.length * 2)));
  return zeros;
}

/** A Prg producing the AES-128-CTR keystream of a 16-byte key (zero IV). */
export class AesCtrPrg implements Prg {
  private readonly cipher: Cipher;
  /** Unconsumed keystream from the last chunk. */
  private pending: Uint8Array = new Uint8Array(0);

  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new Error(`AES-128 key must be 16 bytes, got ${key.length}`);
    this.cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  }

  /** The next `n` bytes of the stream, in a fresh 8-byte-aligned array the caller owns. */
  bytes(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Prg.bytes: invalid length ${n}`);
    const out = new Uint8Array(n);
    this.fill(out);
    return out;
  }

  /** The next `n` ring elements (8 little-endian keystream bytes each). */
  ring(n: number): BigUint64Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Prg.ring: invalid length ${n}`);
    const out = new BigUint64Array(n);
    this.fill(new Uint8Array(out.buffer));
    return out;
  }

  /** Overwrites `out` with the next out.length bytes of the stream. */
  fill(out: Uint8Array): void {
    let at = 0;
    const n = out.length;
    const take = Math.min(this.pending.length, n);
    if (take > 0) {
      out.set(this.pending.subarray(0, take));
      this.pending = this.pending.subarray(take);
      at = take;
    }
    // Large remainder: keystream straight into place, in pieces of at most MAX_ZEROS.
    while (n - at >= CHUNK) {
      const len = Math.min(n - at, MAX_ZEROS);
      out.set(this.cipher.update(zeroBuffer(len).subarray(0, len)), at);
      at += len;
    }
    if (at < n) {
      this.pending = this.cipher.update(zeroBuffer(CHUNK).subarray(0, CHUNK));
      const rest = n - at;
      out.set(this.pending.subarray(0, rest), at);
      this.pending = this.pending.subarray(rest);
    }
  }
}

/** The 16-byte stream key of `purpose` under a 16-byte (or longer) master key. */
export function purposeKey(master: Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', master).update(`mpcc-prg-v1/${purpose}`).digest().subarray(0, 16));
}

/** Streams by purpose under one master key; asking twice for a purpose continues the same
 * stream (it never restarts, so no keystream is ever used twice). */
export class PrgFamily {
  private readonly streams = new Map<string, AesCtrPrg>();
  constructor(private readonly master: Uint8Array) {}

  /** The stream of `purpose`. */
  get(purpose: string): AesCtrPrg {
    let prg = this.streams.get(purpose);
    if (!prg) {
      prg = new AesCtrPrg(purposeKey(this.master, purpose));
      this.streams.set(purpose, prg);
    }
    return prg;
  }
}

/** A family under a fresh key from the OS's randomness (a party's private streams). */
export function privateFamily(): PrgFamily {
  return new PrgFamily(new Uint8Array(randomBytes(16)));
}
