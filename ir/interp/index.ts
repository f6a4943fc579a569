// The plaintext interpreter: loads every kernel file and exports the driver.
import './elementwise.js';
import './conv.js';

export * from './run.js';
export * from './kernels.js';
