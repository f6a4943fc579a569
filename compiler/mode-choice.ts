// `--client-offline auto`: which of the two lowerings a model compiles to, chosen by the cost
// model. The model is driven to the round schedule twice, once per mode (no calibration, no
// windows: both modes compare the same values, so windows narrow both alike), and the mode with
// the smaller estimated online latency on the LAN profile wins (passes/secure/cost-model.ts:
// online rounds × RTT + the most online bytes one party sends / bandwidth; a tie keeps the
// classic mode). A model the client-offline mode refuses (MPCC6027: a Clip, a product of two
// activations, a MaxPool in a quantized .mir, ...) compiles classic (a float model's MaxPools run
// as ReLU trees in the mode, after the plan when it was made without them: compiler/driver.ts),
// and the note says why. With --ring N the client-offline mode is costed in Z_2^N; with --ring auto
// (no calibration here) in Z_2^64, the ring chosen afterwards only if that mode wins — a smaller
// ring only makes the mode cheaper, so the choice never flips against it. If the classic mode wins,
// the ring is 64 (the command says so).
import { type ProgressSink } from './cli-support.js';
import type { Graph } from '../ir/graph.js';
import { type DriverOptions, driveModel } from './driver.js';
import { MpccError } from '../runtime/diagnostics.js';
import { type CostReport, costReport } from '../passes/secure/cost-model.js';

/** What auto chose, with both modes' estimates (the client-offline one null when refused). */
export interface ModeChoice {
  readonly clientOffline: boolean;
  readonly classic: CostReport;
  readonly offline: CostReport | null;
  /** The chosen mode's scheduled graph, as costed (for a command that only costs: mpcc report). */
  readonly graph: Graph;
  /** The progress line that says what was chosen and why. */
  readonly note: string;
}

/** Chooses the mode of `model` for `--client-offline auto` (see the file comment). */
export function chooseClientOffline(model: string, options: DriverOptions & { readonly inputShape?: number[] }, log?: ProgressSink): ModeChoice {
  // the mode's own inputs only: no calibration, refit, IR dump or progress of the two drives
  const { passes, defaultPasses, fracBits, planFile, truncation, revealArgmax, inputShape } = options;
  const ring = typeof options.ring === 'number' ? options.ring : 64;
  const drive = (clientOffline: boolean) => {
    const { graph } = driveModel(model, { passes, defaultPasses, fracBits, planFile, truncation, revealArgmax, inputShape, clientOffline, ...(clientOffline ? { ring } : {}), target: 'scheduled' });
    return { graph, cost: costReport(graph) };
  };
  log?.('--client-offline auto: costing both modes');
  const classic = drive(false);
  let offline: { graph: Graph; cost: CostReport } | null = null;
  let refusal = '';
  try {
    offline = drive(true);
  } catch (e) {
    if (!(e instanceof MpccError) || e.code !== 'MPCC6027') throw e;
    refusal = e.message;
  }
  const describe = (r: CostReport) => `${(r.bytes.online / 1e6).toFixed(3)} MB and ${r.rounds} rounds online, ${(r.latency.onlineLan * 1000).toFixed(0)} ms on the LAN profile`;
  if (offline === null) return { clientOffline: false, classic: classic.cost, offline: null, graph: classic.graph, note: `--client-offline auto: classic (the client-offline mode does not apply: ${refusal})` };
  const clientOffline = offline.cost.latency.onlineLan < classic.cost.latency.onlineLan;
  // costed before the windows are narrowed and the ring chosen: the program compiled costs less (cost.json)
  const note = `--client-offline auto: ${clientOffline ? 'client-offline' : 'classic'} (client-offline ${describe(offline.cost)}; classic ${describe(classic.cost)}; both costed before --compare-bits and --ring choose windows and a ring, which shrink the program: its own figures are in cost.json)`;
  return { clientOffline, classic: classic.cost, offline: offline.cost, graph: clientOffline ? offline.graph : classic.graph, note };
}
