// lower on BlockRelu: the plain and the fused secure forms, their flows against bytes worked
// out by hand from the protocol descriptions (block-relu.ts: one comparison per tile, one
// selection per non-identity element), identity channels costing nothing, no move after a
// MaxPool, and the cost report's DReLUs before/after and bytes by kind.
import { expect } from 'chai';
import { GraphBuilder } from '../../../ir/builder.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { costReport } from '../../../passes/secure/cost-model.js';
import { runPipeline } from '../../../passes/index.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { fieldBytes } from '../../../runtime/protocols/field-format.js';
import { FRAC, conv } from './secure-graphs.js';

// (local truncation: the bytes and rounds below are worked out by hand for it; the exact form's
// are tested in test/runtime/protocols/truncate-exact.test.ts and test/e2e/exact-truncation.test.ts)
const lowered = (g: Graph) => runPipeline(g, 'lower{truncation=local},schedule-rounds').graph;
const byName = (g: Graph, name: string): Node => g.nodes.find((x) => x.name === name)!;

/** input [1,2,5,5] → conv1 (2→3) → br1 (identity, [2,2], whole map) → conv2 (3→2) → br2
 * ([1,1], identity) → MaxPool 2×2 → output; `activation` replaces br2 by a Relu. */
function blockGraph(activation: 'BlockRelu' | 'Relu' = 'BlockRelu'): Graph {
  const b = new GraphBuilder('blocks');
  const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 2, 5, 5] })], { frac: FRAC }, 'input.fixed');
  const r1 = b.op('BlockRelu', [conv(b, x, 'conv1', 2, 3, 3, 1, 1)], { blocks: [0, 0, 2, 2, 5, 5] }, 'br1');
  const c2 = conv(b, r1, 'conv2', 3, 2, 3, 1, 2);
  const r2 = activation === 'Relu' ? b.op('Relu', [c2], {}, 'br2') : b.op('BlockRelu', [c2], { blocks: [1, 1, 0, 0] }, 'br2');
  b.output(b.op('MaxPool', [r2], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool'));
  return b.build();
}

/** Bytes of a block-ReLU with `patches` tiles and `selected` elements on the full 64-bit window,
 * by kind: the comparison (P0, P1 swap 8 B halves per tile, P2 deals 63 digits, P0 and P1 send
 * 64 digits each to P2, P2 re-shares 8 B) and the selection (8 B opened each way, an 8 B
 * correction from P2, per element: no shared mask outside the plain ReLU). */
function blockReluBytes(patches: number, selected: number): { comparisons: number; selections: number } {
  const { p } = digitField(64);
  return { comparisons: 8 * patches * 2 + fieldBytes(patches * 63, p) + 2 * fieldBytes(patches * 64, p) + 8 * patches, selections: 3 * 8 * selected };
}

describe('lower: BlockRelu', () => {
  it('fuses a BlockRelu with the conv reading it and lowers the other to SecureBlockRelu, before the MaxPool', () => {
    const g = lowered(blockGraph());
    expect(g.nodes.map((n) => n.op)).to.deep.equal(['SecureInput', 'SecureWeights', 'Truncate', 'SecureReluWeights', 'Truncate', 'SecureBlockRelu', 'SecureMaxPool', 'SecureReveal']);
    // br1: tiles 0 + 3·3 + 1 = 10, selected 2 channels × 25; br2: 25 tiles, 25 selected.
    expect(byName(g, 'br1+conv2').attrs).to.include({ protocol: 'blockReluThenWeights', rounds: 3, drelus: 10 });
    expect(byName(g, 'br1+conv2').attrs.blocks).to.deep.equal([0, 0, 2, 2, 5, 5]);
    expect(byName(g, 'br2').attrs).to.include({ protocol: 'blockRelu', rounds: 3, drelus: 25 });
    // The MaxPool reads the block-ReLU: a block-ReLU is not monotone per element, so it stays first.
    expect(byName(g, 'pool').inputs).to.deep.equal(byName(g, 'br2').outputs);
    // A Relu in its place does move after the pool (the contrast the rule is for).
    const relu = lowered(blockGraph('Relu'));
    expect(relu.nodes.map((n) => n.op)).to.deep.equal(['SecureInput', 'SecureWeights', 'Truncate', 'SecureReluWeights', 'Truncate', 'SecureMaxPool', 'SecureRelu', 'SecureReveal']);
  });

  it('flows: comparisons per tile, selections per non-identity element, the product riding along', () => {
    const r = costReport(lowered(blockGraph()));
    const layer = (name: string) => r.layers.find((l) => l.name === name)!;
    const br1 = blockReluBytes(10, 50), br2 = blockReluBytes(25, 25);
    expect(layer('br1+conv2')).to.deep.include({ drelus: 10, drelusBefore: 75, bytesByKind: { ...br1, products: 8 * 75 + 8 * 50, other: 0 } });
    // br2 feeds the MaxPool: unplanned, its ReLU would run after the 2×2 pool on [1,2,2,2] (8
    // comparisons), so that is its baseline — and this plan ([1,1] before the pool) costs more.
    expect(layer('br2')).to.deep.include({ drelus: 25, drelusBefore: 8, bytesByKind: { ...br2, products: 0, other: 0 } });
    // Independently: the same graph with br2 a plain Relu (moved after the pool by lower) spends
    // exactly that many comparisons on it, beside br1's 10 and the pool's own.
    const plain = costReport(lowered(blockGraph('Relu')));
    expect(plain.drelus - 10 - layer('pool').drelus).to.equal(layer('br2').drelusBefore);
    expect(layer('br1+conv2').bytes.oneTime).to.equal(8 * 2 * 3 * 9);
    // MaxPool 2×2 over [1,2,5,5]: 4 windows per channel, 2 levels of pairs — unchanged by the blocks.
    expect(layer('pool').drelusBefore).to.equal(layer('pool').drelus);
    expect(r.drelus).to.equal(r.layers.reduce((t, l) => t + l.drelus, 0));
    expect(r.drelusBefore - r.drelus).to.equal(75 - 10 + 8 - 25);
    const k = r.bytesByKind;
    expect(k.comparisons + k.selections + k.products + k.other).to.equal(r.bytes.total);
  });

  it('identity channels cost nothing: an all-identity layer has no message, fused it is the plain product', () => {
    const b = new GraphBuilder('identity');
    const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 2, 4, 4] })], { frac: FRAC }, 'input.fixed');
    const r1 = b.op('BlockRelu', [conv(b, x, 'conv1', 2, 3, 3, 1, 1)], { blocks: [0, 0, 0, 0, 0, 0] }, 'id1');
    b.output(b.op('BlockRelu', [conv(b, r1, 'conv2', 3, 2, 3, 1, 2)], { blocks: [0, 0, 0, 0] }, 'id2'));
    const g = lowered(b.build());
    expect(byName(g, 'id1+conv2').attrs).to.include({ protocol: 'blockReluThenWeights', rounds: 1, drelus: 0 });
    // The product alone (weights.ts): x − A from P0 (8 × 48), C1 from P2 (8 × 32), once W − B (8 × 54).
    expect(byName(g, 'id1+conv2').attrs.flows).to.deep.equal(['0 0->1 online weights.activation 384', '0 2->1 preprocessing weights.correction 256', '0 1->0 oneTime weights.mask 432']);
    expect(byName(g, 'id2').attrs).to.include({ protocol: 'blockRelu', rounds: 0, drelus: 0, round: 0 });
    expect(byName(g, 'id2').attrs.flows).to.deep.equal([]);
  });
});
