// The refit weights file (`.refit`): the constants a refit changed, with what they were made
// for, so they are never applied to another model or plan. Layout:
//
//   "MPCR"  u32 version (1)  u32 header length  header (UTF-8 JSON)  zero padding to 64
//   the tensors as an mpcc weights file (ir/weights.ts: index, blobs, their sha256)
//
// The header is {"format": "mpcc-refit", "version": 1, "model": {"sha256"}, "plan": {"sha256"},
// "ridge", "images", "calibration" (free form: where the images came from), "layers" (the
// per-layer report)}. `model.sha256` is the model file's (as a plan records it), `plan.sha256`
// the plan's blocks' (planBlocksSha256: what the refit depends on, so that the windows compile
// records in a plan, and the plan's own reference to this file, leave it valid). Reading checks
// both against the files given (MPCC4062) and every tensor against the graph's constant of that
// name (MPCC4061). A plan references its refit file by name and sha256 (`refit` in the plan
// file, passes/planning/README.md): planRefitFile resolves and checks it (MPCC4091).
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Graph } from '../../../ir/graph.js';
import { replaceGraph } from '../../../ir/graph.js';
import type { Tensor } from '../../../ir/tensor.js';
import { decodeWeights, encodeWeights } from '../../../ir/weights.js';
import { MpccError, diag } from '../../../runtime/diagnostics.js';
import { type Plan, modelFileSha256, readPlan } from '../plan-file.js';
import { sha256 } from '../../../runtime/program/artifacts.js';
import type { LayerRefit } from './reconstruct.js';

/** The format tag and version this mpcc writes and reads. */
export const REFIT_FORMAT = 'mpcc-refit';
export const REFIT_VERSION = 1;
const MAGIC = 'MPCR';
const HEADER = 12;
const ALIGN = 64;

/** What a refit file records besides its tensors. */
export interface RefitHeader {
  readonly format: typeof REFIT_FORMAT;
  readonly version: typeof REFIT_VERSION;
  /** sha256 of the model file the refit was made on. */
  readonly model: { readonly sha256: string };
  /** sha256 of the plan file's bytes. */
  readonly plan: { readonly sha256: string };
  readonly ridge: number | 'auto';
  /** Calibration images used. */
  readonly images: number;
  /** Where they came from (free form, e.g. the calibration loader's source). */
  readonly calibration: Readonly<Record<string, unknown>>;
  readonly layers: readonly LayerRefit[];
}

/** A refit file's contents. */
export interface RefitFile {
  readonly header: RefitHeader;
  readonly weights: ReadonlyMap<string, Tensor>;
}

/** Encodes a refit file. */
export function encodeRefit(header: Omit<RefitHeader, 'format' | 'version'>, weights: ReadonlyMap<string, Tensor>): Uint8Array {
  const json = Buffer.from(JSON.stringify({ format: REFIT_FORMAT, version: REFIT_VERSION, ...header }), 'utf8');
  const start = Math.ceil((HEADER + json.length) / ALIGN) * ALIGN;
  const body = encodeWeights([...weights].map(([name, tensor]) => ({ name, tensor })));
  const out = new Uint8Array(start + body.length);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, REFIT_VERSION, true);
  view.setUint32(8, json.length, true);
  out.set(json, HEADER);
  out.set(body, start);
  return out;
}

/** Decodes a refit file; anything malformed is MPCC4061 naming `file`. */
export function decodeRefit(bytes: Uint8Array, file: string): RefitFile {
  const bad = (why: string) => diag('MPCC4061', [file, why]);
  if (bytes.length < HEADER || Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== MAGIC) throw bad('not an mpcc refit file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== REFIT_VERSION) throw bad(`version ${version}; this mpcc reads version ${REFIT_VERSION}`);
  const length = view.getUint32(8, true);
  if (HEADER + length > bytes.length) throw bad('truncated header');
  let header: RefitHeader;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(HEADER, HEADER + length)).toString('utf8')) as RefitHeader;
  } catch {
    throw bad('corrupt header');
  }
  const hex = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (header?.format !== REFIT_FORMAT || !hex(header.model?.sha256) || !hex(header.plan?.sha256) || !Array.isArray(header.layers)) throw bad('the header lacks format, model.sha256, plan.sha256 or layers');
  const start = Math.ceil((HEADER + length) / ALIGN) * ALIGN;
  let entries;
  try {
    entries = decodeWeights(bytes.subarray(Math.min(start, bytes.length)), file);
  } catch (err) {
    if (err instanceof MpccError) throw bad(err.message);
    throw err;
  }
  return { header, weights: new Map(entries.map((e) => [e.name, e.tensor])) };
}

/** The sha256 a refit file records for `plan`: of its model's sha256 and every planned layer's
 * name and blocks (what a refit depends on; not its windows, source or refit reference). */
export function planBlocksSha256(plan: Plan): string {
  return sha256(Buffer.from(JSON.stringify([plan.model.sha256, plan.layers.map((l) => [l.name, l.blocks])]), 'utf8'));
}

/** Where `mpcc plan --reconstruct` writes the refit file of plan file `planFile`: beside it, `P.refit` for `P.json`. */
export function refitFileBeside(planFile: string): string {
  const ext = extname(planFile);
  return join(dirname(planFile), `${basename(planFile, ext === '.json' ? ext : '')}.refit`);
}

/** The refit file plan file `planFile` references, checked against the sha256 the plan records
 * (MPCC4091; MPCC0002 missing), or undefined when the plan references none. */
export function planRefitFile(planFile: string): string | undefined {
  const ref = readPlan(planFile).refit;
  if (ref === undefined) return undefined;
  const file = join(dirname(planFile), ref.file);
  const actual = modelFileSha256(file);
  if (actual !== ref.sha256) throw diag('MPCC4091', [planFile, file, ref.sha256, actual]);
  return file;
}

/** Reads refit file `file` (MPCC0002 unreadable, MPCC4061 malformed) and checks it was made for
 * the model file `model` and the plan file `plan` (MPCC4062). */
export function readRefit(file: string, model: string, plan: string): RefitFile {
  const refit = readRefitFile(file);
  const modelSha = modelFileSha256(model), planSha = planBlocksSha256(readPlan(plan));
  if (refit.header.model.sha256 !== modelSha) throw diag('MPCC4062', [file, 'model', refit.header.model.sha256, model, modelSha]);
  if (refit.header.plan.sha256 !== planSha) throw diag('MPCC4062', [file, 'plan', refit.header.plan.sha256, plan, planSha]);
  return refit;
}

/** Reads and decodes refit file `file` without checking what it was made for (MPCC0002, MPCC4061). */
export function readRefitFile(file: string): RefitFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw diag('MPCC0002', [file, (e as Error).message]);
  }
  return decodeRefit(bytes, file);
}

/** `graph` with the refit's constants in place of its own (MPCC4061 when one is missing or of
 * another type or shape: the file was made after other passes). */
export function applyRefit(graph: Graph, weights: ReadonlyMap<string, Tensor>, file: string): Graph {
  const constants = new Map(graph.constants);
  for (const [name, t] of weights) {
    const old = graph.constants.get(name);
    if (!old) throw diag('MPCC4061', [file, `the graph has no constant '${name}' (was it made with other --passes?)`]);
    if (old.dtype !== t.dtype || old.shape.join(',') !== t.shape.join(',')) {
      throw diag('MPCC4061', [file, `constant '${name}' is ${t.dtype}[${t.shape.join(',')}] in the file but ${old.dtype}[${old.shape.join(',')}] in the graph`]);
    }
    constants.set(name, t);
  }
  return replaceGraph(graph, { constants });
}
