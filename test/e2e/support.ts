// Helpers of the end-to-end tests: a secure in-process run of compiled artifacts, the
// truncation error model applied to a quantized graph, the flows of model.mir, and searching
// artifact folders for byte strings.
import { expect } from 'chai';
import { cpSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { makeGraph, makeNode, type Graph, type Node } from '../../ir/graph.js';
import { tensorOf } from '../../ir/tensor.js';
import type { GraphBuilder } from '../../ir/builder.js';
import { randomTensor } from '../passes/util.js';
import { createInProcessSessions, runParties } from '../../runtime/session/connect.js';
import type { PartyCounters } from '../../runtime/session/counters.js';
import type { CostReport } from '../../passes/secure/cost-model.js';
import { readCostJson } from '../../compiler/commands/cost.js';
import { loadPartyArtifacts, runProgram, sessionTag, sha256, type PartyArtifacts, type RunResult } from '../../runtime/program/index.js';

/** The three parties' results of one secure run of `arts` on input `x` (in process). */
export async function runSecureInProcess(arts: readonly PartyArtifacts[], x: Float32Array): Promise<RunResult[]> {
  const ss = await createInProcessSessions({ tag: sessionTag(arts[0].manifest) });
  return runParties(ss, (s) => runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: arts[s.id].kernels }));
}

/** Index of the largest value. */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** max |a[i] − b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Ops whose ring form ends in a share truncation (secure: floor + 0 or 1 ulp; plaintext: floor). */
export const TRUNCATING_OPS: ReadonlySet<string> = new Set(['Truncate', 'AveragePool', 'GlobalAveragePool', 'Resize']);

/**
 * Quantized graph `g` with the secure truncation's error made explicit: after every
 * truncating node an Add of a constant holding 0 or 1 ulp (2^-frac) per element, drawn by
 * `rand` with probability 1/2. Run by the fixed-point interpreter (where truncation is the
 * exact floor), it models what two-party share truncation does: floor(x/2^f) plus a carry
 * bit that the random masks make 1 with probability frac(x/2^f).
 */
export function withTruncationNoise(g: Graph, frac: number, rand: () => number): Graph {
  const nodes: Node[] = [];
  const types = new Map(g.types);
  const constants = new Map(g.constants);
  for (const n of g.nodes) {
    if (!TRUNCATING_OPS.has(n.op)) {
      nodes.push(n);
      continue;
    }
    const y = n.outputs[0];
    const type = g.types.get(y)!;
    const floor = `${y}.floor`, noise = `${y}.carry`;
    const size = type.shape.reduce((a, b) => a * b, 1);
    constants.set(noise, tensorOf('float32', type.shape, Float32Array.from({ length: size }, () => (rand() < 0.5 ? 2 ** -frac : 0))));
    types.set(noise, type);
    types.set(floor, type);
    nodes.push(makeNode(n.op, n.name, n.inputs, [floor, ...n.outputs.slice(1)], n.attrs));
    nodes.push(makeNode('Add', `${n.name}.carry`, [floor, noise], [y]));
  }
  return makeGraph({ ...g, nodes, types, constants });
}

/** Bytes each party should send to each peer per phase: [from][to][phase], from the
 * `flows` attributes of a scheduled IR text ("<step> <from>-><to> <phase> <label> <bytes>"). */
export function flowTotals(mirText: string): Record<string, number>[][] {
  const t = [0, 1, 2].map(() => [0, 1, 2].map(() => ({ online: 0, preprocessing: 0, oneTime: 0 }) as Record<string, number>));
  for (const m of mirText.matchAll(/"\d+ (\d)->(\d) (online|preprocessing|oneTime) \S+ (\d+)"/g)) t[+m[1]][+m[2]][m[3]] += +m[4];
  return t;
}

/** One node's flows in a model.mir text ("step from->to phase label bytes"), bytes by "from->to label". */
export function nodeFlows(mirText: string, name: string): Map<string, number> {
  const line = mirText.split('\n').find((l) => l.includes(`"${name}"(`));
  if (!line) throw new Error(`no node "${name}" in the model.mir`);
  const list = /flows = \[([^\]]*)\]/.exec(line)![1];
  return new Map([...list.matchAll(/"(\d+) (\d->\d) (\w+) ([\w.]+) (\d+)"/g)].map((m) => [`${m[2]} ${m[4]}`, Number(m[5])]));
}

/** The measured bytes [from][to][phase] of a run's counters. */
export function measuredTotals(results: readonly RunResult[]): Record<string, number>[][] {
  return results.map((r) => (r.counters as PartyCounters).sentToByPhase.map((p) => ({ ...p })));
}

/** Checks one secure run's counters against the cost report: bytes sent per phase (summed and
 * per party), per sender, receiver and phase (one-time included) against `predicted` (the flows
 * of the scheduled IR, flowTotals), each party's online bytes, and every party's rounds. */
export function expectCountersMatch(r: readonly RunResult[], cost: CostReport, predicted: Record<string, number>[][]): void {
  const sum = (phase: 'online' | 'preprocessing' | 'oneTime') => r.reduce((t, p) => t + p.counters.sent[phase], 0);
  expect(sum('online')).to.equal(cost.bytes.online);
  expect(sum('preprocessing')).to.equal(cost.bytes.preprocessing);
  expect(sum('oneTime')).to.equal(cost.bytes.oneTime);
  expect(r.map((p) => p.counters.sent.online + p.counters.sent.preprocessing)).to.deep.equal(cost.bytes.perParty);
  expect(r.map((p) => p.counters.sent.online)).to.deep.equal(cost.onlinePerParty);
  expect(measuredTotals(r)).to.deep.equal(predicted);
  for (const p of r) expect({ rounds: p.rounds, oneTimeRounds: p.oneTimeRounds }).to.deep.equal({ rounds: cost.rounds, oneTimeRounds: cost.oneTimeRounds });
}

/** Runs the compiled OUT/ once per input in process, checks each run's counters against
 * OUT/cost.json and the flows of its model.mir (expectCountersMatch), and returns P0's first
 * output (name, values) per input. */
export async function runCheckedRuns(out: string, inputs: readonly Float32Array[]): Promise<[string, Float64Array][]> {
  const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
  const cost = readCostJson(join(out, 'cost.json'));
  const predicted = flowTotals(readFileSync(join(out, 'party1/model.mir'), 'utf8'));
  const outputs: [string, Float64Array][] = [];
  for (const x of inputs) {
    const r = await runSecureInProcess(arts, x);
    expectCountersMatch(r, cost, predicted);
    outputs.push([...r[0].outputs][0]);
  }
  return outputs;
}

/** Every file below `dir` (recursively), as paths relative to it. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** The needles found in file `path` (their indices in `needles`). */
export function needlesIn(path: string, needles: readonly Buffer[]): number[] {
  const hay = readFileSync(path);
  return needles.flatMap((n, i) => (hay.indexOf(n) >= 0 ? [i] : []));
}

/** Each party's folder of `out` copied alone into a fresh folder under `tmp`: the copies' paths. */
export function copyPartyFolders(out: string, tmp: string): [string, string, string] {
  return ([0, 1, 2] as const).map((id) => {
    const copy = join(mkdtempSync(join(tmp, `alone${id}-`)), `party${id}`);
    cpSync(join(out, `party${id}`), copy, { recursive: true });
    return copy;
  }) as [string, string, string];
}

/** The three parties' artifacts, each loaded from a copy of its own folder alone. */
export async function loadFromCopies(out: string, tmp: string): Promise<PartyArtifacts[]> {
  const copies = copyPartyFolders(out, tmp);
  return Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(copies[id], id)));
}

/** The decimal literals of the float constants P1's model.mir prints inline (its secrets):
 * every element of `const %x: float32[…] = [a, b, …]` that is not an integer. */
export function inlineConstantDecimals(mir: string): string[] {
  const found = new Set<string>();
  for (const m of mir.matchAll(/^\s*const \S+: float(?:32|64)\[[^\]]*\] = \[([^\]]*)\]/gm))
    for (const lit of m[1].split(',').map((t) => t.trim())) if (lit && !/^-?\d+$/.test(lit)) found.add(lit);
  return [...found];
}

/** No file of party0/ or party2/ (nor any file outside party1/) holds the decimal form of a
 * constant P1's model.mir prints inline, nor the sha256 of the ONNX file `onnx`; returns how
 * many decimals were looked for. */
export function expectNoSecretsOutsideP1(out: string, onnx: Uint8Array): number {
  const decimals = inlineConstantDecimals(readFileSync(join(out, 'party1/model.mir'), 'utf8'));
  const theirs = filesUnder(out).filter((f) => !f.startsWith('party1/') && f !== 'manifest.json');
  expect(theirs.filter((f) => f.startsWith('party0/')).length).to.equal(3);
  // A decimal is looked for as a whole token (not as part of a longer number).
  const token = (d: string) => new RegExp(`(^|[^0-9.eE+-])${d.replace(/[.+]/g, '\\$&')}($|[^0-9.eE])`);
  for (const f of theirs) {
    const text = readFileSync(join(out, f)).toString('latin1');
    expect(decimals.filter((d) => token(d).test(text)), f).to.deep.equal([]);
    expect(text.includes(sha256(onnx)), `${f} holds the ONNX file's sha256`).to.equal(false);
  }
  return decimals.length;
}

/** A Conv node of `b` on `v` with random weights in [−0.4, 0.4] and biases in [−0.1, 0.1]
 * (`rand`'s next draws), padded to keep the size for k = 3: the small test models' layer. */
export function randomConv(b: GraphBuilder, rand: () => number, v: string, name: string, cin: number, cout: number, k: number): string {
  return b.op('Conv', [v, b.constant(`${name}.weight`, randomTensor(rand, [cout, cin, k, k], -0.4, 0.4)), b.constant(`${name}.bias`, randomTensor(rand, [cout], -0.1, 0.1))], { pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] }, name);
}
