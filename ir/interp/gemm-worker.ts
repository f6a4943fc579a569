// Worker thread of the interpreter's matrix products: claims tiles of each posted job (see
// ir/interp/parallel.ts). Errors are flagged in the job's claim counters, not thrown away.
import { parentPort } from 'node:worker_threads';
import { type GemmJob, drainTiles } from './gemm.js';

parentPort?.on('message', (m: { job: GemmJob; claim: Int32Array; tiles: number }) => {
  try {
    drainTiles(m.job, m.claim, m.tiles);
  } catch {
    // drainTiles has set the job's failure flag; the main thread reports it.
  }
});
