// The builder: makes graphs node by node, inferring every result's type from the op table.
import { type AttrValue, type Attrs, type Graph, type Node, makeGraph, makeNode } from './graph.js';
import { diag, InternalError } from '../runtime/diagnostics.js';
import { ShapeError, lookupOp, shapeContext } from './ops/index.js';
import type { Tensor } from './tensor.js';
import type { TensorType } from './types.js';
import { verify } from './verify.js';

/** Builds a graph; values are named by the caller or get fresh names. */
export class GraphBuilder {
  private readonly inputs: string[] = [];
  private readonly outputs: string[] = [];
  private readonly nodes: Node[] = [];
  private readonly types = new Map<string, TensorType>();
  private readonly constants = new Map<string, Tensor>();
  private counter = 0;
  private readonly nodeNames = new Set<string>();

  constructor(readonly name = 'main') {}

  /** Declares a runtime input. */
  input(name: string, type: TensorType): string {
    this.define(name, type);
    this.inputs.push(name);
    return name;
  }

  /** Declares a constant (weights or folded value). */
  constant(name: string, value: Tensor): string {
    this.define(name, { dtype: value.dtype, shape: value.shape });
    this.constants.set(name, value);
    return name;
  }

  /** Appends a node; returns its result names. Throws MPCC2002 when operands do not fit. */
  node(op: string, inputs: readonly string[], attrs: Attrs = {}, opts: { name?: string; outputs?: readonly string[] } = {}): string[] {
    const def = lookupOp(op);
    const name = opts.name ?? this.fresh(op.toLowerCase());
    if (!def) throw diag('MPCC2002', [name, op, `unknown op '${op}'`]);
    const outputs = opts.outputs ?? Array.from({ length: def.outputs }, (_, i) => (def.outputs === 1 ? `${name}_out` : `${name}_out${i}`));
    const node = makeNode(op, name, inputs, outputs, attrs);
    const types = inputs.map((i) => (i ? this.typeOf(i) : undefined));
    const consts = inputs.map((i) => (i ? this.constants.get(i) : undefined));
    let inferred: TensorType[];
    try {
      inferred = def.infer(shapeContext(node, def, types, consts));
    } catch (err) {
      if (err instanceof ShapeError) throw diag('MPCC2002', [name, op, err.message]);
      throw err;
    }
    outputs.forEach((o, i) => this.define(o, inferred[i]));
    this.nodes.push(node);
    this.nodeNames.add(name);
    return [...outputs];
  }

  /** Appends a single-result node and returns the result's name. */
  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, name?: string): string {
    return this.node(op, inputs, attrs, { name })[0];
  }

  /** Marks values as graph outputs. */
  output(...names: string[]): void {
    this.outputs.push(...names);
  }

  /** The type of a defined value. */
  typeOf(name: string): TensorType {
    const t = this.types.get(name);
    if (!t) throw new InternalError(`value '${name}' is not defined`);
    return t;
  }

  /** The verified graph. */
  build(): Graph {
    return verify(makeGraph({ name: this.name, inputs: this.inputs, outputs: this.outputs, nodes: this.nodes, types: new Map(this.types), constants: new Map(this.constants) }));
  }

  private define(name: string, type: TensorType): void {
    if (this.types.has(name)) throw new InternalError(`value '${name}' is defined twice`);
    this.types.set(name, type);
  }

  private fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`; while (this.types.has(`${n}_out`) || this.nodeNames.has(n));
    return n;
  }
}
