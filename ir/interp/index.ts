// The plaintext interpreter: loads every kernel file and exports the driver.
import './elementwise.js';
import './activations.js';
import './block-relu.js';
import './conv.js';
import './shape-ops.js';
import './matmul.js';
import './pool.js';
import './pad.js';
import './resize.js';
import './reduce.js';
import './fixed-ops.js';

export * from './run.js';
export * from './kernels.js';
export { interpreterThreads, setInterpreterThreads } from './parallel.js';
