// The shape of an op's facts about secure inference (OpDef.secure): the types only, so the op
// table (ir/ops/registry.ts) can declare the field without importing the facts' helpers
// (ir/ops/facts.ts), which read the table.
import type { Node } from '../graph.js';
import type { Tensor } from '../tensor.js';
import type { TensorType } from '../types.js';
import type { StepKind } from '../../runtime/program/steps.js';

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
