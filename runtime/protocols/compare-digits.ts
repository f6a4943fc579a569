// The holders' round-2 message of the private compare (see compare.ts): per element, the k
// compare digits, each multiplied by a fresh s_j ∈ Z_p* and masked by a zero-sharing ρ_j,
// rotated by the element's offset, and packed in base p. Per block of elements, the (s_j, ρ_j)
// pairs are sampled from the holders' common stream (one 16-bit word a pair, rejection
// sampling), then the block's digits are built and folded into base-p groups, both in
// WebAssembly SIMD kernels (compiler/codegen/library/compare-kernels.ts, sample-kernels.ts). The
// TypeScript twin states the same computation plainly; the tests hold the two equal.

import type { Prg } from '../session/session.js';
import { arena, kernels } from '../kernels/ring-wasm.js';
import type { Words } from './bits.js';
import { drawInto, pairSampler, sampleTables, type PairSampler } from './digit-sampling.js';
import { GROUP, packArenaDigits, packArenaGroups, packField, unitParams, unpackField } from './field-format.js';
import { parallelZeroTests } from '../kernels/kernel-threads.js';
import { layoutZeroTests, runZeroTests } from './zero-test-blocks.js';

/** Stream words the holders draw at a time for the (s, ρ) pairs. Both paths draw in these
 * chunks and judge the words in stream order, so they consume the stream identically. */
export const PAIR_CHUNK = 16384;

/** Elements per call of the digit kernel: a block's pairs (2k bytes an element) stay in L2. */
const BLOCK = 2048;

/** floor(x / d) = (x·M) >> S for every 0 ≤ x ≤ xmax, with M < 2^16 and xmax·M < 2^32 (the
 * kernels' 16-bit lanes widened to 32): the smallest S that works, checked exhaustively. */
export function divisionMagic(d: number, xmax: number): { M: number; S: number } {
  const key = `${d}/${xmax}`;
  let t = MAGICS.get(key);
  if (!t) {
    for (let S = 16; S < 32 && !t; S++) {
      const M = Math.ceil(2 ** S / d);
      if (M >= 65536 || xmax * M >= 2 ** 32) break;
      // Both sides are non-decreasing in x, so they agree on every x ≤ xmax exactly when they
      // agree at both ends of every run [q·d, q·d + d − 1] of floor(x / d) = q (the check at
      // every x took P0 and P1 ~20 ms in each process's first comparison).
      const D = 2 ** S;
      let ok = true;
      for (let q = 0, a = 0; a <= xmax && ok; q++, a += d) ok = Math.floor((a * M) / D) === q && Math.floor((Math.min(xmax, a + d - 1) * M) / D) === q;
      if (ok) t = { M, S };
    }
    if (!t) throw new Error(`internal: no 16-bit division magic for d=${d} up to ${xmax}`);
    MAGICS.set(key, t);
  }
  return t;
}
const MAGICS = new Map<string, { M: number; S: number }>();

/** The largest s·c + ρ-term the digit kernel forms at p (see compare-kernels.ts): c ≤ 10p + 6
 * (offset 2p, a difference ≤ p + 1, the carried suffix < p and seven positions of ≤ p + 1). */
function digitBound(P: number): number {
  const bound = (P - 1) * (10 * P + 6) + P;
  if (bound >= 65536) throw new Error(`internal: compare digits at p=${P} exceed 16-bit lanes`);
  return bound;
}

/** This holder's packed round-2 bytes: digits of Z_p (p prime, p > k + 1) for the n
 * elements of the public z and this party's Z_p shares of the bits of r' (rBits, k − 1 per
 * element), the direction bits β (bit 0 of beta) and rotations rot, with (s_j, ρ_j) drawn
 * from `pairs`, the stream P0 and P1 share (both consume it identically). */
export function compareMessage(
  me: 0 | 1,
  z: Words,
  rBits: Uint8Array,
  rot: Uint8Array,
  beta: Uint8Array,
  pairs: Prg,
  n: number,
  k: number,
  P: number,
  kernel: 'wasm' | 'ts' = 'wasm',
): Uint8Array {
  const grouped = k % GROUP === 0;
  if (kernel === 'ts') return packField(digitsTwin(me, z, rBits, rot, beta, pairs, n, k, P), P, 'ts');
  const out = wasmDigits(me, z, rBits, rot, beta, pairs, n, k, P, grouped);
  // k % 4 = 0: each element filled k/4 whole groups; otherwise k digits each.
  return grouped ? packArenaGroups(out, (n * k) / GROUP, P) : packArenaDigits(out, n * k, P);
}

/** The pairs' left-pack patterns, put into the kernels' memory once per call. */
const TABLES = sampleTables();

/** The digits of all n elements by the WebAssembly kernels (ABI in
 * compiler/codegen/library/compare-kernels.ts and sample-kernels.ts): per block of elements, the
 * block's pairs sampled from PAIR_CHUNK-word draws (a value sampled past the block's need is
 * the next block's first), then the block's digits. Leaves k/4 groups per element (grouped)
 * or k digits per element in the kernels' memory and returns their address. */
function wasmDigits(me: 0 | 1, z: Words, rBits: Uint8Array, rot: Uint8Array, beta: Uint8Array, prg: Prg, n: number, k: number, P: number, grouped: boolean): number {
  const K = kernels();
  const { span, threshold } = pairSampler(P - 1, 1, P);
  const div = divisionMagic(P - 1, span - 1);
  const mod = divisionMagic(P, digitBound(P));
  const block = Math.min(n, BLOCK);
  arena.reset();
  const slack = (bytes: number) => arena.allocBytes(bytes + 16) + 16; // 16 readable bytes before
  const at = {
    zlo: arena.putBytes(z.lo),
    zhi: arena.putBytes(z.hi),
    rBits: slack(rBits.length),
    rot: arena.putBytes(rot),
    beta: arena.putBytes(beta),
    table: arena.putBytes(TABLES.pairs),
    raw: arena.allocBytes(2 * PAIR_CHUNK),
    wCell: arena.allocBytes(4),
    pairs: slack(2 * (block * k + 8)),
    tmp: arena.allocBytes(2 * k + 32),
    out: arena.allocBytes(n * k + 16),
  };
  arena.bytes(at.rBits, rBits.length).set(rBits);
  const end = at.raw + 2 * PAIR_CHUNK;
  let w = end; // nothing drawn yet
  let filled = 0;
  for (let i0 = 0; i0 < n; i0 += block) {
    const i1 = Math.min(n, i0 + block);
    const need = (i1 - i0) * k;
    while (filled < need) {
      if (w >= end) {
        drawInto(prg, at.raw, 2 * PAIR_CHUNK);
        w = at.raw;
      }
      filled = K.compare_pairs(w, end, at.wCell, at.pairs, filled, need, span, threshold, div.M, div.S, P - 1, P, me === 0 ? 1 : 0, at.table);
      w = new Uint32Array(K.memory.buffer, at.wCell, 1)[0];
    }
    K.compare_digits(at.zlo, at.zhi, at.rBits, at.rot, at.beta, at.pairs, at.out, at.tmp, i0, i1, k, P, me === 0 ? 1 : 0, mod.M, mod.S, grouped ? 1 : 0);
    new Uint8Array(K.memory.buffer).copyWithin(at.pairs, at.pairs + 2 * need, at.pairs + 2 * filled);
    filled -= need;
  }
  return at.out;
}

/** The accepted (s, ρ) pairs of the holders' stream in draw order (TypeScript twin of the
 * kernels' draws): words judged one by one, PAIR_CHUNK words drawn whenever they run out. */
class PairDraws {
  private raw: Uint16Array = new Uint16Array(0);
  private w = 0;
  private readonly sampler: PairSampler;

  constructor(
    private readonly prg: Prg,
    P: number,
  ) {
    this.sampler = pairSampler(P - 1, 1, P);
  }

  /** The next pair, (s << 8) | ρ. */
  next(): number {
    for (;;) {
      if (this.w === this.raw.length) {
        this.raw = new Uint16Array(this.prg.bytes(2 * PAIR_CHUNK).buffer);
        this.w = 0;
      }
      const x = this.raw[this.w++] * this.sampler.span;
      if ((x & 0xffff) >= this.sampler.threshold) return this.sampler.split[x >>> 16];
    }
  }
}

/** The digits, element after element, as the protocol states them (the kernels' twin). */
function digitsTwin(me: 0 | 1, z: Words, rBits: Uint8Array, rot: Uint8Array, beta: Uint8Array, prg: Prg, n: number, k: number, P: number): Uint8Array {
  const isP0 = me === 0 ? 1 : 0;
  const m = k - 1;
  const draws = new PairDraws(prg, P);
  const digits = new Uint8Array(n * k);
  for (let i = 0; i < n; i++) {
    const neg = beta[i] & 1;
    let suffix = 0; // Σ_{l>j} (R_l ⊕ Z_l), this party's share
    for (let j = k - 1; j >= 0; j--) {
      // Position j holds bit j − 1 of z' and r'; position 0 is Z_0 = 1, R_0 = 0.
      const zj = j === 0 ? 1 : j > 32 ? (z.hi[i] >>> (j - 33)) & 1 : (z.lo[i] >>> (j - 1)) & 1;
      const rj = j === 0 ? 0 : rBits[i * m + j - 1];
      const diff = zj * isP0 - rj + P; // share of Z_j − R_j (+ p)
      const c = 2 * P * neg + isP0 + (neg ? -diff : diff) + suffix; // ±diff + [P0] + suffix, ≥ 0
      const v = draws.next();
      const rho = v & 0xff;
      digits[i * k + ((j + rot[i]) % k)] = ((v >> 8) * c + (isP0 ? rho : P - rho)) % P;
      suffix += rj + zj * (P - 2 * rj + isP0); // share of R_j + Z_j − 2 Z_j R_j
    }
  }
  return digits;
}

/** [x ≡ 0 mod p] for a sum x < 2p of two digits. */
const ZERO_TABLES = new Map<number, Uint8Array>();

function zeroTable(p: number): Uint8Array {
  let t = ZERO_TABLES.get(p);
  if (!t) {
    t = Uint8Array.from({ length: 2 * p }, (_, x) => (x % p === 0 ? 1 : 0));
    ZERO_TABLES.set(p, t);
  }
  return t;
}

/** The helper's zero test in WebAssembly (k a multiple of the unit: every element's digits
 * fill whole units), or null when k is not. Large tests whose elements start on whole bytes
 * run on two threads (runtime/kernels/kernel-threads.ts). */
function zeroTestsWasm(a: Uint8Array, b: Uint8Array, n: number, k: number, p: number): Uint8Array | null {
  const { gb, pair } = unitParams(p);
  const u = pair ? 8 : 4;
  if (k % u !== 0) return null;
  const both = ((k / u) * gb) % 8 === 0 ? parallelZeroTests(a, b, n, k, p) : null;
  if (both) return both;
  const lay = layoutZeroTests(a, b, k, p, n);
  const out = new Uint8Array(n);
  runZeroTests(lay, 0, n, out);
  return out;
}

/** The helper's zero test on the two holders' round-2 messages: t_i = 1 iff a digit of
 * element i is 0 in Z_p (the two shares of a digit sum to 0 or p). */
export function zeroTests(a: Uint8Array, b: Uint8Array, n: number, k: number, P: number, kernel: 'wasm' | 'ts' = 'wasm'): Uint8Array {
  const t = new Uint8Array(n);
  if (kernel === 'wasm') {
    const t = zeroTestsWasm(a, b, n, k, P);
    if (t) return t;
  }
  // The TypeScript twin (and the path for k not a multiple of the wire unit): unpack both
  // messages, test each digit pair.
  const isZero = zeroTable(P);
  const da = unpackField(a, n * k, P);
  const db = unpackField(b, n * k, P);
  for (let i = 0; i < n; i++) {
    let hit = 0;
    const base = i * k;
    for (let j = 0; j < k; j++) hit |= isZero[da[base + j] + db[base + j]];
    t[i] = hit;
  }
  return t;
}

/** The helper's corrections: (bit b of r_i − bits0[i·m + b]) mod p for b < m = k − 1, P1's
 * half of the Z_p shares of r's bits (bits0 is P0's half, from their common stream). */
export function bitCorrections(r: Words, bits0: Uint8Array, n: number, m: number, P: number): Uint8Array {
  return arena.bytes(correctionsAt(r, bits0, n, m, P), n * m).slice();
}

/** The corrections packed in the wire format (packField of bitCorrections, without copying
 * the digits out of the kernels' memory and back). */
export function packedBitCorrections(r: Words, bits0: Uint8Array, n: number, m: number, P: number): Uint8Array {
  return packArenaDigits(correctionsAt(r, bits0, n, m, P), n * m, P);
}

/** Runs bit_corrections; returns the address of its n·m digits in the kernels' memory. */
function correctionsAt(r: Words, bits0: Uint8Array, n: number, m: number, P: number): number {
  const K = kernels();
  arena.reset();
  const at = { lo: arena.putBytes(r.lo), hi: arena.putBytes(r.hi), bits0: arena.allocBytes(n * m + 16), out: arena.allocBytes(n * m + 16) };
  arena.bytes(at.bits0, n * m).set(bits0);
  K.bit_corrections(at.lo, at.hi, at.bits0, n, m, P, at.out);
  return at.out;
}
