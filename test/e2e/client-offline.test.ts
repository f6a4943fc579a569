// The client-offline mode end to end (`mpcc compile --client-offline`: P0's share of every
// activation after the first product is computed in the offline phase; the helper selects,
// runtime/protocols/helper-select.ts). A residual network with a MaxPool (as its ReLU trees), a
// block-ReLU plan with identity channels, a global average pool and a Gemm, compiled in the
// classic mode and in the client-offline mode: both secure runs match the fixed-point
// interpreter; each run's counters equal its cost.json and model.mir's flows exactly; the
// client-offline mode sends fewer bytes online, in no more rounds, and P0 sends online only its
// comparisons' digits and flips and the first product's masked input.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { readCostJson } from '../../compiler/commands/cost.js';
import { runPlanCommand } from '../../compiler/commands/plan.js';
import { loadGraphFile } from '../../compiler/load-model.js';
import { exportOnnx } from '../../compiler/onnx/export.js';
import { GraphBuilder } from '../../ir/builder.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { runPipeline } from '../../passes/index.js';
import { loadPartyArtifacts } from '../../runtime/program/index.js';
import { randomTensor, rng } from '../passes/util.js';
import { expectCountersMatch, expectNoSecretsOutsideP1, filesUnder, flowTotals, maxAbsDiff, needlesIn, randomConv, runSecureInProcess } from './support.js';
import { suiteTempDir } from '../temp-dir.js';

const FRAC = 12;
const SHAPE = [1, 3, 12, 12];
const PASSES = 'canonicalize,maxpool-to-relu-tree';

/** x → stem (3×3) → relu → maxpool 2×2 → c1 → r1 → c2 (+ the pool's output) → r2 (+ r3 = relu of c3 (1×1) of r1) → GAP → fc. */
function model(): Uint8Array {
  const b = new GraphBuilder('client-offline');
  const rand = rng(21);
  const x = b.input('input', { dtype: 'float32', shape: SHAPE });
  const conv = (v: string, name: string, cin: number, cout: number, k: number) => randomConv(b, rand, v, name, cin, cout, k);
  const stem = b.op('Relu', [conv(x, 'stem', 3, 6, 3)], {}, 'stem.relu');
  const pool = b.op('MaxPool', [stem], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  const r1 = b.op('Relu', [conv(pool, 'c1', 6, 6, 3)], {}, 'r1');
  const r2 = b.op('Relu', [b.op('Add', [conv(r1, 'c2', 6, 6, 3), pool], {}, 'add')], {}, 'r2');
  // c3 (1×1) reads r1 beside c2: in the client-offline mode it shares c2's mask (mask_from); its
  // ReLU runs beside r2's and joins the sum
  const r3 = b.op('Relu', [conv(r1, 'c3', 6, 6, 1)], {}, 'r3');
  const gap = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('Add', [r2, r3], {}, 'add3')], {}, 'gap')], { axis: 1 }, 'flat');
  b.output(b.op('Gemm', [gap, b.constant('fc.weight', randomTensor(rand, [5, 6], -0.5, 0.5)), b.constant('fc.bias', randomTensor(rand, [5], -0.1, 0.1))], { transB: 1 }, 'output'));
  return exportOnnx(b.build());
}

describe('the client-offline mode end to end', function () {
  this.timeout(300000);
  const tmp = suiteTempDir('mpcc-client-offline-');
  let dir = '', planPath = '';

  before(() => {
    dir = tmp();
    writeFileSync(join(dir, 'm.onnx'), model());
    // A 2×2 block plan, one channel of r1 left identity (no comparison, no selection).
    planPath = join(dir, 'plan.json');
    runPlanCommand(join(dir, 'm.onnx'), { uniform: '2x2', output: planPath, passes: PASSES, quiet: true } as Parameters<typeof runPlanCommand>[1]);
    const plan = JSON.parse(readFileSync(planPath, 'utf8'));
    const r1 = plan.layers.find((l: { name: string }) => l.name === 'r1');
    r1.blocks[2] = 'identity';
    const cells = r1.shape[2] * r1.shape[3];
    r1.drelus.planned -= cells / 4;
    plan.drelus.planned -= cells / 4;
    writeFileSync(planPath, JSON.stringify(plan));
    // (with a plan, compile chooses the mode unless told: the classic form asks for it)
    for (const [form, extra] of [['classic', {}], ['offline', { clientOffline: true }], ['classic-plan', { plan: planPath, clientOffline: 'off' }], ['offline-plan', { plan: planPath, clientOffline: true }]] as const)
      runCompile(join(dir, 'm.onnx'), { fracBits: FRAC, output: join(dir, form), passes: PASSES, quiet: true, ...extra } as Parameters<typeof runCompile>[1]);
    // the same mode with a fresh mask per product (lower's share-masks off)
    runCompile(join(dir, 'm.onnx'), { fracBits: FRAC, output: join(dir, 'offline-fresh'), passes: `${PASSES},lower{share-masks=false}`, quiet: true, clientOffline: true } as Parameters<typeof runCompile>[1]);
  });

  it('shares a mask between the products of one activation: 8 B per element of r1 less offline, the same online (share-masks=false: a fresh mask each)', () => {
    type Steps = { name: string; kind: string; inputs: string[]; params: Record<string, unknown> }[];
    const steps = (form: string) => (JSON.parse(readFileSync(join(dir, form, 'party0/program.json'), 'utf8')) as { steps: Steps }).steps;
    const shared = steps('offline').filter((st) => st.kind === 'weightsClientOffline' && st.params.maskFrom !== undefined);
    expect(shared.map((st) => st.params.layer)).to.deep.equal(['c3']);
    const source = steps('offline').find((st) => st.name === shared[0].params.maskFrom)!;
    expect([source.kind, source.params.layer, source.inputs[0]]).to.deep.equal(['weightsClientOffline', 'c2', shared[0].inputs[0]]);
    expect(steps('offline-fresh').some((st) => st.params.maskFrom !== undefined)).to.equal(false);
    const a = readCostJson(join(dir, 'offline', 'cost.json'));
    const b = readCostJson(join(dir, 'offline-fresh', 'cost.json'));
    // r1: 6 channels of the pool's 6×6
    expect(b.bytes.online).to.equal(a.bytes.online);
    expect(b.rounds).to.equal(a.rounds);
    expect(b.bytes.preprocessing - a.bytes.preprocessing).to.equal(8 * 6 * 6 * 6);
  });

  it('sends fewer bytes online in no more rounds than the classic mode', () => {
    for (const [classic, offline] of [['classic', 'offline'], ['classic-plan', 'offline-plan']]) {
      const a = readCostJson(join(dir, classic, 'cost.json'));
      const b = readCostJson(join(dir, offline, 'cost.json'));
      expect(b.bytes.online, offline).to.be.below(a.bytes.online);
      expect(b.rounds, offline).to.be.at.most(a.rounds);
      expect(b.drelus, offline).to.equal(a.drelus);
      const kinds = (form: string) => (JSON.parse(readFileSync(join(dir, form, 'party0/program.json'), 'utf8')) as { steps: { kind: string; params: Record<string, unknown> }[] }).steps;
      expect(kinds(offline).filter((st) => st.kind === 'helperSelect').length, offline).to.equal(kinds(classic).filter((st) => /[rR]elu/.test(st.kind)).length);
      expect(kinds(offline).some((st) => st.kind === 'weightsClientOffline')).to.equal(true);
      expect(kinds(classic).some((st) => st.kind === 'weightsClientOffline' || st.kind === 'helperSelect')).to.equal(false);
    }
    // the plan's identity channel reaches the helper's selection
    const r1 = (JSON.parse(readFileSync(join(dir, 'offline-plan/party0/program.json'), 'utf8')) as { steps: { kind: string; params: { blocks?: unknown[] } }[] }).steps.find((st) => st.kind === 'helperSelect' && st.params.blocks?.includes('identity'));
    expect(r1).to.not.equal(undefined);
  });

  it('the client\'s and the helper\'s folders hold no weight: no piece of P1\'s weights.bin, no constant P1\'s model.mir prints', () => {
    for (const form of ['offline', 'offline-plan']) {
      const out = join(dir, form);
      const weights = readFileSync(join(out, 'party1/weights.bin'));
      // 16-byte pieces of the encoded weights, at spread offsets, each found in weights.bin itself
      const needles = Array.from({ length: 12 }, (_, i) => weights.subarray(8 * Math.floor(((i + 0.5) * weights.length) / 12 / 8), 8 * Math.floor(((i + 0.5) * weights.length) / 12 / 8) + 16));
      expect(needlesIn(join(out, 'party1/weights.bin'), needles).length).to.equal(needles.length);
      const theirs = filesUnder(out).filter((f) => f.startsWith('party0/') || f.startsWith('party2/'));
      expect(theirs).to.include.members(['party0/program.json', 'party2/program.json']);
      for (const f of theirs) expect(needlesIn(join(out, f), needles), `${form}/${f}`).to.deep.equal([]);
    }
    // (the planned folder's top-level plan.json, the server's record, names the model by sha256)
    expect(expectNoSecretsOutsideP1(join(dir, 'offline'), readFileSync(join(dir, 'm.onnx')))).to.be.greaterThan(0);
  });

  it('the secure runs match the fixed-point interpreter; counters equal cost.json and model.mir; P0 sends online only digits, flips and the first product\'s input', async () => {
    const rand = rng(6);
    const p0Online: Record<string, number> = {};
    for (const form of ['classic', 'offline', 'classic-plan', 'offline-plan', 'offline-fresh']) {
      const planned = form.endsWith('plan');
      const g = runPipeline(loadGraphFile(join(dir, 'm.onnx')), `${PASSES},${planned ? `insert-block-relu{plan=${planPath}},` : ''}quantize{frac-bits=${FRAC}}`).graph;
      const out = join(dir, form);
      const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
      const cost = readCostJson(join(out, 'cost.json'));
      const predicted = flowTotals(readFileSync(join(out, 'party1/model.mir'), 'utf8'));
      for (let trial = 0; trial < 2; trial++) {
        const x = Float32Array.from({ length: 3 * 144 }, () => 2 * rand() - 1);
        const r = await runSecureInProcess(arts, x);
        expectCountersMatch(r, cost, predicted);
        const [name, secure] = [...r[0].outputs][0];
        const fixed = runGraphFixed(g, { input: tensorOf('float32', SHAPE, x) }, { frac: FRAC }).outputs.get(name)!.data;
        expect(maxAbsDiff(secure, fixed), `${form}, trial ${trial}`).to.be.at.most(16 * 2 ** -FRAC);
        p0Online[form] = r[0].counters.sent.online;
      }
    }
    // P0 sends less online than in the classic mode, and only its comparisons' digits and flips
    // and the first product's masked input (the image, 8 B per element): by label, from the
    // flows of the scheduled IR its counters equal.
    for (const [classic, offline] of [['classic', 'offline'], ['classic-plan', 'offline-plan']]) {
      expect(p0Online[offline], offline).to.be.below(p0Online[classic]);
      const p0 = new Map<string, number>();
      for (const m of readFileSync(join(dir, offline, 'party1/model.mir'), 'utf8').matchAll(/"\d+ 0->\d online (\S+) (\d+)"/g)) p0.set(m[1], (p0.get(m[1]) ?? 0) + Number(m[2]));
      expect([...p0.keys()].sort(), offline).to.deep.equal(['drelu.compare', 'hsel.flip', 'weights.activation']);
      expect(p0.get('weights.activation'), offline).to.equal(8 * 3 * 144);
    }
  });
});
