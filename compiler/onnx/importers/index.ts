// Loads every operator importer into the table; import this module, not the files.
import './elementwise.js';
import './conv-pool.js';
import './linear.js';
import './shape.js';
import './reduce.js';
import './pad-resize.js';

export * from './registry.js';
