// A second thread for the heaviest ring kernels. Three party processes share this machine's
// cores, and most of an inference has only one of them computing while the other two wait for
// its message (a party's convolution, the helper's zero test): a worker thread lets that party
// use an idle core. The main thread posts a job (operands in shared memory), claims blocks of
// it from a shared counter itself, then waits for the blocks the worker claimed about as long
// as one of its own blocks took, and computes any block still missing itself (a worker without
// a core of its own, because the other parties are computing, must not hold its party up; a
// block computed twice is written twice with the same values). Results never depend on thread
// timing, only on the blocks, which write disjoint parts of the output.
//
// Measured (2026-12-04, 2-core machine otherwise idle): one party's ResNet convolutions alone
// take 0.53–0.83× the one-thread time (64→64 3×3 on 56×56: 30.8 → 19–23 ms). With all three
// parties on this one machine the cores are rarely both idle and the worker costs more than it
// gives (resnet18-cifar 1.79 s against 1.60 s median per inference, resnet50 15.1 against
// 14.7 s), so `mpcc run` starts the parties of a classic program with MPCC_THREADS=1. In the
// client-offline mode the online phase has one party computing at a time (P1's products, P2's
// zero tests) and the worker pays there (compiler/commands/run.ts localPartyThreads). `mpcc
// party`, meant for a machine of its own, uses the worker whenever the machine has two cores.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { convBlocks, keptPacking, keptWide, layoutConv, runConvBlock, type ConvRing } from '../ring/conv-blocks.js';
import { runtimeError } from '../diagnostics.js';
import { layoutZeroTests, runZeroTests } from '../protocols/zero-test-blocks.js';
import { kernels } from './ring-wasm.js';
import type { Conv2dParams } from '../ring/windows.js';

/** Jobs below this many multiply-adds (or digit pairs) stay on the main thread: a job costs a
 * message and the copies of its operands into shared memory. */
const PARALLEL_MIN_WORK = 1 << 21;
/** Blocks a job is cut into at least (a convolution adds row parts when columns are few). */
const MIN_BLOCKS = 8;
/** Elements per block of a zero test. */
const ZERO_BLOCK = 4096;
/** Claim counters: [next block, blocks done, failure flag]. */
const NEXT = 0;
const DONE = 1;
const FAILED = 2;

/** What every job carries: the block count, the claim counters, the claimer of each block
 * (1 main, 2 worker) and a finished flag per block. */
interface JobBase {
  blocks: number;
  claim: SharedArrayBuffer;
  owner: SharedArrayBuffer;
  finished: SharedArrayBuffer;
}

/** A convolution: input, weights, output in shared memory (conv-blocks.ts cuts it). */
export interface ConvJob extends JobBase {
  kind: 'conv';
  p: Conv2dParams;
  block: number;
  parts: number;
  rowTile: number;
  /** The ring of the product (conv-blocks.ts ConvRing: 32 gemmRing32, 48 gemmRing48 where the
   * weights fit in 16 bits). */
  ring: ConvRing;
  x: SharedArrayBuffer;
  /** The weights, or with `packed` their kept 32-bit (16-bit with `i16`) packing (conv-blocks.ts
   * keptPacking: already shared, so no copy per job; kept weights without a usable packing are
   * shared too, keptWide). */
  w: SharedArrayBuffer;
  packed: boolean;
  i16: boolean;
  y: SharedArrayBuffer;
}

/** The helper's zero test on the holders' messages a and b; one result byte per element. */
export interface ZeroJob extends JobBase {
  kind: 'zero';
  n: number;
  k: number;
  p: number;
  a: SharedArrayBuffer;
  b: SharedArrayBuffer;
  out: SharedArrayBuffer;
}

/** A job as the worker receives it. */
export type KernelJob = ConvJob | ZeroJob;

let worker: Worker | null = null;
let enabled = defaultEnabled();

function defaultEnabled(): boolean {
  const env = Number(process.env.MPCC_THREADS);
  if (Number.isInteger(env) && env >= 1) return env > 1;
  return availableParallelism() > 1;
}

/** Turns the kernel worker on or off (off: every kernel on the calling thread); for tests. */
export function setKernelThreads(on: boolean): void {
  enabled = on;
  if (!on && worker) {
    void worker.terminate();
    worker = null;
  }
}

function helper(): Worker | null {
  if (!enabled) return null;
  if (!worker) {
    const w = new Worker(new URL('./kernel-worker.js', import.meta.url));
    // An idle worker must not keep a party alive; a dead one is dropped (the main thread then
    // claims every block itself).
    w.unref();
    w.on('error', () => {
      if (worker === w) worker = null;
    });
    worker = w;
  }
  return worker;
}

/** Claims blocks of a job until none is left: `run(i)` computes block i. */
export function drainBlocks(job: JobBase, me: 1 | 2, run: (i: number) => void): void {
  const claim = new Int32Array(job.claim);
  const owner = new Uint8Array(job.owner);
  for (;;) {
    const i = Atomics.add(claim, NEXT, 1);
    if (i >= job.blocks || Atomics.load(claim, FAILED)) return;
    owner[i] = me;
    try {
      run(i);
    } catch (e) {
      Atomics.store(claim, FAILED, 1);
      Atomics.notify(claim, DONE);
      throw e;
    }
    finish(job, i);
  }
}

/** Marks block i finished (the first thread to finish a block counts it). */
function finish(job: JobBase, i: number): void {
  const claim = new Int32Array(job.claim);
  if (Atomics.compareExchange(new Int32Array(job.finished), i, 0, 1) !== 0) return;
  Atomics.add(claim, DONE, 1);
  Atomics.notify(claim, DONE);
}

function base(blocks: number): JobBase {
  return { blocks, claim: new SharedArrayBuffer(3 * 4), owner: new SharedArrayBuffer(blocks), finished: new SharedArrayBuffer(4 * blocks) };
}

function sharedCopy(a: Uint8Array | BigUint64Array): SharedArrayBuffer {
  const buf = new SharedArrayBuffer(a.byteLength);
  new Uint8Array(buf).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return buf;
}

/** Posts the job, runs blocks here, waits for or redoes the worker's (see the file comment). */
function runJob(thread: Worker, job: KernelJob, run: (i: number) => void): void {
  const claim = new Int32Array(job.claim);
  const owner = new Uint8Array(job.owner);
  const finished = new Int32Array(job.finished);
  thread.postMessage(job);
  const t0 = performance.now();
  drainBlocks(job, 1, run);
  const own = owner.reduce((t, who) => t + (who === 1 ? 1 : 0), 0);
  const deadline = performance.now() + (1.5 * (performance.now() - t0)) / Math.max(1, own) + 0.2;
  for (;;) {
    const done = Atomics.load(claim, DONE);
    if (Atomics.load(claim, FAILED)) throw runtimeError('MPCC5104', [`the kernel worker failed (${job.kind})`]);
    if (done >= job.blocks) break;
    const left = deadline - performance.now();
    if (left <= 0 || Atomics.wait(claim, DONE, done, left) === 'timed-out') {
      for (let i = 0; i < job.blocks; i++)
        if (!Atomics.load(finished, i)) {
          run(i);
          finish(job, i);
          stats.redone++;
        }
    }
  }
  stats.jobs++;
  for (const who of owner) if (who === 2) stats.workerBlocks++;
  else stats.mainBlocks++;
}

/** conv2d's GEMM layers on two threads, or null when the layer is small or there is no worker
 * thread (the caller then runs it alone). Same result as the single-thread path, bit for bit,
 * in a view of shared memory the caller copies out. */
export function parallelConv(x: BigUint64Array, w: BigUint64Array, p: Conv2dParams, yLength: number, block: number, rowTile: number, ring: ConvRing = 64): BigUint64Array | null {
  const [o, cg, kh, kw] = p.weightShape;
  if (yLength * cg * kh * kw < PARALLEL_MIN_WORK || o === 0) return null;
  const thread = helper();
  if (!thread) return null;
  const columnBlocks = Math.ceil(yLength / o / block) * p.inShape[0] * p.group;
  const parts = Math.max(1, Math.min(Math.ceil(MIN_BLOCKS / columnBlocks), Math.floor(o / p.group / rowTile)));
  const blocks = convBlocks(p, block, parts, rowTile);
  const kept = keptPacking(w, p, ring);
  const wide = kept ? null : keptWide(w, p);
  const job: ConvJob = {
    ...base(blocks.length),
    kind: 'conv', p, block, parts, rowTile, ring,
    x: sharedCopy(x.subarray(0, p.inShape.reduce((s, d) => s * d, 1))),
    w: kept ? (kept.data.buffer as SharedArrayBuffer) : wide ? (wide.buffer as SharedArrayBuffer) : sharedCopy(w.subarray(0, o * cg * kh * kw)),
    packed: kept !== null,
    i16: kept?.i16 ?? false,
    y: new SharedArrayBuffer(yLength * 8),
  };
  const k = kernels();
  const y = new BigUint64Array(job.y);
  const lay = layoutConv(k, w, p, block, kept, ring);
  runJob(thread, job, (i) => runConvBlock(k, lay, x, blocks[i], y));
  // A view of the shared output: the caller copies it into its own array (conv2d's y).
  return y;
}

/** The helper's zero test on two threads (elements on whole bytes), or null when small or
 * there is no worker thread. */
export function parallelZeroTests(a: Uint8Array, b: Uint8Array, n: number, k: number, p: number): Uint8Array | null {
  if (n * k < PARALLEL_MIN_WORK) return null;
  const thread = helper();
  if (!thread) return null;
  const job: ZeroJob = { ...base(Math.ceil(n / ZERO_BLOCK)), kind: 'zero', n, k, p, a: sharedCopy(a), b: sharedCopy(b), out: new SharedArrayBuffer(n) };
  const out = new Uint8Array(job.out);
  const lay = layoutZeroTests(a, b, k, p, ZERO_BLOCK);
  runJob(thread, job, (i) => runZeroTests(lay, i * ZERO_BLOCK, Math.min(n, (i + 1) * ZERO_BLOCK), out));
  return out.slice();
}

const stats = { jobs: 0, workerBlocks: 0, mainBlocks: 0, redone: 0 };

/** Jobs run on two threads so far, the blocks each thread claimed, and the worker's blocks the
 * main thread computed again because the worker was late (for tests and benches). */
export function kernelThreadStats(): { jobs: number; workerBlocks: number; mainBlocks: number; redone: number } {
  return { ...stats };
}

/** The worker's side of a job: its blocks, computed with its own kernels instance (laid out
 * on the first block it claims, so a worker that comes late pays nothing). */
export function workOn(job: KernelJob): void {
  const k = kernels();
  if (job.kind === 'conv') {
    const blocks = convBlocks(job.p, job.block, job.parts, job.rowTile);
    const x = new BigUint64Array(job.x);
    const y = new BigUint64Array(job.y);
    let lay: ReturnType<typeof layoutConv> | null = null;
    drainBlocks(job, 2, (i) => {
      lay ??= job.packed ? layoutConv(k, new BigUint64Array(0), job.p, job.block, { data: new Uint32Array(job.w), i16: job.i16 }, job.ring) : layoutConv(k, new BigUint64Array(job.w), job.p, job.block, null, job.ring);
      runConvBlock(k, lay, x, blocks[i], y);
    });
  } else {
    const out = new Uint8Array(job.out);
    let lay: ReturnType<typeof layoutZeroTests> | null = null;
    drainBlocks(job, 2, (i) => {
      lay ??= layoutZeroTests(new Uint8Array(job.a), new Uint8Array(job.b), job.k, job.p, ZERO_BLOCK);
      runZeroTests(lay, i * ZERO_BLOCK, Math.min(job.n, (i + 1) * ZERO_BLOCK), out);
    });
  }
}
