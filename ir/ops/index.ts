// Loads every op definition file into the op table; import this module, not the files.
import './elementwise.js';
import './block-relu.js';
import './conv.js';
import './pooling.js';
import './linear.js';
import './shape.js';
import './resize.js';
import './reduce.js';
import './pad.js';
import './fixed.js';
import './secure.js';

export * from './registry.js';
