// The stages a graph goes through on its way to the parties' programs, and how to tell which
// one a graph is at from its ops alone (a .mir file may hold a graph at any stage):
//
//   float      imported (and canonicalized) float ops only
//   quantized  after quantize: FixedInput after every input, Truncate after every product
//   lowered    after lower: communicating ops are Secure* ops carrying their protocol and flows
//   scheduled  after schedule-rounds: every secure op has its round
//
// Commands ask `stageOf` which passes a graph still needs (compiler/driver.ts) instead of
// guessing from op names of their own.
import type { Graph } from './graph.js';

/** A graph's stage, in pipeline order. */
export type Stage = 'float' | 'quantized' | 'lowered' | 'scheduled';

/** The stages in pipeline order. */
export const STAGES: readonly Stage[] = ['float', 'quantized', 'lowered', 'scheduled'];

/** The stage `g` is at, read from its ops: Secure* ops mean lowered (scheduled once every one
 * has a round ≥ 0), FixedInput or Truncate mean quantized, anything else float. */
export function stageOf(g: Graph): Stage {
  const secure = g.nodes.filter((n) => n.op.startsWith('Secure'));
  if (secure.length > 0) return secure.every((n) => typeof n.attrs.round === 'number' && n.attrs.round >= 0) ? 'scheduled' : 'lowered';
  if (g.nodes.some((n) => n.op === 'FixedInput' || n.op === 'Truncate')) return 'quantized';
  return 'float';
}

/** True when stage `a` comes before stage `b`. */
export function isBefore(a: Stage, b: Stage): boolean {
  return STAGES.indexOf(a) < STAGES.indexOf(b);
}
