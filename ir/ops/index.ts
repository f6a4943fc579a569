// Loads every op definition file into the op table; import this module, not the files.
import './elementwise.js';
import './conv.js';

export * from './registry.js';
