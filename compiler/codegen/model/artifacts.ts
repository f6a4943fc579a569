// Codegen, second half: writes OUT/ from a scheduled graph. Each party's folder is
// self-sufficient (`mpcc party OUT/partyN` reads nothing else) and holds its own
// manifest.json (the files' sha256 and the public architecture's digest), program.json (the
// step table: data the runtime validates and interprets, never code) and kernels.wasm (every
// kernel its program calls, model-kernels.ts); party1/ alone also gets weights.bin (+
// weights.json, its index) and model.mir (the final IR, whose small constants are printed
// inline: the server's secrets). party0/ and party2/ hold the public architecture only:
// shapes, ops and parameters, no constant value, no digest of the server's files. At the top,
// for the operator: cost.json, plan.json (the block-ReLU plan compiled in, when there is one)
// and manifest.json (the ONNX file's sha256 and every file's). Files are written first and
// the manifests last, so a manifest never lists files that are not there.
import { writeFileAtomic } from '../../cli-support.js';
import type { Graph } from '../../../ir/graph.js';
import { printGraph } from '../../../ir/print.js';
import { numel } from '../../../ir/types.js';
import { costReport, type CostReport } from '../../../passes/secure/cost-model.js';
import { ARTIFACT_FORMAT, architectureDigest, type InputPreprocessing, type Manifest, type PartyManifest } from '../../../runtime/program/manifest.js';
import { sha256, type WeightsIndex } from '../../../runtime/program/artifacts.js';
import { emitModelKernels, truncationKernels } from './model-kernels.js';
import { generatePrograms } from './program-gen.js';
import { renderProgramJson } from './program-json.js';
import type { Program } from '../../../runtime/program/program.js';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** What was written. */
export interface ArtifactsSummary {
  manifest: Manifest;
  cost: CostReport;
  /** Bytes per file, by path relative to OUT. */
  sizes: Record<string, number>;
}

/** Writes the artifacts of scheduled graph `g` (compiled from ONNX bytes `model`, under the
 * plan file's bytes `plan` when given) to `out`; `serverFiles` go beside plan.json at the top (the
 * server's record), listed by the manifest. */
export function writeArtifacts(out: string, g: Graph, model: Uint8Array, mpccVersion: string, plan?: Uint8Array, serverFiles: Readonly<Record<string, Uint8Array>> = {}, client: ClientRecord = {}): ArtifactsSummary {
  const { preprocessing, classes } = client;
  const gen = generatePrograms(g);
  const cost = costReport(g);
  const modelHash = sha256(model);
  const files: Record<string, Uint8Array> = {};
  const text = (s: string) => new TextEncoder().encode(s);
  files['party1/model.mir'] = text(printGraph(g, { weightsRef: 'model.weights (not written: weights.bin holds the encoded weights)', summaries: false }));
  files['cost.json'] = text(JSON.stringify(cost, null, 2) + '\n');
  if (plan !== undefined) files['plan.json'] = plan;
  // the server's own files beside plan.json (the refit weights it references), never in a party's folder
  for (const [name, bytes] of Object.entries(serverFiles)) {
    if (name.includes('/') || name in files) throw new Error(`internal: writeArtifacts: server file '${name}'`);
    files[name] = bytes;
  }
  const size = (v: string) => numel(g.types.get(v)!.shape);
  // One module for the three parties: the runtime runs it in place of its generic kernels.
  const kernels = emitModelKernels(truncationKernels(gen.programs[0], size, (key) => gen.weights.get(key)!.length));
  const programs = gen.programs.map((p) => text(renderProgramJson(p)));
  // The digest of what the runtime will parse, not of the object in memory.
  const architecture = architectureDigest(JSON.parse(new TextDecoder().decode(programs[0])) as Program, sha256(kernels));
  gen.programs.forEach((p, i) => {
    files[`party${p.party}/program.json`] = programs[i];
    files[`party${p.party}/kernels.wasm`] = kernels;
  });
  const { bin, index } = packWeights(gen.weights);
  files['party1/weights.bin'] = bin;
  files['party1/weights.json'] = text(JSON.stringify(index, null, 1) + '\n');
  const base = {
    format: ARTIFACT_FORMAT,
    mpccVersion,
    architecture,
    frac: gen.frac,
    input: { name: gen.programs[0].input.name, shape: gen.programs[0].input.shape, dtype: 'float32' as const, ...(preprocessing ? { preprocessing } : {}) },
    outputs: gen.programs[0].outputs.map((o) => ({ name: o.name, shape: o.post.length ? postShape(o.shape, o.post) : o.shape, post: o.post })),
    rounds: cost.rounds,
    oneTimeRounds: cost.oneTimeRounds,
    ...(classes ? { classes: [...classes] } : {}),
  };
  const manifest: Manifest = { ...base, modelHash, files: {} };
  const partyManifests: PartyManifest[] = ([0, 1, 2] as const).map((party) => ({ ...base, party, files: {} }));
  const sizes: Record<string, number> = {};
  const earlier = earlierFiles(out);
  for (const [path, bytes] of Object.entries(files)) {
    writeFileAtomic(join(out, path), bytes);
    manifest.files[path] = sha256(bytes);
    sizes[path] = bytes.length;
    const own = /^party([012])\/(.*)$/.exec(path);
    if (own) partyManifests[Number(own[1])].files[own[2]] = sha256(bytes);
  }
  for (const pm of partyManifests) {
    const m = text(JSON.stringify(pm, null, 2) + '\n');
    writeFileAtomic(join(out, `party${pm.party}/manifest.json`), m);
    manifest.files[`party${pm.party}/manifest.json`] = sha256(m);
    sizes[`party${pm.party}/manifest.json`] = m.length;
  }
  writeFileAtomic(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  // Files of the layout before format 2, if OUT held an older compilation: the top-level
  // model.mir printed P1's small constants, and program.js was code.
  for (const stale of ['model.mir', 'party0/program.js', 'party1/program.js', 'party2/program.js']) rmSync(join(out, stale), { force: true });
  // and the files an earlier compile into OUT wrote that this one does not (its plan.json when this
  // compile has none, its refit weights): left, they would describe a program OUT no longer holds
  for (const stale of earlier) if (!(stale in manifest.files)) rmSync(join(out, stale), { force: true });
  return { manifest, cost, sizes };
}

/** The files OUT's manifest.json lists, if OUT holds an earlier compile (none otherwise). Only
 * paths of OUT's own layout are taken (a top-level name or partyN/name), never one leading out. */
function earlierFiles(out: string): string[] {
  let listed: unknown;
  try {
    listed = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files?: unknown }).files;
  } catch {
    return [];
  }
  if (listed === null || typeof listed !== 'object') return [];
  return Object.keys(listed).filter((p) => /^(party[012]\/)?[^/\\]+$/.test(p) && !p.split('/').includes('..') && p !== 'manifest.json');
}

/** What the manifests record for the client's use (public): how an image input is
 * preprocessed, and the first output's class names. */
export interface ClientRecord {
  readonly preprocessing?: InputPreprocessing;
  readonly classes?: readonly string[];
}

/** The shape after the client's post ops (ArgMax keeps or drops its axis). */
function postShape(shape: number[], post: Manifest['outputs'][number]['post']): number[] {
  let s = [...shape];
  for (const p of post) {
    if (p.op !== 'ArgMax') continue; // Softmax and Round keep the shape
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
