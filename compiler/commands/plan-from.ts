// `mpcc plan TUNED.onnx --from PLAN -o PLAN2`: a plan carried to another model of the same
// architecture, the network fine-tuned under it (the paper's method: plan, export, fine-tune
// under that plan, deploy that plan). A plan names its model by the file's sha256, so the tuned
// model refuses it (MPCC4012); re-planning the tuned weights with the knapsack would give other
// blocks than the ones the weights were tuned for. This writes the same blocks for the new model:
// the model driven with the plan's own passes, every planned layer checked by name and shape
// (checkPlanGraph), the model's ReLU layers the plan's (MPCC4019 otherwise). The comparison
// windows and refit weights were made on the earlier weights and are left out, said in a note;
// `source.carriedFrom` records the earlier model's and plan's sha256.
import { readFileSync } from 'node:fs';
import type { ProgressSink } from '../cli-support.js';
import { MpccError, diag } from '../../runtime/diagnostics.js';
import { sha256 } from '../../runtime/program/artifacts.js';
import { type Plan, checkPlanGraph, readPlan, reluLayerNames } from '../../passes/planning/plan-file.js';
import { floatModel } from './budget-flags.js';
import type { Graph } from '../../ir/graph.js';

/** The plan of file `from` carried to `model` (see the file comment), and the notes to print. */
export function carryPlan(model: string, from: string, options: { passes?: string; inputShape?: string }, log: ProgressSink, tool: { tool: string; mpccVersion: string }): { plan: Plan; graph: Graph; notes: string[] } {
  const earlier = readPlan(from);
  const recorded = typeof earlier.source.passes === 'string' ? earlier.source.passes : undefined;
  const passes = options.passes ?? recorded;
  const inputShape = options.inputShape ?? (typeof earlier.source.inputShape === 'string' ? earlier.source.inputShape : undefined);
  const { graph, modelSha256, source } = floatModel(model, { passes, inputShape }, log, tool);
  try {
    checkPlanGraph(earlier, from, graph);
  } catch (err) {
    // other passes than the plan's make other layers: say so beside the layer that differs
    if (err instanceof MpccError && recorded !== undefined && passes !== recorded) throw diag('MPCC4019', [from, model, `${err.message}; the plan was made with --passes ${recorded}, this model driven with --passes ${passes}`]);
    throw err;
  }
  const relus = reluLayerNames(graph);
  const theirs = earlier.model.reluLayers;
  const missing = theirs.find((n) => !relus.includes(n));
  const extra = relus.find((n) => !theirs.includes(n));
  if (missing !== undefined || extra !== undefined || relus.length !== theirs.length) {
    throw diag('MPCC4019', [from, model, missing !== undefined ? `the plan's model has a ReLU layer '${missing}' this one has not` : extra !== undefined ? `this model has a ReLU layer '${extra}' the plan's model has not` : 'their ReLU layers differ in number']);
  }
  const { compare, refit, ...kept } = earlier;
  const notes: string[] = [];
  if (modelSha256 === earlier.model.sha256) notes.push(`note: '${model}' is the model '${from}' was made for: the same plan`);
  if (compare) notes.push(`note: the plan's comparison windows were chosen on the earlier weights: left out; choose them again for these weights (mpcc compile --plan PLAN --compare-bits auto --calib DATA)`);
  if (refit) notes.push(`note: the plan's refit weights (${refit.file}) belong to the earlier weights: left out`);
  const plan: Plan = {
    ...kept,
    model: { sha256: modelSha256, reluLayers: relus },
    source: { ...earlier.source, passes: source.passes, carriedFrom: { model: earlier.model.sha256, plan: sha256(readFileSync(from)), ...tool } },
  };
  return { plan, graph, notes };
}
