// The built-in passes and named pipelines, registered in one readable list. The pipeline
// parser imports this module, so any module that parses a pipeline sees a populated registry.
import { dropIdentity } from './canonicalize/drop-identity.js';
import { foldBatchNorm } from './canonicalize/fold-batchnorm.js';
import { foldConstants } from './canonicalize/fold-constants.js';
import { insertBlockRelu } from './planning/insert-block-relu.js';
import { applyRefitPass } from './planning/reconstruct/apply-refit.js';
import { lower } from './secure/lower.js';
import { narrowCompare } from './planning/narrow-compare.js';
import { maxPoolToAvgPool } from './canonicalize/maxpool-to-avgpool.js';
import { maxPoolToReluTree } from './canonicalize/maxpool-to-relu-tree.js';
import { quantize } from './quantize/quantize.js';
import { registerPass, registerPipeline } from './registry.js';
import { relu6ToRelu } from './canonicalize/relu6-to-relu.js';
import { removeDead } from './canonicalize/remove-dead-nodes.js';
import { revealArgmax } from './quantize/reveal-argmax.js';
import { scheduleRounds } from './secure/schedule-rounds.js';

registerPass(dropIdentity, foldConstants, foldBatchNorm, removeDead, relu6ToRelu, maxPoolToAvgPool);
// MaxPool as ReLU layers a block-ReLU plan can budget (issue 21): opt-in, where plans are made.
registerPass(maxPoolToReluTree);
// Block-ReLU plans (issue 15): on the float graph after canonicalize, where plans are made.
registerPass(insertBlockRelu);
// Refit weights (issue 20): their constants into the float graph, before the plan's block-ReLUs.
registerPass(applyRefitPass);
// Narrowed comparison windows (issue 18): after the plan's block-ReLUs, before quantize.
registerPass(narrowCompare);
// Fixed point for secure inference (issue 4, stage 1): after canonicalize, before lower;
// reveal-argmax (mpcc compile --reveal argmax) just before it, when it knows quantize's scale.
registerPass(revealArgmax, quantize);
// Secure lowering: protocol steps with their messages, then the static round schedule.
registerPass(lower, scheduleRounds);

/** The canonicalization pipeline: semantics-preserving clean-ups every model gets first. */
export const CANONICALIZE = [
  // Identity/Dropout between a Conv and its BatchNormalization would hide the fold pattern.
  'drop-identity',
  // Shape subgraphs and arithmetic on weights become constants, so every weight a later
  // pattern needs (Conv weights, batch-norm statistics) is a constant.
  'fold-constants',
  // Needs constant weights and statistics; a folded batch-norm costs nothing in secure inference.
  'fold-batchnorm',
  // Folding leaves producers nobody reads (the Shape's argument's side branches, old weights).
  'remove-dead-nodes',
].join(',');

registerPipeline({
  name: 'canonicalize',
  summary: 'the clean-ups every imported model gets first; none of them changes the function computed',
  pipeline: CANONICALIZE,
});

export { applyRefitPass, dropIdentity, foldBatchNorm, foldConstants, insertBlockRelu, lower, maxPoolToAvgPool, maxPoolToReluTree, narrowCompare, quantize, relu6ToRelu, removeDead, revealArgmax, scheduleRounds };
