// schedule-rounds and the cost report: rounds of a chain add up, a residual shortcut shares
// rounds with the main path, and the report's bytes equal hand-computed protocol formulas.
import { expect } from 'chai';
import type { Graph, Node } from '../../../ir/graph.js';
import { makeNode } from '../../../ir/graph.js';
import { costReport, formatCostTable, partyRounds } from '../../../passes/secure/cost-model.js';
import { runPipeline } from '../../../passes/index.js';
import { type HandBytes, chainGraph, clipGraph, maxPoolGraph, reluBytes, residualGraph, revealBytes, sharedWeightsBytes, sum, weightsBytes } from './secure-graphs.js';
import { errorOf } from '../util.js';

// (local truncation: the bytes and rounds below are worked out by hand for it; the exact form's
// are tested in test/runtime/protocols/truncate-exact.test.ts and test/e2e/exact-truncation.test.ts)
const scheduled = (g: Graph) => runPipeline(g, 'lower{truncation=local},schedule-rounds').graph;
const roundOf = (g: Graph, name: string) => g.nodes.find((n) => n.name === name)!.attrs.round;

/** The report's totals against a hand-computed sum. */
function expectBytes(g: Graph, want: HandBytes): void {
  const r = costReport(g);
  expect(r.bytes).to.deep.equal({ total: want.online + want.preprocessing, online: want.online, preprocessing: want.preprocessing, oneTime: want.oneTime, perParty: want.perParty });
}

describe('schedule-rounds', () => {
  it('adds the rounds of a chain: product 1, fused relu+product 3, reveal 1', () => {
    const g = scheduled(chainGraph());
    expect(g.nodes.map((n: Node) => [n.name, n.attrs.round])).to.deep.equal([
      ['input.fixed', 0], ['conv1', 1], ['conv1.trunc', undefined], ['relu1+conv2', 2], ['conv2.trunc', undefined], ['reveal_conv2.trunc_out', 5],
    ]);
    expect(costReport(g).rounds).to.equal(5);
  });

  it('lets the shortcut conv of a residual block share rounds with the main path', () => {
    for (const shortcutFirst of [false, true]) {
      const g = scheduled(residualGraph(shortcutFirst));
      // stem 1; relu0+convA 2–4; reluA+convB 5–7 and the shortcut conv in 5; relu2 8–10; reveal 11.
      expect(roundOf(g, 'stem')).to.equal(1);
      expect(roundOf(g, 'relu0+convA')).to.equal(2);
      expect(roundOf(g, 'reluA+convB')).to.equal(5);
      expect(roundOf(g, 'convS')).to.equal(5);
      expect(roundOf(g, 'relu2')).to.equal(8);
      expect(costReport(g).rounds).to.equal(11);
    }
  });

  it('reports its statistics', () => {
    const { reports } = runPipeline(residualGraph(), 'lower{truncation=local},schedule-rounds');
    expect(Object.fromEntries(reports[1].stats)).to.deep.equal({ 'inference rounds': 11, 'one-time rounds': 1, 'communicating nodes': 6 });
  });

  it('is idempotent', () => {
    const g = scheduled(maxPoolGraph());
    expect(runPipeline(g, 'schedule-rounds').graph).to.equal(g);
  });
});

describe('cost model', () => {
  it('chain conv → relu → conv: hand-computed bytes', () => {
    // conv1: |X| 72, |Y| 144, |W| 72; relu on 144 elements fused with conv2: |X| 144, |Y| 108,
    // |W| 108; the reveal of 108 outputs.
    const g = scheduled(chainGraph());
    expectBytes(g, sum(weightsBytes(72, 144, 72), reluBytes(144, 64), weightsBytes(144, 108, 108), revealBytes(108)));
    const r = costReport(g);
    expect(r.drelus).to.equal(144);
    expect(r.oneTimeRounds).to.equal(1);
    expect(r.layers.map((l) => [l.name, l.op, l.rounds, l.drelus])).to.deep.equal([
      ['input.fixed', 'SecureInput', 0, 0], ['conv1', 'SecureWeights', 1, 0], ['relu1+conv2', 'SecureReluWeights', 3, 144], ['reveal_conv2.trunc_out', 'SecureReveal', 1, 0],
    ]);
    const fused = sum(reluBytes(144, 64), weightsBytes(144, 108, 108));
    expect(r.layers[2].bytes).to.deep.equal(fused);
  });

  it('residual block: hand-computed bytes', () => {
    // 4×4×4 maps (64 elements) everywhere; 3×3 convs have 144 weights, the 1×1 shortcut 16,
    // which reads relu0's output: it shares the fused relu0+convA's mask (no masked copy of its own).
    const g = scheduled(residualGraph());
    const w3 = () => weightsBytes(64, 64, 144);
    expectBytes(g, sum(w3(), reluBytes(64, 64), w3(), reluBytes(64, 64), w3(), sharedWeightsBytes(64, 16), reluBytes(64, 64), revealBytes(64)));
    expect(costReport(g).drelus).to.equal(3 * 64);
    // With a fresh mask per product (share-masks=false), the shortcut sends its own.
    const fresh = runPipeline(residualGraph(), 'lower{truncation=local,share-masks=false},schedule-rounds').graph;
    expectBytes(fresh, sum(w3(), reluBytes(64, 64), w3(), reluBytes(64, 64), w3(), weightsBytes(64, 64, 16), reluBytes(64, 64), revealBytes(64)));
  });

  it('maxpool: one relu per level of pairs, then the ReLU on the pooled values', () => {
    const g = scheduled(maxPoolGraph());
    expectBytes(g, sum(weightsBytes(50, 50, 36), ...[30, 10, 18, 6].map((n) => reluBytes(n, 64)), reluBytes(18, 64), revealBytes(18)));
    const r = costReport(g);
    expect(r.rounds).to.equal(1 + 12 + 3 + 1);
    expect(r.drelus).to.equal(64 + 18);
  });

  it('clip: two comparisons per element on its window; Gemm as a product', () => {
    const g = scheduled(clipGraph());
    // conv 3→2 on 4×4: |X| 48, |Y| 32, |W| 54; Clip on 32 elements at k = 32; fc |X| 32, |Y| 5, |W| 160.
    expectBytes(g, sum(weightsBytes(48, 32, 54), reluBytes(64, 32), weightsBytes(32, 5, 160), revealBytes(5)));
    expect(costReport(g).rounds).to.equal(1 + 3 + 1 + 1);
  });

  it('estimates latency as rounds × RTT + the busiest party’s bytes / bandwidth', () => {
    const r = costReport(scheduled(residualGraph()));
    const busiest = Math.max(...r.bytes.perParty);
    expect(r.latency.lan).to.be.closeTo(11 * 0.5e-3 + (busiest * 8) / 1e9, 1e-12);
    expect(r.latency.wan).to.be.closeTo(11 * 0.04 + (busiest * 8) / 1e8, 1e-12);
  });

  it('counts the rounds each party takes part in', () => {
    // chain: conv1 (P0→P1, P2→P1) round 1; fused relu rounds 2–4 (P0 sends in 2 and 3, not 4:
    // round 4 is P2 → P1 only); reveal P1 → P0 round 5.
    expect(partyRounds(scheduled(chainGraph()))).to.deep.equal([4, 5, 4]);
  });

  it('prints a table with totals and both latency profiles', () => {
    const text = formatCostTable(costReport(scheduled(residualGraph())));
    expect(text).to.match(/^layer\s+op\s+rounds\s+drelus/);
    expect(text).to.contain('relu0+convA');
    expect(text).to.contain('rounds: 11 per inference online, 1 one-time');
    expect(text).to.contain('LAN (1 Gbit/s, 0.5 ms RTT)');
    expect(text).to.contain('WAN (100 Mbit/s, 40 ms RTT)');
  });

  describe('errors', () => {
    it('MPCC6025 for a graph that is not scheduled', () => {
      expect(errorOf(() => costReport(runPipeline(chainGraph(), 'lower').graph)).format()).to.equal(
        "error MPCC6025: the graph is not scheduled: node 'input.fixed' (SecureInput) has no round (run lower,schedule-rounds first)",
      );
    });

    it('MPCC6041 for a graph that is not lowered', () => {
      expect(errorOf(() => costReport(chainGraph())).format()).to.equal(
        "error MPCC6041: codegen needs a lowered and scheduled graph: node 'input.fixed' (FixedInput) is not lowered (run lower,schedule-rounds first)",
      );
    });

    it('MPCC6024 for a malformed flow, MPCC6023 for an unknown protocol', () => {
      const g = scheduled(chainGraph());
      const edit = (attrs: Record<string, unknown>): Graph => ({ ...g, nodes: g.nodes.map((n) => (n.name === 'conv1' ? makeNode(n.op, n.name, n.inputs, n.outputs, { ...n.attrs, ...attrs } as Node['attrs']) : n)) });
      expect(errorOf(() => costReport(edit({ flows: ['0 0->0 online x 8'] }))).code).to.equal('MPCC6024');
      expect(errorOf(() => costReport(edit({ flows: ['one flow'] }))).message).to.contain("malformed flow 'one flow'");
      expect(errorOf(() => costReport(edit({ protocol: 'teleport' }))).format()).to.equal("error MPCC6023: node 'conv1' (SecureWeights): unknown protocol 'teleport'");
    });
  });
});
