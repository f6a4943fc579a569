// The secure ops: what `lower` turns a quantized graph's communicating ops into. Each keeps the
// operands and the shape rule of the op it replaces and adds the protocol it runs as data:
//
//   protocol  key of the runtime's PROTOCOL_COSTS (runtime/protocols/costs.ts)
//   rounds    the protocol's depth in rounds (0: no message)
//   flows     one string per message stream, "<step> <from>-><to> <phase> <label> <bytes>",
//             step 0-based within the protocol; phase oneTime flows travel in the setup round
//   drelus    secure comparisons the node runs
//   round     set by schedule-rounds: 1-based inference round of step 0 (0 when rounds = 0;
//             −1, the default, before scheduling)
//
// Every other op of a lowered graph is local (each party computes on its share, no message)
// or the client's (ir/ops/facts.ts). Each secure op's facts name the runtime step that runs it.
import type { TensorType } from '../types.js';
import { broadcastShapes } from '../types.js';
import './conv.js';
import { BLOCK_ATTRS, blockReluInfer, checkBlocks } from './block-relu.js';
import { secureOp } from './facts.js';
import { matmulShape } from './linear.js';
import { poolLimits } from './pooling.js';
import { type AttrSpec, type OpDef, type ShapeContext, ShapeError, defineOps, lookupOp } from './registry.js';
import type { StepKind } from '../../runtime/program/steps.js';
import { WINDOW_ATTRS, checkWindow } from './window.js';

/** The attributes every secure op carries (see the file comment). */
export const PROTOCOL_ATTRS: Readonly<Record<string, AttrSpec>> = {
  protocol: { kind: 'string', doc: "key of the runtime's PROTOCOL_COSTS" },
  rounds: { kind: 'int', range: [0, 1 << 30], doc: "the protocol's depth in rounds" },
  flows: { kind: 'strings', doc: '"<step> <from>-><to> <phase> <label> <bytes>" per message stream' },
  drelus: { kind: 'int', default: 0, range: [0, Number.MAX_SAFE_INTEGER], doc: 'secure comparisons' },
  round: { kind: 'int', default: -1, range: [-1, 1 << 30], doc: 'first inference round (schedule-rounds); −1 before scheduling' },
};

/** Conv's attributes, for the secure product of kind 'conv' (ignored for 'matmul'). */
const CONV_ATTRS: Readonly<Record<string, AttrSpec>> = {
  kind: { kind: 'string', oneOf: ['conv', 'matmul'], doc: 'conv: Conv (NCHW, OIHW); matmul: x[..., m, k] · W[k, n]' },
  strides: { kind: 'ints', default: [1, 1], range: [1, 1 << 16] },
  pads: { kind: 'ints', default: [0, 0, 0, 0], range: [0, 1 << 16] },
  dilations: { kind: 'ints', default: [1, 1], range: [1, 1 << 16] },
  group: { kind: 'int', default: 1, range: [1, 1 << 20] },
};

/** The shape rule of an existing op, applied to a secure op's context (same attribute names). */
function inferAs(op: string): (ctx: ShapeContext) => TensorType[] {
  return (ctx) => {
    const def = lookupOp(op);
    if (!def) throw new ShapeError(`op '${op}' is not defined`);
    return def.infer(ctx);
  };
}

/** Product of an activation with P1's constant weights: Conv's rule, or matmul with a bias
 * that broadcasts to the result. */
function weightsInfer(ctx: ShapeContext): TensorType[] {
  if (ctx.attr<string>('kind') === 'conv') return inferAs('Conv')(ctx);
  const x = ctx.inputs[0]!, w = ctx.inputs[1]!, b = ctx.inputs[2];
  if (w.shape.length !== 2) throw new ShapeError(`matmul weights must be 2-D, got [${w.shape.join(',')}]`);
  const shape = matmulShape(x.shape, w.shape);
  if (b) {
    const bc = broadcastShapes(b.shape, shape);
    if (!bc || bc.join(',') !== shape.join(',')) throw new ShapeError(`bias [${b.shape.join(',')}] does not broadcast to [${shape.join(',')}]`);
  }
  return [{ dtype: x.dtype, shape }];
}

const identity = ({ inputs }: ShapeContext): TensorType[] => [inputs[0]!];

/** A comparison's shape rule: `infer`, once the bit window fits in the ring. */
const windowed = (infer: (ctx: ShapeContext) => TensorType[]) => (ctx: ShapeContext): TensorType[] => {
  checkWindow(ctx);
  return infer(ctx);
};

const maxPool = lookupOp('MaxPool');

/** A secure op over one shared operand X with one result: the protocol attributes added to
 * `attrs`, the runtime step `step`. */
function overShares(name: string, doc: string, attrs: Readonly<Record<string, AttrSpec>>, infer: (ctx: ShapeContext) => TensorType[], step: StepKind): OpDef {
  return { name, doc, inputs: [{ name: 'X' }], outputs: 1, attrs: { ...attrs, ...PROTOCOL_ATTRS }, infer, secure: secureOp(step) };
}

defineOps(
  overShares(
    'SecureInput',
    "P0 shares its fixed-point input round(x·2^frac) (replaces FixedInput; protocol shareInput); `ring`: the program's ring Z_2^ring (32, 40, 48, 56; 64 when absent), set by lower's client-offline mode (passes/secure/lower-client-offline.ts), where every message carries ring/8 bytes per element",
    { frac: { kind: 'int', range: [0, 62] }, ring: { kind: 'int', default: 64, range: [32, 64], doc: "bits of the program's ring (32, 40, 48, 56 or 64): only the low `ring` bits of a share mean anything" } },
    identity,
    'input',
  ),
  overShares('SecureReveal', 'P1 sends its share to P0, who decodes at frac (before each graph output or client-side Softmax/ArgMax; protocol revealToClient)', { frac: { kind: 'int', range: [0, 62] } }, identity, 'reveal'),
  {
    name: 'SecureWeights',
    doc: "product of a shared activation with P1's constant weights (Conv, Gemm, MatMul; protocol applyWeights, one-time setupWeights)",
    inputs: [{ name: 'X' }, { name: 'W' }, { name: 'B', optional: true }],
    outputs: 1,
    attrs: {
      ...CONV_ATTRS,
      mask_from: { kind: 'string', default: '', doc: "'' or the earlier product node (SecureWeights, SecureReluWeights) whose activation mask it shares: X's masked copy is not sent again (protocol applyWeightsSharedMask; lower)" },
      ...PROTOCOL_ATTRS,
    },
    infer: weightsInfer,
    secure: secureOp('weights'),
  },
  overShares('SecureRelu', 'ReLU on shares, the sign read from the bit window (protocol relu)', { ...WINDOW_ATTRS }, windowed(identity), 'relu'),
  {
    name: 'SecureReluWeights',
    doc: "a ReLU or block-ReLU fused with the weight product reading it: results (activation, product); protocol reluThenWeights or blockReluThenWeights",
    inputs: [{ name: 'X' }, { name: 'W' }, { name: 'B', optional: true }],
    outputs: 2,
    attrs: { ...WINDOW_ATTRS, blocks: { ...BLOCK_ATTRS.blocks, default: [], doc: 'empty: a plain ReLU; else BlockRelu\'s blocks (protocol blockReluThenWeights)' }, ...CONV_ATTRS, ...PROTOCOL_ATTRS },
    infer: windowed((ctx) => {
      const blocks = ctx.attr<number[]>('blocks');
      if (blocks.length > 0) checkBlocks(ctx.inputs[0]!.shape, blocks);
      return [ctx.inputs[0]!, ...weightsInfer(ctx)];
    }),
    secure: secureOp('reluWeights'),
  },
  overShares('SecureBlockRelu', 'BlockRelu on shares: one comparison per tile sum on the bit window, one selection per non-identity element (protocol blockRelu)', { ...BLOCK_ATTRS }, blockReluInfer, 'blockRelu'),
  {
    ...overShares('SecureMaxPool', 'MaxPool as a tree of pairwise ReLUs, `levels` pairs per tree level (protocol maxPool)', { ...(maxPool?.attrs ?? {}), ...WINDOW_ATTRS, levels: { kind: 'ints', range: [1, Number.MAX_SAFE_INTEGER], doc: 'pairs compared per level of the max tree' } }, windowed(inferAs('MaxPool')), 'maxPool'),
    secure: { ...secureOp('maxPool'), limits: poolLimits },
  },
  overShares('SecureClip', 'Clip(x, min, max) as two ReLUs in the same rounds (protocol clip)', { min: { kind: 'float', default: -Infinity }, max: { kind: 'float', default: Infinity }, ...WINDOW_ATTRS }, windowed(identity), 'clip'),
  {
    name: 'SecureMul',
    doc: 'product of two shared activations with numpy broadcasting, helper-dealt Beaver triple, one round (protocol mulBroadcast); 2·frac bits, a Truncate follows',
    inputs: [{ name: 'A' }, { name: 'B' }],
    outputs: 1,
    attrs: { ...PROTOCOL_ATTRS },
    infer: inferAs('Mul'),
    secure: secureOp('mul'),
  },
  overShares('SecureHardSigmoid', 'max(0, min(1, alpha·x + beta)): the affine map (its truncation exact, one round: truncateExactOnline), then Clip to [0, 1] on the full window (protocol hardSigmoid)', { alpha: { kind: 'float', default: 0.2 }, beta: { kind: 'float', default: 0.5 } }, identity, 'hardSigmoid'),
  overShares('SecureTruncate', "Truncate, exact (no wrap failure; ⌊x/2^bits⌋ or one less), one correlated OT: after a product with P1's weights P0's wrap bit is known offline, f bits P1 → P0 in one round (protocol truncateExact); with online=1 (P0's share input-dependent, after a product of two activations) a helper-dealt bit triple, one round, 1 bit each way between P0 and P1 (protocol truncateExactOnline, step truncateExactOnline)", { bits: { kind: 'int', range: [1, 32], doc: 'bits shifted out' }, online: { kind: 'int', range: [0, 1], default: 0, doc: "1: P0's share is input-dependent (the bit-triple form, dealt by the step itself)" } }, identity, 'truncateExact'),
  overShares('SecureSigmoid', 'the piecewise-linear sigmoid of runtime/protocols/sigmoid.ts: one ReLU per knot, then a local weighted sum (protocol sigmoid)', {}, identity, 'sigmoid'),
  // The client-offline mode (lower{client-offline=1}, passes/secure/lower-client-offline.ts): after
  // the first products P0's share of every tensor is input-independent, made in the offline phase.
  {
    name: 'SecureHelperSelect',
    doc: "client-offline mode: y = b·(T_bits(V) + R) — an optional exact truncation of V by `bits` (0: none), an optional residual R, then a ReLU (`blocks` empty) or block-ReLU whose sign P2 selects on x + m; the window is on the comparison value c = V + (R << bits), i.e. the activation's window shifted up by `bits` (protocol helperSelect)",
    inputs: [{ name: 'V' }, { name: 'R', optional: true }],
    outputs: 1,
    attrs: {
      bits: { kind: 'int', range: [0, 32], doc: 'bits the truncation before the selection shifts out (0: no truncation)' },
      blocks: { ...BLOCK_ATTRS.blocks, default: [], doc: "empty: a plain ReLU (every element its own patch); else BlockRelu's blocks" },
      ...WINDOW_ATTRS,
      ...PROTOCOL_ATTRS,
    },
    infer: windowed((ctx) => {
      const [v, r] = ctx.inputs;
      if (r && r.shape.join(',') !== v!.shape.join(',')) throw new ShapeError(`residual R [${r.shape.join(',')}] must have V's shape [${v!.shape.join(',')}]`);
      const blocks = ctx.attr<number[]>('blocks');
      if (blocks.length > 0) checkBlocks(v!.shape, blocks);
      return [v!];
    }),
    secure: secureOp('helperSelect'),
  },
  overShares(
    'SecureLift',
    "client-offline mode: a value computed in the smaller ring Z_2^from (a selection's window_ring) brought back to the program's ring: each share multiplied by 2^bits, then the exact truncation by `bits` (bits = ring − from; exact while |x| < 2^(from − 2); two rounds, protocol truncateClientOffline with `lift`)",
    { bits: { kind: 'int', range: [8, 32], doc: 'the program\'s ring minus `from`' }, from: { kind: 'int', range: [24, 56], doc: 'bits of the ring the value was computed in' } },
    identity,
    'truncateClientOffline',
  ),
  overShares('SecureTruncateClientOffline', "client-offline mode: exact truncation by `bits` where no selection follows (three-way, P2's part sent back: two rounds; protocol truncateClientOffline)", { bits: { kind: 'int', range: [1, 32], doc: 'bits shifted out' } }, identity, 'truncateClientOffline'),
  {
    name: 'SecureWeightsClientOffline',
    doc: "client-offline mode: product of an activation whose P0 share is input-independent with P1's constant weights: P0's masked share and P2's correction both offline, P1 computes alone online (protocol applyWeightsClientOffline, one-time setupWeights)",
    inputs: [{ name: 'X' }, { name: 'W' }, { name: 'B', optional: true }],
    outputs: 1,
    attrs: {
      ...CONV_ATTRS,
      mask_from: { kind: 'string', default: '', doc: "'' or the earlier SecureWeightsClientOffline reading the same X whose activation mask it shares: P0's masked share of X is not sent again (protocol applyWeightsClientOffline with a shared mask; lower)" },
      ...PROTOCOL_ATTRS,
    },
    infer: weightsInfer,
    secure: secureOp('weightsClientOffline'),
  },
);
