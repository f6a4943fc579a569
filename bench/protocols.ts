// `npm run bench -- protocols [--json] [--n N]`: bytes, rounds and throughput of the secure
// protocols, three parties in one process (in-process transport), n = 10^5 elements by
// default. Every row stands beside the seed paper's bytes (its formulas: DReLU 112 + 6k,
// ReLU 536 at k = 64, select 24 (+16 per patch), conv 16|X| + 16|W| + 8|Y|), this project's
// target, and the plaintext throughput of the same function measured in the same run. The
// bytes are read from the session counters and checked against the cost table; every
// secure result is checked against plaintext before it is reported.

import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { conv2d } from '../runtime/ring/ring.js';
import type { Conv2dParams, PoolParams } from '../runtime/ring/windows.js';
import { createInProcessSessions } from '../runtime/transport/in-process.js';
import type { PartySession } from '../runtime/session/party-session.js';
import type { Session } from '../runtime/session/session.js';
import { compareWindow, drelu } from '../runtime/protocols/compare.js';
import type { CompareBit } from '../runtime/protocols/compare.js';
import { select } from '../runtime/protocols/select.js';
import { relu } from '../runtime/protocols/relu.js';
import { blockLayout, blockRelu } from '../runtime/protocols/block-relu.js';
import { clip } from '../runtime/protocols/clip.js';
import { maxPool, maxPoolLevels } from '../runtime/protocols/maxpool.js';
import { applyWeights, convMap, setupWeights } from '../runtime/protocols/weights.js';
import { PROTOCOL_COSTS, totalBytes } from '../runtime/protocols/costs.js';
import { runInWorkers } from '../runtime/transport/workers.js';
import type { TimedRuns } from './protocol-jobs.js';
import type { Cost } from '../runtime/protocols/costs.js';

/** One row of the table / JSON output. */
interface Row {
  op: string;
  /** What distinguishes rows of the same op (patch broadcast, layer shape). */
  variant: string | null;
  k: number | null;
  n: number;
  /** Bytes sent by P0, P1, P2 (all phases) per invocation. */
  bytesByParty: [number, number, number];
  bytesPerElement: number;
  /** Bytes per element sent once per session (weights), reported apart. */
  oneTimePerElement: number;
  rounds: number;
  elementsPerSecond: number;
  /** Elements per second of this process's CPU time (all three parties share one thread; on
   * a loaded machine this is the steadier figure). */
  elementsPerCpuSecond: number;
  /** Plaintext throughput of the same function, same data, same run. */
  plaintextPerSecond: number;
  paperBytesPerElement: number | null;
  targetBytesPerElement: number | null;
}

function randomRing(n: number): BigUint64Array {
  return new BigUint64Array(randomBytes(8 * n).buffer);
}

/** Random signed values below 2^bits in magnitude. */
function randomSigned(n: number, bits: number): BigUint64Array {
  const r = randomRing(n);
  const span = 1n << BigInt(bits);
  for (let i = 0; i < n; i++) r[i] = (r[i] % (2n * span)) - span;
  return r;
}

function split(x: BigUint64Array): BigUint64Array[] {
  const r = randomRing(x.length);
  const x0 = new BigUint64Array(x.length);
  for (let i = 0; i < x.length; i++) x0[i] = x[i] - r[i];
  return [x0, r, new BigUint64Array(x.length)];
}

function join(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench protocols: ${what} disagrees with plaintext`);
}

/** Best wall time of `reps` runs of fn on all three parties (after one warm-up run), and the
 * counters of one run. */
async function measure<T>(ss: PartySession[], reps: number, fn: (s: Session) => Promise<T>) {
  const sent = () => ss.map((s) => s.counters.sent.online + s.counters.sent.preprocessing + s.counters.sent.oneTime);
  const rounds = () => ss.map((s) => s.counters.rounds);
  let out = await Promise.all(ss.map(fn));
  let best = Infinity;
  let bestCpu = Infinity;
  let bytes: number[] = [];
  let depth = 0;
  for (let r = 0; r < reps; r++) {
    const b0 = sent();
    const r0 = rounds();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    out = await Promise.all(ss.map(fn));
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
    const b1 = sent();
    const r1 = rounds();
    bytes = b1.map((v, i) => v - b0[i]);
    depth = Math.max(...r1.map((v, i) => v - r0[i]));
  }
  return { out, seconds: best, cpuSeconds: bestCpu, bytes: bytes as [number, number, number], rounds: depth };
}

/** Plaintext time of fn (best of a few runs). */
function plainTime(fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

function row(
  [op, variant]: [string, string | null],
  k: number | null,
  n: number,
  m: { seconds: number; cpuSeconds: number; bytes: [number, number, number]; rounds: number },
  cost: Cost,
  plainSeconds: number,
  paper: number | null,
  target: number | null,
  oneTime = 0,
): Row {
  const total = m.bytes[0] + m.bytes[1] + m.bytes[2];
  if (total !== totalBytes(cost) || m.rounds !== cost.rounds)
    throw new Error(`bench protocols: ${op} sent ${total} B in ${m.rounds} rounds, the cost table says ${totalBytes(cost)} B in ${cost.rounds}`);
  return {
    op,
    variant,
    k,
    n,
    bytesByParty: m.bytes,
    bytesPerElement: total / n,
    oneTimePerElement: oneTime / n,
    rounds: m.rounds,
    elementsPerSecond: n / m.seconds,
    elementsPerCpuSecond: n / m.cpuSeconds,
    plaintextPerSecond: n / plainSeconds,
    paperBytesPerElement: paper,
    targetBytesPerElement: target,
  };
}

/** [x ≥ 0] in plaintext (the baseline of the comparisons). */
function plainSign(x: BigUint64Array): Uint8Array {
  const s = new BigInt64Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = s[i] >= 0n ? 1 : 0;
  return out;
}

const DRELU_TARGET: Record<number, number> = { 64: 220, 16: 64 };

async function comparisonRows(ss: PartySession[], n: number, reps: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const k of [64, 32, 16, 8]) {
    const x = randomSigned(n, k - 2);
    const sh = split(x);
    const w = { lo: 0, k };
    const m = await measure(ss, reps, (s) => drelu(s, sh[s.id], w));
    const want = plainSign(x);
    const got = join(m.out[0], m.out[1]);
    check(got.every((b, i) => b === BigInt(want[i])), `drelu k=${k}`);
    rows.push(row(['drelu', null], k, n, m, PROTOCOL_COSTS.compare({ n, k }), plainTime(() => plainSign(x)), 112 + 6 * k, DRELU_TARGET[k] ?? null));
  }
  {
    const k = 64;
    const x = randomSigned(n, 40);
    const sh = split(x);
    const m = await measure(ss, reps, (s) => relu(s, sh[s.id], { lo: 0, k }));
    const got = join(m.out[0], m.out[1]);
    const plainRelu = () => {
      const sg = plainSign(x);
      const y = new BigUint64Array(n);
      for (let i = 0; i < n; i++) y[i] = sg[i] ? x[i] : 0n;
      return y;
    };
    const want = plainRelu();
    check(got.every((v, i) => v === want[i]), 'relu');
    rows.push(row(['relu', null], k, n, m, PROTOCOL_COSTS.relu({ n, k }), plainTime(plainRelu), 536, 220 + 24));
  }
  return rows;
}

/** DReLU with each party on its own worker thread (the parties compute in parallel on the
 * machine's cores): wall time of the best run, the slowest party's time of that run. */
async function workerRows(n: number, reps: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const k of [64, 16]) {
    const x = randomSigned(n, k - 2);
    const shares = split(x);
    const res = await runInWorkers<TimedRuns>(new URL('./protocol-jobs.js', import.meta.url), 'dreluRuns', { shares, k, reps });
    const want = plainSign(x);
    const got = join(res[0].out, res[1].out);
    check(got.every((b, i) => b === BigInt(want[i])), `drelu k=${k} (workers)`);
    const seconds = Math.min(...res[0].seconds.map((_, r) => Math.max(...res.map((p) => p.seconds[r]))));
    const m = { seconds, cpuSeconds: NaN, bytes: res.map((p) => p.sent) as [number, number, number], rounds: Math.max(...res.map((p) => p.rounds)) };
    rows.push(row(['drelu', 'worker threads'], k, n, m, PROTOCOL_COSTS.compare({ n, k }), plainTime(() => plainSign(x)), 112 + 6 * k, DRELU_TARGET[k] ?? null));
  }
  return rows;
}

async function selectRows(ss: PartySession[], n: number, reps: number): Promise<Row[]> {
  const rows: Row[] = [];
  // Per element: bits from a comparison made beforehand, then the selection alone.
  const v = randomSigned(n, 30);
  const vs = split(v);
  const x = randomRing(n);
  const xs = split(x);
  const bits = (await Promise.all(ss.map((s) => compareWindow(s, vs[s.id], { lo: 0, k: 32 })))) as CompareBit[];
  const plainSelect = (map: Int32Array | null) => () => {
    const sg = plainSign(v);
    const y = new BigUint64Array(n);
    for (let i = 0; i < n; i++) y[i] = sg[map ? map[i] : i] ? x[i] : 0n;
    return y;
  };
  const m = await measure(ss, reps, (s) => select(s, xs[s.id], bits[s.id]));
  const want = plainSelect(null)();
  check(join(m.out[0], m.out[1]).every((y, i) => y === want[i]), 'select');
  rows.push(row(['select', 'bit per element'], null, n, m, PROTOCOL_COSTS.select({ n }), plainTime(plainSelect(null)), 24, 24));

  // One bit per 2×2 patch: an [1, C, 100, 100]-like map of n elements.
  const side = 100;
  const c = Math.max(1, Math.floor(n / (side * side)));
  const shape = [1, c, side, side] as const;
  const ne = c * side * side;
  const { patchOf, patches } = blockLayout(shape, Array.from({ length: c }, () => [2, 2] as const));
  const pv = v.subarray(0, patches);
  const pvs = split(pv);
  const pbits = (await Promise.all(ss.map((s) => compareWindow(s, pvs[s.id], { lo: 0, k: 32 })))) as CompareBit[];
  const xe = xs.map((a) => a.subarray(0, ne));
  const mb = await measure(ss, reps, (s) => select(s, xe[s.id], pbits[s.id], patchOf));
  const got = join(mb.out[0], mb.out[1]);
  const sg = plainSign(pv);
  check(got.every((y, i) => y === (sg[patchOf[i]] ? x[i] : 0n)), 'select 2x2');
  rows.push(row(['select', 'bit per 2×2 patch'], null, ne, mb, PROTOCOL_COSTS.select({ n: ne }), plainTime(plainSelect(null)), 24 + 16 / 4, 24 + 8 / 4));

  // Block-ReLU 2×2 at k = 16: one comparison per patch, one selection per element.
  const xb = randomSigned(ne, 10);
  const xbs = split(xb);
  const blocks = Array.from({ length: c }, () => [2, 2] as const);
  const mr = await measure(ss, reps, (s) => blockRelu(s, xbs[s.id], shape, blocks, { lo: 0, k: 16 }));
  const sums = new BigUint64Array(patches);
  for (let i = 0; i < ne; i++) sums[patchOf[i]] += xb[i];
  const ps = plainSign(sums);
  check(join(mr.out[0], mr.out[1]).every((y, i) => y === (ps[patchOf[i]] ? xb[i] : 0n)), 'block-relu 2x2');
  rows.push(
    row(['blockRelu', '2×2 patches'], 16, ne, mr, PROTOCOL_COSTS.blockRelu({ patches, selected: ne, k: 16 }), plainTime(() => plainSign(sums)), (112 + 6 * 16 + 16) / 4 + 24, (64 + 8) / 4 + 24),
  );
  return rows;
}

async function poolingRows(ss: PartySession[], n: number, reps: number, quick: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  // ReLU6 = Clip(0, 6) on 12 fractional bits, both comparisons in the same three rounds.
  const f = 12n;
  const x = randomSigned(n, 16);
  const sh = split(x);
  const hi = 6n << f;
  const m = await measure(ss, reps, (s) => clip(s, sh[s.id], 0n, hi, { lo: 0, k: 32 }));
  const signed = new BigInt64Array(x.buffer);
  const plainClip = () => {
    const y = new BigUint64Array(n);
    for (let i = 0; i < n; i++) y[i] = signed[i] < 0n ? 0n : signed[i] > hi ? hi : signed[i];
    return y;
  };
  const want = plainClip();
  check(join(m.out[0], m.out[1]).every((v, i) => v === want[i]), 'clip');
  rows.push(row(['clip', 'ReLU6, two comparisons'], 32, n, m, PROTOCOL_COSTS.clip({ n, k: 32 }), plainTime(plainClip), null, null));

  // MaxPool 3×3 stride 2 pad 1 (ResNet stem), per output element.
  const c = quick ? 4 : 16;
  const p: PoolParams = { inShape: [1, c, 56, 56], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
  const xp = randomSigned(c * 56 * 56, 20);
  const xps = split(xp);
  const mp = await measure(ss, reps, (s) => maxPool(s, xps[s.id], p, { lo: 0, k: 32 }));
  const outs = mp.out[0].length;
  const plainMax = () => {
    const y = new BigUint64Array(outs);
    const sx = new BigInt64Array(xp.buffer);
    let o = 0;
    for (let ch = 0; ch < c; ch++)
      for (let oy = 0; oy < 28; oy++)
        for (let ox = 0; ox < 28; ox++) {
          let best = -(1n << 63n);
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const iy = 2 * oy - 1 + ky;
              const ix = 2 * ox - 1 + kx;
              if (iy >= 0 && iy < 56 && ix >= 0 && ix < 56 && sx[(ch * 56 + iy) * 56 + ix] > best) best = sx[(ch * 56 + iy) * 56 + ix];
            }
          y[o++] = BigInt.asUintN(64, best);
        }
    return y;
  };
  const wantMax = plainMax();
  check(join(mp.out[0], mp.out[1]).every((v, i) => v === wantMax[i]), 'maxpool');
  const levels = maxPoolLevels(p);
  rows.push(row(['maxPool', `3×3/2 on ${c}×56×56, per output`], 32, outs, mp, PROTOCOL_COSTS.maxPool({ levels, k: 32 }), plainTime(plainMax), null, null));
  return rows;
}

async function convRows(ss: PartySession[], reps: number, quick: boolean): Promise<Row[]> {
  const side = quick ? 14 : 56;
  const ch = quick ? 16 : 64;
  const p: Conv2dParams = { inShape: [1, ch, side, side], weightShape: [ch, ch, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
  const map = convMap(p);
  const w = randomSigned(map.wSize, 12);
  const x = randomSigned(map.xSize, 20);
  const xs = split(x);
  const wb = ss.map((s) => s.counters.sent.oneTime);
  const keys = await Promise.all(ss.map((s) => setupWeights(s, map, s.id === 1 ? w : null, 'bench-conv')));
  const oneTime = ss.reduce((t, s, i) => t + s.counters.sent.oneTime - wb[i], 0);
  const m = await measure(ss, reps, (s) => applyWeights(s, keys[s.id], xs[s.id]));
  const want = conv2d(x, w, p);
  check(join(m.out[0], m.out[1]).every((y, i) => y === want[i]), 'conv');
  const n = map.ySize;
  const paper = (16 * map.xSize + 16 * map.wSize + 8 * map.ySize) / n;
  const target = (8 * map.xSize + 8 * map.ySize) / n;
  return [row(['conv', `${ch}→${ch} 3×3 on ${side}×${side}, per output`], null, n, m, PROTOCOL_COSTS.applyWeights({ xSize: map.xSize, ySize: map.ySize }), plainTime(() => conv2d(x, w, p)), paper, target, oneTime)];
}

const fmt = (v: number | null, d = 1): string => (v === null ? '—' : v.toFixed(d));
const big = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(0)}k` : v.toFixed(0));

function printTable(rows: Row[], n: number): void {
  const head = ['op', 'variant', 'k', 'n', 'P0 B', 'P1 B', 'P2 B', 'B/elem', 'target', 'paper', 'rounds', 'elem/s', 'elem/cpu-s', 'plain elem/s'];
  const body = rows.map((r) => [
    r.op,
    r.variant ?? '',
    r.k === null ? '—' : String(r.k),
    String(r.n),
    big(r.bytesByParty[0]),
    big(r.bytesByParty[1]),
    big(r.bytesByParty[2]),
    fmt(r.bytesPerElement, 2) + (r.oneTimePerElement ? ` (+${fmt(r.oneTimePerElement, 2)} once)` : ''),
    fmt(r.targetBytesPerElement),
    fmt(r.paperBytesPerElement),
    String(r.rounds),
    big(r.elementsPerSecond),
    Number.isNaN(r.elementsPerCpuSecond) ? '—' : big(r.elementsPerCpuSecond),
    big(r.plaintextPerSecond),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const load = loadavg()[0].toFixed(1);
  process.stdout.write(`protocols, three parties in one process (one thread; 'worker threads' rows: one thread per party), n = ${n}, load average ${load}\n`);
  process.stdout.write('B/elem: all parties, all phases (P2 → P1 corrections are preprocessing); elem/s: wall clock; elem/cpu-s: per second of CPU time\n');
  process.stdout.write(line(head) + '\n' + body.map(line).join('\n') + '\n');
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const ni = args.indexOf('--n');
  const n = ni >= 0 ? Number(args[ni + 1]) : quick ? 10_000 : 100_000;
  const reps = quick ? 1 : 3;
  const ss = await createInProcessSessions();
  try {
    const rows = [...(await comparisonRows(ss, n, reps)), ...(await workerRows(n, reps)), ...(await selectRows(ss, n, reps)), ...(await poolingRows(ss, n, reps, quick)), ...(await convRows(ss, reps, quick))];
    if (json) {
      const out = rows.map((r) => ({
        op: r.op,
        variant: r.variant,
        k: r.k,
        n: r.n,
        bytesPerElement: r.bytesPerElement,
        rounds: r.rounds,
        elementsPerSecond: Math.round(r.elementsPerSecond),
        elementsPerCpuSecond: Number.isNaN(r.elementsPerCpuSecond) ? null : Math.round(r.elementsPerCpuSecond),
        paperBytesPerElement: r.paperBytesPerElement,
        bytesByParty: r.bytesByParty,
        oneTimeBytesPerElement: r.oneTimePerElement,
        targetBytesPerElement: r.targetBytesPerElement,
        plaintextElementsPerSecond: Math.round(r.plaintextPerSecond),
      }));
      process.stdout.write(JSON.stringify(out) + '\n');
    } else printTable(rows, n);
  } finally {
    await Promise.all(ss.map((s) => s.close()));
  }
}
