// lower's last step (passes/secure/lower-shared-masks.ts): a product reading an activation whose
// masked copy an earlier product sends takes that product's mask (mask_from) and sends none of
// its own; a reader through another op, or a sharing that would add a round, keeps a fresh mask.
import { expect } from 'chai';
import { type Graph, replaceGraph, replaceNode } from '../../../ir/graph.js';
import { generatePrograms } from '../../../compiler/codegen/model/program-gen.js';
import { errorOf } from '../util.js';
import { costReport } from '../../../passes/secure/cost-model.js';
import { runPipeline } from '../../../passes/index.js';
import { residualGraph, separatedReadersGraph, twoReadersGraph } from './secure-graphs.js';

const pipeline = (share: boolean) => `lower{truncation=local,share-masks=${share}},schedule-rounds`;
const scheduled = (g: Graph, share = true) => runPipeline(g, pipeline(share)).graph;
/** Each SecureWeights node's mask_from ('' for its own mask). */
const masks = (g: Graph) => Object.fromEntries(g.nodes.filter((n) => n.op === 'SecureWeights').map((n) => [n.name, n.attrs.mask_from ?? '']));
const onlineBytes = (g: Graph) => costReport(g).bytes.online;

describe('lower: one activation mask per activation (lower-shared-masks)', () => {
  it('the shortcut conv of a residual block shares the fused ReLU → conv\'s mask, in the same rounds, 8 B per element less', () => {
    for (const shortcutFirst of [false, true]) {
      const shared = scheduled(residualGraph(shortcutFirst));
      const fresh = scheduled(residualGraph(shortcutFirst), false);
      expect(masks(shared)).to.deep.equal({ stem: '', convS: 'relu0+convA' });
      expect(masks(fresh)).to.deep.equal({ stem: '', convS: '' });
      const convS = shared.nodes.find((n) => n.name === 'convS')!;
      expect(convS.attrs.protocol).to.equal('applyWeightsSharedMask');
      expect(convS.attrs.flows).to.deep.equal(['0 2->1 preprocessing weights.correction 512', '0 1->0 oneTime weights.mask 128']);
      expect(costReport(shared).rounds).to.equal(costReport(fresh).rounds);
      expect(onlineBytes(fresh) - onlineBytes(shared)).to.equal(8 * 64);
    }
  });

  it('reports how many products share a mask and the elements not resent', () => {
    const { reports } = runPipeline(residualGraph(), pipeline(true));
    const stats = Object.fromEntries(reports[0].stats);
    expect(stats['products sharing an earlier mask']).to.equal(1);
    expect(stats['masked activation elements not resent']).to.equal(64);
  });

  it('a reader through another op (a Transpose) keeps its own mask and today\'s bytes', () => {
    const shared = scheduled(separatedReadersGraph());
    const fresh = scheduled(separatedReadersGraph(), false);
    expect(masks(shared)).to.deep.equal({ stem: '', convS: '' });
    expect(costReport(shared).bytes).to.deep.equal(costReport(fresh).bytes);
  });

  it('two plain products of one value share the mask when the later one waits off the critical path', () => {
    const shared = scheduled(twoReadersGraph());
    expect(masks(shared)).to.deep.equal({ convP: '', convQ: 'convP' });
    // convQ now waits for convP's round (P1 needs x − A): round 2, beside relu+convR's 2–4.
    expect(shared.nodes.find((n) => n.name === 'convQ')!.attrs.round).to.equal(2);
    expect(costReport(shared).rounds).to.equal(costReport(scheduled(twoReadersGraph(), false)).rounds);
    expect(onlineBytes(scheduled(twoReadersGraph(), false)) - onlineBytes(shared)).to.equal(8 * 32);
  });

  it('two plain products of one value keep fresh masks where sharing would add a round', () => {
    const { graph, reports } = runPipeline(twoReadersGraph(true), pipeline(true));
    expect(masks(graph)).to.deep.equal({ convP: '', convQ: '' });
    expect(Object.fromEntries(reports[0].stats)['products kept on a fresh mask (sharing would add a round)']).to.equal(1);
    expect(costReport(graph).bytes).to.deep.equal(costReport(scheduled(twoReadersGraph(true), false)).bytes);
  });
});

describe('codegen of a shared mask', () => {
  it('MPCC6040 for a mask_from naming no earlier product of the same activation', () => {
    const g = scheduled(residualGraph());
    const nodes = g.nodes.map((n) => (n.name === 'convS' ? replaceNode(n, { attrs: { ...n.attrs, mask_from: 'stem' } }) : n));
    expect(errorOf(() => generatePrograms(replaceGraph(g, { nodes }))).code).to.equal('MPCC6040');
    expect(errorOf(() => generatePrograms(replaceGraph(g, { nodes }))).format()).to.contain("mask_from 'stem' names no earlier product sending its activation 'relu0_out' masked");
  });

  it('the mask\'s product keeps P1\'s masked activation for the product sharing it', () => {
    const { programs } = generatePrograms(scheduled(residualGraph()));
    const steps = programs[1].steps;
    const source = steps.find((s) => s.name === 'relu0+convA')!;
    const reader = steps.find((s) => s.name === 'convS')!;
    expect(source.params.keepMasked).to.equal(true);
    expect(reader.kind).to.equal('weightsSharedMask');
    expect(reader.params.maskFrom).to.equal('relu0+convA');
    expect(reader.inputs).to.deep.equal([source.outputs[2]]);
  });
});
