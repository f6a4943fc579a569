// schedule-rounds: the static round schedule of a lowered graph, as soon as possible. A secure
// node's first round is 1 + the last round of the latest communicating producer among its
// inputs (through any chain of local ops, which pass readiness through); its last round is
// round + rounds − 1. Independent branches (a residual shortcut beside the main path) thus
// share rounds; the executor's round merger sends all messages of a round between two parties
// in one frame, so nothing is merged here. A product sharing an earlier product's activation
// mask (mask_from) also waits for that product's last round, when P1 holds the masked copy. One-time setup (the weight layers' W − B) is one
// round before inference and not numbered.
import { type Graph, type Node, replaceGraph, replaceNode } from '../../ir/graph.js';
import { definePass } from '../pass.js';
import { isSecureOp } from '../../ir/ops/facts.js';
import { parseFlow } from './secure-costs.js';

/** The schedule-rounds pass. */
export const scheduleRounds = definePass({
  name: 'schedule-rounds',
  summary:
    'Assumes a lowered graph; sets `round` on every secure node to the earliest inference round its inputs allow ' +
    '(0 for nodes without messages), so independent branches share rounds.',
  options: {},
  run(graph, ctx) {
    const { graph: g, rounds, oneTimeRounds } = schedule(graph);
    ctx.stat('inference rounds', rounds);
    ctx.stat('one-time rounds', oneTimeRounds);
    ctx.stat('communicating nodes', g.nodes.filter((n) => ((n.attrs.rounds as number | undefined) ?? 0) > 0).length);
    return g;
  },
});

/** A scheduled graph with its inference rounds and one-time rounds. */
export interface Schedule {
  readonly graph: Graph;
  readonly rounds: number;
  readonly oneTimeRounds: number;
}

/** Assigns `round` to every secure node (ASAP over the dependency DAG). */
export function schedule(g: Graph): Schedule {
  // The last round in which the value's (transitive, through local ops) producer communicated.
  const ready = new Map<string, number>();
  const readyOf = (inputs: readonly string[]) => inputs.reduce((r, i) => Math.max(r, (i && ready.get(i)) || 0), 0);
  /** The last round of each secure node, by name (for mask_from). */
  const lastOf = new Map<string, number>();
  let rounds = 0;
  let oneTime = false;
  const nodes: Node[] = g.nodes.map((n) => {
    const maskFrom = n.attrs.mask_from as string | undefined;
    const before = Math.max(readyOf(n.inputs), maskFrom ? (lastOf.get(maskFrom) ?? 0) : 0);
    if (!isSecureOp(n.op)) {
      for (const o of n.outputs) ready.set(o, before);
      return n;
    }
    const depth = n.attrs.rounds as number;
    const round = depth > 0 ? before + 1 : 0;
    const last = depth > 0 ? round + depth - 1 : before;
    for (const o of n.outputs) ready.set(o, last);
    lastOf.set(n.name, last);
    rounds = Math.max(rounds, last);
    if ((n.attrs.flows as readonly string[]).some((f) => parseFlow(f, n).phase === 'oneTime')) oneTime = true;
    return n.attrs.round === round ? n : replaceNode(n, { attrs: { ...n.attrs, round } });
  });
  const graph = nodes.every((n, i) => n === g.nodes[i]) ? g : replaceGraph(g, { nodes });
  return { graph, rounds, oneTimeRounds: oneTime ? 1 : 0 };
}
