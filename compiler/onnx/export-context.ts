// What the ONNX exporter's per-op writers share (compiler/onnx/export.ts): the builder, the
// graph's types, fresh initializers and names, and the opset every export is written in.
import { InternalError } from '../../runtime/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import type { DType, TensorType } from '../../ir/types.js';
import type { OnnxBuilder } from './writer.js';

/** The default-domain opset every exported model is written in (Reshape's allowzero needs 14). */
export const EXPORT_OPSET = 14;

/** What an op's exporter works with: the builder, the graph's types and fresh initializers. */
export class ExportContext {
  /** With `dynamicBatch`: axis 0 of the inputs and outputs is the symbolic 'batch', and the
   * writers spell no batch size (a Reshape's target copies it, a Resize scales it by 1). */
  constructor(readonly builder: OnnxBuilder, readonly graph: Graph, readonly dynamicBatch = false) {}

  /** Type of IR value `name`. */
  type(name: string): TensorType {
    const t = this.graph.types.get(name);
    if (!t) throw new InternalError(`export: value '${name}' has no type`);
    return t;
  }

  /** A fresh int64 initializer (1-D unless `shape` says). */
  int64(prefix: string, values: readonly number[], shape: readonly number[] = [values.length]): string {
    return this.builder.int64Initializer(this.builder.fresh(prefix), values, shape);
  }

  /** A fresh scalar initializer of element type `dtype`. */
  scalar(prefix: string, value: number, dtype: DType): string {
    const name = this.builder.fresh(prefix);
    if (dtype === 'float32') return this.builder.initializer(name, [value], []);
    return this.builder.tensorInitializer(name, { dtype, shape: [], data: [value] });
  }

  /** A fresh value name for an intermediate result. */
  fresh(prefix: string): string {
    return this.builder.fresh(prefix);
  }
}
