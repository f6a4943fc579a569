// The helper's zero test (compare-digits.ts zeroTests) in the field kernels, cut into ranges
// of elements: the layout of one thread's kernels memory (both holders' messages and the digit
// tables) and the run of a range [i0, i1). Any thread holding a layout can run any range, so
// runtime/kernels/kernel-threads.ts shares them with its worker as ring/conv-blocks.ts shares a
// convolution's blocks; compare-digits.ts runs one range of all elements when it computes alone.

import { arena, kernels } from '../kernels/ring-wasm.js';
import { squareDivision, squareTables, unitParams } from './field-format.js';

/** The two holders' messages and the digit tables in one thread's kernels memory. */
export interface ZeroTestLayout {
  a: number;
  b: number;
  low: number;
  high: number;
  out: number;
  k: number;
  p: number;
}

/** Resets the arena and copies the messages (with the kernel's 8 bytes of read slack) and the
 * tables into it, with room for `outBytes` results. */
export function layoutZeroTests(a: Uint8Array, b: Uint8Array, k: number, p: number, outBytes: number): ZeroTestLayout {
  const { low, high } = squareTables(p);
  arena.reset();
  const at = { a: arena.allocBytes(a.length + 8), b: arena.allocBytes(b.length + 8), low: arena.putBytes(low), high: arena.putBytes(high), out: arena.allocBytes(outBytes) };
  arena.bytes(at.a, a.length).set(a);
  arena.bytes(at.b, b.length).set(b);
  return { ...at, k, p };
}

/** Zero tests of elements [i0, i1) into out[i0 .. i1) (elements start on whole bytes unless
 * i0 = 0: the unit kernel reads from bit 0 of its first byte). */
export function runZeroTests(lay: ZeroTestLayout, i0: number, i1: number, out: Uint8Array): void {
  const { gb, pair, p4 } = unitParams(lay.p);
  const per = lay.k / (pair ? 8 : 4);
  const skip = (i0 * per * gb) / 8;
  const { magic, shift } = squareDivision(lay.p);
  kernels().zero_tests(lay.a + skip, lay.b + skip, i1 - i0, per, gb, pair, p4, lay.p, magic, shift, lay.low, lay.high, lay.out);
  out.set(arena.bytes(lay.out, i1 - i0), i0);
}
