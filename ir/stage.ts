// The stages a graph goes through on its way to the parties' programs, and how to tell which
// one a graph is at from its ops alone (a .mir file may hold a graph at any stage):
//
//   float      imported (and canonicalized) float ops only
//   quantized  after quantize: FixedInput after every input, Truncate after every product
//   lowered    after lower: communicating ops are Secure* ops carrying their protocol and flows
//   scheduled  after schedule-rounds: every secure op has its round
//
// Commands ask `stageOf` which passes a graph still needs (compiler/driver.ts) instead of
// guessing from op names of their own; passes and codegen check their input with
// `verify(graph, stage)` (ir/verify.ts), which reads `checkStage`: the ops each stage allows,
// from the ops' facts (ir/ops/facts.ts).
import type { Graph, Node } from './graph.js';
import { isSecureOp, secureFacts, unsupportedReason } from './ops/facts.js';
import type { OperandView } from './ops/secure-facts.js';

/** A graph's stage, in pipeline order. */
export type Stage = 'float' | 'quantized' | 'lowered' | 'scheduled';

/** The stages in pipeline order. */
export const STAGES: readonly Stage[] = ['float', 'quantized', 'lowered', 'scheduled'];

/** The stage `g` is at, read from its ops: Secure* ops mean lowered (scheduled once every one
 * has a round ≥ 0), FixedInput or Truncate mean quantized, anything else float. */
export function stageOf(g: Graph): Stage {
  const secure = g.nodes.filter((n) => isSecureOp(n.op));
  if (secure.length > 0) return secure.every((n) => typeof n.attrs.round === 'number' && n.attrs.round >= 0) ? 'scheduled' : 'lowered';
  if (g.nodes.some((n) => n.op === 'FixedInput' || n.op === 'Truncate')) return 'quantized';
  return 'float';
}

/** True when stage `a` comes before stage `b`. */
export function isBefore(a: Stage, b: Stage): boolean {
  return STAGES.indexOf(a) < STAGES.indexOf(b);
}

/** Why a graph is not at a stage: an op secure inference cannot run (unsupported), a secure op
 * without its round (unscheduled), or a graph at another stage (stage). */
export interface StageProblem {
  readonly kind: 'unsupported' | 'unscheduled' | 'stage';
  /** The node at fault, when one is. */
  readonly node?: Node;
  readonly reason: string;
}

/**
 * The first reason `g` is not a graph of `stage`, or undefined:
 *   float      no FixedInput, Truncate or secure op
 *   quantized  FixedInput reads every input (and nothing else does); no secure op; every op
 *              lowers (locally, by a protocol, or on the client as a trailing op)
 *   lowered    every op a secure op, local on shares within its limits, or a trailing client op
 *   scheduled  lowered, and every secure op has its round
 */
export function checkStage(g: Graph, stage: Stage): StageProblem | undefined {
  if (stage === 'float') {
    const n = g.nodes.find((x) => ['made', 'lowered'].includes(secureFacts(x.op).quantize));
    return n && { kind: 'stage', node: n, reason: `node '${n.name}' is ${n.op}` };
  }
  return stage === 'quantized' ? quantizedProblem(g) : loweredProblem(g, stage === 'scheduled');
}

/** The client's trailing ops: client ops (Softmax, ArgMax, Round) whose results only other such nodes
 * and graph outputs read. */
export function clientTail(g: Graph): Set<Node> {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) readers.set(v, [...(readers.get(v) ?? []), n]);
  const tail = new Set<Node>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (secureFacts(n.op).lower === 'client' && n.outputs.every((o) => (readers.get(o) ?? []).every((r) => tail.has(r)))) tail.add(n);
  }
  return tail;
}

/** The graph's constants and types, as op limits see them. */
export function operandView(g: Graph): OperandView {
  return { constant: (v) => (v ? g.constants.get(v) : undefined), type: (v) => g.types.get(v)! };
}

const stageProblem = (reason: string, node?: Node): StageProblem => ({ kind: 'stage', node, reason });
const unsupported = (node: Node, reason: string): StageProblem => ({ kind: 'unsupported', node, reason });

function quantizedProblem(g: Graph): StageProblem | undefined {
  let fixed = false;
  for (const input of g.inputs) {
    const readers = g.nodes.filter((n) => n.inputs.includes(input));
    const bad = readers.find((n) => n.op !== 'FixedInput');
    if (bad) return stageProblem(`input '${input}' is read by node '${bad.name}' (${bad.op}), not by FixedInput`, bad);
    if (g.outputs.includes(input)) return stageProblem(`input '${input}' is a graph output`);
    fixed ||= readers.length > 0;
  }
  if (!fixed) return stageProblem('the graph has no FixedInput');
  const tail = clientTail(g);
  for (const n of g.nodes) {
    const facts = secureFacts(n.op);
    if (facts.lower === 'secure') return stageProblem(`node '${n.name}' (${n.op}) is already lowered`, n);
    if (facts.lower === 'unsupported' || (facts.lower === 'client' && !tail.has(n))) return unsupported(n, facts.why ?? '');
  }
  return undefined;
}

function loweredProblem(g: Graph, scheduled: boolean): StageProblem | undefined {
  const tail = clientTail(g);
  const operands = operandView(g);
  let secure = false;
  for (const n of g.nodes) {
    const facts = secureFacts(n.op);
    if (facts.lower === 'protocol') return stageProblem(`node '${n.name}' (${n.op}) is not lowered`, n);
    if (facts.lower === 'client' && !tail.has(n)) return unsupported(n, facts.why ?? '');
    if (facts.lower === 'client') continue;
    const why = unsupportedReason(n, operands);
    if (why) return unsupported(n, why);
    if (facts.lower !== 'secure') continue;
    secure = true;
    const round = (n.attrs.round as number | undefined) ?? -1;
    if (scheduled && (round < 0 || ((n.attrs.rounds as number) > 0 && round < 1))) return { kind: 'unscheduled', node: n, reason: `node '${n.name}' (${n.op}) has no round` };
  }
  return secure ? undefined : stageProblem('the graph has no secure op');
}
