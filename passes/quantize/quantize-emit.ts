// The quantize pass's graph assembler: collects the new node list, constants and types while
// the pass walks the float graph, renames uses of values it re-defines (graph inputs behind
// their FixedInput) and hands out fresh value and node names.
import { type Graph, type Node, makeGraph, makeNode, pruneValues } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { TensorType } from '../../ir/types.js';

/** Builds the quantized graph node by node. */
export class QuantizedGraph {
  readonly nodes: Node[] = [];
  readonly constants: Map<string, Tensor>;
  readonly types: Map<string, TensorType>;
  private readonly renamed = new Map<string, string>();
  private readonly nodeNames = new Set<string>();

  constructor(readonly source: Graph) {
    this.constants = new Map(source.constants);
    this.types = new Map(source.types);
    for (const n of source.nodes) this.nodeNames.add(n.name);
  }

  /** A node name: `base` if no node has it yet, else `base_1`, `base_2`, … (and reserves it). */
  fresh(base: string): string {
    return reserve(base, this.nodeNames);
  }

  /** A value name not used by any value yet (reserved until it gets a type or constant). */
  freshValue(base: string): string {
    let name = base;
    for (let i = 1; this.types.has(name); i++) name = `${base}_${i}`;
    return name;
  }

  /** From now on, reads of `from` read `to` instead. */
  rename(from: string, to: string): void {
    this.renamed.set(from, to);
  }

  /** The name a read of `value` resolves to. */
  resolve(value: string): string {
    return value ? (this.renamed.get(value) ?? value) : value;
  }

  /** The constant tensor of `value` (after renaming), or undefined. */
  constant(value: string): Tensor | undefined {
    return value ? this.constants.get(this.resolve(value)) : undefined;
  }

  /** Type of a defined value. */
  type(value: string): TensorType {
    return this.types.get(this.resolve(value))!;
  }

  /** True when some node other than `node` (or a graph output) reads `value`. */
  sharedBeyond(value: string, node: Node): boolean {
    return this.source.outputs.includes(value) || this.source.nodes.some((n) => n !== node && n.inputs.includes(value));
  }

  /** Appends a node (its inputs already resolved); results must have types already. */
  add(node: Node): void {
    this.nodes.push(node);
  }

  /** Defines a new value of type `type` and returns its (fresh) name. */
  value(base: string, type: TensorType): string {
    const name = this.freshValue(base);
    this.types.set(name, type);
    return name;
  }

  /** Defines (or overwrites) the constant `name`; use freshValue for a new one. */
  defineConstant(name: string, t: Tensor): string {
    this.constants.set(name, t);
    this.types.set(name, { dtype: t.dtype, shape: t.shape });
    return name;
  }

  /**
   * Emits `node` computing its product into a fresh accumulator value (2·frac fractional bits
   * in the ring), then `Truncate{bits}` back into the node's original result name, so every
   * reader and graph output keeps its name.
   */
  addProduct(node: Node, bits: number): void {
    const result = node.outputs[0];
    const acc = this.value(`${result}.acc`, this.types.get(result)!);
    this.add(makeNode(node.op, node.name, node.inputs, [acc], node.attrs));
    this.add(makeNode('Truncate', this.fresh(`${node.name}.trunc`), [acc], [result], { bits }));
  }

  /** The assembled graph (unused constants and types dropped). */
  finish(): Graph {
    const outputs = this.source.outputs.map((o) => this.resolve(o));
    return pruneValues(makeGraph({ ...this.source, outputs, nodes: this.nodes, constants: this.constants, types: this.types }));
  }
}

function reserve(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}
