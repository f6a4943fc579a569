// The op table: every IR operation declared as data — operands, attributes with kinds,
// defaults and ranges, a shape rule, a doc line and its facts about secure inference
// (ir/ops/facts.ts). The verifier, the printer/parser, the importer, the interpreter, the
// passes and codegen all read it; adding an op means adding one entry.
import type { AttrValue, Attrs, Node } from '../graph.js';
import type { Tensor } from '../tensor.js';
import type { TensorType } from '../types.js';
import type { SecureFacts } from './secure-facts.js';

/** Kind of an attribute, as it is checked and printed. */
export type AttrKind = 'int' | 'float' | 'ints' | 'floats' | 'string' | 'strings' | 'tensor';

/** Declaration of one attribute. */
export interface AttrSpec {
  readonly kind: AttrKind;
  /** Absent means the attribute is required. */
  readonly default?: AttrValue;
  /** Allowed closed range of every number in the attribute. */
  readonly range?: readonly [number, number];
  /** Allowed values of a string attribute. */
  readonly oneOf?: readonly string[];
  readonly doc?: string;
}

/** Declaration of one operand. */
export interface OperandSpec {
  readonly name: string;
  readonly optional?: boolean;
  /** The operand repeats (Concat's inputs); only the last operand may be variadic. */
  readonly variadic?: boolean;
}

/** What a shape rule sees of a node. */
export interface ShapeContext {
  readonly node: Node;
  /** Types of the inputs (undefined for an omitted optional input). */
  readonly inputs: readonly (TensorType | undefined)[];
  /** Values of inputs that are constants (Reshape's shape, Slice's starts), else undefined. */
  readonly constants: readonly (Tensor | undefined)[];
  /** Attribute value, or the declared default. */
  attr<T extends AttrValue>(name: string): T;
}

/** One IR operation. Shape rules throw ShapeError with a message for bad operands. */
export interface OpDef {
  readonly name: string;
  readonly doc: string;
  readonly inputs: readonly OperandSpec[];
  /** Number of outputs (fixed). */
  readonly outputs: number;
  readonly attrs: Readonly<Record<string, AttrSpec>>;
  /** Output types from input types (and constant inputs where the shape depends on them). */
  infer(ctx: ShapeContext): TensorType[];
  /** What quantize, lower and codegen do with the op; absent: not supported in secure inference. */
  readonly secure?: SecureFacts;
}

/** A shape rule's complaint about its operands; the verifier adds the location. */
export class ShapeError extends Error {}

const table = new Map<string, OpDef>();

/** Adds op definitions to the table. */
export function defineOps(...defs: OpDef[]): void {
  for (const d of defs) table.set(d.name, d);
}

/** The definition of `op`, or undefined. */
export function lookupOp(op: string): OpDef | undefined {
  return table.get(op);
}

/** Names of all defined ops, sorted. */
export function opNames(): string[] {
  return [...table.keys()].sort();
}

/** Reads an attribute of `node`, falling back to the op's declared default. */
export function attrOf<T extends AttrValue>(node: Node, def: OpDef | undefined, name: string): T {
  const v = node.attrs[name] ?? def?.attrs[name]?.default;
  return v as T;
}

/** A ShapeContext for `node` with the given operand types and constants. */
export function shapeContext(node: Node, def: OpDef, inputs: readonly (TensorType | undefined)[], constants: readonly (Tensor | undefined)[]): ShapeContext {
  return { node, inputs, constants, attr: <T extends AttrValue>(name: string) => attrOf<T>(node, def, name) };
}

/** Attributes with defaults filled in (for kernels and passes that want every value). */
export function withDefaults(node: Node): Attrs {
  const def = table.get(node.op);
  if (!def) return node.attrs;
  const out: Record<string, AttrValue> = {};
  for (const [k, spec] of Object.entries(def.attrs)) if (spec.default !== undefined) out[k] = spec.default;
  return { ...out, ...node.attrs };
}
