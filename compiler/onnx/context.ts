// What an operator importer sees: its ONNX node, the types and constant values of its
// operands, attribute readers, and `emit`, which appends an IR node — or, when every operand
// is a constant, evaluates it with the interpreter's kernel and records a constant instead
// (so shape subgraphs fold away and every value gets a static shape).
import type { AttrValue, Attrs, Node } from '../../ir/graph.js';
import { makeNode } from '../../ir/graph.js';
import { diag, InternalError } from '../../runtime/diagnostics.js';
import { ShapeError, lookupOp, shapeContext } from '../../ir/ops/index.js';
import { lookupKernel } from '../../ir/interp/index.js';
import { operandProblem } from '../../ir/verify.js';
import { Tensor, castTensor } from '../../ir/tensor.js';
import type { DType, TensorType } from '../../ir/types.js';
import type { OnnxAttr, OnnxNode } from './reader.js';

/** The IR under construction while a model is imported. */
export class ImportState {
  readonly types = new Map<string, TensorType>();
  readonly constants = new Map<string, Tensor>();
  readonly nodes: Node[] = [];
  readonly nodeNames = new Set<string>();
  /** Every value name some ONNX node reads or the graph returns. */
  readonly used = new Set<string>();
  /** Every value name of the ONNX file, so generated names avoid them. */
  readonly onnxNames = new Set<string>();

  constructor(readonly opset: number) {}

  /** Records a constant value. */
  setConstant(name: string, t: Tensor): void {
    this.types.set(name, { dtype: t.dtype, shape: t.shape });
    this.constants.set(name, t);
  }

  /** A node or value name not used so far, `base` itself when free. */
  uniqueName(base: string, taken: (n: string) => boolean): string {
    if (!taken(base)) return base;
    let i = 1;
    while (taken(`${base}_${i}`)) i++;
    return `${base}_${i}`;
  }
}

/** One importer's view of its node (see ImportState). */
export class ImportContext {
  private generated = 0;

  constructor(readonly state: ImportState, readonly node: OnnxNode) {}

  /** The default-domain opset of the model. */
  get opset(): number {
    return this.state.opset;
  }

  /** Name of input `i`, or '' when it is absent or omitted. */
  input(i: number): string {
    return this.node.inputs[i] ?? '';
  }

  /** True when input `i` is given (and, for constants, not an empty tensor). */
  has(i: number): boolean {
    const name = this.input(i);
    if (!name) return false;
    const c = this.state.constants.get(name);
    return !(c && c.size === 0 && c.shape.length === 1 && c.shape[0] === 0);
  }

  /** Type of input `i`. */
  type(i: number): TensorType {
    const t = this.state.types.get(this.input(i));
    if (!t) this.fail(this.input(i) ? `input ${i} ('${this.input(i)}') is not defined` : `input ${i} is missing`);
    return t!;
  }

  /** Constant value of input `i`, or undefined when it is computed at run time. */
  constant(i: number): Tensor | undefined {
    return this.state.constants.get(this.input(i));
  }

  /** Constant value of input `i`; an error naming `what` when it is not constant. */
  constantInput(i: number, what: string): Tensor {
    const t = this.constant(i);
    if (!t) this.fail(`${what} (input ${i}, '${this.input(i)}') must be a constant or computable from the static shapes`);
    return t!;
  }

  /** Integer attribute (or `dflt`; required when no default is given). */
  int(name: string, dflt?: number): number {
    return this.attr(name, dflt, (v) => typeof v === 'number', 'an integer') as number;
  }

  /** Float attribute. */
  float(name: string, dflt?: number): number {
    return this.attr(name, dflt, (v) => typeof v === 'number', 'a number') as number;
  }

  /** Integer-list attribute. */
  ints(name: string, dflt?: number[]): number[] {
    return this.attr(name, dflt, (v) => Array.isArray(v) && v.every((x) => typeof x === 'number'), 'a list of integers') as number[];
  }

  /** Float-list attribute. */
  floats(name: string, dflt?: number[]): number[] {
    return this.attr(name, dflt, (v) => Array.isArray(v) && v.every((x) => typeof x === 'number'), 'a list of numbers') as number[];
  }

  /** String attribute. */
  string(name: string, dflt?: string): string {
    return this.attr(name, dflt, (v) => typeof v === 'string', 'a string') as string;
  }

  /** Tensor attribute, or undefined. */
  tensor(name: string): Tensor | undefined {
    const v = this.node.attrs.get(name);
    if (v === undefined) return undefined;
    if (!(v instanceof Tensor)) this.fail(`attribute '${name}' must be a tensor`);
    return v as Tensor;
  }

  /** True when the attribute is present. */
  hasAttr(name: string): boolean {
    return this.node.attrs.has(name);
  }

  /** A user error at this node (MPCC1006). */
  fail(message: string): never {
    throw diag('MPCC1006', [this.node.name, this.node.opType, message]);
  }

  /** Fails when output `i` or later is read by another node or the graph (unsupported extra results). */
  onlyFirstOutputs(count: number, what: string): void {
    this.node.outputs.slice(count).forEach((o) => {
      if (o && this.state.used.has(o)) this.fail(`the ${what} output '${o}' is not supported`);
    });
  }

  /** A fresh value name derived from this node's name. */
  temp(suffix: string): string {
    const s = this.state;
    return s.uniqueName(`${this.node.name}/${suffix}${this.generated++ || ''}`, (n) => s.types.has(n) || s.onnxNames.has(n));
  }

  /** Records output `name` as a constant. */
  setConstant(name: string, t: Tensor): void {
    this.state.setConstant(name, t);
  }

  /** A constant operand of the given value under a fresh name (for operands ONNX gives as attributes). */
  constantOperand(suffix: string, t: Tensor): string {
    const name = this.temp(suffix);
    this.state.setConstant(name, t);
    return name;
  }

  /**
   * Appends IR node `op` reading `inputs` with attributes `attrs`, writing `outputs` (the ONNX
   * node's first output by default). When every operand is constant the node is evaluated
   * now and its results become constants.
   */
  emit(op: string, inputs: readonly string[], attrs: Attrs = {}, outputs: readonly string[] = [this.node.outputs[0]]): string[] {
    const def = lookupOp(op);
    if (!def) throw new InternalError(`importer of ${this.node.opType} emits unknown IR op ${op}`);
    const s = this.state;
    const operands = operandProblem(def, inputs);
    if (operands) this.fail(operands);
    const undef = inputs.find((i) => i && !s.types.has(i));
    if (undef) this.fail(`input '${undef}' is not defined`);
    const name = s.uniqueName(this.node.name, (n) => s.nodeNames.has(n));
    const irNode = makeNode(op, name, inputs, outputs, attrs);
    const types = inputs.map((i) => (i ? s.types.get(i) : undefined));
    const consts = inputs.map((i) => (i ? s.constants.get(i) : undefined));
    let inferred: TensorType[];
    try {
      inferred = def.infer(shapeContext(irNode, def, types, consts));
    } catch (err) {
      if (err instanceof ShapeError) this.fail(err.message);
      throw err;
    }
    const kernel = lookupKernel(op);
    const foldable = kernel && inputs.length > 0 && inputs.every((i, k) => !i || consts[k]);
    if (foldable) {
      const results = kernel(consts, { node: irNode, attr: (a) => (irNode.attrs[a] ?? def.attrs[a]?.default) as never, outputTypes: inferred, precision: 'float32' });
      outputs.forEach((o, i) => s.setConstant(o, results[i].dtype === inferred[i].dtype ? results[i] : castTensor(results[i], inferred[i].dtype)));
      return [...outputs];
    }
    outputs.forEach((o, i) => s.types.set(o, inferred[i]));
    s.nodes.push(irNode);
    s.nodeNames.add(name);
    return [...outputs];
  }

  /** Input `i` as a value of `dtype`: constants are cast (into a new constant), other values must match. */
  asDType(i: number, dtype: DType): string {
    const t = this.type(i);
    if (t.dtype === dtype) return this.input(i);
    const c = this.constant(i);
    if (c) return this.constantOperand('cast', castTensor(c, dtype));
    return this.emit('Cast', [this.input(i)], { to: dtype }, [this.temp('cast')])[0];
  }

  private attr(name: string, dflt: OnnxAttr | undefined, ok: (v: OnnxAttr) => boolean, kind: string): OnnxAttr {
    const v = this.node.attrs.get(name);
    if (v === undefined) {
      if (dflt === undefined) this.fail(`attribute '${name}' is required`);
      return dflt!;
    }
    if (!ok(v)) this.fail(`attribute '${name}' must be ${kind}`);
    return v;
  }
}

/** An attribute map for `emit` (drops undefined entries). */
export function attrs(entries: Record<string, AttrValue | undefined>): Attrs {
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

/** Makes axis `a` of a rank-`rank` tensor non-negative, failing when out of range. */
export function normalizeAxis(ctx: ImportContext, a: number, rank: number, what = 'axis'): number {
  const n = a < 0 ? a + rank : a;
  if (n < 0 || n >= rank) ctx.fail(`${what} ${a} is out of range for rank ${rank}`);
  return n;
}

/** Normalized, sorted, distinct axes. */
export function normalizeAxes(ctx: ImportContext, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => normalizeAxis(ctx, a, rank)).sort((x, y) => x - y);
  if (out.some((a, i) => i > 0 && a === out[i - 1])) ctx.fail(`axes [${axes.join(',')}] repeat an axis`);
  return out;
}
