// Worker thread of the refit's solver: claims tasks of each posted kernel job (see parallel.ts).
// Errors are flagged in the job's claim counters, not thrown away.
import { parentPort } from 'node:worker_threads';
import { type KernelJob, drainTasks } from './kernels.js';

parentPort?.on('message', (m: { job: KernelJob; claim: Int32Array; tasks: number }) => {
  try {
    drainTasks(m.job, m.claim, m.tasks);
  } catch {
    // drainTasks has set the job's failure flag; the main thread reports it.
  }
});
