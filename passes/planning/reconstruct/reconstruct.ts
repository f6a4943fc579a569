// The training-free refit after planning (DESIGN.md, "Reconstruct"): every Conv, Gemm and
// MatMul whose input depends on a planned (block-ReLU) activation gets new weights and bias,
// solved by ridge least squares so that, on calibration images, its output on the PLANNED
// network matches its output on the ORIGINAL one. Layers are visited in the graph's
// (topological) order in one sweep that runs both networks side by side, image chunk by image
// chunk: when the sweep reaches a refit layer, the planned network's input to it already
// carries the refits of every earlier layer, so later layers correct what earlier ones could
// not (the error is passed forward). Only constants change: the graph keeps its nodes, so the
// plan's DReLUs, rounds and bytes stay exactly what they were.
//
// The plan is applied here (insert-block-relu's applyPlan) only to run the planned network;
// the result is the float graph with the new constants and no BlockRelu, to which commands
// apply the plan as usual (`--plan`), and the new constants by name (refit-file.ts).
import { type Graph, type Node, makeGraph, replaceGraph } from '../../../ir/graph.js';
import { runGraph } from '../../../ir/interp/index.js';
import { Tensor } from '../../../ir/tensor.js';
import { numel } from '../../../ir/types.js';
import { type MpccError, diag } from '../../../runtime/diagnostics.js';
import { applyPlan } from '../insert-block-relu.js';
import type { Plan } from '../plan-file.js';
import { type RefitLayer, jointLayer, refitLayer } from './layers.js';
import { NormalEquations } from './solve.js';

/** Calibration images, float32 N×C×H×W (what compiler/calibration's loader returns). */
export interface CalibrationData {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  /** How the images are named in errors (a file, a folder). */
  readonly label?: string;
}

/** Options of a refit. */
export interface ReconstructOptions {
  /** Ridge strength relative to the mean squared input of a layer, or 'auto': per layer the
   * candidate with the least held-out error (RIDGE_CANDIDATES, two folds of the images). */
  readonly ridge?: number | 'auto';
  /** Progress lines ("refit 3/9 /layer2/conv1/Conv, 1.2 s, ETA 4 s"). */
  readonly onProgress?: (line: string) => void;
  /** Coded warnings (MPCC4063: too few samples for a layer's unknowns). */
  readonly onWarning?: (warning: MpccError) => void;
  /** How the plan is named in errors (default 'plan'). */
  readonly planFile?: string;
  /** Fit a layer read only by an Add against the Add's original output minus the other operand
   * as planned (residualTarget; default true); false: against the layer's own original output. */
  readonly residual?: boolean;
  /** Samples a problem keeps at most per unknown (every k-th patch beyond; default
   * DEFAULT_SAMPLES_PER_UNKNOWN; Infinity keeps all). */
  readonly samplesPerUnknown?: number;
  /** Fit the two convolutions a residual Add reads (main path and shortcut) as one problem
   * against the Add's original output (default true; needs `residual`). */
  readonly joint?: boolean;
}

/** One refit layer's figures, on the calibration images. */
export interface LayerRefit {
  /** The Conv, Gemm or MatMul node. */
  readonly name: string;
  readonly op: string;
  /** ‖y − y_original‖ / ‖y_original‖ of the layer's output on the planned network, with the
   * original weights and with the refit ones. */
  readonly relErrBefore: number;
  readonly relErrAfter: number;
  /** Samples (patches or rows) and unknowns per output of one problem. */
  readonly samples: number;
  readonly unknowns: number;
  /** The relative ridge the solve used. */
  readonly ridge: number;
}

/** What a refit produced. */
export interface ReconstructResult {
  /** The input graph with the refit constants (no BlockRelu: apply the plan as usual). */
  readonly graph: Graph;
  /** The new constants, by name. */
  readonly weights: ReadonlyMap<string, Tensor>;
  readonly layers: readonly LayerRefit[];
  /** Layers downstream of the plan the refit left alone, and why. */
  readonly skipped: readonly { readonly name: string; readonly why: string }[];
  /** Calibration images used. */
  readonly images: number;
}

/** The default relative ridge. */
export const DEFAULT_RIDGE = 1e-2;
/** Ridges 'auto' chooses among. */
export const RIDGE_CANDIDATES = [1e-4, 1e-3, 1e-2, 1e-1, 1] as const;
/** Samples per unknown a problem keeps by default. */
export const DEFAULT_SAMPLES_PER_UNKNOWN = 64;
/** The ridge at least, when a layer has fewer samples than unknowns. */
export const FEW_SAMPLES_RIDGE = 1;
/** Doubles a layer's sample buffers may hold in all (they are flushed into the Gram matrices when full). */
const BUFFER_DOUBLES = 1 << 23;

/** Refits the weights of `graph` (canonicalized, float) that read activations `plan` replaces,
 * on the calibration images `calib`; see the file comment. */
export function reconstructWeights(graph: Graph, plan: Plan, calib: CalibrationData, opts: ReconstructOptions = {}): ReconstructResult {
  const ridgeOption = opts.ridge ?? DEFAULT_RIDGE;
  if (ridgeOption !== 'auto' && !(Number.isFinite(ridgeOption) && ridgeOption > 0)) throw diag('MPCC4066', ['ridge', String(ridgeOption)]);
  const chunks = calibrationChunks(graph, calib);
  const planned = applyPlan(graph, plan, opts.planFile ?? 'plan');
  const targets = refitTargets(graph, planned);
  const progress = opts.onProgress ?? (() => undefined);
  const lastNode = Math.max(-1, ...[...targets.keys()]);
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.inputs.forEach((v) => v && lastUse.set(v, i)));

  const original = new Map<string, Tensor[]>([[graph.inputs[0], chunks.tensors]]);
  const refit = new Map<string, Tensor[]>([[graph.inputs[0], chunks.tensors]]);
  let current = planned;
  const weights = new Map<string, Tensor>();
  const layers: LayerRefit[] = [];
  const skipped: { name: string; why: string }[] = [];
  const pairs = opts.residual === false || opts.joint === false ? new Map<number, number>() : residualPairs(graph, targets);
  const partners = new Set(pairs.values());
  const early = new Map<number, Tensor[][]>();
  const total = [...targets.values()].filter((t) => typeof t !== 'string').length - pairs.size;
  const started = performance.now();
  for (let i = 0; i <= lastNode; i++) {
    const node = graph.nodes[i];
    const ours = early.get(i) ?? runNode(graph, node, original);
    early.delete(i);
    const target = partners.has(i) ? undefined : targets.get(i);
    const second = pairs.get(i);
    if (typeof target === 'string') skipped.push({ name: node.name, why: target });
    else if (target !== undefined) {
      const t0 = performance.now();
      let layer = target, goal: Tensor[];
      if (second !== undefined) {
        // both convolutions of the Add against its original output, the second's bias left out
        const other = graph.nodes[second], otherLayer = targets.get(second) as RefitLayer;
        early.set(second, runNode(graph, other, original));
        layer = jointLayer(target, otherLayer, refit.get(other.inputs[0])!);
        goal = sumMinusBias(ours[0], early.get(second)![0], other.inputs[2] ? graph.constants.get(other.inputs[2]) : undefined);
      } else goal = opts.residual === false ? ours[0] : residualTarget(graph, node, ours[0], original, refit);
      const solved = solveLayer(current, layer, refit.get(node.inputs[0])!, goal, chunks.valid, ridgeOption, opts.samplesPerUnknown ?? DEFAULT_SAMPLES_PER_UNKNOWN, opts.onWarning);
      if (second !== undefined) solved.report = { ...solved.report, name: `${node.name} + ${graph.nodes[second].name}` };
      current = replaceGraph(current, { constants: new Map([...current.constants, ...solved.constants]) });
      for (const [k, v] of solved.constants) weights.set(k, v);
      layers.push(solved.report);
      const done = layers.length, spent = (performance.now() - started) / 1000;
      progress(`refit ${done}/${total} ${node.name}: error ${pct(solved.report.relErrBefore)} -> ${pct(solved.report.relErrAfter)}, ${((performance.now() - t0) / 1000).toFixed(1)} s, ETA ${((spent / done) * (total - done)).toFixed(0)} s`);
    }
    // a node the plan does not reach computes the same values on both networks
    const same = current.nodes[i] === node && !targets.has(i) && node.inputs.every((v) => !v || graph.constants.has(v) || original.get(v) === refit.get(v));
    const theirs = same ? ours : runNode(current, current.nodes[i], refit);
    node.outputs.forEach((o, k) => {
      original.set(o, ours[k]);
      refit.set(o, theirs[k]);
    });
    for (const v of node.inputs) if (v && lastUse.get(v) === i) {
      original.delete(v);
      refit.delete(v);
    }
  }
  const constants = new Map(graph.constants);
  for (const [k, v] of weights) constants.set(k, v);
  return { graph: replaceGraph(graph, { constants }), weights, layers, skipped, images: chunks.images };
}

/** The calibration images as tensors of the graph's own batch size (the last zero-padded), and
 * how many images of each are real. */
function calibrationChunks(graph: Graph, calib: CalibrationData): { tensors: Tensor[]; valid: number[]; images: number } {
  const label = calib.label ?? 'calibration data';
  if (graph.inputs.length !== 1) throw diag('MPCC4064', [label, `the model has ${graph.inputs.length} runtime inputs; the refit feeds exactly one`]);
  const type = graph.types.get(graph.inputs[0])!;
  const image = type.shape.slice(1);
  if (calib.shape.length !== 4 || calib.shape.slice(1).join(',') !== image.join(',')) {
    throw diag('MPCC4064', [label, `images [${calib.shape.join(',')}] do not fit the model's input '${graph.inputs[0]}' [${type.shape.join(',')}]`]);
  }
  const n = calib.shape[0];
  if (n === 0) throw diag('MPCC4064', [label, 'it holds no image']);
  const per = numel(image);
  const bad = calib.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw diag('MPCC4064', [label, `image ${Math.floor(bad / per)} holds ${calib.data[bad]}`]);
  const batch = type.shape[0];
  const tensors: Tensor[] = [], valid: number[] = [];
  for (let first = 0; first < n; first += batch) {
    const count = Math.min(batch, n - first);
    const data = new Float32Array(batch * per);
    data.set(calib.data.subarray(first * per, (first + count) * per));
    tensors.push(new Tensor('float32', type.shape, data));
    valid.push(count);
  }
  return { tensors, valid, images: n };
}

/** By node index: the refit layer of every weight layer whose input the plan reaches, or why
 * it is left alone. */
function refitTargets(graph: Graph, planned: Graph): Map<number, RefitLayer | string> {
  const reached = new Set<string>();
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const v of n.inputs) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  const targets = new Map<number, RefitLayer | string>();
  planned.nodes.forEach((n, i) => {
    if (n.op === 'BlockRelu' || n.inputs.some((v) => reached.has(v))) n.outputs.forEach((o) => reached.add(o));
    if ((n.op === 'Conv' || n.op === 'Gemm' || n.op === 'MatMul') && reached.has(n.inputs[0])) targets.set(i, refitLayer(graph, graph.nodes[i], readers));
  });
  return targets;
}

/**
 * What layer `node` should output on the planned network. Its output on the original one,
 * except when its only reader is an Add whose other operand the planned network has already
 * computed (the shortcut of a residual block, or the block's main path when the shortcut's
 * convolution comes last): then the Add's original output minus that operand as planned, so
 * this layer also corrects the error the other path carries.
 */
function residualTarget(graph: Graph, node: Node, ours: Tensor[], original: ReadonlyMap<string, Tensor[]>, refit: ReadonlyMap<string, Tensor[]>): Tensor[] {
  const out = node.outputs[0];
  const readers = graph.nodes.filter((n) => n.inputs.includes(out));
  if (readers.length !== 1 || readers[0].op !== 'Add' || graph.outputs.includes(out)) return ours;
  const other = readers[0].inputs.find((v) => v !== out);
  const clean = other === undefined ? undefined : original.get(other), planned = other === undefined ? undefined : refit.get(other);
  if (!clean || !planned || clean === planned) return ours;
  if (clean[0].shape.join(',') !== ours[0].shape.join(',')) return ours; // broadcast: keep it simple
  return ours.map((t, c) => {
    const data = Float32Array.from(t.data as Float32Array);
    const a = clean[c].data, b = planned[c].data;
    for (let i = 0; i < data.length; i++) data[i] += a[i] - b[i];
    return new Tensor('float32', t.shape, data);
  });
}

/**
 * The residual Adds both of whose operands are refit layers of one problem each (not grouped),
 * read by nothing else, of one output shape, the second's input existing when the first is
 * solved: by the first's node index, the second's.
 */
function residualPairs(graph: Graph, targets: ReadonlyMap<number, RefitLayer | string>): Map<number, number> {
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const v of n.inputs) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  const pairs = new Map<number, number>();
  for (const add of graph.nodes) {
    if (add.op !== 'Add' || add.inputs.length !== 2) continue;
    const [a, b] = add.inputs.map((v) => producer.get(v) ?? -1).sort((x, y) => x - y);
    const first = targets.get(a), second = targets.get(b);
    if (a < 0 || typeof first !== 'object' || typeof second !== 'object' || first.groups !== 1 || second.groups !== 1) continue;
    if (add.inputs.some((v) => readers.get(v) !== 1 || graph.outputs.includes(v))) continue;
    const input = graph.nodes[b].inputs[0];
    if ((producer.get(input) ?? -1) >= a) continue;
    if (graph.types.get(graph.nodes[a].outputs[0])!.shape.join(',') !== graph.types.get(graph.nodes[b].outputs[0])!.shape.join(',')) continue;
    pairs.set(a, b);
  }
  return pairs;
}

/** Per chunk a + b − bias (per channel, axis 1), as float32. */
function sumMinusBias(a: readonly Tensor[], b: readonly Tensor[], bias: Tensor | undefined): Tensor[] {
  return a.map((t, c) => {
    const data = Float32Array.from(t.data as Float32Array);
    const other = b[c].data;
    const channels = t.shape[1] ?? 1, plane = data.length / (t.shape[0] * channels);
    for (let i = 0; i < data.length; i++) data[i] += other[i] - (bias ? bias.data[Math.floor(i / plane) % channels] : 0);
    return new Tensor('float32', t.shape, data);
  });
}

/** Runs one node on every chunk of `env` (the interpreter on a one-node graph). */
function runNode(g: Graph, node: Node, env: ReadonlyMap<string, Tensor[]>): Tensor[][] {
  const inputs = node.inputs.filter((v) => v && !g.constants.has(v));
  const single = makeGraph({ ...g, inputs: [...new Set(inputs)], outputs: node.outputs, nodes: [node] });
  const chunks = env.get(inputs[0] ?? '')?.length ?? 1;
  const outs: Tensor[][] = node.outputs.map(() => []);
  for (let c = 0; c < chunks; c++) {
    const values = new Map(single.inputs.map((v) => [v, env.get(v)![c]]));
    const result = runGraph(single, values);
    node.outputs.forEach((o, k) => outs[k].push(result.get(o)!));
  }
  return outs;
}

/** Accumulates one layer's normal equations over the chunks (two folds: even and odd chunks),
 * picks the ridge and solves. */
function solveLayer(graph: Graph, layer: RefitLayer, inputs: readonly Tensor[], targets: readonly Tensor[], valid: readonly number[], ridgeOption: number | 'auto', samplesPerUnknown: number, warn?: (w: MpccError) => void): { constants: Map<string, Tensor>; report: LayerRefit } {
  const { groups, features, outputs, bias } = layer;
  const perImage = layer.samplesPerImage(inputs[0]);
  const chunkSamples = perImage * inputs[0].shape[0];
  const folds = [0, 1].map(() => Array.from({ length: groups }, () => new NormalEquations(features, outputs, bias)));
  const capacity = Math.max(chunkSamples, Math.min(4096, Math.floor(BUFFER_DOUBLES / ((features + outputs) * groups * 2))));
  const buffers = [0, 1].map(() => Array.from({ length: groups }, () => ({ x: new Float64Array(features * capacity), y: new Float64Array(outputs * capacity), filled: 0 })));
  const flush = (fold: number, g: number) => {
    const b = buffers[fold][g];
    folds[fold][g].add(b.x, b.y, b.filled, capacity);
    b.filled = 0;
  };
  // more samples than SAMPLES_PER_UNKNOWN per unknown add little: keep every `keepEvery`-th,
  // shifted from chunk to chunk so that every position of the map is used
  const totalSamples = perImage * valid.reduce((a, b) => a + b, 0);
  const keepEvery = Math.max(1, Math.ceil(totalSamples / (samplesPerUnknown * (features + (bias ? 1 : 0)))));
  inputs.forEach((input, c) => {
    const fold = c % 2, count = perImage * valid[c];
    for (let g = 0; g < groups; g++) {
      const b = buffers[fold][g];
      if (b.filled + count > capacity) flush(fold, g);
      layer.samples(input, targets[c], valid[c], g, b.x, b.y, capacity, b.filled, c);
      b.filled += keepEvery === 1 ? count : keepColumns(b, features, outputs, capacity, count, keepEvery, c);
    }
  });
  for (let fold = 0; fold < 2; fold++) for (let g = 0; g < groups; g++) flush(fold, g);
  const all = folds[0].map((eq, g) => {
    const sum = new NormalEquations(features, outputs, bias);
    sum.merge(eq);
    sum.merge(folds[1][g]);
    return sum;
  });
  const starts = Array.from({ length: groups }, (_, g) => layer.start(graph, g));
  let ridge = ridgeOption === 'auto' ? heldOutRidge(folds, starts) : ridgeOption;
  const samples = all[0].samples, unknowns = all[0].unknowns;
  if (samples < unknowns && ridge < FEW_SAMPLES_RIDGE) {
    ridge = FEW_SAMPLES_RIDGE;
    warn?.(diag('MPCC4063', [layer.node.name, samples, unknowns, ridge]));
  }
  const solutions = all.map((eq, g) => eq.solve(starts[g], ridge));
  const relative = (ws: readonly Float64Array[]) => {
    let err = 0, norm = 0;
    all.forEach((eq, g) => {
      err += eq.squaredError(ws[g]);
      for (const v of eq.targetSquares) norm += v;
    });
    return norm > 0 ? Math.sqrt(err / norm) : Math.sqrt(err);
  };
  const report = { name: layer.node.name, op: layer.kind, relErrBefore: relative(starts), relErrAfter: relative(solutions), samples, unknowns, ridge };
  return { constants: layer.write(graph, solutions), report };
}

/** Keeps every `every`-th of the `count` columns just written at `b.filled` (from column
 * `shift` mod `every`), moved together; returns how many it kept. */
function keepColumns(b: { x: Float64Array; y: Float64Array; filled: number }, features: number, outputs: number, stride: number, count: number, every: number, shift: number): number {
  let kept = 0;
  for (let j = (every - (shift % every)) % every; j < count; j += every, kept++) {
    const from = b.filled + j, to = b.filled + kept;
    for (let f = 0; f < features; f++) b.x[f * stride + to] = b.x[f * stride + from];
    for (let o = 0; o < outputs; o++) b.y[o * stride + to] = b.y[o * stride + from];
  }
  return kept;
}

/** The candidate ridge whose solutions on one fold best predict the other (both ways). */
function heldOutRidge(folds: readonly NormalEquations[][], starts: readonly Float64Array[]): number {
  if (folds[1][0].samples === 0) return DEFAULT_RIDGE;
  let best: number = DEFAULT_RIDGE, bestErr = Infinity;
  for (const ridge of RIDGE_CANDIDATES) {
    let err = 0;
    folds[0].forEach((eq, g) => {
      err += folds[1][g].squaredError(eq.solve(starts[g], ridge));
      err += eq.squaredError(folds[1][g].solve(starts[g], ridge));
    });
    if (err < bestErr) [best, bestErr] = [ridge, err];
  }
  return best;
}

function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}
