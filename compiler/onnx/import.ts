// ONNX import: decodes a model, fixes the input shapes, runs one table-driven importer per
// node (folding constant subgraphs on the way) and returns a verified IR graph whose value
// names are the ONNX tensor names.
import { readFileSync } from 'node:fs';
import { diag } from '../../runtime/diagnostics.js';
import { type Graph, makeGraph, removeDeadNodes } from '../../ir/graph.js';
import type { TensorType } from '../../ir/types.js';
import { verify } from '../../ir/verify.js';
import { ImportContext, ImportState } from './context.js';
import { OPSET_RANGE, lookupImporter } from './importers/index.js';
import { type OnnxModel, type OnnxValueInfo, readOnnxModel } from './reader.js';

/** Options of an import. */
export interface ImportOptions {
  /** Path of the model file: names it in messages and locates external data. */
  path?: string;
  /** Shape of the (first) runtime input, replacing symbolic dimensions, e.g. [1, 3, 224, 224]. */
  inputShape?: number[];
}

/** Imports ONNX model bytes into a verified IR graph. */
export function importOnnx(bytes: Uint8Array, opts: ImportOptions = {}): Graph {
  const model = readOnnxModel(bytes, { path: opts.path });
  return importModel(model, opts);
}

/** Reads and imports an ONNX file (MPCC0002 when it cannot be read). */
export function loadOnnxFile(path: string, opts: Omit<ImportOptions, 'path'> = {}): Graph {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw diag('MPCC0002', [path, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
  return importOnnx(bytes, { ...opts, path });
}

/** Imports an already decoded model. */
export function importModel(model: OnnxModel, opts: ImportOptions = {}): Graph {
  const label = opts.path ?? '<bytes>';
  const [lo, hi] = OPSET_RANGE;
  if (model.opset < lo || model.opset > hi) throw diag('MPCC1003', [model.opset, label, `${lo} to ${hi}`]);
  const state = new ImportState(model.opset);
  for (const n of model.nodes) {
    n.inputs.forEach((i) => i && state.used.add(i));
    n.outputs.forEach((o) => o && state.onnxNames.add(o));
  }
  model.outputs.forEach((o) => state.used.add(o.name));
  for (const [name, t] of model.initializers) {
    state.onnxNames.add(name);
    state.setConstant(name, t);
  }
  // graph inputs that are also initializers are defaults: for inference they are constants
  const runtime = model.inputs.filter((i) => !model.initializers.has(i.name));
  if (opts.inputShape && runtime.length === 0) throw diag('MPCC1008', [opts.inputShape.join(','), 'the model has no runtime input']);
  runtime.forEach((input, k) => {
    state.onnxNames.add(input.name);
    state.types.set(input.name, inputType(input, k === 0 ? opts.inputShape : undefined, label));
  });

  for (const node of model.nodes) {
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    const importer = domain ? undefined : lookupImporter(node.opType, model.opset);
    if (!importer) throw diag('MPCC1001', [domain ? `${domain}.${node.opType}` : node.opType, model.opset, node.name]);
    for (const i of node.inputs) if (i && !state.types.has(i)) throw diag('MPCC1009', [i, node.name]);
    for (const o of node.outputs) if (o && state.types.has(o)) throw diag('MPCC1006', [node.name, node.opType, `output '${o}' is already defined (an ONNX value is defined once)`]);
    importer.run(new ImportContext(state, node));
  }
  const outputs = model.outputs.map((o) => o.name);
  for (const o of outputs) if (!state.types.has(o)) throw diag('MPCC1009', [o, '<graph outputs>']);
  const graph = makeGraph({
    name: 'main',
    inputs: runtime.map((i) => i.name),
    outputs,
    nodes: state.nodes,
    types: state.types,
    constants: state.constants,
  });
  return verify(removeDeadNodes(graph));
}

/** Static type of a runtime input; symbolic dims need `fixed` (from --input-shape; internally
 * a -1 in it keeps the model's own dimension, which must then be fixed). */
function inputType(input: OnnxValueInfo, fixed: number[] | undefined, label: string): TensorType {
  if (!input.dtype) throw diag('MPCC1007', [input.name, 'unknown']);
  const dims = input.dims;
  if (fixed) {
    const bad = (why: string) => diag('MPCC1008', [fixed.join(','), why]);
    if (fixed.some((d) => !Number.isInteger(d) || (d <= 0 && d !== -1))) throw bad('dimensions must be positive integers');
    if (dims && dims.length !== fixed.length) throw bad(`input '${input.name}' has rank ${dims.length}, not ${fixed.length}`);
    dims?.forEach((d, i) => {
      if (typeof d === 'number' && fixed[i] !== -1 && d !== fixed[i]) throw bad(`dimension ${i} of input '${input.name}' is fixed to ${d} by the model`);
    });
    const shape = fixed.map((d, i) => (d === -1 ? dims?.[i] : d));
    const sym = shape.find((d) => typeof d !== 'number');
    if (sym !== undefined) throw diag('MPCC1004', [input.name, sym ?? '(no shape)']);
    return { dtype: input.dtype, shape: shape as number[] };
  }
  if (!dims) throw diag('MPCC1004', [input.name, '(no shape)']);
  const sym = dims.find((d) => typeof d === 'string');
  if (sym !== undefined) throw diag('MPCC1004', [input.name, sym]);
  const bad = dims.find((d) => !Number.isSafeInteger(d) || (d as number) < 1);
  if (bad !== undefined) throw diag('MPCC1002', [label, `input '${input.name}' has dimension ${bad} in [${dims.join(',')}]`]);
  return { dtype: input.dtype, shape: dims as number[] };
}
