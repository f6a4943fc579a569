// Splits matrix products between the main thread and worker threads over shared memory. The
// interpreter stays synchronous: the main thread posts a job, claims tiles itself, and then
// blocks (Atomics.wait) until the tiles a worker claimed are done. A worker that is slow to
// start simply claims nothing, so results never depend on thread timing.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InternalError } from '../../runtime/diagnostics.js';
import { CLAIM_DONE, CLAIM_FAILED, CLAIM_SLOTS, type FloatArray, type GemmJob, drainTiles, tileCount } from './gemm.js';

/** Products smaller than this many multiply-adds are not worth a message to a worker. */
const PARALLEL_MIN_MACS = 1 << 18;

let threads = defaultThreads();

function defaultThreads(): number {
  const env = Number(process.env.MPCC_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(2, availableParallelism()));
}

/** Number of threads (main included) the interpreter's matrix products use. */
export function interpreterThreads(): number {
  return threads;
}

/** Sets the number of threads (1 = main thread only); for benchmarks and tests. */
export function setInterpreterThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new InternalError(`thread count must be a positive integer, got ${n}`);
  threads = n;
  for (const pool of pools) trim(pool, n - 1);
}

/** Pools of worker threads by script, each kept at the interpreter's thread count minus one. */
const pools: { url: URL; workers: Worker[] }[] = [];

/**
 * The workers (threads − 1) of the pool running `url`, started on first use. An idle worker does
 * not keep the process alive; a dead one is dropped (the main thread then claims every task).
 */
export function workerPool(url: URL): () => Worker[] {
  const pool = { url, workers: [] as Worker[] };
  pools.push(pool);
  return () => {
    trim(pool, threads - 1);
    while (pool.workers.length < threads - 1) {
      const w = new Worker(pool.url);
      w.unref();
      w.on('error', () => (pool.workers = pool.workers.filter((x) => x !== w)));
      pool.workers.push(w);
    }
    return pool.workers;
  };
}

function trim(pool: { workers: Worker[] }, n: number): void {
  if (pool.workers.length <= n) return;
  for (const w of pool.workers.slice(n)) void w.terminate();
  pool.workers = pool.workers.slice(0, n);
}

/** Blocks until `tasks` tasks of a job claimed through `claim` are done (a worker silent for a
 * minute, or one that failed, is an internal error naming `what`). */
export function awaitClaims(claim: Int32Array, tasks: number, what: string): void {
  let seen = Atomics.load(claim, CLAIM_DONE), since = Date.now();
  while (seen < tasks) {
    Atomics.wait(claim, CLAIM_DONE, seen, 50);
    const now = Atomics.load(claim, CLAIM_DONE);
    if (now !== seen) { seen = now; since = Date.now(); }
    else if (Date.now() - since > 60_000) throw new InternalError(`a worker thread stopped in the middle of ${what}`);
  }
  if (Atomics.load(claim, CLAIM_FAILED)) throw new InternalError(`a worker thread failed in ${what}`);
}

/** The workers of the interpreter's matrix products. */
const helpers = workerPool(new URL('./gemm-worker.js', import.meta.url));

/** True when a worker thread can write into (or read) `a` without a copy. */
export function isShared(a: FloatArray): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** Zeroed float storage in shared memory when worker threads are in use, else ordinary. */
export function allocFloats(dtype: 'float32' | 'float64', n: number, shared = threads > 1): FloatArray {
  if (!shared) return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  const bytes = dtype === 'float32' ? 4 : 8;
  const buf = new SharedArrayBuffer(n * bytes);
  return dtype === 'float32' ? new Float32Array(buf) : new Float64Array(buf);
}

/** Computes `job` (C = bias + A·B), on several threads when it is large and its storage shared. */
export function runGemm(job: GemmJob): void {
  const tiles = tileCount(job);
  const claim = new Int32Array(new SharedArrayBuffer(CLAIM_SLOTS * 4));
  const parallel = threads > 1 && tiles > 1 && job.M * job.N * job.K >= PARALLEL_MIN_MACS &&
    isShared(job.ap) && isShared(job.bp) && isShared(job.c);
  if (parallel) for (const w of helpers()) w.postMessage({ job, claim, tiles });
  drainTiles(job, claim, tiles);
  if (parallel) awaitClaims(claim, tiles, 'a matrix product');
}
