// The interpreter's backward pass: loads every backward kernel file and exports the driver.
import './activations.js';
import './conv.js';
import './elementwise.js';
import './matmul.js';
import './pool.js';
import './resize.js';
import './shape-ops.js';

export * from './backward.js';
export * from './kernels.js';
