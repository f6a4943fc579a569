// The passes' public surface: the pass contract, registry, pipeline parser, pass manager,
// rewrite driver and the built-in passes (registered by ./builtins.js).
export * from './builtins.js';
export * from './pass.js';
export * from './registry.js';
export * from './pipeline.js';
export * from './manager.js';
export * from './rewrite.js';
