// `npm run bench -- ring [--json] [--quick]`: throughput of the ring arithmetic, fast kernels
// (runtime/ring/ring.ts) beside the BigInt reference (runtime/ring/ring-reference.ts) in the same run, and
// the conv GEMM beside a TypeScript GEMM on Uint32 halves. Each fast result is checked against
// the reference on the benchmarked data (or a slice of it) before it is reported.
import { randomBytes } from 'node:crypto';
import * as fast from '../runtime/ring/ring.js';
import * as ref from '../runtime/ring/ring-reference.js';
import { conv2dOutShape, type Conv2dParams } from '../runtime/ring/windows.js';
import { arena, kernels } from '../runtime/kernels/ring-wasm.js';
import { gemmHalves } from './ring-ts-gemm.js';

/** One row of the table / JSON output. */
interface Row {
  op: string;
  shape: string;
  unit: 'Melem/s' | 'GMAC/s';
  reference: number;
  fast: number;
  speedup: number;
  /** What the reference column measured, when not the same work. */
  note?: string;
}

function randomRing(n: number): BigUint64Array {
  return new BigUint64Array(randomBytes(n * 8).buffer, 0, n);
}

/** Uniform signed 32-bit values as ring elements: weights in fixed point, which the GEMM of
 * 32-bit A (gemm32) takes. */
function random32(n: number): BigUint64Array {
  const w = new Int32Array(randomBytes(n * 4).buffer, 0, n);
  return BigUint64Array.from(w, (v) => BigInt.asUintN(64, BigInt(v)));
}

/** Weights in [−(2^15 − 1), 2^15 − 1] (packA16's range). */
function random16(n: number): BigUint64Array {
  const w = new Int16Array(randomBytes(n * 2).buffer, 0, n);
  return BigUint64Array.from(w, (v) => BigInt.asUintN(64, BigInt(Math.max(v, -(2 ** 15 - 1)))));
}

/** CPU seconds per call (user + system of this process, so other processes sharing the
 * machine do not inflate it): repeats until `minSeconds` passed, reports the best repetition. */
function timeIt(fn: () => void, minSeconds: number): number {
  let best = Infinity;
  let total = 0;
  let reps = 0;
  while (total < minSeconds || reps < 2) {
    const t0 = process.cpuUsage();
    fn();
    const used = process.cpuUsage(t0);
    const dt = (used.user + used.system) / 1e6;
    best = Math.min(best, dt);
    total += dt;
    reps++;
    if (reps >= 50) break;
  }
  return best;
}

function same(a: ArrayLike<bigint | number>, b: ArrayLike<bigint | number>, what: string): void {
  if (a.length !== b.length) throw new Error(`bench ${what}: length mismatch`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) throw new Error(`bench ${what}: mismatch at ${i}`);
}

/** The alternative to JS loops for elementwise ops: chunks copied through wasm memory. */
function wasmCopyThrough(kernel: 'add' | 'mul', a: BigUint64Array, b: BigUint64Array, out: BigUint64Array): BigUint64Array {
  const chunk = 1 << 14;
  const k = kernels();
  arena.reset();
  const [pa, pb, po] = [arena.alloc(chunk), arena.alloc(chunk), arena.alloc(chunk)];
  const [va, vb, vo] = [arena.view(pa, chunk), arena.view(pb, chunk), arena.view(po, chunk)];
  for (let s = 0; s < a.length; s += chunk) {
    const e = Math.min(a.length, s + chunk);
    va.set(a.subarray(s, e));
    vb.set(b.subarray(s, e));
    k[kernel](pa, pb, po, e - s);
    out.set(vo.subarray(0, e - s), s);
  }
  return out;
}

function elementwiseRows(n: number, budget: number): Row[] {
  const a = randomRing(n);
  const b = randomRing(n);
  // Outputs are preallocated and reused (as protocol code can): allocating 8 MB per call
  // would cost more than the loop and hide the difference.
  const o1 = new BigUint64Array(n);
  const o2 = new BigUint64Array(n);
  const reals = Array.from(fast.decode(a.map((v) => v >> 24n), 12));
  const cases: [string, () => unknown, () => unknown][] = [
    ['add', () => ref.add(a, b, o1), () => fast.add(a, b, o2)],
    ['add via wasm (copy in/out)', () => ref.add(a, b, o1), () => wasmCopyThrough('add', a, b, o2)],
    ['sub', () => ref.sub(a, b, o1), () => fast.sub(a, b, o2)],
    ['neg', () => ref.neg(a, o1), () => fast.neg(a, o2)],
    ['mul', () => ref.mul(a, b, o1), () => fast.mul(a, b, o2)],
    ['mul via wasm (copy in/out)', () => ref.mul(a, b, o1), () => wasmCopyThrough('mul', a, b, o2)],
    ['scale', () => ref.scale(a, 4097n, o1), () => fast.scale(a, 4097n, o2)],
    ['truncShare p0', () => ref.truncShare(a, 12, 0, o1), () => fast.truncShare(a, 12, 0, o2)],
    ['truncShare p1', () => ref.truncShare(a, 12, 1, o1), () => fast.truncShare(a, 12, 1, o2)],
    ['encode', () => ref.encode(reals, 12), () => fast.encode(reals, 12)],
    ['decode', () => ref.decode(a, 12), () => fast.decode(a, 12)],
  ];
  return cases.map(([op, r, f]) => {
    same((f() as BigUint64Array).slice(), r() as ArrayLike<bigint>, op);
    const tr = timeIt(r, budget);
    const tf = timeIt(f, budget);
    return { op, shape: `n=${n}`, unit: 'Melem/s', reference: n / tr / 1e6, fast: n / tf / 1e6, speedup: tr / tf };
  });
}

interface ConvCase {
  name: string;
  c: number;
  o: number;
  h: number;
  k: number;
  stride: number;
  group?: number;
}

function convParams(s: ConvCase, o = s.o): Conv2dParams {
  const pad = (s.k - 1) >> 1;
  const group = s.group ?? 1;
  return {
    inShape: [1, s.c, s.h, s.h],
    weightShape: [o, s.c / group, s.k, s.k],
    strides: [s.stride, s.stride],
    pads: [pad, pad, pad, pad],
    dilations: [1, 1],
    group,
  };
}

function macs(p: Conv2dParams): number {
  const [, o, oh, ow] = conv2dOutShape(p);
  const [, cg, kh, kw] = p.weightShape;
  return o * oh * ow * cg * kh * kw;
}

/** Conv layers of ResNet18/50 (224×224 ImageNet) and one depthwise layer of MobileNetV2. */
const CONVS: ConvCase[] = [
  { name: 'stem 3→64 7×7/2', c: 3, o: 64, h: 224, k: 7, stride: 2 },
  { name: '64→64 3×3', c: 64, o: 64, h: 56, k: 3, stride: 1 },
  { name: '256→64 1×1', c: 256, o: 64, h: 56, k: 1, stride: 1 },
  { name: '64→256 1×1', c: 64, o: 256, h: 56, k: 1, stride: 1 },
  { name: '128→128 3×3', c: 128, o: 128, h: 28, k: 3, stride: 1 },
  { name: '256→256 3×3', c: 256, o: 256, h: 14, k: 3, stride: 1 },
  { name: '512→512 3×3', c: 512, o: 512, h: 7, k: 3, stride: 1 },
  { name: '1024→2048 1×1/2', c: 1024, o: 2048, h: 14, k: 1, stride: 2 },
  { name: 'depthwise 144 3×3', c: 144, o: 144, h: 56, k: 3, stride: 1, group: 144 },
];

/** How a convolution row runs: 64-bit weights (the GEMM of any A); 32-bit weights kept packed
 * as P1 keeps its clear weights (keepConvWeights: gemm32, no packing per call); the same in a
 * program on Z_2^32 (gemmRing32: only the outputs' low words, checked against the reference's);
 * 16-bit weights kept packed in a program on Z_2^40 or Z_2^48 (gemmRing48: the low 48 bits). */
type ConvKind = 'any' | 'narrow' | 'ring32' | 'ring48';
const KIND_NOTE: Record<ConvKind, string> = { any: '', narrow: '32-bit weights kept packed (gemm32)', ring32: 'in Z_2^32: 32-bit weights kept packed (gemmRing32)', ring48: 'in Z_2^48: 16-bit weights kept packed (gemmRing48)' };
const KIND_RING: Record<ConvKind, number> = { any: 64, narrow: 64, ring32: 32, ring48: 48 };

/** A kind's weights: any 64-bit, 32-bit, or 16-bit (ring48). */
function kindWeights(kind: ConvKind, n: number): BigUint64Array {
  return kind === 'any' ? randomRing(n) : kind === 'ring48' ? random16(n) : random32(n);
}

/** Each layer three times (ConvKind). */
function convRows(budget: number, quick: boolean): Row[] {
  // (A depthwise layer has its own kernel, the same for all.)
  const kinds: ConvKind[] = ['any', 'narrow', 'ring32', 'ring48'];
  const cases = (quick ? CONVS.slice(1, 3) : CONVS).flatMap((s) => (s.group ? [{ s, kind: 'any' as ConvKind }] : kinds.map((kind) => ({ s, kind }))));
  return cases.map(({ s, kind }) => convRow(s, kind, budget));
}

const lowBits = (a: BigUint64Array, bits: number): BigUint64Array => a.map((v) => BigInt.asUintN(bits, v));

function convRow(s: ConvCase, kind: ConvKind, budget: number): Row {
  {
    const narrow = kind !== 'any';
    const ring = KIND_RING[kind];
    const p = convParams(s);
    const [, c, h, w] = p.inShape;
    const [o, cg, kh, kw] = p.weightShape;
    const x = randomRing(c * h * w);
    const wt = kindWeights(kind, o * cg * kh * kw);
    if (narrow) fast.keepConvWeights(wt, p, ring);
    // The reference (BigInt, ~10^7 MAC/s) runs on the first few output channels only.
    const oRef = s.group ? s.group : Math.min(o, 2);
    const pRef = s.group ? p : convParams(s, oRef);
    const wRef = wt.subarray(0, oRef * cg * kh * kw);
    let yFast: BigUint64Array = new BigUint64Array(0);
    const tf = timeIt(() => (yFast = fast.conv2d(x, wt, p, undefined, ring)), budget);
    const yRef = ref.conv2d(x, wRef, pRef);
    if (ring < 64) same(lowBits(yFast.subarray(0, yRef.length), ring), lowBits(yRef, ring), `${s.name} in Z_2^${ring}`);
    else same(yFast.subarray(0, yRef.length), yRef, s.name);
    const tr = timeIt(() => ref.conv2d(x, wRef, pRef), 0);
    const gf = macs(p) / tf / 1e9;
    const gr = macs(pRef) / tr / 1e9;
    const notes = [KIND_NOTE[kind], pRef === p ? '' : `reference on ${oRef} output channels`].filter((t) => t);
    return {
      op: 'conv2d', shape: `${s.name} on ${h}×${w}`, unit: 'GMAC/s', reference: gr, fast: gf, speedup: gf / gr,
      note: notes.length ? notes.join('; ') : undefined,
    };
  }
}

/** The conv GEMM of the 64→64 3×3 layer on a 56-column block: wasm vs TypeScript halves. */
function gemmRow(budget: number): Row {
  const m = 64;
  const k = 576;
  const n = 56;
  const a = randomRing(m * k);
  const b = randomRing(k * n);
  const bT = new BigUint64Array(n * k);
  for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) bT[j * k + t] = b[t * n + j];
  const c = new BigUint64Array(m * n);
  const words = (x: BigUint64Array) => new Uint32Array(x.buffer, x.byteOffset, x.length * 2);
  const tsRun = () => gemmHalves(words(a), words(bT), words(c), m, k, n);
  tsRun();
  same(c, ref.matmul(a, b, m, k, n), 'TS halves GEMM');
  const tt = timeIt(tsRun, budget);
  const tw = timeIt(() => fast.matmul(a, b, m, k, n), budget);
  const g = (t: number) => (m * k * n) / t / 1e9;
  return {
    op: 'matmul', shape: `${m}×${k}×${n} (conv GEMM block)`, unit: 'GMAC/s', reference: g(tt), fast: g(tw), speedup: tt / tw,
    note: 'reference column = TypeScript GEMM on Uint32 halves (bench/ring-ts-gemm.ts)',
  };
}

/** Every convolution of torchvision's ResNet50 at 224×224 (bottleneck v1.5: stride on the
 * 3×3), as benchmark cases. */
function resnet50Convs(): ConvCase[] {
  const convs: ConvCase[] = [{ name: 'stem', c: 3, o: 64, h: 224, k: 7, stride: 2 }];
  let c = 64;
  let h = 56;
  [[64, 3], [128, 4], [256, 6], [512, 3]].forEach(([width, blocks], stage) => {
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      convs.push({ name: 'conv1', c, o: width, h, k: 1, stride: 1 });
      convs.push({ name: 'conv2', c: width, o: width, h, k: 3, stride });
      if (b === 0) convs.push({ name: 'downsample', c, o: 4 * width, h, k: 1, stride });
      h /= stride;
      convs.push({ name: 'conv3', c: width, o: 4 * width, h, k: 1, stride: 1 });
      c = 4 * width;
    }
  });
  return convs;
}

/** One evaluation of all ResNet50 convolutions; the reference column extrapolates the BigInt
 * rate measured in this run on the 64→64 3×3 layer (the whole network would take minutes). */
function resnet50Row(referenceRate: number, kind: ConvKind): Row {
  const narrow = kind !== 'any';
  const ring = KIND_RING[kind];
  let total = 0;
  let seconds = 0;
  for (const s of resnet50Convs()) {
    const p = convParams(s);
    const [, c, h, w] = p.inShape;
    const [o, cg, kh, kw] = p.weightShape;
    const x = randomRing(c * h * w);
    const wt = kindWeights(kind, o * cg * kh * kw);
    if (narrow) fast.keepConvWeights(wt, p, ring);
    seconds += timeIt(() => fast.conv2d(x, wt, p, undefined, ring), 0);
    total += macs(p);
  }
  return {
    op: 'conv2d', shape: `ResNet50 all ${resnet50Convs().length} convs (${(total / 1e9).toFixed(2)} GMAC)`, unit: 'GMAC/s',
    reference: referenceRate, fast: total / seconds / 1e9, speedup: total / seconds / 1e9 / referenceRate,
    note: `fast: ${seconds.toFixed(2)} s per evaluation; reference rate from the 64→64 3×3 row${narrow ? `; ${KIND_NOTE[kind]}` : ''}`,
  };
}

function fcRow(budget: number): Row {
  const [m, k, n] = [1, 2048, 1000];
  const a = randomRing(m * k);
  const b = randomRing(k * n);
  same(fast.matmul(a, b, m, k, n), ref.matmul(a, b, m, k, n), 'fc');
  const tr = timeIt(() => ref.matmul(a, b, m, k, n), 0);
  const tf = timeIt(() => fast.matmul(a, b, m, k, n), budget);
  const g = (t: number) => (m * k * n) / t / 1e9;
  return { op: 'matmul', shape: `${m}×${k}×${n} (ResNet50 fc)`, unit: 'GMAC/s', reference: g(tr), fast: g(tf), speedup: tr / tf };
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** Runs the ring benchmark and prints its table (or JSON with --json). */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const budget = quick ? 0.05 : 0.3;
  const convs = convRows(budget, quick);
  const sizes = quick ? [100_000] : [100_000, 1_000_000];
  const rows = [...sizes.flatMap((n) => elementwiseRows(n, budget)), ...convs, gemmRow(budget), fcRow(budget)];
  if (!quick) for (const kind of ['any', 'narrow', 'ring32', 'ring48'] as ConvKind[]) rows.push(resnet50Row(convs.find((r) => r.shape.startsWith('64→64 3×3'))!.reference, kind));
  if (json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  const header = ['op', 'shape', 'unit', 'reference', 'fast', 'speedup', 'note'];
  const lines = rows.map((r) => [r.op, r.shape, r.unit, fmt(r.reference), fmt(r.fast), `${fmt(r.speedup)}×`, r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const show = (l: string[]) => '| ' + l.map((v, i) => v.padEnd(widths[i])).join(' | ') + ' |';
  console.log(show(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const l of lines) console.log(show(l));
}
