// The fixed-point interpreter of quantized graphs (ring semantics of issue 4, stage 1).
export { runGraphFixed } from './run.js';
export type { FixedRunOptions, FixedRunResult } from './run.js';
export { FIXED_KERNELS, PLAINTEXT_PARTY, reluWindow } from './kernels.js';
export type { FixedContext, FixedKernel, FixedOperand } from './kernels.js';
export { decodeValue } from './value.js';
export type { RingValue } from './value.js';
export { concatParamsOf, convParamsOf, padParamsOf, poolParamsOf, resizeParamsOf, sliceParamsOf, transposeParamsOf } from './params.js';
export { windowErrorProbability, windowNegative } from './compare-window.js';
export type { CompareSimulation } from './compare-window.js';
