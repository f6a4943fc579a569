// The plan file: which block every channel of every planned ReLU layer gets (README.md beside
// this file documents the JSON). Reading is in two steps, so a command can fail before it
// loads a large model: `readPlan` parses the file and checks it against itself (format and
// version, fields, blocks that fit the recorded shape, DReLU counts that match the blocks);
// `checkPlanModel` checks the model file's sha256 and `checkPlanGraph` the graph (every planned
// layer a ReLU of the recorded shape, no layer missing from a complete plan). Every problem is a
// coded diagnostic (MPCC401x) naming the file and, where there is one, the layer.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph, Node } from '../../ir/graph.js';
import { blockDrelus } from '../../ir/ops/block-relu.js';
import { diag } from '../../runtime/diagnostics.js';
import type { BlockSize } from '../../runtime/protocols/block-relu.js';
import { sha256 } from '../../runtime/program/artifacts.js';

/** The format tag and the version this mpcc writes and reads. */
export const PLAN_FORMAT = 'mpcc-plan';
export const PLAN_VERSION = 1;

/** One channel's block: [bh, bw] rows × columns, or no ReLU at all (the runtime's BlockSize). */
export type ChannelBlock = BlockSize;

/** DReLUs per inference of the model (its batch included): all-ReLU and under the plan. */
export interface DreluCounts {
  readonly baseline: number;
  readonly planned: number;
}

/** One planned ReLU layer. */
export interface PlanLayer {
  /** The Relu node's name in the canonicalized graph. */
  readonly name: string;
  /** Its activation's shape [N, C, H, W]. */
  readonly shape: readonly [number, number, number, number];
  /** One entry per channel (C entries). */
  readonly blocks: readonly ChannelBlock[];
  readonly drelus: DreluCounts;
  /** The bit window of this layer's comparisons (its tile sums), applied by narrow-compare
   * (the same as its entry in `compare.windows` when both are given). */
  readonly window?: { readonly lo: number; readonly k: number };
}

/** The comparison ops a window applies to (narrow-compare). */
export const COMPARE_OPS: readonly string[] = ['Relu', 'BlockRelu', 'MaxPool', 'Clip'];

/** The bit window of one comparison node, as narrow-compare chose it. */
export interface PlanWindow {
  /** The node's name in the graph narrow-compare ran on (after insert-block-relu). */
  readonly name: string;
  /** Its op (one of COMPARE_OPS). */
  readonly op: string;
  readonly lo: number;
  readonly k: number;
  /** Predicted share of its compared values whose windowed sign differs from their true
   * sign (null: no statistics, as for a fixed window). */
  readonly predictedSignError: number | null;
  /** Of predictedSignError, the share predicted past the window's range (|x| ≥ 2^(lo+k−1));
   * absent in plans written before it was recorded. */
  readonly predictedOverflow?: number | null;
  /** The largest |compared value| seen in calibration, in real units (null: no statistics). */
  readonly maxAbs: number | null;
  /** Compared values seen in calibration (0: none). */
  readonly samples: number;
}

/** The comparison windows of a plan: how they were chosen and one window per comparison node. */
export interface PlanCompare {
  /** 'fixed' (one window, --compare-bits K --drop-lsb L) or 'auto' (per layer from calibration). */
  readonly mode: 'fixed' | 'auto';
  /** Fractional bits the windows were chosen for (a window is in ring bits). */
  readonly fracBits: number;
  /** --max-sign-error of an auto choice (null for fixed). */
  readonly maxSignError: number | null;
  readonly windows: readonly PlanWindow[];
}

/** A whole plan file. */
export interface Plan {
  readonly format: typeof PLAN_FORMAT;
  readonly version: typeof PLAN_VERSION;
  /** The model it is for: sha256 of the model file, every Relu node name after the passes. */
  readonly model: { readonly sha256: string; readonly reluLayers: readonly string[] };
  /** True when the plan plans every 4-D ReLU layer of the model (a missing one is an error). */
  readonly complete: boolean;
  /** How the plan was made (free form: tool, method, parameters). */
  readonly source: Readonly<Record<string, unknown>>;
  /** Totals over the planned layers. */
  readonly drelus: DreluCounts;
  readonly layers: readonly PlanLayer[];
  /** The comparison windows (narrow-compare), when chosen. */
  readonly compare?: PlanCompare;
  /** The refit weights made for this plan (`mpcc plan --reconstruct`, passes/planning/reconstruct/refit-file.ts). */
  readonly refit?: PlanRefit;
}

/** A plan's reference to its refit weights file. */
export interface PlanRefit {
  /** The file, relative to the plan file's folder. */
  readonly file: string;
  /** sha256 of the file's bytes. */
  readonly sha256: string;
}

/** DReLUs of one channel of an H×W map under `block`: one per tile (partial edge tiles included). */
export function channelDrelus(h: number, w: number, block: ChannelBlock): number {
  return blockDrelus([1, 1, h, w], [block]);
}

/** A layer's DReLU counts under `blocks` (per inference: the batch N counts). */
export function layerDrelus(shape: readonly number[], blocks: readonly ChannelBlock[]): DreluCounts {
  const [n, c, h, w] = shape;
  return { baseline: n * c * h * w, planned: blockDrelus(shape, blocks) };
}

/** Builds a plan from its layers, with the DReLU counts worked out. */
export function makePlan(model: Plan['model'], layers: readonly Omit<PlanLayer, 'drelus'>[], source: Plan['source'], complete: boolean): Plan {
  const full = layers.map((l) => ({ ...l, drelus: layerDrelus(l.shape, l.blocks) }));
  return { format: PLAN_FORMAT, version: PLAN_VERSION, model, complete, source, drelus: sumDrelus(full), layers: full };
}

/** The names of the graph's Relu nodes, in graph order (a plan's `model.reluLayers`). */
export function reluLayerNames(graph: Graph): string[] {
  return graph.nodes.filter((n) => n.op === 'Relu').map((n) => n.name);
}

/** The plan as JSON text: two-space indentation, each layer's shape and blocks on one line. */
export function planJson(plan: Plan): string {
  const inline = new Map<string, string>();
  const token = (value: unknown) => {
    const key = `@@${inline.size}@@`;
    inline.set(key, JSON.stringify(value));
    return key;
  };
  const layers = plan.layers.map((l) => ({ ...l, shape: token(l.shape), blocks: token(l.blocks), drelus: token(l.drelus), ...(l.window ? { window: token(l.window) } : {}) }));
  const compare = plan.compare ? { compare: { ...plan.compare, windows: plan.compare.windows.map(token) } } : {};
  const text = JSON.stringify({ ...plan, drelus: token(plan.drelus), layers, ...compare }, null, 2);
  const numbers = /\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g; // a list of numbers elsewhere (source) on one line too
  return text.replace(numbers, (_, items: string) => `[${items.split(/,\s+/).join(', ')}]`).replace(/"(@@\d+@@)"/g, (_, key: string) => inline.get(key)!) + '\n';
}

/** Reads and parses `file` and checks it against itself (MPCC0002 unreadable, MPCC4010 malformed,
 * MPCC4011 another format or version, MPCC4016 channel count, MPCC4018 a block off the map). */
export function readPlan(file: string): Plan {
  return parsePlan(readUserFile(file).toString('utf8'), file);
}

/** Parses plan text (`file` names it in errors); the checks of `readPlan`. */
export function parsePlan(text: string, file: string): Plan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // a binary file: JSON.parse's message would quote its bytes
    if (/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text.slice(0, 256))) throw diag('MPCC4010', [file, 'not JSON: the file is binary (a plan is the JSON mpcc plan writes)']);
    throw diag('MPCC4010', [file, `not JSON (${(e as Error).message})`]);
  }
  const bad = (why: string) => diag('MPCC4010', [file, why]);
  if (!isRecord(json)) throw bad('expected a JSON object');
  // another kind of JSON (a run's or eval's output, cost.json) has no format at all: say what it lacks
  if (json.format === undefined) throw bad(`it has no "format": "${PLAN_FORMAT}" (a file written by mpcc plan has; this one's keys: ${Object.keys(json).slice(0, 6).join(', ') || 'none'})`);
  if (json.format !== PLAN_FORMAT || json.version !== PLAN_VERSION) throw diag('MPCC4011', [file, String(json.format), String(json.version)]);
  onlyKeys(json, ['format', 'version', 'model', 'complete', 'source', 'drelus', 'layers', 'compare', 'refit'], 'the plan', bad);
  const model = json.model;
  if (!isRecord(model) || typeof model.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(model.sha256)) throw bad("'model.sha256' must be 64 hex digits");
  if (!Array.isArray(model.reluLayers) || !model.reluLayers.every((n) => typeof n === 'string')) throw bad("'model.reluLayers' must be a list of names");
  if (typeof json.complete !== 'boolean') throw bad("'complete' must be true or false");
  if (!isRecord(json.source)) throw bad("'source' must be an object");
  if (!Array.isArray(json.layers)) throw bad("'layers' must be a list");
  const listed = new Set(model.reluLayers as string[]);
  const seen = new Set<string>();
  const layers = json.layers.map((raw, i) => {
    const layer = parseLayer(raw, i, file, bad);
    if (seen.has(layer.name)) throw bad(`layer '${layer.name}' is planned twice`);
    seen.add(layer.name);
    if (!listed.has(layer.name)) throw bad(`layer '${layer.name}' is not in 'model.reluLayers'`);
    return layer;
  });
  const compare = json.compare === undefined ? undefined : parseCompare(json.compare, bad);
  const refit = json.refit === undefined ? undefined : parseRefit(json.refit, bad);
  const plan = { format: PLAN_FORMAT, version: PLAN_VERSION, model: { sha256: model.sha256, reluLayers: model.reluLayers as string[] }, complete: json.complete, source: json.source, drelus: sumDrelus(layers), layers, ...(compare ? { compare } : {}), ...(refit ? { refit } : {}) } as const;
  checkCounts(json.drelus, plan.drelus, 'the total', bad);
  return plan;
}

function parseRefit(raw: unknown, bad: (why: string) => Error): PlanRefit {
  if (!isRecord(raw)) throw bad("'refit' must be an object");
  onlyKeys(raw, ['file', 'sha256'], "'refit'", bad);
  if (typeof raw.file !== 'string' || raw.file === '') throw bad("'refit.file' must be a file name");
  if (typeof raw.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(raw.sha256)) throw bad("'refit.sha256' must be 64 hex digits");
  return { file: raw.file, sha256: raw.sha256 };
}

function parseCompare(raw: unknown, bad: (why: string) => Error): PlanCompare {
  if (!isRecord(raw)) throw bad("'compare' must be an object");
  onlyKeys(raw, ['mode', 'fracBits', 'maxSignError', 'windows'], "'compare'", bad);
  if (raw.mode !== 'fixed' && raw.mode !== 'auto') throw bad("'compare.mode' must be \"fixed\" or \"auto\"");
  if (!Number.isInteger(raw.fracBits) || (raw.fracBits as number) < 0 || (raw.fracBits as number) > 62) throw bad("'compare.fracBits' must be a whole number of bits");
  const maxSignError = raw.maxSignError ?? null;
  if (maxSignError !== null && !(typeof maxSignError === 'number' && maxSignError > 0 && maxSignError < 1)) throw bad("'compare.maxSignError' must be null or a number between 0 and 1");
  if (!Array.isArray(raw.windows)) throw bad("'compare.windows' must be a list");
  const seen = new Set<string>();
  const windows = raw.windows.map((w, i): PlanWindow => {
    if (!isRecord(w) || typeof w.name !== 'string' || w.name === '') throw bad(`compare.windows[${i}] must be an object with a 'name'`);
    const where = `compare window '${w.name}'`;
    onlyKeys(w, ['name', 'op', 'lo', 'k', 'predictedSignError', 'predictedOverflow', 'maxAbs', 'samples'], where, bad);
    if (typeof w.op !== 'string' || !COMPARE_OPS.includes(w.op)) throw bad(`${where}: 'op' must be one of ${COMPARE_OPS.join(', ')}`);
    if (!isWindow(w)) throw bad(`${where}: lo and k must be whole numbers with lo >= 0, k >= 2, lo + k <= 64`);
    const p = w.predictedSignError ?? null, m = w.maxAbs ?? null;
    if (p !== null && !(typeof p === 'number' && p >= 0 && p <= 1)) throw bad(`${where}: 'predictedSignError' must be null or a rate in [0, 1]`);
    if (m !== null && !(typeof m === 'number' && Number.isFinite(m) && m >= 0)) throw bad(`${where}: 'maxAbs' must be null or a number >= 0`);
    const o = w.predictedOverflow ?? null;
    if (o !== null && !(typeof o === 'number' && o >= 0 && o <= 1)) throw bad(`${where}: 'predictedOverflow' must be null or a rate in [0, 1]`);
    if (!Number.isInteger(w.samples) || (w.samples as number) < 0) throw bad(`${where}: 'samples' must be a whole number >= 0`);
    if (seen.has(w.name)) throw bad(`${where} is given twice`);
    seen.add(w.name);
    return { name: w.name, op: w.op, lo: w.lo as number, k: w.k as number, predictedSignError: p as number | null, ...('predictedOverflow' in w ? { predictedOverflow: o as number | null } : {}), maxAbs: m as number | null, samples: w.samples as number };
  });
  return { mode: raw.mode, fracBits: raw.fracBits as number, maxSignError: maxSignError as number | null, windows };
}

function isWindow(w: Record<string, unknown>): boolean {
  return Number.isInteger(w.lo) && Number.isInteger(w.k) && (w.lo as number) >= 0 && (w.k as number) >= 2 && (w.lo as number) + (w.k as number) <= 64;
}

function parseLayer(raw: unknown, index: number, file: string, bad: (why: string) => Error): PlanLayer {
  if (!isRecord(raw) || typeof raw.name !== 'string' || raw.name === '') throw bad(`layers[${index}] must be an object with a 'name'`);
  const name = raw.name;
  onlyKeys(raw, ['name', 'shape', 'blocks', 'drelus', 'window'], `layer '${name}'`, bad);
  const shape = raw.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d >= 1)) throw bad(`layer '${name}': 'shape' must be [N, C, H, W] of positive integers`);
  const [, c, h, w] = shape as number[];
  if (!Array.isArray(raw.blocks)) throw bad(`layer '${name}': 'blocks' must be a list, one entry per channel`);
  const blocks = raw.blocks.map((b, ch): ChannelBlock => {
    if (b === 'identity') return 'identity';
    if (!Array.isArray(b) || b.length !== 2 || !b.every((v) => Number.isInteger(v))) throw bad(`layer '${name}', channel ${ch}: a block is [bh, bw] (integers) or "identity", not ${JSON.stringify(b)}`);
    if (b[0] < 1 || b[0] > h || b[1] < 1 || b[1] > w) throw diag('MPCC4018', [file, name, ch, b.join(', '), h, w]);
    return [b[0], b[1]];
  });
  if (blocks.length !== c) throw diag('MPCC4016', [file, name, blocks.length, shape.join(','), c]);
  const window = raw.window;
  if (window !== undefined) {
    if (!isRecord(window) || !isWindow(window) || Object.keys(window).some((key) => key !== 'lo' && key !== 'k')) throw bad(`layer '${name}': 'window' must be {lo, k} with lo ≥ 0, k ≥ 2, lo + k ≤ 64`);
  }
  const drelus = layerDrelus(shape, blocks);
  checkCounts(raw.drelus, drelus, `layer '${name}'`, bad);
  return { name, shape: shape as [number, number, number, number], blocks, drelus, ...(window === undefined ? {} : { window: { lo: (window as { lo: number }).lo, k: (window as { k: number }).k } }) };
}

/** The sha256 of model file `path` (MPCC0002 when unreadable), as plans and the manifest record it. */
export function modelFileSha256(path: string): string {
  return sha256(readUserFile(path));
}

/** MPCC4012 when the plan was made for a model file other than `modelFile`. */
export function checkPlanModel(plan: Plan, file: string, modelFile: string): void {
  const actual = modelFileSha256(modelFile);
  if (plan.model.sha256 !== actual) throw diag('MPCC4012', [file, plan.model.sha256, modelFile, actual]);
}

/** The Relu node of every planned layer, after checking the plan against `graph`: MPCC4013 a
 * layer that is not a ReLU of the graph, MPCC4014 one that is a Clip (ReLU6), MPCC4016/4017 a
 * shape that differs, MPCC4015 a ReLU layer missing from a complete plan. */
export function checkPlanGraph(plan: Plan, file: string, graph: Graph): Map<string, Node> {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const planned = new Map<string, Node>();
  for (const layer of plan.layers) {
    const node = byName.get(layer.name);
    if (node?.op === 'Clip') throw diag('MPCC4014', [file, layer.name]);
    if (node?.op !== 'Relu') throw diag('MPCC4013', [file, layer.name, node ? `it is a ${node.op}` : 'no node has this name']);
    const shape = graph.types.get(node.outputs[0])!.shape;
    if (shape.length !== 4 || shape[1] !== layer.shape[1]) throw diag('MPCC4016', [file, layer.name, layer.blocks.length, shape.join(','), shape.length === 4 ? shape[1] : `no channels (${shape.length}-D)`]);
    if (shape.join(',') !== layer.shape.join(',')) throw diag('MPCC4017', [file, layer.name, layer.shape.join(','), shape.join(',')]);
    planned.set(layer.name, node);
  }
  if (plan.complete) {
    const missing = graph.nodes.find((n) => n.op === 'Relu' && !planned.has(n.name) && graph.types.get(n.outputs[0])!.shape.length === 4);
    if (missing) throw diag('MPCC4015', [file, missing.name]);
  }
  return planned;
}

/** A file the user named, or MPCC0002. */
function readUserFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    // a folder where a file goes: a compiled OUT's plan is OUT/plan.json
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw diag('MPCC0002', [path, existsSync(join(path, 'plan.json')) ? `it is a folder; its plan is ${join(path, 'plan.json')}` : 'it is a folder, not a file']);
    throw diag('MPCC0002', [path, (e as Error).message]);
  }
}

function sumDrelus(layers: readonly { drelus: DreluCounts }[]): DreluCounts {
  return layers.reduce((t, l) => ({ baseline: t.baseline + l.drelus.baseline, planned: t.planned + l.drelus.planned }), { baseline: 0, planned: 0 });
}

function checkCounts(raw: unknown, want: DreluCounts, what: string, bad: (why: string) => Error): void {
  if (!isRecord(raw) || raw.baseline !== want.baseline || raw.planned !== want.planned) {
    throw bad(`${what}: 'drelus' must be {"baseline": ${want.baseline}, "planned": ${want.planned}} (what the shape and blocks give), not ${JSON.stringify(raw)}`);
  }
}

function onlyKeys(obj: Record<string, unknown>, known: readonly string[], what: string, bad: (why: string) => Error): void {
  const extra = Object.keys(obj).find((k) => !known.includes(k));
  if (extra !== undefined) throw bad(`${what} has an unknown field '${extra}' (known: ${known.join(', ')})`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
