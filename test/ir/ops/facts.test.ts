// The ops' facts about secure inference (ir/ops/facts.ts) against what runs end to end: an
// independent table of today's support, and the pieces each fact promises exist (the secure op,
// its cost or lowering, the runtime step, the fixed-point kernel).
import { expect } from 'chai';
import { FIXED_KERNELS } from '../../../ir/interp/fixed/index.js';
import { isSecureOp, secureFacts } from '../../../ir/ops/facts.js';
import { opNames } from '../../../ir/ops/index.js';
import { STEP_KINDS } from '../../../runtime/program/steps.js';
import { LOWERINGS } from '../../../passes/secure/lower-ops.js';
import { COMPARE_COSTS, SECURE_COSTS, SECURE_OPS } from '../../../passes/secure/secure-costs.js';

/** What secure inference does with each op today, written out by hand: quantize's rule, then
 * the secure op (protocol), 'local' with its step, 'client', or '-' (not supported). */
const TODAY: Record<string, [string, string]> = {
  Relu: ['keep', 'SecureRelu'], BlockRelu: ['keep', 'SecureBlockRelu'], Clip: ['keep', 'SecureClip'], MaxPool: ['keep', 'SecureMaxPool'],
  Conv: ['product', 'SecureWeights'], Gemm: ['product', 'SecureWeights'], MatMul: ['product', 'SecureWeights'],
  FixedInput: ['made', 'SecureInput'], Truncate: ['made', 'local truncate'],
  Add: ['keep', 'local add'], Sub: ['keep', 'local sub'], AveragePool: ['keep', 'local avgPool'],
  GlobalAveragePool: ['keep', 'local globalAvgPool'], Concat: ['keep', 'local concat'], Pad: ['keep', 'local pad'],
  Slice: ['keep', 'local slice'], Resize: ['keep', 'local resize'], Transpose: ['keep', 'local transpose'],
  Reshape: ['keep', 'local identity'], Flatten: ['keep', 'local identity'], Squeeze: ['keep', 'local identity'],
  Unsqueeze: ['keep', 'local identity'], Identity: ['keep', 'local identity'], Dropout: ['keep', 'local identity'],
  Softmax: ['client', 'client'], ArgMax: ['client', 'client'], Round: ['client', 'client'],
  // The drift the house issue found: lower called these local, but quantize rewrites or rejects them.
  Div: ['scale', '-'], BatchNormalization: ['scale', '-'], Gather: ['reject', '-'], ReduceMean: ['reject', '-'],
  Shape: ['reject', '-'], Cast: ['reject', '-'],
  // Mul by a constant is a weight layer (scale); of two activations, a Beaver product.
  Mul: ['scale', 'SecureMul'], HardSigmoid: ['keep', 'SecureHardSigmoid'], Sigmoid: ['keep', 'SecureSigmoid'],
  SecureInput: ['lowered', 'secure input'], SecureReveal: ['lowered', 'secure reveal'], SecureWeights: ['lowered', 'secure weights'],
  SecureReluWeights: ['lowered', 'secure reluWeights'], SecureRelu: ['lowered', 'secure relu'], SecureBlockRelu: ['lowered', 'secure blockRelu'], SecureClip: ['lowered', 'secure clip'],
  SecureMaxPool: ['lowered', 'secure maxPool'],
  SecureMul: ['lowered', 'secure mul'], SecureHardSigmoid: ['lowered', 'secure hardSigmoid'], SecureSigmoid: ['lowered', 'secure sigmoid'],
  // made by lower (truncation=exact) from the Truncate of a weight product, not from an op's facts
  SecureTruncate: ['lowered', 'secure truncateExact'],
  SecureHelperSelect: ['lowered', 'secure helperSelect'], SecureTruncateClientOffline: ['lowered', 'secure truncateClientOffline'], SecureLift: ['lowered', 'secure truncateClientOffline'], SecureWeightsClientOffline: ['lowered', 'secure weightsClientOffline'],
};

function summary(op: string): [string, string] {
  const f = secureFacts(op);
  const lowering = f.lower === 'protocol' ? f.secureOp! : f.lower === 'local' || f.lower === 'secure' ? `${f.lower} ${f.step}` : f.lower === 'client' ? 'client' : '-';
  return [f.quantize, lowering];
}

describe('op facts', () => {
  it('state what runs end to end today, for every op', () => {
    expect(Object.fromEntries(opNames().map((op) => [op, summary(op)]))).to.deep.equal(TODAY);
  });

  it('name secure ops that exist, with a cost and a lowering', () => {
    for (const op of opNames()) {
      const f = secureFacts(op);
      if (f.lower !== 'protocol') continue;
      expect(isSecureOp(f.secureOp!), `${op} → ${f.secureOp}`).to.equal(true);
      expect(f.secureOp! in LOWERINGS || f.secureOp! in COMPARE_COSTS, `${f.secureOp} has a lowering or a COMPARE_COSTS entry`).to.equal(true);
    }
    for (const op of SECURE_OPS) expect(op in SECURE_COSTS || op in COMPARE_COSTS, `${op} has a cost`).to.equal(true);
    expect([...SECURE_OPS].sort()).to.deep.equal(Object.keys(TODAY).filter((op) => op.startsWith('Secure')).sort());
  });

  it('name runtime steps that exist, and quantized ops have a fixed-point kernel', () => {
    for (const op of opNames()) {
      const f = secureFacts(op);
      if (f.lower === 'local' || f.lower === 'secure') expect(f.step && f.step in STEP_KINDS, `${op}: step ${f.step}`).to.equal(true);
      else expect(f.step, `${op} has no step`).to.equal(undefined);
      if (['keep', 'product'].includes(f.quantize) || op === 'Truncate') expect(FIXED_KERNELS[op], `${op}: fixed-point kernel`).to.be.a('function');
      if (f.quantize === 'reject' || f.lower === 'unsupported') expect(f.why, `${op} says why`).to.be.a('string');
    }
  });
});
