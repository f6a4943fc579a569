// The IR's public surface: types, tensors, graphs, op table, builder, verifier.
export * from './types.js';
export * from './tensor.js';
export * from './graph.js';
export * from './ops/index.js';
export * from './builder.js';
export * from './verify.js';
export * from './diagnostics.js';
