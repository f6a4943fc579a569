// Shared helpers of the interpreter kernel tests: single-op ONNX models run by onnxruntime-node
// (the independent reference), the kernel under test called on the same data, seeded test
// data and the error measure the acceptance uses.
import * as ort from 'onnxruntime-node';
import { OnnxBuilder, type AttrValue as OnnxAttr } from '../../../compiler/onnx/writer.js';
import type { AttrValue } from '../../../ir/graph.js';
import { lookupKernel, type Precision } from '../../../ir/interp/index.js';
import { attrOf, lookupOp } from '../../../ir/ops/index.js';
import { Tensor, tensorOf } from '../../../ir/tensor.js';
import { numel, type DType } from '../../../ir/types.js';

/** A reproducible stream of test numbers (an LCG: test data, not secrets). */
export class TestRandom {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return this.s / 4294967296;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** One of the given values. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** `n` values uniform in [lo, hi). */
  floats(n: number, lo = -2, hi = 2): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * this.next();
    return a;
  }
}

/** An operand of a single-op model: a runtime input or (with `constant`) an initializer. */
export interface Operand {
  readonly data: Float32Array | readonly number[];
  readonly shape: readonly number[];
  readonly dtype?: 'float32' | 'int64';
  readonly constant?: boolean;
}

/** Result of onnxruntime on a single-op model. */
export interface OrtResult {
  readonly data: Float64Array;
  readonly dims: number[];
  readonly type: string;
}

/** Runs one ONNX node (operands in order, '' for omitted ones) in onnxruntime-node. */
export async function ortOp(opType: string, operands: readonly (Operand | null)[], attrs: Record<string, OnnxAttr>, opset = 13, outType: 'float32' | 'int64' = 'float32'): Promise<OrtResult> {
  const b = new OnnxBuilder({ opset });
  const feeds: Record<string, ort.Tensor> = {};
  const names = operands.map((o, i) => {
    if (!o) return '';
    const name = `in${i}`;
    const dtype = o.dtype ?? 'float32';
    if (o.constant) {
      if (dtype === 'int64') b.int64Initializer(name, [...o.data], [...o.shape]);
      else b.initializer(name, o.data, o.shape);
    } else {
      b.input(name, o.shape, dtype);
      feeds[name] = dtype === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from([...o.data].map((v) => BigInt(v))), [...o.shape])
        : new ort.Tensor('float32', Float32Array.from(o.data), [...o.shape]);
    }
    return name;
  });
  b.node(opType, names, ['out'], attrs);
  b.output('out', undefined, outType);
  const session = await ort.InferenceSession.create(b.toBytes(), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const out = (await session.run(feeds)).out;
  return { data: Float64Array.from(out.data as ArrayLike<number | bigint>, Number), dims: [...out.dims], type: out.type };
}

/** Calls the interpreter kernel of `op` on operands with canonical IR attributes. */
export function runKernel(op: string, inputs: readonly (Tensor | undefined)[], attrs: Record<string, AttrValue>, outShape: readonly number[], outDtype: DType = 'float32', precision: Precision = 'float32'): Tensor {
  const kernel = lookupKernel(op);
  if (!kernel) throw new Error(`no kernel for ${op}`);
  const def = lookupOp(op);
  const node = { op, name: `${op}_test`, inputs: inputs.map((_, i) => `in${i}`), outputs: ['out'], attrs };
  const dtype = outDtype === 'float32' || outDtype === 'float64' ? precision : outDtype;
  const cast = inputs.map((t) => (t && (t.dtype === 'float32' || t.dtype === 'float64') && t.dtype !== precision ? tensorOf(precision, t.shape, t.data) : t));
  const [out] = kernel(cast, { node, attr: (name) => attrOf(node, def, name), outputTypes: [{ dtype, shape: outShape }], precision });
  return out;
}

/** A float32 IR tensor of an operand. */
export function tensorFrom(o: Operand): Tensor {
  return tensorOf(o.dtype === 'int64' ? 'int64' : 'float32', o.shape, o.data);
}

/** Max |a − ref| relative to max(1, max |ref|), the acceptance's error measure. */
export function relError(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (actual.length !== ref.length) return Infinity;
  let scale = 1, err = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(actual[i] - ref[i]);
    if (!(d <= err)) err = Number.isNaN(d) ? Infinity : d;
  }
  return err / scale;
}

/** Number of elements of a shape. */
export function count(shape: readonly number[]): number {
  return numel(shape);
}
