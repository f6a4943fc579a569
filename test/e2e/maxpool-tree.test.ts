// End to end with maxpool-to-relu-tree: a small model (ReLU → MaxPool 3×3/2 pad 1 → 1×1 Conv,
// written as IR) compiled with and without the pass, and with a uniform 2×2 block-ReLU plan over
// the tree's ReLU layers; each run by the three parties in process and checked against the
// fixed-point interpreter (the pool reads the input, so its comparisons see exact values and
// only the conv's share truncation adds error: test/e2e/support.ts), and against cost.json
// (bytes per party and phase, rounds). Unplanned, the tree costs what the SecureMaxPool step
// costs, byte for byte; planned, its comparisons are in the plan's DReLU count.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { runPlanCommand } from '../../compiler/commands/plan.js';
import { GraphBuilder } from '../../ir/builder.js';
import type { Graph } from '../../ir/graph.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { saveMir } from '../../ir/weights.js';
import type { CostReport } from '../../passes/secure/cost-model.js';
import { runPipeline } from '../../passes/index.js';
import { loadPartyArtifacts, type PartyArtifacts, type RunResult } from '../../runtime/program/index.js';
import { errorOf, randomTensor, rng } from '../passes/util.js';
import { expectCountersMatch, flowTotals, maxAbsDiff, runSecureInProcess, withTruncationNoise } from './support.js';

const FRAC = 12;
const ULP = 2 ** -FRAC;
const SHAPE = [1, 2, 10, 9];
const TREE = 'canonicalize,maxpool-to-relu-tree';

/** ReLU → MaxPool → 1×1 Conv; with `conv`, a 1×1 Conv first (the client-offline mode selects
 * only after a product). */
function poolModel(conv = false): Graph {
  const rand = rng(21);
  const b = new GraphBuilder('pool');
  const x = b.input('x', { dtype: 'float32', shape: SHAPE });
  const r = b.op('Relu', [conv ? b.op('Conv', [x, b.constant('w0', randomTensor(rng(22), [2, 2, 1, 1], -1, 1))], {}, 'conv0') : x], {}, 'act');
  const p = b.op('MaxPool', [r], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 'pool');
  b.node('Conv', [p, b.constant('w', randomTensor(rand, [3, 2, 1, 1], -0.5, 0.5))], {}, { name: 'conv', outputs: ['y'] });
  b.output('y');
  return b.build();
}

describe('e2e: MaxPool as ReLU trees (maxpool-to-relu-tree), plain and planned', function () {
  this.timeout(120000);
  let dir = '';
  let mir = '';
  let convMir = '';
  const x = Float32Array.from({ length: 2 * 10 * 9 }, (_, i) => Math.round((Math.sin(i * 7.3) * 3) / ULP) * ULP);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-e2e-pool-tree-'));
    mir = saveMir(poolModel(), join(dir, 'pool.mir')).mir;
    convMir = saveMir(poolModel(true), join(dir, 'conv-pool.mir')).mir;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Compiles, runs once, checks counters against cost.json and the output against the fixed-point
   * interpreter on the graph the parties compute (quantized with the same passes and plan). */
  async function compileAndRun(name: string, passes: string | undefined, plan?: string, clientOffline?: string, model = mir): Promise<{ cost: CostReport; run: RunResult[]; notes: readonly string[] }> {
    const out = join(dir, name);
    const { notes } = runCompile(model, { output: out, fracBits: FRAC, ...(passes ? { passes } : {}), ...(plan ? { plan } : {}), ...(clientOffline ? { clientOffline } : {}) });
    const arts: PartyArtifacts[] = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const run = await runSecureInProcess(arts, x);
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as CostReport;
    expectCountersMatch(run, cost, flowTotals(readFileSync(join(out, 'party1/model.mir'), 'utf8')));
    return { cost, run, notes };
  }

  function fixedOf(g: Graph, input: Float32Array, noise?: () => number): ArrayLike<number> {
    const q = noise ? withTruncationNoise(g, FRAC, noise) : g;
    return runGraphFixed(q, { x: tensorOf('float32', SHAPE, input) }, { frac: FRAC }).outputs.get('y')!.data;
  }

  it('unplanned: the same output as the MaxPool step, and exactly its bytes, rounds and DReLUs', async () => {
    const pool = await compileAndRun('pool', undefined);
    const tree = await compileAndRun('tree', TREE);
    expect([tree.cost.rounds, tree.cost.drelus, tree.cost.bytes.online]).to.deep.equal([pool.cost.rounds, pool.cost.drelus, pool.cost.bytes.online]);
    // The same pairs, split otherwise between the two levels of a pass (the runtime pairs an edge
    // window's two elements at level 1, the tree at level 2): the helper's dealt bits are packed
    // per level, so their rounding may differ by a byte per level.
    expect(Math.abs(tree.cost.bytes.preprocessing - pool.cost.bytes.preprocessing)).to.be.at.most(4);
    const quantized = runPipeline(poolModel(), `${TREE},quantize{frac-bits=${FRAC}}`).graph;
    const fixed = fixedOf(quantized, x);
    const simulated = maxAbsDiff(fixedOf(quantized, x, rng(3)), fixed);
    for (const r of [pool.run, tree.run]) expect(maxAbsDiff(r[0].outputs.get('y')!, fixed)).to.be.at.most(2 * simulated + ULP);
    // 2 channels: 10 rows × (4 + 4) pairs (the last window of 9 columns has 2), 5 columns ×
    // (4 + 5); then 2 × 25 for the ReLU, moved after the pool.
    expect(tree.cost.drelus).to.equal(2 * (10 * 8 + 5 * 9) + 2 * 25);
  });

  it('planned without the tree: compile notes the MaxPool outside the plan, its DReLUs and bytes from cost.json, and the pass', () => {
    const plan = join(dir, 'plan-no-tree.json');
    runPlanCommand(mir, { uniform: '2x2', output: plan });
    const summary = runCompile(mir, { output: join(dir, 'no-tree'), fracBits: FRAC, plan });
    const cost = JSON.parse(readFileSync(join(dir, 'no-tree', 'cost.json'), 'utf8')) as CostReport;
    const pool = cost.layers.find((l) => l.op === 'SecureMaxPool')!;
    // 2 channels: 10 rows × (4 + 4) pairs, 5 columns × (4 + 5) (the unplanned count above).
    expect(pool.drelus).to.equal(2 * (10 * 8 + 5 * 9));
    const notes = summary.notes.filter((n) => n.includes('MaxPool'));
    expect(notes).to.have.length(1);
    expect(notes[0]).to.include(`MaxPool '${pool.name}' is outside the plan: ${pool.drelus} DReLUs, ${((pool.bytes.online + pool.bytes.preprocessing) / 1e6).toFixed(2)} MB`);
    expect(notes[0]).to.include('--passes canonicalize,maxpool-to-relu-tree');
    // Without a plan there is nothing to note.
    expect(runCompile(mir, { output: join(dir, 'no-plan'), fracBits: FRAC }).notes.join('\n')).to.not.match(/MaxPool/);
  });

  it('planned without the tree, client-offline: the MaxPool, outside the plan, runs as exact ReLU trees after it (the step\'s DReLUs and function), noted', async () => {
    const plan = join(dir, 'plan-conv-no-tree.json');
    runPlanCommand(convMir, { uniform: '2x2', output: plan });
    const { cost: step } = await compileAndRun('conv-step', undefined, plan, 'off', convMir);
    const pool = step.layers.find((l) => l.op === 'SecureMaxPool')!;
    const { cost, run, notes } = await compileAndRun('conv-trees', undefined, plan, 'on', convMir);
    expect(cost.mode).to.equal('client-offline');
    expect(cost.layers.map((l) => l.op)).to.not.include('SecureMaxPool');
    const levels = cost.layers.filter((l) => /^pool\.[wh]\d\.\d+\.relu$/.test(l.name));
    expect(levels.map((l) => l.name)).to.have.members(['pool.w1.0.relu', 'pool.w2.0.relu', 'pool.h1.0.relu', 'pool.h2.0.relu']);
    // the pool's pairs, and the planned layer ('act', a 2×2 block-ReLU) kept before the pool as planned
    expect(levels.reduce((t, l) => t + l.drelus, 0)).to.equal(pool.drelus);
    expect(cost.drelus).to.equal(step.drelus);
    // Both runs compute the planned network with its MaxPool (no tree), as the interpreter does.
    const planned = runPipeline(poolModel(true), `canonicalize,insert-block-relu{plan=${plan}},quantize{frac-bits=${FRAC}}`).graph;
    expect(planned.nodes.map((n) => n.op)).to.include('MaxPool');
    const fixed = fixedOf(planned, x);
    const simulated = maxAbsDiff(fixedOf(planned, x, rng(7)), fixed);
    expect(maxAbsDiff(run[0].outputs.get('y')!, fixed)).to.be.at.most(2 * simulated + ULP);
    const mb = (levels.reduce((t, l) => t + l.bytes.online + l.bytes.preprocessing, 0) / 1e6).toFixed(2);
    const noted = notes.filter((n) => n.includes('MaxPool'));
    expect(noted).to.have.length(1);
    expect(noted[0]).to.include(`MaxPool 'pool' is outside the plan: run as exact ReLU trees (4 levels;`).and.include(`${pool.drelus} DReLUs, ${mb} MB per inference`);
    expect(noted[0]).to.include('--passes canonicalize,maxpool-to-relu-tree');
    // OUT/plan.json is the plan as made (no tree layer), so --plan OUT/plan.json (or
    // --verify-against-plaintext) rebuilds the network with its MaxPool: the same program.
    expect(readFileSync(join(dir, 'conv-trees', 'plan.json'), 'utf8')).to.equal(readFileSync(plan, 'utf8'));
    expect(runCompile(convMir, { output: join(dir, 'conv-trees-again'), fracBits: FRAC, plan: join(dir, 'conv-trees', 'plan.json'), clientOffline: 'on' }).cost).to.deep.equal(cost);
  });

  it('planned 2×2: the tree ReLUs become block-ReLUs in the plan, the run follows the planned interpreter', async () => {
    const plan = join(dir, 'plan.json');
    const { plan: made } = runPlanCommand(mir, { uniform: '2x2', passes: TREE, output: plan });
    expect(made.layers.map((l) => l.name)).to.include.members(['pool.w1.0.relu', 'pool.w2.0.relu', 'pool.h1.0.relu', 'pool.h2.0.relu', 'act']);
    const { cost, run } = await compileAndRun('planned', TREE, plan);
    expect(cost.drelus).to.equal(made.drelus.planned);
    const planned = runPipeline(poolModel(), `${TREE},insert-block-relu{plan=${plan}},quantize{frac-bits=${FRAC}}`).graph;
    expect(planned.nodes.filter((n) => n.op === 'BlockRelu').length).to.equal(5);
    const fixed = fixedOf(planned, x);
    const simulated = maxAbsDiff(fixedOf(planned, x, rng(5)), fixed);
    expect(maxAbsDiff(run[0].outputs.get('y')!, fixed)).to.be.at.most(2 * simulated + ULP);
    // The tree leaves no SecureMaxPool step, so compile notes none.
    expect(runCompile(mir, { output: join(dir, 'planned-again'), fracBits: FRAC, passes: TREE, plan }).notes.join('\n')).to.not.match(/MaxPool/);
    // Compiled with passes without the tree, the plan names layers the model does not have: a
    // coded error. Without --passes the plan's own run (its source.passes): the same program.
    const e = errorOf(() => runCompile(mir, { output: join(dir, 'wrong'), fracBits: FRAC, plan, passes: 'canonicalize' }));
    expect(e.format()).to.match(/^error MPCC4013: plan '.*plan\.json': layer 'pool\.w1\.0\.relu' is not a ReLU layer of the model/);
    expect(runCompile(mir, { output: join(dir, 'plan-passes'), fracBits: FRAC, plan }).cost).to.deep.equal(cost);
  });
});
