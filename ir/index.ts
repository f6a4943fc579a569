// The IR's public surface: types, tensors, graphs, op table, builder, verifier, printer (the
// parser, ir/parse.ts, and the weights file, ir/weights.ts, are imported directly: they load
// chevrotain and node:fs).
export * from './types.js';
export * from './tensor.js';
export * from './graph.js';
export * from './ops/index.js';
export * from './builder.js';
export * from './verify.js';
export * from '../runtime/diagnostics.js';
export * from './print.js';
