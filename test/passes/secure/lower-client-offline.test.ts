// lower's client-offline mode (passes/secure/lower-client-offline.ts): which quantized ops become
// which secure ops (Truncate [→ Add] → Relu as one SecureHelperSelect, a ReLU without a
// truncation before it with bits 0, a lone Truncate as SecureTruncateClientOffline, products of
// client-offline values as SecureWeightsClientOffline, the products of the input classic), the
// windows moved onto the comparison value, the fixed-point meaning against the quantized ops they
// replace, the cost against PROTOCOL_COSTS and the classic mode, and the graphs it refuses.
import { expect } from 'chai';
import { GraphBuilder } from '../../../ir/builder.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { windowNegative } from '../../../ir/interp/fixed/compare-window.js';
import { costReport } from '../../../passes/secure/cost-model.js';
import { printGraph } from '../../../ir/print.js';
import { runPipeline } from '../../../passes/index.js';
import { type Cost, PROTOCOL_COSTS, totalBytes } from '../../../runtime/protocols/costs.js';
import { generatePrograms } from '../../../compiler/codegen/model/program-gen.js';
import { parseProgram } from '../../../runtime/program/index.js';
import { errorOf, randomTensor, rng } from '../util.js';
import { FRAC, clipGraph, conv, maxPoolGraph, residualGraph } from './secure-graphs.js';

const MODE = 'lower{client-offline=true},schedule-rounds';
const lowered = (g: Graph) => runPipeline(g, MODE).graph;
const byName = (g: Graph, name: string): Node => g.nodes.find((x) => x.name === name)!;
const ops = (g: Graph) => g.nodes.map((n) => `${n.name}:${n.op}`);

/** input [1,2,6,6] → conv1 → relu1 (window `w1`) → conv2 → br2 (BlockRelu: identity, [2,2],
 * [6,6]; window `w2`) → conv3 → output. */
function windowGraph(w1: Record<string, number>, w2: Record<string, number>): Graph {
  const b = new GraphBuilder('windows');
  const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 2, 6, 6] })], { frac: FRAC }, 'input.fixed');
  const r1 = b.op('Relu', [conv(b, x, 'conv1', 2, 3, 3, 1, 1)], w1, 'relu1');
  const r2 = b.op('BlockRelu', [conv(b, r1, 'conv2', 3, 3, 3, 1, 2)], { blocks: [0, 0, 2, 2, 6, 6], ...w2 }, 'br2');
  b.output(conv(b, r2, 'conv3', 3, 2, 1, 0, 3));
  return b.build();
}

/** Sums the bytes of `costs` by phase. */
function bytesOf(costs: Cost[]): { online: number; preprocessing: number; oneTime: number } {
  const all: Cost = { rounds: 0, flows: costs.flatMap((c) => c.flows) };
  return { online: totalBytes(all, 'online'), preprocessing: totalBytes(all, 'preprocessing'), oneTime: totalBytes(all, 'oneTime') };
}

describe('lower{client-offline}: the client-offline mode', () => {
  it('a residual block: truncations and the residual addition fold into the helper\'s selections', () => {
    const g = lowered(residualGraph());
    expect(ops(g)).to.deep.equal([
      'input.fixed:SecureInput', 'stem:SecureWeights', 'relu0:SecureHelperSelect', 'convA:SecureWeightsClientOffline', 'reluA:SecureHelperSelect',
      'convB:SecureWeightsClientOffline', 'convS:SecureWeightsClientOffline', 'convS.trunc:SecureTruncateClientOffline', 'relu2:SecureHelperSelect', 'reveal_relu2_out:SecureReveal',
    ]);
    // each selection reads the product before its truncation; relu2 the shortcut as its residual
    expect(byName(g, 'relu0').inputs).to.deep.equal(['stem_out']);
    expect(byName(g, 'reluA').inputs).to.deep.equal(['convA_out']);
    expect(byName(g, 'relu2').inputs).to.deep.equal(['convB_out', 'convS.trunc_out']);
    for (const name of ['relu0', 'reluA', 'relu2']) expect(byName(g, name).attrs).to.include({ bits: FRAC, window_lo: 0, window_k: 64, drelus: 64, protocol: 'helperSelect', rounds: 3 });
    expect(byName(g, 'convS.trunc').attrs).to.include({ bits: FRAC, protocol: 'truncateClientOffline', rounds: 2 });
    // the absorbed Truncates and Add leave no value behind
    expect([...g.types.keys()].filter((v) => /trunc_out$|add_out$/.test(v))).to.deep.equal(['convS.trunc_out']);
  });

  it('reports what it made', () => {
    const stats = Object.fromEntries(runPipeline(residualGraph(), MODE).reports[0].stats);
    expect(stats).to.include({
      "products of the client's input (classic)": 1, 'products made offline': 3, 'selections made by the helper': 3,
      'truncations folded into a selection': 3, 'residual additions folded into a selection': 1, 'truncations without a selection after them': 1,
    });
  });

  it('moves a narrowed window up by the truncation\'s bits (the full window stays), clipped at the ring\'s top', () => {
    const narrow = lowered(windowGraph({ window_lo: 2, window_k: 16 }, { window_lo: 40, window_k: 24 }));
    expect(byName(narrow, 'relu1').attrs).to.include({ bits: FRAC, window_lo: 2 + FRAC, window_k: 16 });
    expect(byName(narrow, 'br2').attrs).to.include({ bits: FRAC, window_lo: 40 + FRAC, window_k: 64 - 40 - FRAC });
    const full = lowered(windowGraph({}, {}));
    expect(byName(full, 'relu1').attrs).to.include({ window_lo: 0, window_k: 64 });
    // a window that cannot move: MPCC6027 naming the ReLU
    const err = errorOf(() => lowered(windowGraph({ window_lo: 56, window_k: 8 }, {})));
    expect(err.code).to.equal('MPCC6027');
    expect(err.message).to.contain("node 'relu1' (SecureRelu)").and.contain('bit window [56, 64) cannot move up by the truncation\'s 12 bits');
  });

  it('a block-ReLU keeps its blocks: one comparison per tile, selections of its non-identity channels', () => {
    const g = lowered(windowGraph({}, { window_k: 16 }));
    const br2 = byName(g, 'br2');
    expect(br2.attrs.blocks).to.deep.equal([0, 0, 2, 2, 6, 6]);
    // tiles: 0 + 3·3 + 1 = 10; selected: 2 channels × 36
    expect(br2.attrs).to.include({ drelus: 10, window_lo: FRAC, window_k: 16 });
    const want = PROTOCOL_COSTS.helperSelect({ n: 108, patches: 10, selected: 72, k: 16, bits: FRAC });
    expect(br2.attrs.rounds).to.equal(want.rounds);
    expect(costReport(g).layers.find((l) => l.name === 'br2')).to.deep.include({ drelus: 10, drelusBefore: 108 });
    expect(bytesOf([want])).to.deep.equal(((l) => ({ online: l.bytes.online, preprocessing: l.bytes.preprocessing, oneTime: l.bytes.oneTime }))(costReport(g).layers.find((l) => l.name === 'br2')!));
  });

  it('a MaxPool written as ReLU trees: every ReLU of the trees a selection with bits 0, the conv\'s truncation alone', () => {
    const b = new GraphBuilder('pooled');
    const x = b.input('input', { dtype: 'float32', shape: [1, 2, 6, 6] });
    const rand = rng(3);
    const c1 = b.op('Conv', [x, b.constant('c1.w', randomTensor(rand, [2, 2, 3, 3])), b.constant('c1.b', randomTensor(rand, [2]))], { pads: [1, 1, 1, 1] }, 'c1');
    const p = b.op('MaxPool', [b.op('Relu', [c1], {}, 'relu')], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
    b.output(b.op('Conv', [p, b.constant('c2.w', randomTensor(rand, [3, 2, 1, 1]))], {}, 'c2'));
    const g = runPipeline(b.build(), `canonicalize,maxpool-to-relu-tree,quantize{frac-bits=${FRAC}},${MODE}`).graph;
    const secure = g.nodes.filter((n) => n.op.startsWith('Secure'));
    expect(secure.some((n) => n.op === 'SecureMaxPool' || n.op === 'SecureRelu')).to.equal(false);
    const selections = secure.filter((n) => n.op === 'SecureHelperSelect');
    // two tree levels (rows, columns) and the ReLU moved after the pool
    expect(selections.length).to.equal(3);
    for (const s of selections) expect(s.attrs.bits).to.equal(0);
    expect(secure.map((n) => n.op)).to.include.members(['SecureWeights', 'SecureTruncateClientOffline', 'SecureWeightsClientOffline', 'SecureReveal']);
    expect(secure.filter((n) => n.op === 'SecureTruncateClientOffline').map((n) => n.inputs[0])).to.deep.equal(['c1_out.acc', 'c2_out.acc']);
  });

  it('the fixed-point meaning: each selection is the Relu(Truncate(v) [+ res]) it replaces, its window on c = v + (res << bits) judging as the Relu\'s on x', () => {
    const quantized = windowGraph({ window_lo: 2, window_k: 16 }, {});
    const res = residualGraph();
    for (const [q, relus] of [[quantized, ['relu1']], [res, ['relu0', 'reluA', 'relu2']]] as const) {
      const g = lowered(q);
      for (const name of relus) {
        const relu = byName(q, name), sel = byName(g, name);
        // the quantized chain the selection replaces: Truncate → Relu, or Truncate → Add → Relu
        const producer = (v: string) => q.nodes.find((n) => n.outputs.includes(v))!;
        const before = producer(relu.inputs[0]);
        const [trunc, residual] = before.op === 'Add' ? [producer(before.inputs[0]), before.inputs[1]] : [before, undefined];
        expect(trunc.op).to.equal('Truncate');
        expect(sel.inputs).to.deep.equal(residual ? [trunc.inputs[0], residual] : [trunc.inputs[0]]);
        expect(sel.attrs.bits).to.equal(trunc.attrs.bits);
        // plaintext: x = ⌊v / 2^bits⌋ + res, c = v + res·2^bits; the windows give the same signs
        const bits = BigInt(sel.attrs.bits as number);
        const rand = rng(17);
        const n = 4000;
        const x = new BigUint64Array(n), c = new BigUint64Array(n);
        for (let i = 0; i < n; i++) {
          const scale = [1, 2 ** 8, 2 ** 20, 2 ** 40][i % 4];
          const v = BigInt(Math.round((rand() - 0.5) * scale)) * 4096n + BigInt(Math.floor(rand() * 4096));
          const r = residual ? BigInt(Math.round((rand() - 0.5) * scale)) : 0n;
          x[i] = BigInt.asUintN(64, (v >> bits) + r);
          c[i] = BigInt.asUintN(64, v + (r << bits));
        }
        const w = { lo: (relu.attrs.window_lo as number | undefined) ?? 0, k: (relu.attrs.window_k as number | undefined) ?? 64 };
        expect([...windowNegative(c, sel.attrs.window_lo as number, sel.attrs.window_k as number, sel)]).to.deep.equal([...windowNegative(x, w.lo, w.k, relu)]);
      }
    }
  });

  it('costs the sum of PROTOCOL_COSTS of its ops, in fewer rounds and fewer online bytes than the classic mode', () => {
    const g = lowered(residualGraph());
    const w3 = { xSize: 64, ySize: 64 };
    const select = PROTOCOL_COSTS.helperSelect({ n: 64, patches: 64, selected: 64, k: 64, bits: FRAC });
    const costs = [
      PROTOCOL_COSTS.shareInput({ n: 64 }), PROTOCOL_COSTS.applyWeights(w3), select, PROTOCOL_COSTS.applyWeightsClientOffline(w3), select,
      PROTOCOL_COSTS.applyWeightsClientOffline(w3), PROTOCOL_COSTS.applyWeightsClientOffline({ ...w3, sharedMask: true }), PROTOCOL_COSTS.truncateClientOffline({ n: 64, bits: FRAC }), select,
      PROTOCOL_COSTS.revealToClient({ n: 64 }), ...[144, 144, 144, 16].map((wSize) => PROTOCOL_COSTS.setupWeights({ wSize })),
    ];
    const r = costReport(g);
    expect({ online: r.bytes.online, preprocessing: r.bytes.preprocessing, oneTime: r.bytes.oneTime }).to.deep.equal(bytesOf(costs));
    expect(r.mode).to.equal('client-offline');
    expect(r.drelus).to.equal(3 * 64);
    // stem 1, three selections of 3 (the shortcut's truncation beside reluA), the reveal 1
    expect(r.rounds).to.equal(11);
    const classic = costReport(runPipeline(residualGraph(), 'lower,schedule-rounds').graph);
    expect(classic.mode).to.equal('classic');
    expect(classic.rounds).to.equal(14);
    expect(r.bytes.online).to.be.below(classic.bytes.online);
    // P0 sends online only the stem's masked input, its digits and flip bits
    const p0Online = r.layers.reduce((t, l) => t + l.bytes.perParty[0], 0) - costs.flatMap((c) => c.flows).filter((f) => f.from === 0 && f.phase === 'preprocessing').reduce((t, f) => t + f.bytes, 0);
    const p0Want = costs.flatMap((c) => c.flows).filter((f) => f.from === 0 && f.phase === 'online');
    expect(new Set(p0Want.map((f) => f.label))).to.deep.equal(new Set(['weights.activation', 'drelu.compare', 'hsel.flip']));
    expect(p0Online).to.equal(p0Want.reduce((t, f) => t + f.bytes, 0));
  });

  it('a product of the value an earlier client-offline product reads shares its mask (mask_from); share-masks=false keeps a fresh one', () => {
    for (const shortcutFirst of [false, true]) {
      const g = lowered(residualGraph(shortcutFirst));
      // convA and convS both read relu0's output: the later one (node order) takes the earlier's mask
      const [first, later] = shortcutFirst ? ['convS', 'convA'] : ['convA', 'convS'];
      expect(byName(g, later).attrs, later).to.include({ mask_from: first, protocol: 'applyWeightsClientOffline', rounds: 0 });
      expect(byName(g, first).attrs.mask_from ?? '', first).to.equal('');
      expect(byName(g, 'convB').attrs.mask_from ?? '').to.equal('');
      const { programs } = generatePrograms(g);
      for (const program of programs) {
        const step = program.steps.find((st) => st.name === later)!;
        expect(step).to.deep.include({ kind: 'weightsClientOffline', inputs: ['relu0_out'] });
        expect(step.params.maskFrom).to.equal(first);
        expect(parseProgram(JSON.stringify(program), 'p.json', program.party).steps.length).to.equal(program.steps.length);
      }
    }
    const shared = runPipeline(residualGraph(), MODE);
    expect(Object.fromEntries(shared.reports[0].stats)).to.include({ 'products sharing an earlier mask': 1, 'masked activation elements not resent': 64 });
    const fresh = runPipeline(residualGraph(), 'lower{client-offline=true,share-masks=false},schedule-rounds').graph;
    expect(fresh.nodes.filter((n) => n.attrs.mask_from)).to.deep.equal([]);
    const [a, b] = [costReport(shared.graph), costReport(fresh)];
    // the same online bytes and rounds; P0's masked share of relu0 (64 elements) sent once less
    expect([b.bytes.online, b.rounds]).to.deep.equal([a.bytes.online, a.rounds]);
    expect(b.bytes.preprocessing - a.bytes.preprocessing).to.equal(8 * 64);
  });

  it('codegen refuses a mask_from naming no earlier unshared client-offline product of the same value (MPCC6040); the program check refuses such a maskFrom (MPCC5222)', () => {
    const g = lowered(residualGraph());
    const bad = (from: string) => ({ ...g, nodes: g.nodes.map((n) => (n.name === 'convS' ? { ...n, attrs: { ...n.attrs, mask_from: from } } : n)) });
    for (const from of ['convB', 'stem', 'nowhere']) {
      const err = errorOf(() => generatePrograms(bad(from)));
      expect(err.code, from).to.equal('MPCC6040');
      expect(err.message, from).to.contain(`mask_from '${from}' names no earlier client-offline product sending its activation 'relu0_out' masked`);
    }
    const program = generatePrograms(g).programs[1];
    const refusal = (f: (steps: { name: string; inputs: string[]; params: Record<string, unknown> }[]) => void) => {
      const p = JSON.parse(JSON.stringify(program));
      f(p.steps);
      return errorOf(() => parseProgram(JSON.stringify(p), 'p.json', 1));
    };
    const at = program.steps.findIndex((st) => st.name === 'convS');
    const convS = (steps: { name: string; inputs: string[]; params: Record<string, unknown> }[]) => steps.find((st) => st.name === 'convS')!;
    const cases: [(steps: { name: string; inputs: string[]; params: Record<string, unknown> }[]) => void, string][] = [
      [(steps) => (convS(steps).params.maskFrom = 'convB'), `steps[${at}].inputs[0]: value 'relu0_out', the step 'convB' whose mask it shares reads 'reluA_out'`],
      [(steps) => (convS(steps).params.maskFrom = 'stem'), `steps[${at}].params.maskFrom: 'stem' names no earlier 'weightsClientOffline' step that sends its masked activation`],
      [(steps) => (convS(steps).params.maskFrom = 'relu2'), `steps[${at}].params.maskFrom: 'relu2' names no earlier 'weightsClientOffline' step`],
      [(steps) => (convS(steps).inputs = ['reluA_out']), `steps[${at}].inputs[0]: value 'reluA_out', the step 'convA' whose mask it shares reads 'relu0_out'`],
    ];
    for (const [f, message] of cases) {
      const err = refusal(f);
      expect(err.code).to.equal('MPCC5222');
      expect(err.message).to.contain(message);
    }
  });

  it('codegen: the contract\'s step kinds and parameters', () => {
    const { programs } = generatePrograms(lowered(residualGraph()));
    const step = (name: string) => programs[0].steps.find((s) => s.name === name)!;
    expect(step('stem')).to.deep.include({ kind: 'weights', inputs: ['input.fixed_out'], outputs: ['stem_out'] });
    expect(step('relu0')).to.deep.include({ kind: 'helperSelect', inputs: ['stem_out'], outputs: ['relu0_out'], params: { bits: FRAC, window: { lo: 0, k: 64 }, shape: [1, 4, 4, 4], size: 64 } });
    expect(step('relu2')).to.deep.include({ kind: 'helperSelect', inputs: ['convB_out', 'convS.trunc_out'] });
    expect(step('convA')).to.deep.include({ kind: 'weightsClientOffline', inputs: ['relu0_out'], outputs: ['convA_out'], params: { layer: 'convA', bias: 'convA.bias', inner: 16 } });
    expect(step('convS.trunc')).to.deep.include({ kind: 'truncateClientOffline', params: { bits: FRAC } });
    expect(programs[0].setup.map((s) => s.name)).to.deep.equal(['stem', 'convA', 'convB', 'convS']);
    // a block-ReLU's blocks as BlockSize, its shape NCHW
    const blocks = generatePrograms(lowered(windowGraph({}, {}))).programs[0].steps.find((s) => s.name === 'br2')!;
    expect(blocks.params).to.deep.equal({ bits: FRAC, window: { lo: 0, k: 64 }, shape: [1, 3, 6, 6], blocks: ['identity', [2, 2], [6, 6]], size: 108 });
  });

  // A smaller ring (option ring, `mpcc compile --ring`): the SecureInput marked, every window
  // inside the ring, and each ring element of a per-inference message in ring/8 bytes — the
  // client-offline products, the selections' masked values and answers, and also the classic
  // product of the input and the reveal that lower made before the mode's rewrite; the one-time
  // W − B in ring/8 B per weight too. Byte counts written out by hand for 64 elements and
  // 144 (16) weights at 5 B.
  describe('in a smaller ring (ring=40)', () => {
    const RING40 = 'lower{client-offline=true,ring=40},schedule-rounds';
    const flowsOf = (g: Graph, name: string) => byName(g, name).attrs.flows as string[];

    it('marks the SecureInput; ring=64 is the default lowering exactly', () => {
      const g = runPipeline(residualGraph(), RING40).graph;
      expect(byName(g, 'input.fixed').attrs.ring).to.equal(40);
      expect(printGraph(g)).to.contain('SecureInput "input.fixed"(%input) {drelus = 0, flows = [], frac = 12, protocol = "shareInput", ring = 40,');
      expect(costReport(g).ring).to.equal(40);
      const at64 = runPipeline(residualGraph(), 'lower{client-offline=true,ring=64},schedule-rounds').graph;
      expect(printGraph(at64)).to.equal(printGraph(lowered(residualGraph())));
      expect(byName(at64, 'input.fixed').attrs.ring).to.equal(undefined);
      expect(costReport(at64).ring).to.equal(64);
    });

    it('costs 5 B per ring element: the classic first product, the reveal, the client-offline products, the one-time W − B, the selections', () => {
      const g = runPipeline(residualGraph(), RING40).graph;
      // [1,4,4,4]: 64 elements of every activation, stem/convA/convB 144 weights, convS 16
      expect(flowsOf(g, 'stem')).to.deep.equal(['0 0->1 online weights.activation 320', '0 2->1 preprocessing weights.correction 320', '0 1->0 oneTime weights.mask 720']);
      expect(flowsOf(g, 'reveal_relu2_out')).to.deep.equal(['0 1->0 online reveal 320']);
      expect(flowsOf(g, 'convA')).to.deep.equal(['0 0->1 preprocessing weights.activation 320', '0 2->1 preprocessing weights.correction 320', '0 1->0 oneTime weights.mask 720']);
      expect(flowsOf(g, 'convS')).to.deep.equal(['0 2->1 preprocessing weights.correction 320', '0 1->0 oneTime weights.mask 80']);
      // the selection: x + m each way, P2's answer and flip shares, 5 B each; the truncation's
      // packed bits unchanged (12 bits and 1 bit per element); the comparison on the 40-bit window
      const relu0 = flowsOf(g, 'relu0');
      expect(relu0).to.include.members(['0 0->2 preprocessing hsel.masked 320', '0 1->2 online hsel.masked 320', '2 2->1 online hsel.select 320', '2 2->1 online hsel.flipshare 320', '0 0->1 preprocessing trunc.pad 96', '0 1->2 online trunc.open 8', '2 2->1 online trunc.share 96', '0 1->0 online drelu.reveal 320']);
      expect(byName(g, 'relu0').attrs).to.include({ window_lo: 0, window_k: 40 });
      // against the 64-bit lowering, flow by flow: ring elements (the one-time W − B's too) at
      // 5/8, the rest as the window makes them
      const g64 = lowered(residualGraph());
      for (const n of g64.nodes.filter((x) => x.op.startsWith('Secure') && x.op !== 'SecureHelperSelect')) {
        const scaled = (flowsOf(g64, n.name)).map((f) => (/ (weights\.activation|weights\.correction|weights\.mask|reveal) /.test(f) ? f.replace(/ (\d+)$/, (_, b) => ` ${(Number(b) * 5) / 8}`) : f));
        expect(flowsOf(g, n.name), n.name).to.deep.equal(scaled);
      }
      expect(costReport(g).bytes.oneTime).to.equal((costReport(g64).bytes.oneTime * 5) / 8);
      expect(costReport(g).bytes.online).to.be.below(costReport(g64).bytes.online);
    });

    it('keeps every window inside the ring: moved up by the truncation, clipped at bit 40, the full one the whole ring', () => {
      const g = runPipeline(windowGraph({ window_lo: 2, window_k: 16 }, { window_lo: 20, window_k: 24 }), RING40).graph;
      expect(byName(g, 'relu1').attrs).to.include({ bits: FRAC, window_lo: 2 + FRAC, window_k: 16 });
      expect(byName(g, 'br2').attrs).to.include({ bits: FRAC, window_lo: 20 + FRAC, window_k: 40 - 20 - FRAC });
      const full = runPipeline(windowGraph({}, {}), RING40).graph;
      expect(byName(full, 'relu1').attrs).to.include({ window_lo: 0, window_k: 40 });
      const err = errorOf(() => runPipeline(windowGraph({ window_lo: 28, window_k: 8 }, {}), RING40));
      expect(err.code).to.equal('MPCC6027');
      expect(err.message).to.contain("node 'relu1' (SecureRelu)").and.contain("bit window [28, 36) cannot move up by the truncation's 12 bits inside the ring Z_2^40");
      // the programs carry the ring; the check takes them
      const { programs } = generatePrograms(g);
      for (const program of programs) {
        expect(program.ring).to.equal(40);
        expect(program.setup.every((st) => st.ring === 40)).to.equal(true);
        expect(program.steps.filter((st) => st.params.ring === 40).map((st) => st.kind)).to.deep.equal(['weights', 'helperSelect', 'weightsClientOffline', 'helperSelect', 'weightsClientOffline', 'truncateClientOffline', 'reveal']);
        expect(parseProgram(JSON.stringify(program), 'p.json', program.party).ring).to.equal(40);
      }
    });

    it('refuses a smaller ring without the mode (MPCC6028), a ring of other bits (MPCC4003), a Truncate kept local (MPCC6029)', () => {
      expect(errorOf(() => runPipeline(residualGraph(), 'lower{ring=48}')).format()).to.match(/^error MPCC6028: --ring 48 needs lower\{client-offline=1\} \(--client-offline\): a ring smaller than Z_2\^64 is safe only where every truncation is exact/);
      expect(errorOf(() => runPipeline(residualGraph(), 'lower{client-offline=true,ring=36}')).message).to.contain('invalid option ring=36: must be one of 32, 40, 48, 56, 64');
      const err = errorOf(() => runPipeline(residualGraph(), 'lower{client-offline=true,ring=56,truncation=local}'));
      expect(err.code).to.equal('MPCC6029');
      expect(err.message).to.contain("--ring 56: node 'stem.trunc' (Truncate) cannot run in Z_2^56: a Truncate kept local (--truncation local) shifts each share");
    });
  });

  describe('graphs outside the mode: MPCC6027 naming the first node that breaks it', () => {
    it('a MaxPool left as it is', () => {
      const err = errorOf(() => lowered(maxPoolGraph()));
      expect(err.code).to.equal('MPCC6027');
      expect(err.format()).to.contain("node 'pool' (SecureMaxPool)").and.contain('maxpool-to-relu-tree');
    });

    it('a Clip', () => {
      expect(errorOf(() => lowered(clipGraph())).message).to.contain("node 'relu6' (SecureClip) keeps the model out of the client-offline mode: the mode has no client-offline form of SecureClip");
    });

    it('a ReLU of the client\'s input before any product', () => {
      const b = new GraphBuilder('input-relu');
      const x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 2, 4, 4] })], { frac: FRAC }, 'input.fixed');
      b.output(conv(b, b.op('Relu', [x], {}, 'relu'), 'conv', 2, 2, 1, 0, 1));
      expect(errorOf(() => lowered(b.build())).message).to.contain("node 'relu' (SecureRelu)").and.contain("it reads 'input.fixed_out', computed from the client's input");
    });
  });
});
