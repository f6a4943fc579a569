// The holders' round-2 message of the private compare (see compare.ts): per element, the k
// compare digits, each multiplied by a fresh s_j ∈ Z_p* and masked by a zero-sharing ρ_j,
// rotated by the element's offset, and packed in base p. One pass does it all: the (s_j, ρ_j)
// pairs are drawn from the holders' common stream inside the digit loop and the digits are
// folded straight into their base-p groups, so no n·k arrays are written and read back.

import type { Prg } from '../session.js';
import { arena, kernels } from '../ring-wasm.js';
import type { Words } from './bits.js';
import { drawInto, drawSize, pairSampler } from './digits.js';
import { GROUP, packDigitGroups, packField, unpackField, zeroTestsWasm } from './field-format.js';

/** x mod p for every x below a bound (an integer division costs more than the rest of a
 * digit's work), by p and bound. */
const MOD_TABLES = new Map<string, Uint8Array>();

/** The table of x mod p for 0 ≤ x < size. */
export function modTable(p: number, size: number): Uint8Array {
  const key = `${p}/${size}`;
  let t = MOD_TABLES.get(key);
  if (!t) {
    // A counting loop, not Uint8Array.from with a callback: ~300k entries at k = 64, built
    // once per process, on a party's first compare (measured ~40 ms the other way).
    t = new Uint8Array(size);
    for (let x = 0, r = 0; x < size; x++) {
      t[x] = r;
      r = r + 1 === p ? 0 : r + 1;
    }
    MOD_TABLES.set(key, t);
  }
  return t;
}

/** The digit kernel's table size at k bits: the suffix share is left unreduced (each step
 * adds at most p + 1), so c < 2p + 1 + (k − 1)(p + 1) and s·c + ρ-term < (p − 1)·that + 2p. */
function digitModSize(k: number, P: number): number {
  return (P - 1) * (2 * P + 1 + (k - 1) * (P + 1)) + 2 * P;
}

/** Stream words drawn at once when the first draw runs out (rare: it has slack). */
const REFILL = 4096;

/** Elements per call of the digit kernel: each call is short, so V8 optimizes the kernel as
 * an ordinary function with complete type feedback instead of on-stack replacement of one
 * long loop (which deoptimized at the loop's exit on every call, measured). */
const BLOCK = 1024;

/** What the digit kernel reads and updates (one monomorphic shape). */
interface DigitJob {
  isP0: number;
  k: number;
  P: number;
  zlo: Uint32Array;
  zhi: Uint32Array;
  rBits: Uint8Array;
  rot: Uint8Array;
  beta: Uint8Array;
  mod: Uint8Array;
  span: number;
  threshold: number;
  split: Uint16Array;
  pairs: Prg;
  /** Pair-stream words and the next unread one. */
  raw: Uint16Array;
  w: number;
  /** Output: k/4 groups per element (k % 4 = 0), else k digits per element. */
  groups: Uint32Array;
  digits: Uint8Array;
  tmp: Uint8Array;
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
  const { span, threshold, split, accept } = pairSampler(P - 1, 1, P);
  const grouped = k % GROUP === 0;
  // k % 4 = 0 (k = 8, 16, 32, 64): each element fills k/4 whole groups, built in the kernel;
  // otherwise the digits go to one array, packed afterwards.
  const job: DigitJob = {
    isP0: me === 0 ? 1 : 0,
    k,
    P,
    zlo: z.lo,
    zhi: z.hi,
    rBits,
    rot,
    beta,
    mod: modTable(P, digitModSize(k, P)),
    span,
    threshold,
    split,
    pairs,
    // The wasm path draws its first words straight into the kernels' memory (wasmDigits).
    raw: grouped && kernel === 'wasm' ? new Uint16Array(0) : new Uint16Array(pairs.bytes(2 * drawSize(n * k, accept)).buffer),
    w: 0,
    groups: new Uint32Array(grouped ? (n * k) / GROUP : 0),
    digits: new Uint8Array(grouped ? 0 : n * k),
    tmp: new Uint8Array(k),
  };
  if (grouped && kernel === 'wasm') wasmDigits(job, n, drawSize(n * k, accept));
  else for (let i = 0; i < n; i += BLOCK) digitKernel(job, i, Math.min(n, i + BLOCK));
  return grouped ? packDigitGroups(job.groups, P) : packField(job.digits, P);
}

/** Refills the pair words so that at least `need` are unread. */
function refill(job: DigitJob, need: number): void {
  const left = job.raw.length - job.w;
  if (left >= need) return;
  const more = new Uint16Array(left + need + REFILL);
  more.set(job.raw.subarray(job.w));
  more.set(new Uint16Array(job.pairs.bytes(2 * (need + REFILL)).buffer), left);
  job.raw = more;
  job.w = 0;
}

/** The digits of all n elements by the WebAssembly kernel (k % 4 = 0; ABI in
 * compiler/codegen/compare-kernels.ts): operands copied into the kernels' memory, the first
 * `words` pair words drawn straight into it, the kernel run until done, the unread pair words
 * carried and refilled (as refill does for the twin) whenever it stops short of them. */
function wasmDigits(job: DigitJob, n: number, words: number): void {
  const K = kernels();
  arena.reset();
  const at = {
    zlo: arena.putBytes(job.zlo),
    zhi: arena.putBytes(job.zhi),
    rBits: arena.putBytes(job.rBits),
    rot: arena.putBytes(job.rot),
    beta: arena.putBytes(job.beta),
    // This party's ρ-term in the low byte: ρ for P0, p − ρ for P1 (saves the kernel the negation).
    split: arena.putBytes(job.isP0 ? job.split : job.split.map((e) => (e & 0xff00) | (job.P - (e & 0xff)))),
    groups: arena.allocBytes(job.groups.byteLength),
    tmp: arena.allocBytes(job.k),
    wCell: arena.allocBytes(4),
  };
  let raw = arena.allocBytes(2 * words);
  let end = raw + 2 * words;
  drawInto(job.pairs, raw, 2 * words);
  let i = 0;
  for (;;) {
    new Uint32Array(K.memory.buffer, at.wCell, 1)[0] = raw;
    i = K.compare_digits(at.zlo, at.zhi, at.rBits, at.rot, at.beta, raw, end, at.wCell, at.split, Math.floor(2 ** 32 / job.P) + 1, at.groups, at.tmp, i, n, job.k, job.P, job.span, job.threshold, job.isP0);
    const w = new Uint32Array(K.memory.buffer, at.wCell, 1)[0];
    if (w > end) throw new Error('compare: pair stream overrun'); // as in digitKernel
    if (i >= n) break;
    // Rare: the draw ran short. Carry the unread words, draw more, and continue.
    job.raw = new Uint16Array(arena.bytes(w, end - w).slice().buffer);
    job.w = 0;
    refill(job, 2 * job.k + 17);
    raw = arena.putBytes(job.raw);
    end = raw + job.raw.byteLength;
  }
  job.groups.set(new Uint32Array(K.memory.buffer, at.groups, job.groups.length));
}

/** The digits of elements [i0, i1). */
function digitKernel(job: DigitJob, i0: number, i1: number): void {
  const { isP0, k, P, zlo, zhi, rBits, rot, beta, mod, span, threshold, split, groups, digits, tmp } = job;
  const m = k - 1;
  // P0 adds ρ, P1 adds p − ρ, as rhoBase + ((ρ ^ flipRho) − flipRho) with flipRho = 0 or −1
  // (two's-complement negation: no multiply by −1, whose −0 made V8 leave int32 arithmetic).
  const rhoBase = isP0 ? 0 : P;
  const flipRho = isP0 ? 0 : -1;
  const grouped = groups.length > 0;
  const perElement = k / GROUP;
  // k draws per element and a few rejections fit in the slack (a shortfall throws below).
  refill(job, (2 * k + 16) * (i1 - i0));
  const raw = job.raw;
  const len = raw.length;
  let w = job.w;
  for (let i = i0; i < i1; i++) {
    const neg = beta[i] & 1;
    const r = rot[i];
    const zl = zlo[i] | 0; // int32 views of the words keep the loop in small integers
    const zh = zhi[i] | 0;
    const rb = i * m - 1; // rBits index of position j is rb + j (bit j − 1)
    let suffix = 0; // Σ_{l>j} (R_l ⊕ Z_l), this party's share, unreduced (see digitModSize)
    // c = ±diff + [P0] + suffix as off + ((diff ^ −β) + β) (β picks the sign, by
    // two's-complement negation; no branch on it: z_j and β are coin flips to the predictor).
    const negMask = -neg;
    const off = 2 * P * neg + isP0;
    let pos = r + k - 1; // output position of digit j, counted down with j
    if (pos >= k) pos -= k;
    for (let j = k - 1; j >= 1; j--) {
      // Position j holds bit j − 1 of z' and r'.
      const zj = j > 32 ? (zh >> (j - 33)) & 1 : (zl >> (j - 1)) & 1;
      const rj = rBits[rb + j];
      const diff = zj * isP0 - rj + P; // share of Z_j − R_j, in [1, 2p)
      const c = off + ((diff ^ negMask) + neg) + suffix; // ±diff + [P0] + suffix
      // (s_j, ρ_j) by the pair sampler (digits.ts): rejection is rare (0.3% at p = 19).
      let x = raw[w++] * span;
      while ((x & 0xffff) < threshold && w < len) x = raw[w++] * span;
      const v = split[x >>> 16];
      tmp[pos] = mod[(v >> 8) * c + rhoBase + ((v & 0xff) ^ flipRho) - flipRho];
      pos = pos === 0 ? k - 1 : pos - 1;
      // Share of R_j ⊕ Z_j = R_j + Z_j − 2 Z_j R_j (Z_j public), accumulated mod p.
      suffix += rj + zj * (P - 2 * rj + isP0);
    }
    // Position 0: Z_0 = 1, R_0 = 0.
    const c = off + (((isP0 + P) ^ negMask) + neg) + suffix;
    let x = raw[w++] * span;
    while ((x & 0xffff) < threshold && w < len) x = raw[w++] * span;
    const v = split[x >>> 16];
    tmp[r] = mod[(v >> 8) * c + rhoBase + ((v & 0xff) ^ flipRho) - flipRho];
    if (grouped) {
      const g0 = i * perElement;
      for (let g = 0, d = 0; g < perElement; g++, d += GROUP) groups[g0 + g] = tmp[d] + P * (tmp[d + 1] + P * (tmp[d + 2] + P * tmp[d + 3]));
    } else {
      digits.set(tmp, i * k);
    }
  }
  // Past the end, a read gave undefined: a block with more than (k + 16)·block rejections,
  // probability far below 2^-1000; refuse rather than send garbage.
  if (w > raw.length) throw new Error('compare: pair stream overrun');
  job.w = w;
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
  const K = kernels();
  arena.reset();
  const at = { lo: arena.putBytes(r.lo), hi: arena.putBytes(r.hi), bits0: arena.putBytes(bits0), out: arena.allocBytes(n * m) };
  K.bit_corrections(at.lo, at.hi, at.bits0, n, m, P, at.out);
  return arena.bytes(at.out, n * m).slice();
}
