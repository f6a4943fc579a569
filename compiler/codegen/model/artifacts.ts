// Codegen, second half: writes OUT/ from a scheduled graph: manifest.json, model.mir (the
// final IR, weights referenced not included), cost.json, and per party program.js and
// kernels.wasm (model-kernels.ts: every kernel its program calls); party1 alone gets
// weights.bin (+ weights.json, its index); plan.json, the block-ReLU plan compiled in, when
// there is one (the plan file's bytes as given: public, like model.mir). Files are written first and the manifest last, so
// a manifest never lists files that are not there.
import { writeFileAtomic } from '../../cli-support.js';
import type { Graph } from '../../../ir/graph.js';
import { printGraph } from '../../../ir/print.js';
import { numel } from '../../../ir/types.js';
import { costReport, type CostReport } from '../../../passes/secure/cost-model.js';
import { ARTIFACT_FORMAT, type Manifest } from '../../../runtime/program/manifest.js';
import { sha256, type WeightsIndex } from '../../../runtime/program/artifacts.js';
import { emitModelKernels, truncationKernels } from './model-kernels.js';
import { generatePrograms } from './program-gen.js';
import { renderProgramModule } from './program-module.js';
import { join } from 'node:path';

/** What was written. */
export interface ArtifactsSummary {
  manifest: Manifest;
  cost: CostReport;
  /** Bytes per file, by path relative to OUT. */
  sizes: Record<string, number>;
}

/** Writes the artifacts of scheduled graph `g` (compiled from ONNX bytes `model`, under the
 * plan file's bytes `plan` when given) to `out`. */
export function writeArtifacts(out: string, g: Graph, model: Uint8Array, mpccVersion: string, plan?: Uint8Array): ArtifactsSummary {
  const gen = generatePrograms(g);
  const cost = costReport(g);
  const modelHash = sha256(model);
  const files: Record<string, Uint8Array> = {};
  const text = (s: string) => new TextEncoder().encode(s);
  files['model.mir'] = text(printGraph(g, { weightsRef: 'model.weights (not written: party1/weights.bin holds the encoded weights)', summaries: false }));
  files['cost.json'] = text(JSON.stringify(cost, null, 2) + '\n');
  if (plan !== undefined) files['plan.json'] = plan;
  const size = (v: string) => numel(g.types.get(v)!.shape);
  // One module for the three parties: the runtime runs it in place of its generic kernels.
  const kernels = emitModelKernels(truncationKernels(gen.programs[0], size, (key) => gen.weights.get(key)!.length));
  for (const p of gen.programs) {
    files[`party${p.party}/program.js`] = text(renderProgramModule(p, [`model sha256 ${modelHash}`, `mpcc ${mpccVersion}, frac ${gen.frac}, ${p.rounds} rounds (+${p.oneTimeRounds} one-time)`]));
    files[`party${p.party}/kernels.wasm`] = kernels;
  }
  const { bin, index } = packWeights(gen.weights);
  files['party1/weights.bin'] = bin;
  files['party1/weights.json'] = text(JSON.stringify(index, null, 1) + '\n');
  const manifest: Manifest = {
    format: ARTIFACT_FORMAT,
    mpccVersion,
    modelHash,
    frac: gen.frac,
    input: { name: gen.programs[0].input.name, shape: gen.programs[0].input.shape, dtype: 'float32' },
    outputs: gen.programs[0].outputs.map((o) => ({ name: o.name, shape: o.post.length ? postShape(o.shape, o.post) : o.shape, post: o.post })),
    rounds: cost.rounds,
    oneTimeRounds: cost.oneTimeRounds,
    files: {},
  };
  const sizes: Record<string, number> = {};
  for (const [path, bytes] of Object.entries(files)) {
    writeFileAtomic(join(out, path), bytes);
    manifest.files[path] = sha256(bytes);
    sizes[path] = bytes.length;
  }
  writeFileAtomic(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, cost, sizes };
}

/** The shape after the client's post ops (ArgMax keeps or drops its axis). */
function postShape(shape: number[], post: Manifest['outputs'][number]['post']): number[] {
  let s = [...shape];
  for (const p of post) {
    if (p.op !== 'ArgMax') continue;
    const axis = p.axis < 0 ? p.axis + s.length : p.axis;
    s = p.keepdims === false ? s.filter((_, i) => i !== axis) : s.map((d, i) => (i === axis ? 1 : d));
  }
  return s;
}

/** All constants in one little-endian file of 64-bit ring elements, with an index. */
function packWeights(weights: Map<string, BigUint64Array>): { bin: Uint8Array; index: WeightsIndex } {
  const total = [...weights.values()].reduce((t, w) => t + w.length, 0);
  const all = new BigUint64Array(total);
  const index: WeightsIndex = {};
  let at = 0;
  for (const [k, w] of weights) {
    all.set(w, at);
    index[k] = { offset: at, length: w.length };
    at += w.length;
  }
  return { bin: new Uint8Array(all.buffer), index };
}
