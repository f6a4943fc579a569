// The plaintext interpreter: loads every kernel file and exports the driver.
import './elementwise.js';
import './conv.js';
import './shape-ops.js';

export * from './run.js';
export * from './kernels.js';
