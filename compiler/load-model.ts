// Loading a model by file type: an ONNX model is imported, a textual IR file is parsed with its
// weights file. The driver (compiler/driver.ts) calls this for every command that takes a model;
// `--input-shape` is parsed in compiler/commands/flags.ts.
import { extname } from 'node:path';
import { diag } from '../runtime/diagnostics.js';
import type { Graph } from '../ir/graph.js';
import { loadMir } from '../ir/weights.js';
import { loadOnnxFile } from './onnx/import.js';

/** Options of loading a model. */
export interface LoadModelOptions {
  /** Shape of the (first) runtime input, fixing symbolic dimensions of an ONNX model; a .mir
   * file's input shapes are fixed, so there it must agree. */
  inputShape?: number[];
}

/** Loads FILE.onnx (imported) or FILE.mir (+ the weights file it names) into a verified graph. */
export function loadGraphFile(path: string, opts: LoadModelOptions = {}): Graph {
  const ext = extname(path).toLowerCase();
  if (ext === '.onnx') return loadOnnxFile(path, { inputShape: opts.inputShape });
  if (ext !== '.mir') throw diag('MPCC0006', [ext || path, '.onnx or .mir']);
  const g = loadMir(path);
  const first = g.inputs[0];
  const shape = first === undefined ? undefined : g.types.get(first)?.shape;
  if (opts.inputShape && shape && opts.inputShape.join(',') !== shape.join(',')) {
    throw diag('MPCC1008', [opts.inputShape.join(','), `${path} fixes input '${first}' to [${shape.join(',')}]`]);
  }
  return g;
}
