// Statistics of the values secure comparisons compare, and the windows chosen from them
// (narrow-compare's `auto` mode). The values are watched in the fixed-point interpreter
// (ir/interp/fixed/compare-window.ts) on the quantized graph as lower will run it (a ReLU read
// only by a MaxPool after the pool, passes/secure/lower-reorder.ts) with every window full:
// a ReLU's inputs, a BlockRelu's tile sums, a MaxPool's pairwise differences level by level,
// both comparisons of a Clip (x − min and x − max). Everything is in ring units (ulps), so a
// window follows the scale: at 16 fractional bits the same values need 4 more bits than at 12,
// and the low end `lo` it may drop grows by the same 4.
//
// The prediction model. A window (lo, k) reads the sign of y = floor(x / 2^lo) − c mod 2^k,
// c the carry the two shares' low parts lose, 1 with probability (2^lo − 1 − (x mod 2^lo)) / 2^lo
// (P0's share is uniform). Its sign differs from x's true sign (x < 0 in the ring) only when
// (a) x ∈ [0, 2^lo) and the carry is lost: reported negative, or (b) |x| reaches the window's
// range 2^m, m = lo + k − 1: the top bits wrap.
// (a) The carry rate is the mean of that probability over the calibration values,
//     Σ_{0 ≤ v < 2^lo} (2^lo − 1 − v) / 2^lo / N, linear in v: kept exactly for every lo by the
//     count and the sum of the non-negative values per bit length (no lo limit but the ring's).
// (b) The overflow rate P(|x| ≥ 2^m): the calibration's own share when 2^m ≤ max|x|; beyond the
//     largest value seen, an exponential tail fitted to the K largest |x| (peaks over the
//     threshold u = the (K+1)-th largest, mean excess β): (K / N) · exp(−(2^m − u) / β). Tile
//     sums and pre-activations have tails lighter than exponential, so this over-predicts; with
//     fewer than 4·MIN_TAIL values no tail is fitted and the range keeps one bit over twice the
//     largest value (overflow predicted 0).
// `auto` chooses, per layer, the window of fewest bits k (every k costs bytes:
// runtime/protocols/costs.ts) whose predicted rate (a) + (b) stays under --max-sign-error: for
// each top bit m from the smallest range above the largest value seen (never a calibration value
// wrapped) up, the largest lo the rest of the bound allows; among equal k the lowest top bit (a
// client-offline program's ring must hold every window's top: compiler/ring-choice.ts, and a
// higher one saves no byte). Layers are measured with every window full, so the (small) effect of one layer's window
// on the values of the layers after it is not in the prediction.
// A max (a (block-)ReLU of a difference a − b whose every reader adds b back: a MaxPool's tree
// level, maxpool-to-relu-tree) is the one comparison whose lost carry costs at most its window's
// 2^lo ulps in value (max(a, b) reads b for a ≤ b + 2^lo: an error below 2^lo), so `auto` counts
// no lost carry (a) of such a window with lo ≤ f − MAX_FREE_ERROR_BITS (an error below 1/64 in
// real units): only (b), and its predicted rate says so (the lost carries below that are
// rounding, not sign errors: `mpcc run --verify-against-plaintext` still counts them).
import type { Graph, Node } from '../../ir/graph.js';
import { consumers, makeNode, producers, replaceGraph } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import type { CompareSimulation } from '../../ir/interp/fixed/index.js';
import { runPipeline } from '../manager.js';
import { poolBeforeActivation } from '../secure/lower-reorder.js';
import { COMPARE_OPS, type PlanWindow } from './plan-file.js';

/** Largest |x| kept per node for the overflow tail fit (K ≤ TAIL_VALUES). */
export const TAIL_VALUES = 128;

/** Fewest tail values a fit uses (K = min(TAIL_VALUES, N / 4) must reach it). */
export const MIN_TAIL = 8;

/** A max's free low bits are below f by this much: 2^-6 in real units (see the file comment). */
export const MAX_FREE_ERROR_BITS = 6;

/** The (block-)ReLUs of `g` that compute a max: the input a − b (a Sub), every reader an Add of
 * the output and b (maxpool-to-relu-tree's levels); their lost carries are value errors below 2^lo. */
export function maxLevels(g: Graph): Set<string> {
  const producer = producers(g);
  const readers = consumers(g);
  const out = new Set<string>();
  for (const n of g.nodes) {
    if (n.op !== 'Relu' && n.op !== 'BlockRelu') continue;
    const d = producer.get(n.inputs[0]);
    if (d?.op !== 'Sub' || !d.inputs[1]) continue;
    const b = d.inputs[1];
    const rs = readers.get(n.outputs[0]) ?? [];
    if (rs.length > 0 && !g.outputs.includes(n.outputs[0]) && rs.every((r) => r.op === 'Add' && r.inputs.includes(b) && r.inputs.includes(n.outputs[0]))) out.add(n.name);
  }
  return out;
}

/** How far above the largest value seen `auto` looks for a cheaper window (bits). */
const MAX_MARGIN_BITS = 8;

/** What one comparison node compared during calibration. */
export interface CompareStat {
  readonly name: string;
  readonly op: string;
  /** Values compared. */
  n: number;
  /** Largest |value| in ring units (ulps). */
  maxAbs: number;
  /** count[b]: values whose |x| has bit length b (0..64). */
  readonly bitLengths: Float64Array;
  /** Per bit length b (0 for x = 0): the non-negative values x of that length, and their sum
   * (the ones a lost carry can flip, prediction (a)). */
  readonly nonNegative: { readonly count: Float64Array; readonly sum: Float64Array };
  /** The largest |x| seen (at least the TAIL_VALUES + 1 largest; unsorted: read through `largest`). */
  tail: number[];
}

/** Bit length of a non-negative integer held in a double. */
function bitLength(v: number): number {
  return v < 4294967296 ? 32 - Math.clz32(v) : 64 - Math.clz32(Math.floor(v / 4294967296));
}

/** Values of `s` with |x| ≥ 2^m (ulps): those a window whose sign bit is bit m reads wrapped. */
export function beyondRange(s: CompareStat, m: number): number {
  let count = 0;
  for (let b = m + 1; b < s.bitLengths.length; b++) count += s.bitLengths[b];
  return count;
}

/** The largest |x| of `s`, descending (at most TAIL_VALUES + 1). */
export function largest(s: CompareStat): number[] {
  if (s.tail.length > TAIL_VALUES + 1 || !isDescending(s.tail)) s.tail = s.tail.sort((a, b) => b - a).slice(0, TAIL_VALUES + 1);
  return s.tail;
}

function isDescending(a: readonly number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] > a[i - 1]) return false;
  return true;
}

/** The quantized graph whose comparisons the statistics watch: `float` quantized with `frac`
 * fractional bits, every window full, a ReLU read only by a MaxPool after it (as lower runs it). */
export function statisticsGraph(float: Graph, frac: number): Graph {
  const full = replaceGraph(float, {
    nodes: float.nodes.map((n) => (COMPARE_OPS.includes(n.op) ? makeNode(n.op, n.name, n.inputs, n.outputs, { ...n.attrs, window_lo: 0, window_k: 64 }) : n)),
  });
  const quantized = runPipeline(full, `quantize{frac-bits=${frac}}`, { verify: false }).graph;
  return poolBeforeActivation(quantized);
}

/** Collects CompareStat per comparison node from the interpreter's observer. */
export class CompareStatistics {
  readonly byNode = new Map<string, CompareStat>();

  /** The observer to give the fixed-point interpreter (exact carries: full windows lose none). */
  simulation(): CompareSimulation {
    return { carries: 'exact', observe: (node, values) => this.add(node, values) };
  }

  /** Adds the values `node` compared. */
  add(node: Node, values: BigUint64Array): void {
    let s = this.byNode.get(node.name);
    if (!s) {
      s = { name: node.name, op: node.op, n: 0, maxAbs: 0, bitLengths: new Float64Array(65), nonNegative: { count: new Float64Array(65), sum: new Float64Array(65) }, tail: [] };
      this.byNode.set(node.name, s);
    }
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    let max = s.maxAbs;
    // values above `floor` may be among the largest: kept, and cut back when the buffer fills
    let floor = s.tail.length > TAIL_VALUES ? largest(s)[TAIL_VALUES] : -1;
    const { count, sum } = s.nonNegative;
    for (let i = 0; i < values.length; i++) {
      const low = words[2 * i], high = words[2 * i + 1] | 0;
      const v = high * 4294967296 + low;
      const abs = v < 0 ? -v : v;
      if (abs > max) max = abs;
      const b = bitLength(abs);
      s.bitLengths[b]++;
      if (v >= 0) {
        count[b]++;
        sum[b] += v;
      }
      if (abs > floor) {
        s.tail.push(abs);
        if (s.tail.length >= 8 * (TAIL_VALUES + 1)) floor = largest(s)[TAIL_VALUES];
      }
    }
    s.maxAbs = max;
    s.n += values.length;
  }
}

/** The predicted rate of lost-carry sign errors of a window starting at `lo` over `s`
 * (the file comment's (a)): exact for the calibration values, any lo. */
export function predictedSignError(s: CompareStat, lo: number): number {
  if (s.n === 0 || lo === 0) return 0;
  const span = 2 ** lo;
  const { count, sum } = s.nonNegative;
  let expected = 0;
  for (let b = 0; b <= Math.min(lo, 64); b++) expected += (span - 1) * count[b] - sum[b];
  return Math.max(0, expected / span / s.n);
}

/** The predicted rate of values with |x| ≥ 2^m over `s` (the file comment's (b)): the
 * calibration's share up to the largest value seen, the tail fit beyond; null when too few
 * values were seen to fit a tail and 2^m exceeds them all. */
export function predictedOverflow(s: CompareStat, m: number): number | null {
  if (s.n === 0) return 0;
  const range = 2 ** m;
  if (range <= s.maxAbs) return beyondRange(s, m) / s.n;
  const top = largest(s);
  const K = Math.min(TAIL_VALUES, Math.floor(s.n / 4), top.length - 1);
  if (K < MIN_TAIL) return null;
  const u = top[K];
  let excess = 0;
  for (let i = 0; i < K; i++) excess += top[i] - u;
  const beta = excess / K;
  return beta === 0 ? 0 : (K / s.n) * Math.exp(-(range - u) / beta);
}

/** Bits k of a window starting at lo whose range 2^(lo+k−1) exceeds twice maxAbs (ulps): the
 * one-bit margin of a layer too small to fit a tail. */
export function bitsForRange(maxAbs: number, lo: number): number {
  const needed = Math.max(1, Math.ceil(Math.log2(2 * maxAbs + 1))); // lo + k − 1 ≥ needed
  return Math.min(64 - lo, Math.max(2, needed + 1 - lo));
}

/** A window with its predicted error rates: lost carries (a) and overflow (b). */
export interface ChosenWindow {
  readonly lo: number;
  readonly k: number;
  readonly carry: number;
  readonly overflow: number;
}

/** The auto window of `s` (see the file comment): fewest bits k with a predicted rate (a) + (b)
 * ≤ maxSignError, the least predicted rate among those; the full ring when nothing fits. `freeLo`:
 * a max's low bits whose lost carries do not count (a window with lo ≤ freeLo predicts no (a)). */
export function chooseWindow(s: CompareStat, maxSignError: number, freeLo = 0): ChosenWindow {
  const carryAt = (l: number): number => (l <= freeLo ? 0 : predictedSignError(s, l));
  let best: ChosenWindow = { lo: 0, k: 64, carry: 0, overflow: 0 };
  const above = Math.max(1, bitLength(s.maxAbs)); // the smallest m with 2^m > max|x|
  for (let m = above; m <= Math.min(63, above + MAX_MARGIN_BITS); m++) {
    const fitted = predictedOverflow(s, m);
    // too few values for a tail: one bit over twice the largest (the range holds 2·max|x|)
    const overflow = fitted ?? (2 ** m > 2 * s.maxAbs ? 0 : Infinity);
    if (overflow > maxSignError) continue;
    let lo = 0;
    for (let l = m - 1; l > 0; l--) {
      if (carryAt(l) + overflow <= maxSignError) {
        lo = l;
        break;
      }
    }
    const w = { lo, k: m - lo + 1, carry: carryAt(lo), overflow };
    // m rises: among equal k the first one found has the lowest top, the least ring it asks of a
    // client-offline program (compiler/ring-choice.ts: lo + bits + k ≤ ℓ)
    if (w.k < best.k) best = w;
  }
  return best;
}

/** The auto window of one layer (chooseWindow) as the plan records it; 64 bits for a layer
 * without statistics. */
export function autoWindow(s: CompareStat | undefined, op: string, name: string, frac: number, maxSignError: number, max = false): PlanWindow {
  if (!s || s.n === 0) return { name, op, lo: 0, k: 64, predictedSignError: null, maxAbs: null, samples: 0 };
  const w = chooseWindow(s, maxSignError, max ? Math.max(0, frac - MAX_FREE_ERROR_BITS) : 0);
  return { name, op, lo: w.lo, k: w.k, predictedSignError: w.carry + w.overflow, predictedOverflow: w.overflow, maxAbs: s.maxAbs / 2 ** frac, samples: s.n };
}

/** The predicted rate (a) + (b) of a given window over `s` (a fixed window's prediction). */
export function predictedWindowError(s: CompareStat, lo: number, k: number): { carry: number; overflow: number } {
  const m = lo + k - 1;
  const overflow = m >= 63 ? 0 : predictedOverflow(s, m) ?? 0;
  return { carry: predictedSignError(s, lo), overflow };
}

/** The comparison nodes of `g` (ops that take a window), in graph order. */
export function compareNodes(g: Graph): Node[] {
  return g.nodes.filter((n) => COMPARE_OPS.includes(n.op));
}

/** Auto windows for every comparison node of float graph `g` from `stats`. */
export function autoWindows(g: Graph, stats: CompareStatistics, frac: number, maxSignError: number): PlanWindow[] {
  const maxes = maxLevels(g);
  return compareNodes(g).map((n) => autoWindow(stats.byNode.get(n.name), n.op, n.name, frac, maxSignError, maxes.has(n.name)));
}

/** Per comparison node: values compared and how many the window read with the wrong sign (and
 * of those, how many lay past the window's range), from an interpreter run with simulated lost
 * carries (sign-error measurement). */
export class SignErrorCounter {
  readonly byNode = new Map<string, { op: string; n: number; errors: number; overflows: number; window: { lo: number; k: number } }>();

  /** The simulation to give the fixed-point interpreter: lost carries drawn, every sign checked. */
  simulation(): CompareSimulation {
    return {
      carries: 'shares',
      observe: (node, values, negative, window) => {
        let e = this.byNode.get(node.name);
        if (!e) this.byNode.set(node.name, (e = { op: node.op, n: 0, errors: 0, overflows: 0, window }));
        const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
        const m = window.lo + window.k - 1;
        const range = 2 ** m;
        for (let i = 0; i < values.length; i++) {
          if (((words[2 * i + 1] >>> 31) & 1) === negative[i]) continue;
          e.errors++;
          const v = (words[2 * i + 1] | 0) * 4294967296 + words[2 * i];
          if (m < 63 && Math.abs(v) >= range) e.overflows++;
        }
        e.n += values.length;
      },
    };
  }
}

/** The window a node carries now (its attributes, or the full ring). */
export function nodeWindow(n: Node): { lo: number; k: number } {
  const a = withDefaults(n);
  return { lo: (a.window_lo as number | undefined) ?? 0, k: (a.window_k as number | undefined) ?? 64 };
}
