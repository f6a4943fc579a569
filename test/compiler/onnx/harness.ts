// Shared by the import tests: deterministic inputs, onnxruntime-node as the reference, and the
// relative error measure max|a − b| / max(1, max|b|).
import * as ort from 'onnxruntime-node';
import { importOnnx, type ImportOptions } from '../../../compiler/onnx/import.js';
import type { Graph } from '../../../ir/graph.js';
import { Tensor, tensorOf } from '../../../ir/tensor.js';
import { type Shape, numel } from '../../../ir/types.js';
import { lookupKernel, runGraph, type Precision } from '../../../ir/interp/index.js';

/** Reproducible values in [-2, 2) (a tiny LCG; test data, not secrets). */
export function testValues(shape: Shape, seed = 1): Float32Array {
  const x = new Float32Array(numel(shape));
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 4294967296) * 4 - 2;
  }
  return x;
}

/** Relative error of `got` against the reference `want`. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let diff = 0, scale = 1;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
    if (Number.isNaN(got[i]) !== Number.isNaN(want[i])) return Infinity;
  }
  return diff / scale;
}

/** Ops of `g` with no interpreter kernel yet. */
export function missingKernels(g: Graph): string[] {
  return [...new Set(g.nodes.map((n) => n.op).filter((op) => !lookupKernel(op)))];
}

/** Result of running one model both ways. */
export interface Comparison {
  graph: Graph;
  /** Worst relative error over float outputs (int outputs must match exactly, else Infinity). */
  error: number;
  /** Per-output shapes from onnxruntime. */
  shapes: Record<string, number[]>;
}

/** Deterministic inputs for every runtime input of `g`. */
export function inputsFor(g: Graph, seed = 7): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  g.inputs.forEach((name, k) => {
    const t = g.types.get(name)!;
    m.set(name, tensorOf(t.dtype, t.shape, testValues(t.shape, seed + k)));
  });
  return m;
}

/** Runs `g` (imported from `bytes`) in the interpreter and the model in onnxruntime on the same inputs. */
export async function compareWithOrt(bytes: Uint8Array, graph: Graph, precision: Precision = 'float32'): Promise<Comparison> {
  const inputs = inputsFor(graph);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of inputs) feeds[name] = new ort.Tensor('float32', Float32Array.from(t.data as Float32Array), [...t.shape]);
  const session = await ort.InferenceSession.create(bytes);
  const want = await session.run(feeds);
  const got = runGraph(graph, inputs, { precision });
  let error = 0;
  const shapes: Record<string, number[]> = {};
  for (const name of graph.outputs) {
    const w = want[name], g = got.get(name)!;
    shapes[name] = [...w.dims];
    if (w.dims.join(',') !== g.shape.join(',')) return { graph, error: Infinity, shapes };
    const wv = Array.from(w.data as ArrayLike<number | bigint>, Number);
    const gv = Array.from(g.data as ArrayLike<number>);
    if (w.type === 'int64' || w.type === 'int32' || w.type === 'bool') {
      if (wv.some((v, i) => v !== gv[i])) error = Infinity;
    } else error = Math.max(error, relativeError(gv, wv));
  }
  return { graph, error, shapes };
}

/** Imports `bytes` and compares with onnxruntime. */
export async function importAndCompare(bytes: Uint8Array, opts: ImportOptions = {}): Promise<Comparison> {
  return compareWithOrt(bytes, importOnnx(bytes, opts));
}
