// `--ring auto`: the smallest ring Z_2^ℓ (ℓ ∈ 32, 40, 48, 56, 64) a client-offline program can run
// in, chosen from the values the calibration samples make. In that mode every truncation is exact
// (⌊v / 2^bits⌋ or one less) while |v| < 2^(ℓ − 2), and every other step is a ring homomorphism
// (passes/secure/lower-client-offline.ts), so the ring only has to hold the values. The values it
// has to hold, measured by the fixed-point interpreter on the quantized graph lower takes, in ring
// units (ulps):
//   - every Truncate's input (a product at f + w bits, its bias in);
//   - every average pool's exact division's input: the window sums times round(2^b / D), which
//     lower makes of the pool (b = divide_bits, 16 by default), bounded from the pool's result
//     by (|avg| + 1)·(2^b + D/2); a single power-of-two D = 2^s is the sums themselves (b = s);
//   - every value a comparison on the full window compares, as the helper compares it,
//     c = 2^bits·x + (v mod 2^bits) with the truncation by `bits` folded in (a ReLU's input x, a
//     block-ReLU's tile sums of P elements), bounded by (|x| + P)·2^bits.
// M is the largest of them; ℓ is the smallest ring with M·2^MARGIN < 2^(ℓ − 2), MARGIN = 3 bits (a
// factor 8 over what calibration saw), and no narrowed window above it: a comparison on bits
// [lo, lo + k) of c (narrow-compare's window moved up by `bits`) reads the same bits of c mod 2^ℓ
// whatever c's magnitude when lo + bits + k ≤ ℓ (its own range is narrow-compare's business, with
// its own error bound), so it asks only that of the ring, never a magnitude. A value beyond 2^(ℓ − 2) at inference wraps and ruins that
// inference's output; nothing else in the protocols fails silently. Without calibration samples
// the ring stays Z_2^64.
// Inside a wider ring, a (block-)ReLU with no truncation folded in (a MaxPool's tree levels, the
// ReLU behind a pool) may select in Z_2^24 or Z_2^32 (NARROW_RINGS; lower-client-offline.ts
// window_ring and SecureLift): auto marks it with the smaller of them in which every value it and
// the carrying local ops after it make (and its compared value, on a full window) stays under
// 2^(r − 2) ulps with the same margin and its narrowed window ends at bit r or below, and whose
// lift's shift (the program's ring minus r) the exact truncation takes (≤ 32 bits); said in the note.
// Every other (block-)ReLU, which selects in the program's ring, may send the helper its masked
// copies in Z_2^24 or Z_2^32 (COPY_RINGS; runtime/protocols/copy-ring.ts, lower's copy_ring): auto
// marks it with the smaller of them below the ring (within ℓ − r ≤ 32) in which its input, the
// value it selects, stays under 2^(r − 2) ulps with the same margin; said in the note.
// An average pool whose divisor is not a single power of two is the one value whose size is a
// choice: its reciprocal's bits b trade the pool's relative error D/2^(b+1) for 2^b of range
// (16 bits: resnet50's 7×7 global pool at 11 fractional bits reaches 2^30.3, above Z_2^32's
// bound). So M leaves such pools out, a ring must also fit each of them at some b ≥
// ⌈log2 D⌉ + RING_AUTO.poolErrorBits (relative error ≤ 2^-(poolErrorBits + 1)), and each pool
// takes the largest b ≤ 16 its ring fits (16 in Z_2^64): the pool's divide_bits, set before
// lower (compiler/driver.ts), and said in the note when below 16.
import type { Graph, Node } from '../ir/graph.js';
import { consumers, makeGraph, producers } from '../ir/graph.js';
import { carriesNarrow, resizeTruncates } from '../passes/secure/lower-client-offline.js';
import { withDefaults } from '../ir/ops/index.js';
import { blockSizesOf } from '../ir/ops/block-relu.js';
import { windowOf } from '../ir/ops/window.js';
import { runGraphFixed } from '../ir/interp/fixed/index.js';
import { Tensor } from '../ir/tensor.js';
import { numel } from '../ir/types.js';
import { AVG_SHIFT } from '../runtime/protocols/linear.js';
import { poolTruncationBits } from '../ir/interp/fixed/params.js';
import { RING_BITS, type RingBits } from '../runtime/program/program.js';
import { MAX_EXACT_TRUNCATION_BITS } from '../runtime/protocols/truncate-exact.js';
import { COPY_RINGS, MAX_COPY_LIFT_BITS } from '../runtime/protocols/copy-ring.js';
import { type ProgressSink, NO_PROGRESS } from './cli-support.js';
import { diag } from '../runtime/diagnostics.js';
import type { CalibrationSet } from './calibration/load.js';

/** auto's constants: the bits of margin it keeps above the largest value calibration saw, the
 * calibration samples it runs through the fixed-point interpreter at most, and the fewest
 * fractional bits its note suggests for a smaller ring. */
export const RING_AUTO = { marginBits: 3, samples: 16, minFrac: 10, poolErrorBits: 6 } as const;

/** An average pool whose reciprocal's bits the ring chooses: the largest |avg| calibration saw
 * (ulps) and its largest divisor D. */
export interface PoolRange {
  readonly node: string;
  readonly avg: number;
  readonly divisor: number;
}

/** The largest value a quantized graph makes on calibration samples, in ring units. */
export interface RingRange {
  /** M: the largest |value| the ring must hold (ulps). */
  readonly largest: number;
  /** The node whose value it is. */
  readonly node: string;
  /** The highest bit + 1 of a narrowed window on the compared value's scale (lo + bits + k), and
   * its node; 0 and '' without one. */
  readonly windowTop: number;
  readonly windowNode: string;
  /** The truncation's bits folded into that window's comparison (windowTop counts them). */
  readonly windowFolded?: number;
  /** Samples run (the first RING_AUTO.samples at most), of `of` given. */
  readonly samples: number;
  readonly of?: number;
  /** The average pools whose reciprocal's bits are chosen with the ring (left out of `largest`). */
  readonly pools?: readonly PoolRange[];
  /** The (block-)ReLUs with no truncation folded in, which may select in a smaller ring (NARROW_RINGS). */
  readonly narrow?: readonly NarrowCandidate[];
  /** Every (block-)ReLU and the largest |x| it selects (ulps), for the helper's copies' ring (COPY_RINGS). */
  readonly copies?: readonly CopyCandidate[];
}

/** A (block-)ReLU and the largest |value| of its input (ulps) calibration saw. */
export interface CopyCandidate {
  readonly node: string;
  largest: number;
}

/** The smaller rings a selection with no truncation folded in may run in inside a wider program
 * (wire.ts SELECTION_RING_BITS below Z_2^40: each its smallest that holds its values; its lift's
 * shift, the program's ring minus it, at most MAX_EXACT_TRUNCATION_BITS). */
export const NARROW_RINGS = [24, 32] as const;

/** A (block-)ReLU with no truncation folded in (a MaxPool tree's levels, a ReLU after a pool):
 * the largest value it and what the local ops after it make of it reach (the values a lift
 * brings back to the program's ring: |x| < 2^(r − 2) with the margin, r in NARROW_RINGS), its compared
 * value on a full window included, in ulps; and its narrowed window's top bit + 1 (0: full). */
export interface NarrowCandidate {
  readonly node: string;
  largest: number;
  readonly windowTop: number;
}

/** What `--ring` chose, and the progress line that says it. */
export interface RingChoice {
  readonly ring: RingBits;
  /** What calibration measured (absent without samples). */
  readonly range?: RingRange;
  readonly note: string;
  /** The reciprocal's bits of each pool of `range.pools` below the default 16, by node. */
  readonly poolBits?: ReadonlyMap<string, number>;
  /** The (block-)ReLUs whose selection runs in a smaller ring, and its bits (NARROW_RINGS: their
   * window_ring, set before lower). */
  readonly narrow?: ReadonlyMap<string, number>;
  /** The (block-)ReLUs in the program's ring whose helper's copies take a smaller ring, and its bits
   * (COPY_RINGS: their copy_ring, set before lower). */
  readonly copies?: ReadonlyMap<string, number>;
}

/** The largest |value| of `values` (ring words), as a double. */
function largestOf(values: BigUint64Array): number {
  const signed = new BigInt64Array(values.buffer, values.byteOffset, values.length);
  let m = 0;
  for (let i = 0; i < signed.length; i++) {
    const x = Math.abs(Number(signed[i]));
    if (x > m) m = x;
  }
  return m;
}

/** The shift of the truncation lower folds into the selection reading `x` (a Truncate producing
 * it, or an Add of one's result and a residual; the largest when both are), 0 when none. */
function foldedBits(x: string, producer: ReadonlyMap<string, Node>): number {
  const bitsOf = (v: string | undefined): number => {
    const t = v === undefined ? undefined : producer.get(v);
    return t?.op === 'Truncate' ? (withDefaults(t).bits as number) : 0;
  };
  const p = producer.get(x);
  if (p?.op === 'Add') return Math.max(...p.inputs.map((i) => bitsOf(i)));
  return bitsOf(x);
}

/** Elements of the largest tile of a BlockRelu (1 for a ReLU). */
function largestTile(n: Node): number {
  if (n.op !== 'BlockRelu') return 1;
  return Math.max(1, ...blockSizesOf(n).map((b) => (b === 'identity' ? 1 : b[0] * b[1])));
}

/** Runs up to RING_AUTO.samples calibration samples through quantized graph `g` (at `frac` bits) and
 * returns M (see the file comment). */
export function measureRingRange(g: Graph, frac: number, calib: CalibrationSet, log: ProgressSink = NO_PROGRESS): RingRange {
  const producer = producers(g);
  // the values to read: Truncates' inputs and average pools' results, kept as graph outputs
  const watched = new Map<string, (m: number) => number>();
  // pools with a choice of reciprocal bits: their largest |avg| by output value
  const pooled = new Map<string, { node: string; divisor: number; avg: number }>();
  for (const n of g.nodes) {
    if (n.op === 'Truncate') watched.set(n.inputs[0], (m) => m);
    else if (n.op === 'AveragePool' || n.op === 'GlobalAveragePool') {
      const d = n.op === 'GlobalAveragePool' ? numel(g.types.get(n.inputs[0])!.shape.slice(2)) : (withDefaults(n).kernel_shape as number[]).reduce((a, b) => a * b, 1);
      if (d > 2 ** AVG_SHIFT) continue;
      const bits = poolTruncationBits(n, g.types.get(n.inputs[0])!.shape);
      // a single power of two: the sums themselves, no choice
      if (bits < AVG_SHIFT && 2 ** bits === d) watched.set(n.outputs[0], (m) => (m + 1) * (2 ** bits + d / 2));
      else pooled.set(n.outputs[0], { node: n.name, divisor: d, avg: 0 });
    }
  }
  // (block-)ReLUs with no truncation folded in, and the values they and the carrying local ops after them make
  const readers = consumers(g);
  const narrow = new Map<string, { candidate: NarrowCandidate; values: string[] }>();
  for (const n of g.nodes) {
    if ((n.op !== 'Relu' && n.op !== 'BlockRelu') || foldedBits(n.inputs[0], producer) > 0) continue;
    const { lo, k } = windowOf(n);
    const values: string[] = [];
    const todo = [n.outputs[0]];
    while (todo.length > 0) {
      const v = todo.pop()!;
      if (values.includes(v)) continue;
      values.push(v);
      for (const r of readers.get(v) ?? []) if (carriesNarrow(r.op)) todo.push(...r.outputs);
    }
    narrow.set(n.name, { candidate: { node: n.name, largest: 0, windowTop: k < 64 ? lo + k : 0 }, values });
  }
  const narrowValues = [...narrow.values()].flatMap((c) => c.values);
  const copies = new Map<string, CopyCandidate>();
  for (const n of g.nodes) if (n.op === 'Relu' || n.op === 'BlockRelu') copies.set(n.name, { node: n.name, largest: 0 });
  const observed = makeGraph({ ...g, outputs: [...new Set([...g.outputs, ...watched.keys(), ...pooled.keys(), ...narrowValues])] });
  let largest = 0;
  let node = '';
  const see = (m: number, name: string) => {
    if (m > largest) [largest, node] = [m, name];
  };
  const [count, ...rest] = calib.shape;
  const shape = g.types.get(g.inputs[0])!.shape;
  const per = numel(rest);
  const samples = Math.min(count, RING_AUTO.samples);
  const byOutput = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) byOutput.set(o, n);
  for (let i = 0; i < samples; i++) {
    log(`--ring auto: measuring the values' range, sample ${i + 1}/${samples}`);
    const x = new Tensor('float32', shape, calib.data.subarray(i * per, (i + 1) * per));
    const observe = (n: Node, values: BigUint64Array): void => {
      if (n.op !== 'Relu' && n.op !== 'BlockRelu') return;
      const copy = copies.get(n.name);
      if (copy) copy.largest = Math.max(copy.largest, largestOf(values));
      if (windowOf(n).k < 64) return;
      const c = narrow.get(n.name)?.candidate;
      if (c) c.largest = Math.max(c.largest, largestOf(values) + largestTile(n));
      see((largestOf(values) + largestTile(n)) * 2 ** foldedBits(n.inputs[0], producer), n.name);
    };
    const run = runGraphFixed(observed, { [g.inputs[0]]: x }, { frac, keep: 'outputs', compare: { observe } });
    for (const [v, bound] of watched) {
      const value = run.ring.get(v);
      if (value) see(bound(largestOf(value.data)), byOutput.get(v)?.name ?? v);
    }
    for (const [v, pool] of pooled) {
      const value = run.ring.get(v);
      if (value) pool.avg = Math.max(pool.avg, largestOf(value.data));
    }
    for (const { candidate, values } of narrow.values()) {
      for (const v of values) {
        const value = run.ring.get(v);
        if (value) candidate.largest = Math.max(candidate.largest, largestOf(value.data));
      }
    }
  }
  let windowTop = 0;
  let windowNode = '';
  let windowFolded = 0;
  for (const n of g.nodes) {
    if (n.op !== 'Relu' && n.op !== 'BlockRelu') continue;
    const { lo, k } = windowOf(n);
    const folded = foldedBits(n.inputs[0], producer);
    const top = lo + folded + k;
    if (k < 64 && top > windowTop) [windowTop, windowNode, windowFolded] = [top, n.name, folded];
  }
  return { largest, node, samples, of: count, windowTop, windowNode, windowFolded, pools: [...pooled.values()], narrow: [...narrow.values()].map((c) => c.candidate), copies: [...copies.values()] };
}

/** The product bound of a pool at reciprocal bits b (see the file comment). */
const poolBound = (p: PoolRange, b: number): number => (p.avg + 1) * (2 ** b + p.divisor / 2);

/** The fewest reciprocal bits auto gives a pool of divisor d (relative error ≤ 2^-(poolErrorBits + 1)). */
export const poolMinBits = (d: number): number => Math.min(AVG_SHIFT, Math.ceil(Math.log2(d)) + RING_AUTO.poolErrorBits);

/** The most reciprocal bits (≤ 16) at which pool `p`, its values scaled by `scale`, fits Z_2^ring
 * with the margin; below poolMinBits: undefined. */
function poolBitsIn(p: PoolRange, ring: number, scale = 1): number | undefined {
  for (let b = AVG_SHIFT; b >= poolMinBits(p.divisor); b--) if (ring === 64 || poolBound(p, b) * scale * 2 ** RING_AUTO.marginBits < 2 ** (ring - 2)) return b;
  return undefined;
}

/** A value of the note, in real units at 2·`frac` fractional bits, and its printed form. */
const realOf = (ulps: number, frac: number): number => ulps / 2 ** (2 * frac);
const fmt = (x: number): string => (x >= 1e4 || (x > 0 && x < 1e-2) ? x.toExponential(2) : x.toPrecision(3));

/** The note's words for what calibration saw. */
const seenOf = (range: RingRange, frac: number): string =>
  `calibration's largest ${fmt(realOf(range.largest, frac))} at '${range.node}' over ${range.of !== undefined && range.of > range.samples ? `the first ${range.samples} of ${range.of} samples` : `${range.samples} sample${range.samples === 1 ? '' : 's'}`}`;

/** `--ring auto` on quantized graph `g` when a node keeps the program in Z_2^64 whatever the
 * values (an interpolating Resize truncates each share: MPCC6029 below 64): that choice, with the
 * node named; undefined when none does. */
export function ringKeptAt64(g: Graph): RingChoice | undefined {
  for (const n of g.nodes) {
    const why = n.op === 'Resize' ? resizeTruncates(n) : undefined;
    if (why) return { ring: 64, note: `ring Z_2^64: node '${n.name}' (${n.op}) keeps the program there: ${why}, which a smaller ring does not allow` };
  }
  return undefined;
}

/** The ring for measured range `range` (undefined: no calibration samples, Z_2^64), with its note
 * (see the file comment); `frac`: the activations' fractional bits, for the note's real units. */
export function chooseRing(range: RingRange | undefined, frac: number): RingChoice {
  if (range === undefined) return { ring: 64, note: 'ring Z_2^64: no calibration samples to measure the values\' range (give --calib, or --ring 32|40|48|56)' };
  const real = (ulps: number) => realOf(ulps, frac);
  const margin = (ring: number) => ring - 2 - Math.log2(Math.max(range.largest, 1));
  const seen = seenOf(range, frac);
  const pools = range.pools ?? [];
  // `scale`: the values' factor at another scale (the hint's); pools must fit at some bits too
  const ringFor = (largest: number, top = range.windowTop, scale = 1): RingBits =>
    RING_BITS.find((l) => l === 64 || (largest * 2 ** RING_AUTO.marginBits < 2 ** (l - 2) && top <= l && pools.every((p) => poolBitsIn(p, l, scale) !== undefined)))!;
  const ring = ringFor(range.largest);
  // A narrowed window that ruled out the ring the values would allow: said in the note.
  const byWindow = ringFor(range.largest, 0) < ring ? `; ${windowReach(range)}` : '';
  // Each pool's reciprocal bits in the ring chosen; below 16, said in the note.
  const poolBits = fitPools(range, ring);
  const pooledNote = poolsNote(range, poolBits);
  const bound = (l: number) => `|v| < 2^(${l - 2}−2f) = ${fmt(real(2 ** (l - 2)))}`;
  // Fewer fractional bits shrink the products' values by 4 per bit: the most bits (down to
  // RING_AUTO.minFrac) that would fit a smaller ring, said as a hint (the scale is the user's).
  // (windows on the compared value's scale move down by 2 bits per bit of f, as its values do)
  // (a pool's product, |avg|·2^b, scales as its result: 1 bit per bit of f)
  const at = (f: number) => ringFor(range.largest * 2 ** (2 * (f - frac)), range.windowTop + 2 * (f - frac), 2 ** (f - frac));
  const fewer = Array.from({ length: Math.max(0, frac - RING_AUTO.minFrac) }, (_, i) => frac - 1 - i).find((f) => at(f) < ring);
  const hint = fewer === undefined ? '' : `; with --frac-bits ${fewer} the same margin would fit about Z_2^${at(fewer)}`;
  const { narrow, narrowNote } = narrowIn(range, ring, frac);
  const { copies, copyNote } = copiesIn(range, ring, narrow, frac);
  const notes = `${narrowNote}${copyNote}`;
  if (ring < 64) return { ring, range, poolBits, narrow, copies, note: `ring Z_2^${ring}: exact truncation holds while ${bound(ring)}; ${seen} (margin ${margin(ring).toFixed(1)} bits)${byWindow}${pooledNote}${notes}${hint}` };
  const widest = RING_BITS[RING_BITS.length - 2];
  if (byWindow) return { ring, range, narrow, copies, note: `ring Z_2^64: ${seen}${byWindow}, above Z_2^${widest}${notes}${hint}` };
  return { ring, range, narrow, copies, note: `ring Z_2^64: ${seen} leaves ${margin(widest).toFixed(1)} bits of margin below Z_2^${widest}'s bound ${bound(widest)}, fewer than ${RING_AUTO.marginBits}${notes}${hint}` };
}

/** The (block-)ReLUs of `range.narrow` that select in a smaller ring inside a program in Z_2^ring,
 * each in the smallest of NARROW_RINGS below `ring` that holds its values with the margin and its
 * narrowed window, within the lift's reach; and the note's words for them. */
function narrowIn(range: RingRange, ring: number, frac: number): { narrow?: ReadonlyMap<string, number>; narrowNote: string } {
  const narrow = new Map<string, number>();
  for (const c of range.narrow ?? []) {
    const r = NARROW_RINGS.find((b) => b < ring && ring - b <= MAX_EXACT_TRUNCATION_BITS && c.largest * 2 ** RING_AUTO.marginBits < 2 ** (b - 2) && c.windowTop <= b);
    if (r !== undefined) narrow.set(c.node, r);
  }
  if (narrow.size === 0) return { narrowNote: '' };
  const largest = Math.max(...(range.narrow ?? []).filter((c) => narrow.has(c.node)).map((c) => c.largest));
  const first = [...narrow.keys()][0];
  const counts = NARROW_RINGS.map((b) => [b, [...narrow.values()].filter((r) => r === b).length] as const).filter(([, count]) => count > 0);
  const rings = counts.map(([b, count]) => (counts.length === 1 ? `Z_2^${b}` : `${count} in Z_2^${b}`)).join(', ');
  const what = narrow.size === 1 ? `'${first}' selects` : `${narrow.size} (block-)ReLUs with no truncation folded in (such as '${first}') select`;
  return { narrow, narrowNote: `; ${what} in ${rings}, lifted back after (their values' largest ${fmt(largest / 2 ** frac)})` };
}

/** The (block-)ReLUs of `range.copies` that select in the program's ring Z_2^ring (not in `narrow`)
 * and send the helper's copies in a smaller ring: each the smallest of COPY_RINGS below `ring`,
 * within MAX_COPY_LIFT_BITS of it, that holds its selected values with the margin; and the note's
 * words for them. */
function copiesIn(range: RingRange, ring: number, narrow: ReadonlyMap<string, number> | undefined, frac: number): { copies?: ReadonlyMap<string, number>; copyNote: string } {
  const copies = new Map<string, number>();
  for (const c of range.copies ?? []) {
    if (narrow?.has(c.node)) continue;
    const r = COPY_RINGS.find((b) => b < ring && ring - b <= MAX_COPY_LIFT_BITS && c.largest * 2 ** RING_AUTO.marginBits < 2 ** (b - 2));
    if (r !== undefined) copies.set(c.node, r);
  }
  if (copies.size === 0) return { copyNote: '' };
  const largest = Math.max(...(range.copies ?? []).filter((c) => copies.has(c.node)).map((c) => c.largest));
  const counts = COPY_RINGS.map((b) => [b, [...copies.values()].filter((r) => r === b).length] as const).filter(([, count]) => count > 0);
  const where = counts.length === 1 ? ` in Z_2^${counts[0][0]}` : ` (${counts.map(([b, count]) => `${count} in Z_2^${b}`).join(', ')})`;
  const what = copies.size === 1 ? `'${[...copies.keys()][0]}' sends the helper its` : `${copies.size} (block-)ReLUs send the helper their`;
  return { copies, copyNote: `; ${what} masked copies${where}, lifted by the top bit (the selected values' largest ${fmt(largest / 2 ** frac)})` };
}

/** Each pool's reciprocal bits in Z_2^ring, those below 16 by node: the most it holds, or the
 * fewest auto gives (poolMinBits) when even those do not fit (an explicit ring: checkRing). */
function fitPools(range: RingRange, ring: number): Map<string, number> {
  const bits = new Map<string, number>();
  for (const p of range.pools ?? []) {
    const b = poolBitsIn(p, ring) ?? poolMinBits(p.divisor);
    if (b < AVG_SHIFT) bits.set(p.node, b);
  }
  return bits;
}

/** The note's words for pools divided with fewer than 16 reciprocal bits. */
function poolsNote(range: RingRange, bits: ReadonlyMap<string, number>): string {
  const pools = range.pools ?? [];
  // the ring every value and window would need with each pool at 16 bits
  const at16 = Math.max(range.largest, ...pools.map((p) => poolBound(p, AVG_SHIFT)));
  const need = RING_BITS.find((l) => l === 64 || (at16 * 2 ** RING_AUTO.marginBits < 2 ** (l - 2) && range.windowTop <= l))!;
  return [...bits].map(([node, b]) => {
    const p = pools.find((q) => q.node === node)!;
    return `; the average pool '${node}' divides with a ${b}-bit reciprocal (relative error ≤ ${((100 * p.divisor) / 2 ** (b + 1)).toPrecision(2)}%; 16 bits would need Z_2^${need})`;
  }).join('');
}

/** An explicit ring (--ring N below 64, client-offline) checked on measured range `range`: the
 * program computes in Z_2^ring whatever the check says (the user's choice); its pools take the
 * most reciprocal bits the ring holds (as auto's), and the note says whether every value fits
 * with auto's margin, and the ring auto would take. */
export function checkRing(range: RingRange, frac: number, ring: RingBits): RingChoice {
  const auto = chooseRing(range, frac);
  const poolBits = fitPools(range, ring);
  const real = (ulps: number) => realOf(ulps, frac);
  const seen = seenOf(range, frac);
  // values the samples already carry past the bound (or a window past the ring) would wrap on
  // the calibration images themselves: every such inference ruined, so no program is made
  if (range.largest >= 2 ** (ring - 2) || range.windowTop > ring) {
    const past = range.windowTop > ring ? windowReach(range) : `${seen}, beyond Z_2^${ring}'s bound |v| < 2^(${ring - 2}−2f) = ${fmt(real(2 ** (ring - 2)))}`;
    throw diag('MPCC6030', [ring, past, auto.ring]);
  }
  const verdict =
    auto.ring <= ring
      ? `every value fits with ${RING_AUTO.marginBits} bits of margin (${seen}; --ring auto would take Z_2^${auto.ring})`
      : `calibration's values need Z_2^${auto.ring} (${seen}); in Z_2^${ring} exact truncation holds only while |v| < 2^(${ring - 2}−2f) = ${fmt(real(2 ** (ring - 2)))}, and a value beyond it wraps and ruins that inference's output`;
  const { narrow, narrowNote } = narrowIn(range, ring, frac);
  const { copies, copyNote } = copiesIn(range, ring, narrow, frac);
  return { ring, range, poolBits, narrow, copies, note: `--ring ${ring}: ${verdict}${poolsNote(range, poolBits)}${narrowNote}${copyNote}` };
}

/** "a narrowed window reaches bit T at 'node'", on the compared value's scale: with a truncation
 * folded into the comparison, the window the plan lists (`mpcc compile`'s window lines) is that
 * many bits lower, and the note says so. */
function windowReach(range: RingRange): string {
  const folded = range.windowFolded ?? 0;
  const own = folded > 0 ? ` (its window's top bit ${range.windowTop - 1 - folded}, read ${folded} bits higher on the value before the truncation the comparison folds in)` : '';
  return `a narrowed window reaches bit ${range.windowTop - 1} at '${range.windowNode}'${own}`;
}
