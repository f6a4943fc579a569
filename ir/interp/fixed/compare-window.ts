// The windowed comparison of the fixed-point interpreter, as the runtime computes it
// (runtime/protocols/compare.ts): each party keeps bits [lo, lo + k) of its own share, so the
// compared value is y = floor(x / 2^lo) − c mod 2^k, where c is the carry the two low parts
// lose. With P0's share uniform, c = [u > x mod 2^lo] for u uniform on [0, 2^lo): zero when
// lo = 0, and it matters only where floor(x / 2^lo) is 0 (x in [0, 2^lo): reported negative)
// or the window's most negative unit (reported positive). `carries: 'exact'` (the default)
// takes c = 0 — the secure run's result whenever no compared value lies in those bands;
// `carries: 'shares'` draws u per element from a hash of the node's name and the element's
// index (reproducible, uniform; not a protocol's randomness), so accuracy measured on many
// images has the secure run's distribution of lost carries. An observer sees every
// comparison's values and the signs the window gave (statistics, sign-error measurement).
import type { Node } from '../../graph.js';
import { bitOf } from '../../../runtime/ring/ring.js';

/** How the interpreter simulates windowed comparisons, and who watches them. */
export interface CompareSimulation {
  /** 'exact': no lost carry (default); 'shares': the share truncation's lost carry, drawn. */
  readonly carries?: 'exact' | 'shares';
  /** Called for every comparison of `node` (a Clip's two comparisons as one vector, a MaxPool's
   * tree level by level): the compared ring values and, per value, 1 when the window said negative. */
  observe?(node: Node, values: BigUint64Array, negative: Uint8Array, window: { lo: number; k: number }): void;
}

/** Per element 1 when the window [lo, lo + k) reads x as negative, as the runtime computes it
 * (see the file comment); `node` names the comparison for the carry draw and the observer. */
export function windowNegative(x: BigUint64Array, lo: number, k: number, node: Node, sim?: CompareSimulation): Uint8Array {
  const top = Math.min(lo + k, 64) - 1;
  let v = x;
  if (lo > 0 && sim?.carries === 'shares') {
    v = x.slice();
    const salt = hashText(node.name);
    const scale = 2 ** lo;
    const mask = (1n << BigInt(lo)) - 1n;
    const step = 1n << BigInt(lo);
    for (let i = 0; i < x.length; i++) {
      const u = Math.floor(uniform01(salt, i) * scale);
      if (u > Number(x[i] & mask)) v[i] = x[i] - step;
    }
  }
  const negative = bitOf(v, top);
  sim?.observe?.(node, x, negative, { lo, k });
  return negative;
}

/** Probability that the window [lo, lo + k) misreads the sign of the signed value x, over the
 * lost carry's distribution (see the file comment): the prediction model of narrow-compare. */
export function windowErrorProbability(x: bigint, lo: number, k: number): number {
  const truth = x < 0n;
  const low = lo === 0 ? 0n : BigInt.asUintN(lo, x);
  const pCarry = lo === 0 ? 0 : (2 ** lo - 1 - Number(low)) / 2 ** lo;
  const readNegative = (c: bigint) => BigInt.asUintN(k, (x >> BigInt(lo)) - c) >> BigInt(k - 1) === 1n;
  return (1 - pCarry) * (readNegative(0n) !== truth ? 1 : 0) + pCarry * (readNegative(1n) !== truth ? 1 : 0);
}

/** A 32-bit FNV-1a hash of text. */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A uniform draw in [0, 1) from (salt, index): two rounds of a 32-bit integer mixer, 53 bits. */
function uniform01(salt: number, index: number): number {
  const a = mix32(salt ^ mix32(index));
  const b = mix32(a ^ 0x9e3779b9 ^ index);
  return (a * 2 ** 21 + (b >>> 11)) / 2 ** 53;
}

function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
