// The protocols' public surface, for the program executor and the compiler's cost model.
// Every protocol is a function (session, ...) => Promise (or a local function), called by all
// three parties in the same order; P2 passes placeholder vectors of the right length.

export { shareInput, revealToClient } from './sharing.js';
export { addShares, subShares, scaleShare, addPublic, truncate, sumPool, avgPool, poolWindows, AVG_SHIFT, avgPoolDivisorFactor, applyPublicLinear } from './linear.js';
export type { PublicLinearMap } from './linear.js';
export { mulShares, mulBroadcast } from './beaver.js';
export type { ProductShapes } from './beaver.js';
export { hardSigmoid, hardSigmoidAffine, unitInterval } from './hard-sigmoid.js';
export { sigmoid, sigmoidShifted, sigmoidCombine, sigmoidPiecewise, SIGMOID_KNOTS, SIGMOID_PIECES, SIGMOID_MAX_ERROR } from './sigmoid.js';
export { compareWindow, dealCompare, receiveCompareBits, drelu, bitShares, checkWindow, digitField } from './compare.js';
export type { BitWindow, CompareBit, CompareDealing } from './compare.js';
export { dealSelect, select, Selection, fullWindow, type SelectDealing } from './select.js';
export { relu } from './relu.js';
export { blockRelu, blockLayout, blockPlan } from './block-relu.js';
export type { BlockSize } from './block-relu.js';
export { clip } from './clip.js';
export { maxPool, maxPoolLevels, maxTreeLevels, poolWindowSizes } from './maxpool.js';
export { setupWeights, resendWeights, applyWeights, applyWeightsMasked, applyWeightsSharedMask, maskProduct, convMap, matmulMap, dealWeightsClientOffline, applyWeightsClientOffline } from './weights.js';
export type { ClientOfflineDealing } from './client-offline.js';
export type { BilinearMap, MaskedProduct, MaskProduct, WeightKey } from './weights.js';
export { reluThenWeights, blockReluThenWeights } from './relu-then-weights.js';
export type { ReluProduct } from './relu-then-weights.js';
export { dealHelperSelect, helperSelect } from './helper-select.js';
export type { HelperSelectDealing, HelperSelectSpec } from './helper-select.js';
export { dealTruncateClientOffline, truncateClientOffline } from './truncate-client-offline.js';
export type { TruncateClientOfflineDealing } from './truncate-client-offline.js';
export { dealTruncation, receiveTruncationDealing, exchangeTruncationDealing, truncateExact, truncateExactOnline, MAX_EXACT_TRUNCATION_BITS } from './truncate-exact.js';
export type { TruncationDealing } from './truncate-exact.js';
export { PROTOCOL_COSTS, expectedCounters, totalBytes, seq } from './costs.js';
export type { Cost, Flow } from './costs.js';
