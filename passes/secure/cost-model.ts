// The cost report of a scheduled graph: per secure node (layer) and in total, the bytes each
// party sends (online, preprocessing, one-time), the rounds and the DReLUs, plus latency
// estimates. It only adds up the flows `lower` stored from the runtime's PROTOCOL_COSTS, so it
// equals what the executor's counters show. `mpcc cost` prints it; codegen writes it to
// OUT/cost.json.
import { diag } from '../../runtime/diagnostics.js';
import { type Graph, type Node, consumers } from '../../ir/graph.js';
import { isSecureOp } from '../../ir/ops/facts.js';
import { withDefaults } from '../../ir/ops/index.js';
import { numel } from '../../ir/types.js';
import { verify } from '../../ir/verify.js';
import { PROTOCOL_COSTS } from '../../runtime/protocols/costs.js';
import { parseFlow } from './secure-costs.js';

/** Bytes sent, summed over parties by phase, and per party (online + preprocessing). */
export interface LayerBytes {
  online: number;
  preprocessing: number;
  oneTime: number;
  perParty: [number, number, number];
}

/** Per-inference bytes (online + preprocessing, summed over parties) by what they are for,
 * from the flows' labels: comparisons (drelu.*), selections (select.*, the client-offline
 * mode's hsel.*), weight products
 * (weights.*, one-time excluded), everything else (reveals, Beaver products). */
export interface BytesByKind {
  comparisons: number;
  selections: number;
  products: number;
  other: number;
}

/** The cost of one secure node. */
export interface LayerCost {
  name: string;
  op: string;
  /** DReLUs the node runs (after block-ReLU planning). */
  drelus: number;
  bytes: LayerBytes;
  /** The node's depth in rounds. */
  rounds: number;
  /** DReLUs before planning: a (block-)ReLU's element count (one per element); else drelus. */
  drelusBefore: number;
  bytesByKind: BytesByKind;
  /** Bits its comparisons look at (window_k; null for a node without comparisons). */
  compareBits: number | null;
  /** Low bits its comparisons drop (window_lo; null without comparisons). */
  compareLo: number | null;
  /** Comparison bytes (drelu.*) per DReLU (null without DReLUs). */
  bytesPerDrelu: number | null;
  /** The same DReLUs' comparison bytes on the full 64-bit window (what narrowing saves against). */
  compareBytes64: number;
  /** The node's first inference round (its rounds are round … round + rounds − 1; layers that
   * share a round travel in the same frames). */
  round: number;
  /** The shape of the activation it takes (its first operand). */
  inputShape: number[];
}

/** The cost report (OUT/cost.json, `mpcc cost --json`). Bytes are bytes sent, summed over
 * parties; `total` = online + preprocessing (one-time excluded), and so is `perParty`. */
export interface CostReport {
  /** Inference rounds (the one-time setup round not counted). */
  rounds: number;
  oneTimeRounds: number;
  bytes: { total: number; online: number; preprocessing: number; oneTime: number; perParty: [number, number, number] };
  /** The online bytes each party sends (the rest of `bytes.perParty` is input-independent). */
  onlinePerParty: [number, number, number];
  drelus: number;
  /** Estimated seconds per inference (see NETWORKS); `onlineLan`, `onlineWan`: the same formula on
   * the online phase alone (its rounds, each party's online bytes), what `--client-offline auto`
   * compares (compiler/mode-choice.ts). */
  latency: { lan: number; wan: number; onlineLan: number; onlineWan: number };
  layers: LayerCost[];
  /** DReLUs with every block-ReLU an ordinary ReLU (the layers' drelusBefore, summed). */
  drelusBefore: number;
  bytesByKind: BytesByKind;
  /** Comparison bytes per DReLU, averaged over every DReLU of the inference (null without any). */
  bytesPerDrelu: number | null;
  /** The comparison bytes the same DReLUs send on 64-bit windows (the layers' compareBytes64). */
  compareBytes64: number;
  /** How the program runs: 'classic', or 'client-offline' (lower{client-offline=1}: P0's shares
   * after the first products made offline, passes/secure/lower-client-offline.ts). Absent in a
   * cost.json written before the mode existed: classic. */
  mode?: CostMode;
  /** Bits of the ring the program runs in (32, 40, 48, 56 or 64: the SecureInput's `ring`,
   * passes/secure/lower-client-offline.ts); every ring element above travels in ring/8 bytes.
   * Absent in a cost.json written before rings other than Z_2^64 existed: 64. */
  ring?: number;
}

/** The modes a program runs in (CostReport.mode). */
export type CostMode = 'classic' | 'client-offline';

/** The secure ops only the client-offline mode makes. */
const CLIENT_OFFLINE_OPS: ReadonlySet<string> = new Set(['SecureHelperSelect', 'SecureTruncateClientOffline', 'SecureLift', 'SecureWeightsClientOffline']);

/** A network profile of the latency estimate. */
export interface NetworkProfile {
  readonly label: string;
  readonly bitsPerSecond: number;
  readonly rttSeconds: number;
}

/** The two profiles of the estimate: a LAN and a WAN. */
export const NETWORKS: { readonly lan: NetworkProfile; readonly wan: NetworkProfile } = {
  lan: { label: 'LAN (1 Gbit/s, 0.5 ms RTT)', bitsPerSecond: 1e9, rttSeconds: 0.5e-3 },
  wan: { label: 'WAN (100 Mbit/s, 40 ms RTT)', bitsPerSecond: 1e8, rttSeconds: 40e-3 },
};

/** The latency formula, as the table states it. */
export const LATENCY_FORMULA = 'latency = rounds × RTT + max over parties of bytes sent / bandwidth (per inference, one-time setup excluded)';

/** Estimated seconds of one inference on `net`. */
export function latencySeconds(rounds: number, perParty: readonly number[], net: NetworkProfile): number {
  return rounds * net.rttSeconds + (Math.max(0, ...perParty) * 8) / net.bitsPerSecond;
}

/** The cost report of a lowered and scheduled graph (verify's codes when it is not: MPCC6025
 * for a secure op without its round, MPCC6041 for a graph that is not lowered). */
export function costReport(g: Graph): CostReport {
  verify(g, 'scheduled');
  const layers: LayerCost[] = [];
  const bytes: CostReport['bytes'] = { total: 0, online: 0, preprocessing: 0, oneTime: 0, perParty: [0, 0, 0] };
  const onlinePerParty: CostReport['onlinePerParty'] = [0, 0, 0];
  const byKind = noBytesByKind();
  let rounds = 0, drelus = 0, oneTimeRounds = 0, drelusBefore = 0, compareBytes64 = 0;
  const readers = consumers(g);
  for (const n of g.nodes) {
    if (!isSecureOp(n.op)) continue;
    const protocol = n.attrs.protocol as string;
    if (!(protocol in PROTOCOL_COSTS)) throw diag('MPCC6023', [n.name, n.op, protocol]);
    const round = n.attrs.round as number;
    const depth = n.attrs.rounds as number;
    const runs = (n.attrs.drelus as number | undefined) ?? 0;
    const layer: LayerCost = {
      name: n.name, op: n.op, drelus: runs, bytes: { online: 0, preprocessing: 0, oneTime: 0, perParty: [0, 0, 0] }, rounds: depth,
      drelusBefore: PER_ELEMENT_BEFORE.has(protocol) ? unplannedDrelus(g, n, readers) : runs,
      bytesByKind: noBytesByKind(),
      compareBits: null, compareLo: null, bytesPerDrelu: null, compareBytes64: 0,
      round, inputShape: [...(g.types.get(n.inputs[0])?.shape ?? [])],
    };
    for (const text of n.attrs.flows as readonly string[]) {
      const f = parseFlow(text, n);
      layer.bytes[f.phase] += f.bytes;
      if (f.phase === 'oneTime') oneTimeRounds = 1;
      else {
        layer.bytes.perParty[f.from] += f.bytes;
        if (f.phase === 'online') onlinePerParty[f.from] += f.bytes;
        layer.bytesByKind[kindOf(f.label)] += f.bytes;
      }
    }
    if (depth > 0) rounds = Math.max(rounds, round + depth - 1);
    const attrs = withDefaults(n);
    if ('window_k' in attrs) {
      layer.compareBits = attrs.window_k as number;
      layer.compareLo = (attrs.window_lo as number | undefined) ?? 0;
    }
    if (runs > 0) {
      layer.bytesPerDrelu = layer.bytesByKind.comparisons / runs;
      layer.compareBytes64 = compareBytes(runs, 64);
    }
    compareBytes64 += layer.compareBytes64;
    drelus += layer.drelus;
    drelusBefore += layer.drelusBefore;
    for (const k of Object.keys(byKind) as (keyof BytesByKind)[]) byKind[k] += layer.bytesByKind[k];
    bytes.online += layer.bytes.online;
    bytes.preprocessing += layer.bytes.preprocessing;
    bytes.oneTime += layer.bytes.oneTime;
    for (let p = 0; p < 3; p++) bytes.perParty[p] += layer.bytes.perParty[p];
    layers.push(layer);
  }
  bytes.total = bytes.online + bytes.preprocessing;
  const latency = {
    lan: latencySeconds(rounds, bytes.perParty, NETWORKS.lan),
    wan: latencySeconds(rounds, bytes.perParty, NETWORKS.wan),
    onlineLan: latencySeconds(rounds, onlinePerParty, NETWORKS.lan),
    onlineWan: latencySeconds(rounds, onlinePerParty, NETWORKS.wan),
  };
  const bytesPerDrelu = drelus > 0 ? byKind.comparisons / drelus : null;
  const mode: CostMode = g.nodes.some((n) => CLIENT_OFFLINE_OPS.has(n.op)) ? 'client-offline' : 'classic';
  return { rounds, oneTimeRounds, bytes, onlinePerParty, drelus, latency, layers, drelusBefore, bytesByKind: byKind, bytesPerDrelu, compareBytes64, mode, ring: ringOf(g) };
}

/** Bits of the ring a lowered graph runs in: its SecureInput's `ring` (64 when it has none). */
export function ringOf(g: Graph): number {
  const input = g.nodes.find((n) => n.op === 'SecureInput');
  return input === undefined ? 64 : (withDefaults(input).ring as number | undefined) ?? 64;
}

/** Bytes of n comparisons on a k-bit window (the drelu.* flows of PROTOCOL_COSTS.compare). */
function compareBytes(n: number, k: number): number {
  return PROTOCOL_COSTS.compare({ n, k }).flows.reduce((t, f) => t + f.bytes, 0);
}

/** Protocols of a block-ReLU, whose DReLUs before planning are one per element of its input. */
const PER_ELEMENT_BEFORE: ReadonlySet<string> = new Set(['blockRelu', 'blockReluThenWeights', 'helperSelect']);

/** The DReLUs the block-ReLU `n` replaced, as the unplanned network runs them: one per element of
 * its input, except for a block-ReLU whose only reader is a MaxPool. There the ReLU it replaced
 * would have moved after the pool (lower-reorder: the same output, one comparison per pooled
 * element), so the baseline is the pool's output size. A block-ReLU is not monotone per element
 * and cannot move, so a plan can cost more there than the plain ReLU did (drelus > drelusBefore). */
function unplannedDrelus(g: Graph, n: Node, readers: ReadonlyMap<string, Node[]>): number {
  const out = n.outputs[0];
  const r = readers.get(out) ?? [];
  if (r.length === 1 && r[0].op === 'SecureMaxPool' && !g.outputs.includes(out)) return numel(g.types.get(r[0].outputs[0])!.shape);
  return numel(g.types.get(n.inputs[0])!.shape);
}

const noBytesByKind = (): BytesByKind => ({ comparisons: 0, selections: 0, products: 0, other: 0 });

/** What a flow's bytes are for, from its label's prefix (runtime/protocols/costs.ts). */
function kindOf(label: string): keyof BytesByKind {
  const family = label.split('.')[0];
  return family === 'drelu' ? 'comparisons' : family === 'select' || family === 'hsel' ? 'selections' : family === 'weights' ? 'products' : 'other';
}

/** For each party, the inference rounds in which it sends or receives (what its round counter
 * shows when the executor merges each round into one frame per peer). */
export function partyRounds(g: Graph): [number, number, number] {
  const seen: [Set<number>, Set<number>, Set<number>] = [new Set(), new Set(), new Set()];
  for (const n of g.nodes) {
    if (!isSecureOp(n.op)) continue;
    const round = n.attrs.round as number | undefined;
    if (round === undefined || round < 0) throw diag('MPCC6025', [n.name, n.op]);
    for (const text of n.attrs.flows as readonly string[]) {
      const f = parseFlow(text, n);
      if (f.phase === 'oneTime') continue;
      seen[f.from].add(round + f.step);
      seen[f.to].add(round + f.step);
    }
  }
  return [seen[0].size, seen[1].size, seen[2].size];
}

/** The report as a readable table: one row per layer, then totals and latency estimates. */
export function formatCostTable(r: CostReport): string {
  const num = (x: number) => x.toLocaleString('en-US');
  const head = ['layer', 'op', 'rounds', 'drelus', 'before', 'cmp bits', 'B/DReLU', 'online B', 'preproc B', 'one-time B', 'compare B', 'select B', 'P0 sent', 'P1 sent', 'P2 sent'];
  const perDrelu = (x: number | null | undefined) => (x === null || x === undefined ? '' : x.toFixed(1));
  // A cost.json written before drelusBefore and bytesByKind existed shows them as unplanned and 0.
  const row = (name: string, op: string, rounds: number | string, drelus: number, before: number | undefined, bits: string, bpd: string, b: LayerBytes, k: BytesByKind | undefined) =>
    [name, op, String(rounds), num(drelus), num(before ?? drelus), bits, bpd, num(b.online), num(b.preprocessing), num(b.oneTime), num(k?.comparisons ?? 0), num(k?.selections ?? 0), ...b.perParty.map(num)];
  const bitsOf = (l: LayerCost) => (l.compareBits === null || l.compareBits === undefined ? '' : `${l.compareBits}${l.compareLo ? ` (lo ${l.compareLo})` : ''}`);
  const rows = r.layers.map((l) => row(l.name, l.op, l.rounds, l.drelus, l.drelusBefore, bitsOf(l), perDrelu(l.bytesPerDrelu), l.bytes, l.bytesByKind));
  rows.push(row('total', '', r.rounds, r.drelus, r.drelusBefore, '', perDrelu(r.bytesPerDrelu), r.bytes, r.bytesByKind));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const mb = (x: number) => `${(x / 1e6).toFixed(3)} MB`;
  const secs = (x: number) => (x < 1 ? `${(x * 1e3).toFixed(1)} ms` : `${x.toFixed(2)} s`);
  const out = [line(head), ...rows.slice(0, -1).map(line), line(widths.map((w) => '-'.repeat(w))), line(rows[rows.length - 1])];
  out.push(
    '',
    ...(r.mode === 'client-offline' ? ["mode: client-offline (P0's shares after the first products made in the offline phase; the helper selects)"] : []),
    `ring: Z_2^${r.ring ?? 64} (${(r.ring ?? 64) / 8} B per ring element)`,
    `rounds: ${r.rounds} per inference online, ${r.oneTimeRounds} one-time (weight setup, once per session); the offline phase has its own`,
    `bytes per inference: ${mb(r.bytes.total)} (online ${mb(r.bytes.online)}, preprocessing ${mb(r.bytes.preprocessing)}); one-time ${mb(r.bytes.oneTime)}`,
    `bytes sent per party: P0 ${mb(r.bytes.perParty[0])}, P1 ${mb(r.bytes.perParty[1])}, P2 ${mb(r.bytes.perParty[2])}`,
    `DReLUs: ${num(r.drelus)}${r.drelusBefore !== undefined && r.drelusBefore !== r.drelus ? ` (${num(r.drelusBefore)} before block-ReLU planning, ${((100 * r.drelus) / r.drelusBefore).toFixed(1)}%)` : ''}`,
    ...(r.bytesPerDrelu !== null && r.bytesPerDrelu !== undefined && r.compareBytes64 ? [`comparisons: ${r.bytesPerDrelu.toFixed(1)} B per DReLU averaged (${(r.compareBytes64 / r.drelus).toFixed(1)} B on 64-bit windows: ${mb(r.compareBytes64 - r.bytesByKind.comparisons)} saved, ${((100 * (r.compareBytes64 - r.bytesByKind.comparisons)) / r.compareBytes64).toFixed(1)}% of the comparison bytes)`] : []),
    ...(r.bytesByKind ? [`bytes by kind: comparisons ${mb(r.bytesByKind.comparisons)}, selections ${mb(r.bytesByKind.selections)}, weight products ${mb(r.bytesByKind.products)}, other ${mb(r.bytesByKind.other)}`] : []),
    `estimated ${LATENCY_FORMULA}:`,
    `  ${NETWORKS.lan.label}: ${secs(r.latency.lan)}${r.latency.onlineLan !== undefined ? `, of which online (input given → output revealed: the online bytes only) ${secs(r.latency.onlineLan)}` : ''}`,
    `  ${NETWORKS.wan.label}: ${secs(r.latency.wan)}${r.latency.onlineWan !== undefined ? `, of which online ${secs(r.latency.onlineWan)}` : ''}`,
  );
  return out.join('\n') + '\n';
}
