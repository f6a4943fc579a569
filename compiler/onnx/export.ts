// ONNX export: a float IR graph back to a standard ONNX model at one pinned opset, through the
// writer's builder (compiler/onnx/writer.ts). One entry per IR op, the inverse of its importer:
// the same ONNX operator with its attributes, the operands ONNX takes as inputs (Squeeze axes,
// Slice bounds, Pad widths, Clip bounds, Resize sizes) written as initializers, constants as
// initializers under their IR names. Value and node names stay the IR's, so re-importing the
// file gives the same IR. BlockRelu, which ONNX has no operator for, is written with standard
// operators (compiler/onnx/export-block-relu.ts). Quantized and secure ops have no ONNX form:
// exporting them is MPCC1010 naming the node.
import { diag } from '../../runtime/diagnostics.js';
import type { Attrs, Graph, Node } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import type { DType } from '../../ir/types.js';
import { exportBlockRelu } from './export-block-relu.js';
import { EXPORT_OPSET, ExportContext } from './export-context.js';
import { type AttrValue, OnnxBuilder, dataType, float } from './writer.js';

export { EXPORT_OPSET };

/** How one IR op is written: nodes appended to the builder, the node's outputs defined. */
type OpExporter = (node: Node, attrs: Attrs, ctx: ExportContext) => void;

/** An op written as the ONNX operator of the same name with the listed attributes. */
function same(...names: string[]): OpExporter {
  return (node, attrs, ctx) => {
    const out: Record<string, AttrValue> = {};
    for (const k of names) out[k] = attrValue(attrs[k]);
    ctx.builder.node(node.op, node.inputs, node.outputs, out, node.name);
  };
}

/** An IR attribute as a builder attribute: floats are wrapped so 1.0 stays a FLOAT. */
function attrValue(v: unknown): AttrValue {
  if (typeof v === 'number') return Number.isInteger(v) ? v : float(v);
  return v as AttrValue;
}

/** A FLOAT attribute whatever its value. */
const floatAttr = (v: unknown) => float(v as number);

const ONNX_DTYPE: Readonly<Record<DType, number>> = {
  float32: dataType('float32'), float64: dataType('float64'), int64: dataType('int64'), int32: dataType('int32'), bool: dataType('bool'),
};

/** The exporters, by IR op: every float op the importer produces. */
const EXPORTERS: Readonly<Record<string, OpExporter>> = {
  Relu: same(),
  Sigmoid: same(),
  Identity: same(),
  Round: same(),
  Add: same(),
  Sub: same(),
  Mul: same(),
  Div: same(),
  MatMul: same(),
  GlobalAveragePool: same(),
  HardSigmoid: (node, a, ctx) => { ctx.builder.node('HardSigmoid', node.inputs, node.outputs, { alpha: floatAttr(a.alpha), beta: floatAttr(a.beta) }, node.name); },
  Clip: (node, a, ctx) => {
    const dtype = ctx.type(node.inputs[0]).dtype;
    const bound = (v: number, what: string) => (Number.isFinite(v) ? ctx.scalar(`${node.name}/${what}`, v, dtype) : '');
    const inputs = [node.inputs[0], bound(a.min as number, 'min'), bound(a.max as number, 'max')];
    while (inputs[inputs.length - 1] === '') inputs.pop();
    ctx.builder.node('Clip', inputs, node.outputs, {}, node.name);
  },
  Dropout: (node, a, ctx) => {
    ctx.builder.node('Dropout', [node.inputs[0], ctx.scalar(`${node.name}/ratio`, a.ratio as number, 'float32')], node.outputs, {}, node.name);
  },
  Conv: (node, a, ctx) => {
    const kernel = ctx.type(node.inputs[1]).shape.slice(2);
    ctx.builder.node('Conv', node.inputs, node.outputs, { kernel_shape: kernel, strides: a.strides, pads: a.pads, dilations: a.dilations, group: a.group } as Record<string, AttrValue>, node.name);
  },
  MaxPool: same('kernel_shape', 'strides', 'pads', 'dilations', 'ceil_mode'),
  AveragePool: same('kernel_shape', 'strides', 'pads', 'ceil_mode', 'count_include_pad'),
  BatchNormalization: (node, a, ctx) => { ctx.builder.node('BatchNormalization', node.inputs, node.outputs, { epsilon: floatAttr(a.epsilon) }, node.name); },
  Gemm: (node, a, ctx) => {
    ctx.builder.node('Gemm', node.inputs, node.outputs, { alpha: floatAttr(a.alpha), beta: floatAttr(a.beta), transA: a.transA as number, transB: a.transB as number }, node.name);
  },
  Softmax: same('axis'),
  ArgMax: same('axis', 'keepdims', 'select_last_index'),
  ReduceMean: (node, a, ctx) => {
    const axes = a.axes as number[];
    ctx.builder.node('ReduceMean', node.inputs, node.outputs, axes.length ? { axes, keepdims: a.keepdims as number } : { keepdims: a.keepdims as number }, node.name);
  },
  Reshape: (node, a, ctx) => {
    // a symbolic batch: a target spelling the input's batch size copies it instead (0, allowzero 0)
    const target = ctx.graph.constants.get(node.inputs[1]);
    const batch = ctx.type(node.inputs[0]).shape[0];
    if (ctx.dynamicBatch && target && Number(target.data[0]) === batch && (a.allowzero as number) === 0) {
      const copy = ctx.int64(`${node.name}/shape`, [0, ...Array.from(target.data as ArrayLike<number | bigint>, Number).slice(1)]);
      ctx.builder.node('Reshape', [node.inputs[0], copy], node.outputs, { allowzero: 0 }, node.name);
      return;
    }
    same('allowzero')(node, a, ctx);
  },
  Flatten: same('axis'),
  Transpose: same('perm'),
  Concat: same('axis'),
  Gather: same('axis'),
  Squeeze: (node, a, ctx) => { ctx.builder.node('Squeeze', [node.inputs[0], ctx.int64(`${node.name}/axes`, a.axes as number[])], node.outputs, {}, node.name); },
  Unsqueeze: (node, a, ctx) => { ctx.builder.node('Unsqueeze', [node.inputs[0], ctx.int64(`${node.name}/axes`, a.axes as number[])], node.outputs, {}, node.name); },
  Shape: (node, a, ctx) => {
    const rank = ctx.type(node.inputs[0]).shape.length;
    if ((a.start as number) !== 0 || (a.end as number) < rank) throw diag('MPCC1010', [node.name, node.op, `start/end need opset 15 (exported at ${EXPORT_OPSET})`]);
    ctx.builder.node('Shape', node.inputs, node.outputs, {}, node.name);
  },
  Slice: (node, a, ctx) => {
    const shape = ctx.type(node.inputs[0]).shape;
    const axes = a.axes as number[], steps = a.steps as number[];
    // the IR's end -1 with a negative step means "before index 0"; ONNX reads -1 as the last index
    const ends = (a.ends as number[]).map((e, i) => (steps[i] < 0 && e === -1 ? -shape[axes[i]] - 1 : e));
    const p = `${node.name}/`;
    ctx.builder.node('Slice', [node.inputs[0], ctx.int64(`${p}starts`, a.starts as number[]), ctx.int64(`${p}ends`, ends), ctx.int64(`${p}axes`, axes), ctx.int64(`${p}steps`, steps)], node.outputs, {}, node.name);
  },
  Cast: (node, a, ctx) => { ctx.builder.node('Cast', node.inputs, node.outputs, { to: ONNX_DTYPE[a.to as DType] }, node.name); },
  Pad: (node, a, ctx) => {
    const dtype = ctx.type(node.inputs[0]).dtype;
    const inputs = [node.inputs[0], ctx.int64(`${node.name}/pads`, a.pads as number[])];
    if ((a.value as number) !== 0) inputs.push(ctx.scalar(`${node.name}/value`, a.value as number, dtype));
    ctx.builder.node('Pad', inputs, node.outputs, { mode: 'constant' }, node.name);
  },
  Resize: (node, a, ctx) => {
    const shape = ctx.type(node.inputs[0]).shape;
    const sizes = a.sizes as number[], scales = a.scales as number[];
    const attrs = { mode: a.mode as string, coordinate_transformation_mode: a.coordinate_transformation_mode as string, nearest_mode: a.nearest_mode as string };
    // the importer derives scales from sizes (fround(size / in)) or sizes from scales
    // (floor(fround(scale · in))): write whichever of the two re-imports to both attributes
    const fromSizes = sizes.every((s, i) => scales[i] === Math.fround(s / shape[i]));
    const fromScales = scales.every((s, i) => sizes[i] === Math.floor(Math.fround(s * shape[i])));
    if (!fromSizes && !fromScales) throw diag('MPCC1010', [node.name, node.op, `sizes [${sizes.join(',')}] and scales [${scales.join(',')}] disagree; ONNX takes one of them`]);
    // sizes spell the batch: with a symbolic one, scales whenever they re-import the same
    const operands = fromSizes && !(ctx.dynamicBatch && fromScales)
      ? [node.inputs[0], '', '', ctx.int64(`${node.name}/sizes`, sizes)]
      : [node.inputs[0], '', ctx.builder.initializer(ctx.fresh(`${node.name}/scales`), Float32Array.from(scales), [scales.length])];
    ctx.builder.node('Resize', operands, node.outputs, attrs, node.name);
  },
  BlockRelu: (node, a, ctx) => exportBlockRelu(node, a, ctx),
};

/** The IR ops `exportOnnx` can write. */
export function exportableOps(): string[] {
  return Object.keys(EXPORTERS).sort();
}

/** Options of an export. */
export interface ExportOptions {
  /** Written into the model's producer_name (default 'mpcc'). */
  readonly producer?: string;
  /** The model's doc_string. */
  readonly doc?: string;
  /** Axis 0 of every input and output the symbolic 'batch' (ExportContext.dynamicBatch); the
   * caller has checked that the network takes any batch (compiler/eval-batch.ts withBatch). */
  readonly dynamicBatch?: boolean;
}

/** The ONNX model of float IR graph `g` (see the file comment); MPCC1010 for an op ONNX cannot take. */
export function exportOnnx(g: Graph, options: ExportOptions = {}): Uint8Array {
  const builder = new OnnxBuilder({ opset: EXPORT_OPSET, graphName: g.name, producer: options.producer ?? 'mpcc', doc: options.doc });
  builder.reserve(g.types.keys());
  builder.reserve(g.nodes.map((n) => n.name));
  const unknown = g.nodes.find((n) => !EXPORTERS[n.op]);
  if (unknown) {
    const why = unknown.op.startsWith('Secure') || unknown.op === 'FixedInput' || unknown.op === 'Truncate'
      ? 'quantized and secure ops have no ONNX form; export the float model'
      : 'the exporter has no ONNX form for this op';
    throw diag('MPCC1010', [unknown.name, unknown.op, why]);
  }
  const ctx = new ExportContext(builder, g, options.dynamicBatch);
  const batched = (shape: readonly number[]): (number | string)[] => (options.dynamicBatch && shape.length > 0 ? ['batch', ...shape.slice(1)] : [...shape]);
  for (const name of g.inputs) {
    const t = ctx.type(name);
    builder.input(name, batched(t.shape), t.dtype);
  }
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const [name, t] of g.constants) {
    if (!used.has(name)) continue;
    if (t.dtype === 'float32') builder.initializer(name, t.data as Float32Array, t.shape);
    else builder.tensorInitializer(name, { dtype: t.dtype, shape: t.shape, data: t.data });
  }
  for (const node of g.nodes) EXPORTERS[node.op](node, withDefaults(node), ctx);
  for (const name of g.outputs) {
    if (g.inputs.includes(name) || g.constants.has(name)) throw diag('MPCC1010', ['<outputs>', '-', `output '${name}' is not computed by a node`]);
    const t = ctx.type(name);
    builder.output(name, batched(t.shape), t.dtype);
  }
  return builder.toBytes();
}
