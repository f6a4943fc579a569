// Statistics of the values secure comparisons compare, and the windows chosen from them
// (narrow-compare's `auto` mode). The values are watched in the fixed-point interpreter
// (ir/interp/fixed/compare-window.ts) on the quantized graph as lower will run it (a ReLU read
// only by a MaxPool after the pool, passes/secure/lower-reorder.ts) with every window full:
// a ReLU's inputs, a BlockRelu's tile sums, a MaxPool's pairwise differences level by level,
// both comparisons of a Clip (x − min and x − max).
//
// The prediction model. A window (lo, k) reads the sign of y = floor(x / 2^lo) − c mod 2^k,
// c the carry the two shares' low parts lose, 1 with probability (2^lo − 1 − (x mod 2^lo)) / 2^lo
// (P0's share is uniform). Its sign differs from x's true sign (x < 0 in the ring) only when
// (a) x ∈ [0, 2^lo) and the carry is lost: reported negative, or (b) |x| reaches the window's
// range 2^(lo+k−1): the top bits wrap. The predicted sign-error rate of a layer is the mean of
// that probability over its calibration values: Σ_{0 ≤ v < 2^lo} count(v) · (2^lo − 1 − v)/2^lo / N
// for (a), and 0 for (b), because the range keeps a safety margin of one bit over the largest
// |x| seen (values twice that are still read right). `auto` takes, per layer, the largest lo
// (up to MAX_AUTO_LO) whose predicted rate stays under --max-sign-error, then the smallest k
// whose range covers the margin: k = bitlength(2·max|x|) + 1 − lo, at least 2. Layers are
// measured with every window full, so the (small) effect of one layer's window on the values
// of the layers after it is not in the prediction.
import type { Graph, Node } from '../../ir/graph.js';
import { makeNode, replaceGraph } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import type { CompareSimulation } from '../../ir/interp/fixed/index.js';
import { runPipeline } from '../manager.js';
import { poolBeforeActivation } from '../secure/lower-reorder.js';
import { COMPARE_OPS, type PlanWindow } from './plan-file.js';

/** The largest lo `auto` considers (values below 2^MAX_AUTO_LO are counted one by one). */
export const MAX_AUTO_LO = 16;

/** What one comparison node compared during calibration. */
export interface CompareStat {
  readonly name: string;
  readonly op: string;
  /** Values compared. */
  n: number;
  /** Largest |value| in ring units (ulps). */
  maxAbs: number;
  /** count[v]: values equal to v, for 0 ≤ v < 2^MAX_AUTO_LO (the ones a lost carry can flip). */
  readonly small: Float64Array;
  /** count[b]: values whose |x| has bit length b (0..64). */
  readonly bitLengths: Float64Array;
}

/** Values of `s` with |x| ≥ 2^m (ulps): those a window whose sign bit is bit m reads wrapped. */
export function beyondRange(s: CompareStat, m: number): number {
  let count = 0;
  for (let b = m + 1; b < s.bitLengths.length; b++) count += s.bitLengths[b];
  return count;
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
    if (!s) this.byNode.set(node.name, (s = { name: node.name, op: node.op, n: 0, maxAbs: 0, small: new Float64Array(2 ** MAX_AUTO_LO), bitLengths: new Float64Array(65) }));
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    let max = s.maxAbs;
    for (let i = 0; i < values.length; i++) {
      const low = words[2 * i], high = words[2 * i + 1] | 0;
      const v = high * 4294967296 + low;
      const abs = v < 0 ? -v : v;
      if (abs > max) max = abs;
      s.bitLengths[abs < 4294967296 ? 32 - Math.clz32(abs) : 64 - Math.clz32(Math.floor(abs / 4294967296))]++;
      if (high === 0 && low < s.small.length) s.small[low]++;
    }
    s.maxAbs = max;
    s.n += values.length;
  }
}

/** The predicted sign-error rate of window (lo, ·) over `s` (the file comment's model, case (a)). */
export function predictedSignError(s: CompareStat, lo: number): number {
  if (s.n === 0 || lo === 0) return 0;
  if (lo > MAX_AUTO_LO) throw new RangeError(`predictedSignError: lo ${lo} > ${MAX_AUTO_LO}`);
  const span = 2 ** lo;
  let expected = 0;
  for (let v = 0; v < span; v++) if (s.small[v] > 0) expected += (s.small[v] * (span - 1 - v)) / span;
  return expected / s.n;
}

/** Bits k of a window starting at lo whose range 2^(lo+k−1) exceeds twice maxAbs (ulps). */
export function bitsForRange(maxAbs: number, lo: number): number {
  const needed = Math.max(1, Math.ceil(Math.log2(2 * maxAbs + 1))); // lo + k − 1 ≥ needed
  return Math.min(64 - lo, Math.max(2, needed + 1 - lo));
}

/** The auto window of one layer: the largest lo with a predicted rate ≤ maxSignError, the
 * smallest k covering the range with its margin; 64 bits for a layer without statistics. */
export function autoWindow(s: CompareStat | undefined, op: string, name: string, frac: number, maxSignError: number): PlanWindow {
  if (!s || s.n === 0) return { name, op, lo: 0, k: 64, predictedSignError: null, maxAbs: null, samples: 0 };
  let lo = 0;
  const needed = Math.max(1, Math.ceil(Math.log2(2 * s.maxAbs + 1)));
  for (let l = Math.min(MAX_AUTO_LO, needed - 1); l > 0; l--) {
    if (predictedSignError(s, l) <= maxSignError) {
      lo = l;
      break;
    }
  }
  return { name, op, lo, k: bitsForRange(s.maxAbs, lo), predictedSignError: predictedSignError(s, lo), maxAbs: s.maxAbs / 2 ** frac, samples: s.n };
}

/** The comparison nodes of `g` (ops that take a window), in graph order. */
export function compareNodes(g: Graph): Node[] {
  return g.nodes.filter((n) => COMPARE_OPS.includes(n.op));
}

/** Auto windows for every comparison node of float graph `g` from `stats`. */
export function autoWindows(g: Graph, stats: CompareStatistics, frac: number, maxSignError: number): PlanWindow[] {
  return compareNodes(g).map((n) => autoWindow(stats.byNode.get(n.name), n.op, n.name, frac, maxSignError));
}

/** Per comparison node: values compared and how many the window read with the wrong sign,
 * from an interpreter run with simulated lost carries (sign-error measurement). */
export class SignErrorCounter {
  readonly byNode = new Map<string, { op: string; n: number; errors: number; window: { lo: number; k: number } }>();

  /** The simulation to give the fixed-point interpreter: lost carries drawn, every sign checked. */
  simulation(): CompareSimulation {
    return {
      carries: 'shares',
      observe: (node, values, negative, window) => {
        let e = this.byNode.get(node.name);
        if (!e) this.byNode.set(node.name, (e = { op: node.op, n: 0, errors: 0, window }));
        const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
        for (let i = 0; i < values.length; i++) if (((words[2 * i + 1] >>> 31) & 1) !== negative[i]) e.errors++;
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
