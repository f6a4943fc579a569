// One activation mask for every product of the same activation, end to end: a residual block
// whose shortcut conv reads the fused ReLU → conv's activation, and two plain convs of the input,
// compiled with the default lowering (masks shared) and with lower{share-masks=false}. Both
// secure runs match the fixed-point interpreter; each run's counters equal its cost.json and the
// flows of its model.mir exactly; the shared form sends 8 B per shared element less, online, in
// the same rounds.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { readCostJson } from '../../compiler/commands/cost.js';
import { loadGraphFile } from '../../compiler/load-model.js';
import { exportOnnx } from '../../compiler/onnx/export.js';
import { GraphBuilder } from '../../ir/builder.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { runPipeline } from '../../passes/index.js';
import { rng } from '../passes/util.js';
import { maxAbsDiff, randomConv, runCheckedRuns } from './support.js';
import { suiteTempDir } from '../temp-dir.js';

const FRAC = 12;
const SHAPE = [1, 3, 8, 8];

/** x → c0 (1×1) and x → c1 (3×3) → relu1 → cA → reluA → cB; relu1 → cS (1×1); cB + cS + c0. */
function model(): Uint8Array {
  const b = new GraphBuilder('shared-mask');
  const rand = rng(11);
  const x = b.input('input', { dtype: 'float32', shape: SHAPE });
  const conv = (v: string, name: string, cin: number, cout: number, k: number) => randomConv(b, rand, v, name, cin, cout, k);
  // c1 first: the product that sends the input's masked copy; c0, off the critical path, shares it.
  const r1 = b.op('Relu', [conv(x, 'c1', 3, 4, 3)], {}, 'relu1');
  const c0 = conv(x, 'c0', 3, 4, 1);
  const cB = conv(b.op('Relu', [conv(r1, 'cA', 4, 4, 3)], {}, 'reluA'), 'cB', 4, 4, 3);
  const cS = conv(r1, 'cS', 4, 4, 1);
  b.output(b.op('Add', [b.op('Add', [cB, cS], {}, 'add1'), c0], {}, 'output'));
  return exportOnnx(b.build());
}

describe('shared activation masks end to end', function () {
  this.timeout(240000);
  const tmp = suiteTempDir('mpcc-shared-mask-');
  let dir = '';
  // The same model compiled twice: masks shared (the default), and a fresh mask per product.
  before(() => {
    dir = tmp();
    writeFileSync(join(dir, 'm.onnx'), model());
    for (const [form, passes] of [['shared', undefined], ['fresh', 'canonicalize,lower{share-masks=false}']] as const) runCompile(join(dir, 'm.onnx'), { fracBits: FRAC, output: join(dir, form), passes });
  });

  it('shares the fused step\'s mask with the shortcut and one input conv\'s with the other: 8 B per element less online, same rounds', () => {
    const shared = readCostJson(join(dir, 'shared/cost.json'));
    const fresh = readCostJson(join(dir, 'fresh/cost.json'));
    const mir = readFileSync(join(dir, 'shared/party1/model.mir'), 'utf8');
    expect([...mir.matchAll(/mask_from = "([^"]*)"/g)].map((m) => m[1]).sort()).to.deep.equal(['c1', 'relu1+cA']);
    expect(readFileSync(join(dir, 'fresh/party1/model.mir'), 'utf8')).to.not.contain('mask_from');
    expect(shared.rounds).to.equal(fresh.rounds);
    // the shortcut's 4×8×8 activation and the input's 3×8×8, 8 B each, no longer sent by P0
    expect(fresh.bytes.online - shared.bytes.online).to.equal(8 * (4 * 64 + 3 * 64));
    expect(fresh.bytes.preprocessing).to.equal(shared.bytes.preprocessing);
    const program = JSON.parse(readFileSync(join(dir, 'shared/party0/program.json'), 'utf8')) as { steps: { name: string; kind: string; params: Record<string, unknown> }[] };
    expect(program.steps.filter((s) => s.kind === 'weightsSharedMask').map((s) => [s.name, s.params.maskFrom]).sort()).to.deep.equal([['c0', 'c1'], ['cS', 'relu1+cA']]);
    expect(program.steps.filter((s) => s.params.keepMasked === true).map((s) => s.name).sort()).to.deep.equal(['c1', 'relu1+cA']);
  });

  it('the secure runs match the fixed-point interpreter, and their counters cost.json and model.mir, shared or not', async () => {
    const g = runPipeline(loadGraphFile(join(dir, 'm.onnx')), `canonicalize,quantize{frac-bits=${FRAC}}`).graph;
    const rand = rng(5);
    for (const form of ['shared', 'fresh']) {
      const inputs = [0, 1].map(() => Float32Array.from({ length: 3 * 64 }, () => 2 * rand() - 1));
      const outputs = await runCheckedRuns(join(dir, form), inputs);
      outputs.forEach(([name, secure], trial) => {
        const fixed = runGraphFixed(g, { input: tensorOf('float32', SHAPE, inputs[trial]) }, { frac: FRAC }).outputs.get(name)!.data;
        expect(maxAbsDiff(secure, fixed), `${form}, trial ${trial}`).to.be.at.most(8 * 2 ** -FRAC);
      });
    }
  });
});
