// The report's content as plain data, worked out from its checked inputs (inputs.ts): one row
// per secure layer (shape, DReLUs before and after, identity channels, bit window, rounds, bytes
// by phase and kind, measured sign errors), the heat map's cells (one per planned channel), the
// round timeline, the totals with the paper's figures where the model is one of the paper's, the
// measured runs and accuracies, and the accuracy-against-budget points of a planning sweep.
// Nothing here formats HTML or draws (html.ts, charts.ts).
import type { CostReport, LayerCost } from '../../passes/secure/cost-model.js';
import type { Plan, PlanLayer } from '../../passes/planning/plan-file.js';
import { blockText } from '../../passes/planning/candidates.js';
import { treeLevelPool } from '../../passes/canonicalize/maxpool-to-relu-tree.js';
import type { EvalRecord, ReportInputs } from './inputs.js';

/** One secure layer of the table. */
export interface LayerRow {
  readonly name: string;
  readonly op: string;
  readonly inputShape: readonly number[];
  /** First round, and the rounds it spans (null round: a cost.json written before rounds were recorded). */
  readonly round: number | null;
  readonly rounds: number;
  readonly drelusBefore: number;
  readonly drelus: number;
  /** Share of the planned layer's channels with no ReLU (null: not a planned layer). */
  readonly identityShare: number | null;
  readonly compareBits: number | null;
  readonly compareLo: number | null;
  readonly online: number;
  readonly offline: number;
  readonly oneTime: number;
  readonly comparisons: number;
  readonly selections: number;
  readonly products: number;
  readonly other: number;
  readonly bytesPerDrelu: number | null;
  /** The sign-error rate measured by `mpcc run --verify-against-plaintext`, and the plan's prediction. */
  readonly signErrorMeasured: number | null;
  readonly signErrorPredicted: number | null;
}

/** One planned channel: its layer, index and block ("identity", or "BHxBW"). */
export interface HeatCell {
  readonly layer: string;
  readonly channel: number;
  readonly block: string;
  /** Pixels per DReLU (bh·bw; 0 for identity), what the colour orders by. */
  readonly area: number;
  readonly drelus: number;
}

/** A layer's span on the round timeline. */
export interface TimelineBar {
  readonly layer: string;
  readonly op: string;
  readonly first: number;
  /** One past its last round. */
  readonly end: number;
}

/** A figure of the paper's own code beside ours, for a model the paper measured. */
export interface PaperFigure {
  readonly setting: string;
  readonly bytes: number;
  readonly seconds: number;
  /** Our target for it (DESIGN.md's cost table). */
  readonly targetBytes: number;
  readonly targetSeconds: number;
}

/** One accuracy measurement of the sweep chart. */
export interface SweepPoint {
  readonly planner: string;
  /** DReLUs kept, as a fraction of the unplanned network's. */
  readonly budget: number;
  readonly drelus: number;
  readonly accuracy: number;
  readonly metric: string;
  readonly file: string;
}

/** The whole report's data. */
export interface ReportModel {
  readonly title: string;
  readonly inputs: ReportInputs;
  readonly totals: CostReport;
  readonly layers: readonly LayerRow[];
  /** The heat map: its planned layers in plan order, one cell per channel. */
  readonly heat: { readonly layers: readonly string[]; readonly cells: readonly HeatCell[] };
  readonly timeline: readonly TimelineBar[];
  readonly paper: { readonly model: string; readonly figures: readonly PaperFigure[] } | null;
  /** The evaluation of this very network (same plan, or none when it has none). */
  readonly accuracy: { readonly file: string; readonly record: EvalRecord } | null;
  readonly sweep: readonly SweepPoint[];
}

/** Builds the report's data from its inputs. */
export function reportModel(inputs: ReportInputs): ReportModel {
  const cost = inputs.cost;
  const plan = inputs.plan;
  const measured = measuredSignErrors(inputs);
  const predicted = new Map((plan?.compare?.windows ?? []).map((w) => [w.name, w.predictedSignError]));
  const layers = cost.layers.map((l) => layerRow(l, plannedLayer(plan, l.name), measured, predicted));
  const heat = { layers: plan ? plan.layers.map((l) => l.name) : [], cells: plan ? plan.layers.flatMap(heatCells) : [] };
  const timeline = cost.layers
    .filter((l) => l.rounds > 0 && typeof l.round === 'number')
    .map((l) => ({ layer: l.name, op: l.op, first: l.round, end: l.round + l.rounds }));
  const accuracy = inputs.evals.find((e) => (e.record.plan?.sha256 ?? null) === inputs.planSha256) ?? null;
  return {
    title: `mpcc report: ${inputs.subject}`,
    inputs, totals: cost, layers, heat, timeline,
    paper: paperFigures(inputs), accuracy, sweep: sweepPoints(inputs),
  };
}

/** The plan's layer a cost layer runs: the same name, or a fused ReLU+product named `relu+conv`. */
function plannedLayer(plan: Plan | null, costName: string): PlanLayer | undefined {
  return plan?.layers.find((p) => costName === p.name || costName.startsWith(`${p.name}+`));
}

function layerRow(l: LayerCost, planned: PlanLayer | undefined, measured: ReadonlyMap<string, number>, predicted: ReadonlyMap<string, number | null>): LayerRow {
  const compared = l.name.split('+')[0];
  return {
    name: l.name, op: l.op, inputShape: l.inputShape ?? [], round: typeof l.round === 'number' ? l.round : null, rounds: l.rounds,
    drelusBefore: l.drelusBefore ?? l.drelus, drelus: l.drelus,
    identityShare: planned ? planned.blocks.filter((b) => b === 'identity').length / planned.blocks.length : null,
    compareBits: l.compareBits ?? null, compareLo: l.compareLo ?? null,
    online: l.bytes.online, offline: l.bytes.preprocessing, oneTime: l.bytes.oneTime,
    comparisons: l.bytesByKind?.comparisons ?? 0, selections: l.bytesByKind?.selections ?? 0, products: l.bytesByKind?.products ?? 0, other: l.bytesByKind?.other ?? 0,
    bytesPerDrelu: l.bytesPerDrelu ?? null,
    signErrorMeasured: measured.get(compared) ?? null,
    signErrorPredicted: predicted.get(compared) ?? null,
  };
}

/** Per comparison node, the sign-error rate of the first run that measured it. */
function measuredSignErrors(inputs: ReportInputs): Map<string, number> {
  const out = new Map<string, number>();
  for (const { record } of inputs.runs) {
    for (const row of record.plaintext?.layers ?? []) {
      if (typeof row.rate === 'number' && !out.has(row.name)) out.set(row.name, row.rate);
    }
  }
  return out;
}

function heatCells(l: PlanLayer): HeatCell[] {
  const [n, , h, w] = l.shape;
  return l.blocks.map((b, channel) => ({
    layer: l.name, channel, block: blockText(b),
    area: b === 'identity' ? 0 : b[0] * b[1],
    drelus: b === 'identity' ? 0 : n * Math.ceil(h / b[0]) * Math.ceil(w / b[1]),
  }));
}

/** Secure ops that run a network's ReLU layer (one each; a ReLU fused with the product reading
 * it included; the client-offline mode's helper selection too, but for a MaxPool's tree levels). */
const RELU_OPS: ReadonlySet<string> = new Set(['SecureRelu', 'SecureBlockRelu', 'SecureReluWeights', 'SecureHelperSelect']);
const isReluLayer = (l: LayerCost) => RELU_OPS.has(l.op) && treeLevelPool(l.name) === undefined;

/** DESIGN.md's cost anchors: the paper's code's figures and our targets, for the models it
 * measured, recognised by input and output shape and the number of ReLU layers (ResNet18 for
 * CIFAR-100: 17 ReLU layers on 3×32×32 to 100 classes; ResNet50: 49 on 3×224×224 to 1000). */
function paperFigures(inputs: ReportInputs): ReportModel['paper'] {
  const inShape = (inputs.inputShape ?? []).join('x');
  const outShape = (inputs.outputShapes[0] ?? []).join('x');
  const reluLayers = inputs.cost.layers.filter(isReluLayer).length;
  const before = inputs.cost.drelusBefore ?? inputs.cost.drelus;
  const kept = before > 0 ? inputs.cost.drelus / before : 1;
  if (inShape === '1x3x32x32' && outShape === '1x100' && reluLayers === 17) {
    return { model: 'ResNet18 / CIFAR-100', figures: [{ setting: 'all ReLUs', bytes: 0.494e9, seconds: 2.86, targetBytes: 0.12e9, targetSeconds: 2.5 }] };
  }
  if (inShape === '1x3x224x224' && outShape === '1x1000' && reluLayers === 49) {
    const all = { setting: 'all ReLUs', bytes: 6.36e9, seconds: 31.6, targetBytes: 2.0e9, targetSeconds: 30 };
    const budget = { setting: '6% DReLU budget, 16-bit comparisons', bytes: 0.925e9, seconds: 5.83, targetBytes: 0.35e9, targetSeconds: 5.8 };
    return { model: 'ResNet50 / ImageNet', figures: kept > 0.5 ? [all, budget] : [budget, all] };
  }
  return null;
}

/** The sweep: every evaluation with a DReLU count, by planner. */
function sweepPoints(inputs: ReportInputs): SweepPoint[] {
  return inputs.evals.flatMap(({ file, record: e }) => {
    const accuracy = e.top1 ?? e.miou;
    if (accuracy === null || e.drelus === null || !e.baselineDrelus) return [];
    const method = e.plan === null ? 'no plan' : (e.plan.method ?? 'plan');
    return [{ planner: e.refit ? `${method} + refit` : method, budget: e.drelus / e.baselineDrelus, drelus: e.drelus, accuracy, metric: e.top1 !== null ? 'top-1' : 'mean IoU', file }];
  });
}
