// The worker thread of runtime/kernels/kernel-threads.ts: for every posted job, claims blocks until
// none is left and computes them into the job's shared output with its own instance of the
// ring kernels. A failure is flagged in the job's claim counters for the main thread to report.
import { parentPort } from 'node:worker_threads';
import { workOn, type KernelJob } from './kernel-threads.js';

parentPort?.on('message', (job: KernelJob) => {
  try {
    workOn(job);
  } catch {
    // drainBlocks has set the failure flag; the main thread reports it.
  }
});
