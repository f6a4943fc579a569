// What secure inference does with each op, as data on the op's definition (OpDef.secure): what
// quantize does with it, how lower runs it on shares, the runtime step codegen emits for it and
// the attribute limits of what runs. quantize, lower, the stage checks (ir/stage.ts) and codegen
// read these facts; no pass keeps a list of op names of its own. An op without facts is not
// supported in secure inference ("no secure protocol for this op").
import type { Node } from '../graph.js';
import type { Tensor } from '../tensor.js';
import type { TensorType } from '../types.js';
import type { StepKind } from '../../runtime/program/steps.js';
import { diag, type MpccError } from '../../runtime/diagnostics.js';
import { lookupOp } from './registry.js';

/**
 * What quantize does with an op:
 *   keep     unchanged (local on shares, or a comparison lower turns into its protocol)
 *   product  a product with the server's constant weights: Truncate after it
 *   scale    a product with a constant outside a weight operand (Mul, Div, batch-norm): rewritten
 *            as a weight layer, then Truncate
 *   client   left to the client, who runs it on the revealed output (only as a trailing op)
 *   made     made by quantize itself (FixedInput, Truncate): the graph is already quantized
 *   lowered  made by lower (the secure ops): the graph is already lowered
 *   reject   not supported (`why`)
 */
export type QuantizeRule = 'keep' | 'product' | 'scale' | 'client' | 'made' | 'lowered' | 'reject';

/**
 * How lower runs an op:
 *   local        each party computes on its share, no message (codegen: `step`)
 *   client       the client computes it in plaintext after the reveal
 *   protocol     replaced by its secure op (`secureOp`), which runs a protocol
 *   secure       a secure op itself, lower's result (codegen: `step`)
 *   unsupported  no secure form (`why`); quantize rewrites or rejects it first
 */
export type LowerRule = 'local' | 'client' | 'protocol' | 'secure' | 'unsupported';

/** What an op's limits see of the graph around it. */
export interface OperandView {
  /** The constant tensor of `value`, or undefined for an activation. */
  constant(value: string): Tensor | undefined;
  type(value: string): TensorType;
}

/** The facts of one op about secure inference. */
export interface SecureFacts {
  readonly quantize: QuantizeRule;
  readonly lower: LowerRule;
  /** lower 'protocol': the secure op it becomes. */
  readonly secureOp?: string;
  /** lower 'local' and 'secure': the runtime step kind (runtime/program/steps.ts) that runs it. */
  readonly step?: StepKind;
  /** Why secure inference cannot run it (reject, unsupported) or where it runs (client). */
  readonly why?: string;
  /** What of this node's attributes and operands secure inference cannot run: the reason, or undefined. */
  readonly limits?: (node: Node, operands: OperandView) => string | undefined;
}

/** The facts of an op that declares none: not supported. */
const UNSUPPORTED: SecureFacts = { quantize: 'reject', lower: 'unsupported', why: 'no secure protocol for this op' };

/** The facts of `op` (UNSUPPORTED for an op without facts or not defined). */
export function secureFacts(op: string): SecureFacts {
  return lookupOp(op)?.secure ?? UNSUPPORTED;
}

/** True for a secure op (lower's result, running a protocol). */
export function isSecureOp(op: string): boolean {
  return secureFacts(op).lower === 'secure';
}

/** The one "not supported in secure inference" error (MPCC6001), naming the node and why. */
export function notSupported(node: Pick<Node, 'name' | 'op'>, why: string): MpccError {
  return diag('MPCC6001', [node.name, node.op, why]);
}

/** Why `node` cannot run in secure inference as it stands (its op's reason or limits), or undefined. */
export function unsupportedReason(node: Node, operands: OperandView): string | undefined {
  const facts = secureFacts(node.op);
  if (facts.quantize === 'reject' || facts.lower === 'unsupported') return facts.why ?? UNSUPPORTED.why;
  return facts.limits?.(node, operands);
}

/** Facts of an op that stays local on shares and runs as step `step`. */
export function localOp(step: StepKind, limits?: SecureFacts['limits']): SecureFacts {
  return { quantize: 'keep', lower: 'local', step, limits };
}

/** Facts of a secure op run by step `step`. */
export function secureOp(step: StepKind): SecureFacts {
  return { quantize: 'lowered', lower: 'secure', step };
}

/** Facts of an op lower replaces by the secure op `op` (quantize: `quantize`, by default keep). */
export function toSecureOp(op: string, quantize: QuantizeRule = 'keep', limits?: SecureFacts['limits']): SecureFacts {
  return { quantize, lower: 'protocol', secureOp: op, limits };
}

/** Facts of a product with a constant that quantize rewrites as a weight layer (Mul, Div, batch-norm). */
export const SCALED_TO_WEIGHTS: SecureFacts = {
  quantize: 'scale',
  lower: 'unsupported',
  why: 'quantize turns a product with a constant into a weight layer (run quantize first)',
};

/** Facts of an op the client runs in plaintext on the revealed output (Softmax, ArgMax). */
export const CLIENT_TAIL: SecureFacts = {
  quantize: 'client',
  lower: 'client',
  why: 'only supported as the last op, run by the client on the revealed output',
};
