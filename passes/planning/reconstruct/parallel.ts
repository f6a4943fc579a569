// Runs the refit's kernel jobs (kernels.ts) on the main thread and worker threads over shared
// memory, as the interpreter's matrix products do (ir/interp/parallel.ts, whose worker pools and
// claim protocol it uses): the refit stays synchronous; the main thread posts a job, claims tasks
// itself, then blocks (Atomics.wait) until the tasks a worker claimed are done. A worker that is
// slow to start, or busy on a loaded machine, simply claims fewer tasks, and a task computes the
// same values whichever thread runs it, so results never depend on thread timing.
import { CLAIM_SLOTS } from '../../../ir/interp/gemm.js';
import { awaitClaims, interpreterThreads, workerPool } from '../../../ir/interp/parallel.js';
import { type KernelJob, drainTasks, taskCount } from './kernels.js';

/** The refit's workers (refit-worker.ts): the interpreter's thread count (MPCC_THREADS, at most 2 by default) minus one. */
const helpers = workerPool(new URL('./refit-worker.js', import.meta.url));

/** Float64 storage in shared memory (zeroed), so a worker can read and write it without a copy. */
export function sharedFloats(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8));
}

function arraysOf(job: KernelJob): Float64Array[] {
  switch (job.kind) {
    case 'products':
      return [job.a, job.b, job.out];
    case 'quad':
      return [job.g, job.w, job.partial];
    case 'panel':
      return [job.u];
  }
}

/** Runs every task of `job`, on several threads when it has several tasks, shared storage and
 * at least `minWork` multiply-adds (`work`: below that a message to a worker costs more). */
export function runJob(job: KernelJob, work: number, minWork = 1 << 20): void {
  const tasks = taskCount(job);
  if (tasks === 0) return;
  const claim = new Int32Array(new SharedArrayBuffer(CLAIM_SLOTS * 4));
  const parallel = interpreterThreads() > 1 && tasks > 1 && work >= minWork && arraysOf(job).every((a) => a.buffer instanceof SharedArrayBuffer);
  if (parallel) for (const w of helpers()) w.postMessage({ job, claim, tasks });
  drainTasks(job, claim, tasks);
  if (parallel) awaitClaims(claim, tasks, 'a refit kernel');
}
