// Z_p digits of the private compare: exact uniform sampling from a PRG stream (multiply-shift
// with rejection). Hot loops stay on typed arrays or in the wasm kernels
// (compiler/codegen/library/compare-kernels.ts), each with a TypeScript twin the tests compare it
// with. The digits' wire format is field-format.ts.

import type { Prg } from '../session/session.js';
import { arena, kernels } from '../kernels/ring-wasm.js';

/** From this many values on, uniformBelow samples in WebAssembly (the twin loops consume a
 * stream identically, so the choice never desynchronizes two holders of a stream). */
const WASM_SAMPLE = 4096;

/** `count` independent uniform values in [offset, offset + bound) (offset + bound ≤ 256), by
 * Lemire's multiply-shift on 16-bit stream words with rejection (x = w·bound; reject when
 * x mod 2^16 < 2^16 mod bound; the value is x >> 16): exact uniformity, and both holders of
 * the stream consume the same words because the rejections are a function of the stream. */
export function uniformBelow(prg: Prg, count: number, bound: number, offset = 0): Uint8Array {
  const out = new Uint8Array(count);
  const threshold = 65536 % bound;
  const accept = 1 - threshold / 65536;
  let filled = 0;
  while (filled < count) {
    // Expected draws for the missing values, plus slack so one draw usually suffices; every
    // word of a draw is used or dropped by the same rule on both sides.
    const words = drawSize(count - filled, accept);
    filled = count - filled >= WASM_SAMPLE ? sampleDrawn(prg, words, out, filled, bound, threshold) : sampleTs(new Uint16Array(prg.bytes(2 * words).buffer), out, filled, bound, threshold);
  }
  if (offset !== 0) for (let i = 0; i < count; i++) out[i] += offset;
  return out;
}

/** The sampling loop (TypeScript twin of the wasm kernel sample_below): fills out from
 * index i0 with accepted words of raw; returns the new fill level. */
export function sampleTs(raw: Uint16Array, out: Uint8Array, i0: number, bound: number, threshold: number): number {
  let i = i0;
  const count = out.length;
  for (let w = 0; w < raw.length && i < count; w++) {
    const x = raw[w] * bound;
    out[i] = x >>> 16;
    i += (x & 0xffff) >= threshold ? 1 : 0;
  }
  return i;
}

/** The same through the wasm kernel. */
export function sampleWasm(raw: Uint16Array, out: Uint8Array, i0: number, bound: number, threshold: number): number {
  const K = kernels();
  arena.reset();
  const at = arena.putBytes(raw);
  const dst = arena.allocBytes(out.length + 16);
  const i = K.sample_below(at, at + raw.byteLength, dst, i0, out.length, bound, threshold, arena.putBytes(TABLES.bytes));
  out.set(arena.bytes(dst + i0, i - i0), i0);
  return i;
}

/** Draws the next `bytes` stream bytes straight into the kernels' memory at `at` (no copy
 * through a fresh array when the stream can fill in place). */
export function drawInto(prg: Prg, at: number, bytes: number): void {
  if (prg.fill) prg.fill(arena.bytes(at, bytes));
  else arena.bytes(at, bytes).set(prg.bytes(bytes));
}

/** sampleWasm on `words` fresh stream words, drawn straight into the kernels' memory. */
function sampleDrawn(prg: Prg, words: number, out: Uint8Array, i0: number, bound: number, threshold: number): number {
  const K = kernels();
  arena.reset();
  const at = arena.allocBytes(2 * words);
  const dst = arena.allocBytes(out.length + 16);
  const table = arena.putBytes(TABLES.bytes);
  drawInto(prg, at, 2 * words);
  const i = K.sample_below(at, at + 2 * words, dst, i0, out.length, bound, threshold, table);
  out.set(arena.bytes(dst + i0, i - i0), i0);
  return i;
}

/** Left-pack patterns of the SIMD samplers (compiler/codegen/library/sample-kernels.ts): for each
 * 8-bit mask of accepted lanes, the byte indices that move those lanes to the front, for byte
 * lanes (`bytes`) and for 16-bit lanes (`pairs`); 0x80 selects a zero byte. */
export function sampleTables(): { bytes: Uint8Array; pairs: Uint8Array } {
  const bytes = new Uint8Array(256 * 16).fill(0x80);
  const pairs = new Uint8Array(256 * 16).fill(0x80);
  for (let mask = 0; mask < 256; mask++) {
    let at = 0;
    for (let lane = 0; lane < 8; lane++) {
      if (!((mask >> lane) & 1)) continue;
      bytes[mask * 16 + at] = lane;
      pairs[mask * 16 + 2 * at] = 2 * lane;
      pairs[mask * 16 + 2 * at + 1] = 2 * lane + 1;
      at++;
    }
  }
  return { bytes, pairs };
}

const TABLES = sampleTables();

/** Pair sampling (Lemire's multiply-shift with rejection on a 16-bit word w): for span =
 * boundA·boundB, q = (w·span) >> 16 is exactly uniform in [0, span) once the words whose
 * low product half is below 2^16 mod span are rejected; `split[q]` is (a << 8) | b. */
export interface PairSampler {
  span: number;
  /** Reject a word w when (w·span) & 0xffff < threshold. */
  threshold: number;
  split: Uint16Array;
  /** Acceptance rate per word. */
  accept: number;
}

const PAIR_SAMPLERS = new Map<string, PairSampler>();

/** The pair sampler of (boundA, offsetA, boundB), boundA·boundB ≤ 2^15. */
export function pairSampler(boundA: number, offsetA: number, boundB: number): PairSampler {
  const key = `${boundA}/${offsetA}/${boundB}`;
  let t = PAIR_SAMPLERS.get(key);
  if (!t) {
    const span = boundA * boundB;
    const split = Uint16Array.from({ length: span }, (_, q) => ((offsetA + (q % boundA)) << 8) | Math.floor(q / boundA));
    const threshold = 65536 % span;
    t = { span, threshold, split, accept: 1 - threshold / 65536 };
    PAIR_SAMPLERS.set(key, t);
  }
  return t;
}

/** Stream words to draw for `need` accepted draws at acceptance rate `accept`: the
 * expectation plus slack, so one draw usually suffices. */
export function drawSize(need: number, accept: number): number {
  return Math.ceil(need / accept + 4 * Math.sqrt(need) + 16);
}

/** `count` independent pairs (a, b), a uniform in [offsetA, offsetA + boundA) and b uniform
 * in [0, boundB) (boundA·boundB ≤ 2^15), from one 16-bit stream word per draw with rejection:
 * exact uniformity at about one draw per pair instead of two rejection loops. */
export function uniformPairs(prg: Prg, count: number, boundA: number, offsetA: number, boundB: number): { a: Uint8Array; b: Uint8Array } {
  const { span, threshold, split, accept } = pairSampler(boundA, offsetA, boundB);
  const a = new Uint8Array(count);
  const b = new Uint8Array(count);
  let filled = 0;
  while (filled < count) {
    const words = drawSize(count - filled, accept);
    const raw = new Uint16Array(prg.bytes(2 * words).buffer);
    for (let j = 0; j < words && filled < count; j++) {
      const m = raw[j] * span;
      if ((m & 0xffff) < threshold) continue;
      const v = split[m >>> 16];
      a[filled] = v >> 8;
      b[filled] = v & 0xff;
      filled++;
    }
  }
  return { a, b };
}
