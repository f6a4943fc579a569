// What secure inference does with each op, as data on the op's definition (OpDef.secure): what
// quantize does with it, how lower runs it on shares, the runtime step codegen emits for it and
// the attribute limits of what runs. quantize, lower, the stage checks (ir/stage.ts) and codegen
// read these facts; no pass keeps a list of op names of its own. An op without facts is not
// supported in secure inference ("no secure protocol for this op").
import type { Node } from '../graph.js';
import type { StepKind } from '../../runtime/program/steps.js';
import { diag, type MpccError } from '../../runtime/diagnostics.js';
import { lookupOp, type AttrSpec } from './registry.js';
import type { OperandView, QuantizeRule, SecureFacts } from './secure-facts.js';

/** The attribute lower sets on an average pool whose division it truncates exactly (the pool
 * then only multiplies its window sums by round(2^b/D), b = DIVIDE_BITS_ATTR or log2 D for a single
 * power-of-two divisor: runtime/protocols/linear.ts avgPool). */
export const UNTRUNCATED_ATTR: AttrSpec = { kind: 'int', default: 0, range: [0, 1] };

/** An average pool's reciprocal bits b for a divisor D that is not a power of two: the pool
 * multiplies by round(2^b/D) and truncates by b (relative error ≤ D/2^(b+1)); 16 by default
 * (runtime/protocols/linear.ts AVG_SHIFT), fewer where `--ring auto` finds the ring too narrow
 * for the product (compiler/ring-choice.ts). A power of two 2^s always truncates by s. */
export const DIVIDE_BITS_ATTR: AttrSpec = { kind: 'int', default: 16, range: [1, 16] };

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
