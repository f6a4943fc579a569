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
import { MpccError, diag } from '../../../runtime/diagnostics.js';
import { withBatchSize } from '../distortion/rebatch.js';
import { blockSizesOf } from '../../../ir/ops/block-relu.js';
import { blockLayout } from '../../../runtime/protocols/block-relu.js';
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
  /** Images per interpreter call (default REFIT_BATCH; the model's own batch when an op works along it). */
  readonly batch?: number;
  /** When the layer's output (or the residual Add it feeds) is read by a block-ReLU: fit, in the
   * blocks the original values keep (positive sum) and in identity channels, the ReLU of the
   * original value instead of the value (reluTargetShift; default true). */
  readonly reluTargets?: boolean;
  /** With reluTargets: also refit the layers whose input the plan does not reach but whose output
   * a block-ReLU reads (the stem; default false: it helped uniform plans and cost knapsack plans). */
  readonly feeders?: boolean;
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
/** Images per interpreter call by default: the forward passes run on chunks of this many. */
export const REFIT_BATCH = 16;
/** Doubles a layer's sample buffers may hold in all (they are flushed into the Gram matrices when full). */
const BUFFER_DOUBLES = 1 << 23;

/** Refits the weights of `graph` (canonicalized, float) that read activations `plan` replaces,
 * on the calibration images `calib`; see the file comment. */
export function reconstructWeights(model: Graph, plan: Plan, calib: CalibrationData, opts: ReconstructOptions = {}): ReconstructResult {
  const ridgeOption = opts.ridge ?? DEFAULT_RIDGE;
  if (ridgeOption !== 'auto' && !(Number.isFinite(ridgeOption) && ridgeOption > 0)) throw diag('MPCC4066', ['ridge', String(ridgeOption)]);
  checkCalibration(model, calib);
  // both networks run on chunks of `batch` images (one interpreter call per node and chunk)
  const batch = Math.max(1, Math.min(calib.shape[0], opts.batch ?? REFIT_BATCH));
  const graph = rebatched(model, batch);
  const planned = rebatched(applyPlan(model, plan, opts.planFile ?? 'plan'), graph.types.get(graph.inputs[0])!.shape[0]);
  const chunks = calibrationChunks(graph, calib);
  const targets = refitTargets(graph, planned, opts.reluTargets !== false && opts.feeders === true);
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
      if (opts.reluTargets !== false) goal = reluTargetShift(current, node, goal, ours[0], original, second === undefined ? undefined : early.get(second)![0]);
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
  const constants = new Map(model.constants);
  for (const [k, v] of weights) constants.set(k, v);
  return { graph: replaceGraph(model, { constants }), weights, layers, skipped, images: chunks.images };
}

/** `g` at batch size `batch`, or as it is when its batch cannot change (MPCC4046: an op works along it). */
function rebatched(g: Graph, batch: number): Graph {
  try {
    return withBatchSize(g, batch);
  } catch (err) {
    if (err instanceof MpccError && err.code === 'MPCC4046') return g;
    throw err;
  }
}

/** MPCC4064 unless `calib` holds at least one finite image of the model's input. */
function checkCalibration(graph: Graph, calib: CalibrationData): void {
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
}

/** The calibration images as tensors of the graph's own batch size (the last zero-padded), and
 * how many images of each are real. */
function calibrationChunks(graph: Graph, calib: CalibrationData): { tensors: Tensor[]; valid: number[]; images: number } {
  const type = graph.types.get(graph.inputs[0])!;
  const per = numel(type.shape.slice(1)), n = calib.shape[0];
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

/** By node index: the refit layer of every weight layer whose input the plan reaches (and, with
 * `feeders`, of every one whose output a block-ReLU reads, directly or through a residual Add:
 * its relu target differs from its output), or why it is left alone. */
function refitTargets(graph: Graph, planned: Graph, feeders: boolean): Map<number, RefitLayer | string> {
  const reached = new Set<string>();
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const v of n.inputs) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  const readBy = (v: string) => planned.nodes.filter((n) => n.inputs.includes(v));
  const feedsBlock = (v: string): boolean => {
    const r = readBy(v);
    return r.length === 1 && (r[0].op === 'BlockRelu' || (r[0].op === 'Add' && readBy(r[0].outputs[0]).some((n) => n.op === 'BlockRelu')));
  };
  const targets = new Map<number, RefitLayer | string>();
  planned.nodes.forEach((n, i) => {
    if (n.op === 'BlockRelu' || n.inputs.some((v) => reached.has(v))) n.outputs.forEach((o) => reached.add(o));
    const weight = n.op === 'Conv' || n.op === 'Gemm' || n.op === 'MatMul';
    if (weight && (reached.has(n.inputs[0]) || (feeders && feedsBlock(n.outputs[0])))) targets.set(i, refitLayer(graph, graph.nodes[i], readers));
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
 * `goal` moved so that the value a block-ReLU reads — the layer's output, or the residual Add
 * it alone feeds — becomes ReLU(original value) where the planned network passes it on: in the
 * tiles whose original sum is positive (the block-ReLU keeps them, and the original network
 * passed only the positive part) and in identity channels (no ReLU at all). Elsewhere the goal
 * stays, so the tiles keep their signs. `joint` is the Add's other operand on the original
 * network when the two convolutions are fitted as one.
 */
function reluTargetShift(planned: Graph, node: Node, goal: Tensor[], ours: Tensor[], original: ReadonlyMap<string, Tensor[]>, joint: Tensor[] | undefined): Tensor[] {
  const readersOf = (v: string) => planned.nodes.filter((n) => n.inputs.includes(v));
  let readers = readersOf(node.outputs[0]);
  let value = ours;
  if (readers.length === 1 && readers[0].op === 'Add' && !planned.outputs.includes(node.outputs[0])) {
    const add = readers[0], other = add.inputs.find((v) => v !== node.outputs[0]);
    const clean = joint ?? (other === undefined ? undefined : original.get(other));
    if (!clean || clean[0].shape.join(',') !== ours[0].shape.join(',')) return goal;
    value = ours.map((t, c) => new Tensor('float32', t.shape, Float32Array.from(t.data as Float32Array, (v, i) => v + clean[c].data[i])));
    readers = readersOf(add.outputs[0]);
  }
  if (readers.length !== 1 || readers[0].op !== 'BlockRelu' || value[0].shape.length !== 4) return goal;
  const blocks = blockSizesOf(readers[0]);
  return goal.map((t, c) => {
    const v = value[c].data, shape = value[c].shape as [number, number, number, number];
    const { patchOf, patches } = blockLayout(shape, blocks);
    const sums = new Float64Array(patches);
    for (let i = 0; i < v.length; i++) if (patchOf[i] >= 0) sums[patchOf[i]] += v[i];
    const plane = shape[2] * shape[3];
    const data = Float32Array.from(t.data as Float32Array);
    for (let i = 0; i < v.length; i++) {
      const identity = blocks[Math.floor(i / plane) % shape[1]] === 'identity';
      if ((identity || (patchOf[i] >= 0 && sums[patchOf[i]] > 0)) && v[i] < 0) data[i] -= v[i];
    }
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

/** Accumulates one layer's normal equations over the chunks (with ridge 'auto' in two folds:
 * even and odd chunks), picks the ridge and solves. */
function solveLayer(graph: Graph, layer: RefitLayer, inputs: readonly Tensor[], targets: readonly Tensor[], valid: readonly number[], ridgeOption: number | 'auto', samplesPerUnknown: number, warn?: (w: MpccError) => void): { constants: Map<string, Tensor>; report: LayerRefit } {
  const { groups, features, outputs, bias } = layer;
  const perImage = layer.samplesPerImage(inputs[0]);
  // more samples than samplesPerUnknown per unknown add little: keep every `keepEvery`-th
  // (keptSamples: shifted from image to image and chunk to chunk, so every position is used)
  const totalSamples = perImage * valid.reduce((a, b) => a + b, 0);
  const keepEvery = Math.max(1, Math.ceil(totalSamples / (samplesPerUnknown * (features + (bias ? 1 : 0)))));
  const chunkSamples = Math.ceil(perImage / keepEvery) * Math.max(...valid);
  // the held-out ridge needs two folds; a fixed one sums every chunk into one problem
  const foldCount = ridgeOption === 'auto' ? 2 : 1;
  const folds = Array.from({ length: foldCount }, () => Array.from({ length: groups }, () => new NormalEquations(features, outputs, bias)));
  const capacity = Math.max(chunkSamples, Math.min(4096, Math.floor(BUFFER_DOUBLES / ((features + outputs) * groups * foldCount))));
  const buffers = folds.map(() => Array.from({ length: groups }, () => ({ x: new Float64Array(features * capacity), y: new Float64Array(outputs * capacity), filled: 0 })));
  const flush = (fold: number, g: number) => {
    const b = buffers[fold][g];
    folds[fold][g].add(b.x, b.y, b.filled, capacity);
    b.filled = 0;
  };
  inputs.forEach((input, c) => {
    const fold = c % foldCount, first = c % keepEvery;
    for (let g = 0; g < groups; g++) {
      const b = buffers[fold][g];
      if (b.filled + chunkSamples > capacity) flush(fold, g);
      b.filled += layer.samples(input, targets[c], valid[c], g, b.x, b.y, capacity, b.filled, c, keepEvery, first);
    }
  });
  for (let fold = 0; fold < foldCount; fold++) for (let g = 0; g < groups; g++) flush(fold, g);
  const starts = Array.from({ length: groups }, (_, g) => layer.start(graph, g));
  let ridge = ridgeOption === 'auto' ? heldOutRidge(folds, starts) : ridgeOption;
  const all = folds.length === 1 ? folds[0] : folds[0].map((eq, g) => {
    eq.merge(folds[1][g]);
    return eq;
  });
  const samples = all[0].samples, unknowns = all[0].unknowns;
  if (samples < unknowns && ridge < FEW_SAMPLES_RIDGE) {
    ridge = FEW_SAMPLES_RIDGE;
    warn?.(diag('MPCC4063', [layer.node.name, samples, unknowns, ridge]));
  }
  let norm = 0, before = 0, after = 0;
  const solutions = all.map((eq, g) => {
    for (const v of eq.targetSquares) norm += v;
    before += eq.squaredError(starts[g]);
    // the statistics are not needed again: factor where they are, the error from the solve
    const { solution, squaredError } = eq.solveInPlace(starts[g], ridge);
    after += squaredError;
    return solution;
  });
  const relative = (err: number) => (norm > 0 ? Math.sqrt(err / norm) : Math.sqrt(err));
  const report = { name: layer.node.name, op: layer.kind, relErrBefore: relative(before), relErrAfter: relative(after), samples, unknowns, ridge };
  return { constants: layer.write(graph, solutions), report };
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
