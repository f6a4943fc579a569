// End to end with block-ReLUs: a small model written as IR (BlockRelu has no ONNX operator),
// `mpcc compile`d, run by the three parties in process, and checked against the fixed-point
// interpreter (up to the simulated share-truncation error, test/e2e/support.ts) and against
// cost.json (bytes per party and phase, and rounds, exactly). Its layers:
//   conv1 → br1 (mixed: identity, [1,1], [2,2], [3,5], whole map, [2,3]) → conv2   (fused: SecureReluWeights with blocks)
//   conv2 → br2 (mixed, not read by a product; a graph output)                    (SecureBlockRelu)
//   br2   → br3 (one size, [3,3], every channel) → conv3                          (fused)
//   conv3 → br4 (every channel identity: no comparison, no message)               (SecureBlockRelu, 0 rounds)
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { GraphBuilder } from '../../ir/builder.js';
import type { Graph } from '../../ir/graph.js';
import { runGraph } from '../../ir/interp/index.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { saveMir } from '../../ir/weights.js';
import { blockSizesOf } from '../../ir/ops/block-relu.js';
import { blockLayout } from '../../runtime/protocols/block-relu.js';
import type { CostReport } from '../../passes/secure/cost-model.js';
import { runPipeline } from '../../passes/index.js';
import { loadPartyArtifacts, type PartyArtifacts, type RunResult } from '../../runtime/program/index.js';
import { randomTensor, rng } from '../passes/util.js';
import { expectCountersMatch, flowTotals, maxAbsDiff, runSecureInProcess, withTruncationNoise } from './support.js';

const FRAC = 12;
const ULP = 2 ** -FRAC;
const SHAPE = [1, 3, 9, 11];
const BR1 = [0, 0, 1, 1, 2, 2, 3, 5, 9, 11, 2, 3];
const BR2 = [3, 5, 0, 0, 9, 11, 1, 1, 2, 2, 0, 0];
const BR3 = new Array(6).fill([3, 3]).flat();
const BR4 = new Array(8).fill(0);

/** The model: three convs (weights uniform in ±0.3, biases ±0.1) and four BlockRelus. */
function blockModel(): Graph {
  const rand = rng(15);
  const b = new GraphBuilder('blocks');
  const x = b.input('x', { dtype: 'float32', shape: SHAPE });
  const conv = (name: string, input: string, o: number, i: number, k: number) =>
    b.op('Conv', [input, b.constant(`${name}.w`, randomTensor(rand, [o, i, k, k], -0.3, 0.3)), b.constant(`${name}.b`, randomTensor(rand, [o], -0.1, 0.1))], { pads: new Array(4).fill((k - 1) / 2) }, name);
  const c1 = conv('conv1', x, 6, 3, 3);
  const br1 = b.op('BlockRelu', [c1], { blocks: BR1 }, 'br1');
  const c2 = conv('conv2', br1, 6, 6, 3);
  const br2 = b.node('BlockRelu', [c2], { blocks: BR2 }, { name: 'br2', outputs: ['y2'] })[0];
  const br3 = b.op('BlockRelu', [br2], { blocks: BR3 }, 'br3');
  const c3 = conv('conv3', br3, 4, 6, 1);
  b.node('BlockRelu', [c3], { blocks: BR4 }, { name: 'br4', outputs: ['y'] });
  b.output('y2', 'y');
  return b.build();
}

/** The smallest |tile sum| over every block-ReLU of `g` on input `x`, in ulps per element of the tile. */
function closestTileSum(g: Graph, x: Float32Array): number {
  const values = runGraphFixed(g, { x: tensorOf('float32', SHAPE, x) }, { frac: FRAC }).values;
  let closest = Infinity;
  for (const n of g.nodes.filter((m) => m.op === 'BlockRelu')) {
    const v = values.get(n.inputs[0])!;
    const { patchOf, patches } = blockLayout(v.shape as [number, number, number, number], blockSizesOf(n));
    const sums = new Float64Array(patches), sizes = new Float64Array(patches), nonzero = new Uint8Array(patches);
    for (let i = 0; i < v.data.length; i++) {
      const p = patchOf[i];
      if (p < 0) continue;
      sums[p] += v.data[i];
      sizes[p]++;
      if (v.data[i] !== 0) nonzero[p] = 1;
    }
    // A tile a block-ReLU before zeroed is exactly 0 in the secure run too (a selection by 0).
    for (let p = 0; p < patches; p++) if (nonzero[p]) closest = Math.min(closest, Math.abs(sums[p]) / ULP / sizes[p]);
  }
  return closest;
}

describe('e2e: block-ReLUs compiled and run by the three parties', function () {
  this.timeout(120000);
  let dir = '';
  let out = '';
  let quantized: Graph;
  let float: Graph;
  const inputs: Float32Array[] = [];
  const runs: RunResult[][] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-e2e-blocks-'));
    float = blockModel();
    const { mir } = saveMir(float, join(dir, 'blocks.mir'));
    out = join(dir, 'out');
    runCompile(mir, { output: out, fracBits: FRAC });
    quantized = runPipeline(float, `canonicalize,quantize{frac-bits=${FRAC}}`).graph;
    const arts: PartyArtifacts[] = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    // Three inputs whose tile sums all stay clear of zero (8 ulps per element; the outputs move by
    // 2–3 ulps): a share truncation moves a sum by up
    // to a few ulps per element, so a sum closer to zero may change its tile's sign in the secure
    // run (legitimately, as in the error model) and would make the comparison a coin toss.
    const rand = rng(99);
    while (inputs.length < 3) {
      const x = Float32Array.from({ length: 3 * 9 * 11 }, () => 2 * rand() - 1);
      if (closestTileSum(quantized, x) < 8) continue;
      inputs.push(x);
      runs.push(await runSecureInProcess(arts, x));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lowers to the fused and the plain block-ReLU forms', () => {
    const g = runPipeline(float, `canonicalize,quantize{frac-bits=${FRAC}},lower,schedule-rounds`).graph;
    const ops = Object.fromEntries(g.nodes.filter((n) => n.op.startsWith('Secure')).map((n) => [n.name, [n.op, n.attrs.protocol, n.attrs.drelus, n.attrs.rounds]]));
    // DReLUs by hand (9×11 maps): br1 0 + 99 + 5·6 + 3·3 + 1 + 5·4 = 159; br2 3·3 + 0 + 1 + 99 + 5·6 + 0 = 139;
    // br3 6 channels × 3·4 = 72; br4 none.
    expect(ops).to.deep.include({
      'br1+conv2': ['SecureReluWeights', 'blockReluThenWeights', 159, 3],
      br2: ['SecureBlockRelu', 'blockRelu', 139, 3],
      'br3+conv3': ['SecureReluWeights', 'blockReluThenWeights', 72, 3],
      br4: ['SecureBlockRelu', 'blockRelu', 0, 0],
    });
  });

  it('the fixed-point interpreter follows the float one (the block-ReLUs decide the same)', () => {
    const x = { x: tensorOf('float32', SHAPE, inputs[0]) };
    const f = runGraph(float, x, { precision: 'float64' });
    const q = runGraphFixed(quantized, x, { frac: FRAC }).outputs;
    for (const o of ['y2', 'y']) expect(maxAbsDiff(q.get(o)!.data, f.get(o)!.data), o).to.be.at.most(0.01);
  });

  // As in resnet18-cifar.test.ts: the secure run equals the fixed-point interpreter except at
  // share truncations (0 or 1 ulp each, carried along); the bound is twice the deviation of the
  // error model run in plaintext (the interpreter with a random 0/1 ulp after every Truncate).
  it('matches the fixed-point interpreter within the simulated truncation error', () => {
    const rand = rng(7);
    for (let k = 0; k < inputs.length; k++) {
      const x = { x: tensorOf('float32', SHAPE, inputs[k]) };
      const fixed = runGraphFixed(quantized, x, { frac: FRAC }).outputs;
      const modelled = runGraphFixed(withTruncationNoise(quantized, FRAC, rand), x, { frac: FRAC }).outputs;
      for (const o of ['y2', 'y']) {
        const simulated = maxAbsDiff(modelled.get(o)!.data, fixed.get(o)!.data);
        expect(simulated, `${o}: the error model adds some error`).to.be.greaterThan(0);
        expect(maxAbsDiff(runs[k][0].outputs.get(o)!, fixed.get(o)!.data) / ULP, `input ${k}, ${o}: secure vs fixed-point, in ulps`).to.be.at.most((2 * simulated) / ULP);
      }
    }
  });

  it('sends exactly the bytes and rounds of cost.json, per party and phase, and of every flow in model.mir', () => {
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as CostReport;
    const predicted = flowTotals(readFileSync(join(out, 'party1/model.mir'), 'utf8'));
    for (const r of runs) expectCountersMatch(r, cost, predicted);
    // conv1 (1 round), then three block-ReLUs of 3 rounds, the last product fused; reveal 1; the
    // exact truncation after each of the three products 1.
    expect(cost.rounds).to.equal(1 + 3 * 3 + 1 + 3);
    // DReLUs before (one per element: 6 channels × 99) and after (the hand counts above).
    const layer = (name: string) => cost.layers.find((l) => l.name === name)!;
    expect([layer('br1+conv2'), layer('br2'), layer('br3+conv3'), layer('br4')].map((l) => [l.drelusBefore, l.drelus])).to.deep.equal([[594, 159], [594, 139], [594, 72], [0 + 4 * 99, 0]]);
    expect([cost.drelusBefore, cost.drelus]).to.deep.equal([3 * 594 + 396, 159 + 139 + 72]);
    // Identity channels select nothing: br2 selects 4 of its 6 channels (3 × 8 B per element).
    expect(layer('br2').bytesByKind.selections).to.equal(24 * 4 * 99);
    expect(layer('br4').bytesByKind).to.deep.equal({ comparisons: 0, selections: 0, products: 0, other: 0 });
  });
});
