// `mpcc plan TUNED --from PLAN`: a plan carried to another model file of the same architecture
// (the network fine-tuned under it). Here the "tuned" model is tiny-cnn written with typed tensors:
// other bytes (another sha256, so the plan itself is MPCC4012 for it), the same network, so
// evaluating it under the carried plan must give what the original gives under the original plan.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { modelFileSha256, readPlan } from '../../../passes/planning/plan-file.js';
import { sha256 } from '../../../runtime/program/artifacts.js';
import { errorOf, rejectionOf } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';

describe('mpcc plan --from: a plan carried to the fine-tuned model', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-plan-from-');
  const file = (name: string) => join(dir(), name);

  before(() => {
    writeFileSync(file('tiny.onnx'), buildZooFiles('tiny-cnn').model);
    writeFileSync(file('tuned.onnx'), buildZooFiles('tiny-cnn', { typedTensors: true }).model);
    writeFileSync(file('xs.npy'), encodeNpy([12, 3, 16, 16], Array.from({ length: 12 * 768 }, (_, i) => Math.sin(i / 7) + 0.2 * Math.cos(i / 3))));
    writeFileSync(file('ys.npy'), encodeNpy([12], Array.from({ length: 12 }, (_, i) => i % 10), '<i8'));
    runPlanCommand(file('tiny.onnx'), { uniform: '2x2', output: file('p.json') });
  });

  it('the same blocks for the tuned file, its sha256 recorded; eval under it equals the original under its plan', async () => {
    expect(modelFileSha256(file('tuned.onnx'))).to.not.equal(modelFileSha256(file('tiny.onnx')));
    const refused = await rejectionOf(() => runEval(file('tuned.onnx'), { data: file('xs.npy'), labels: file('ys.npy'), plan: file('p.json') }));
    expect(refused.code).to.equal('MPCC4012');
    const { plan, text } = runPlanCommand(file('tuned.onnx'), { from: file('p.json'), output: file('p-tuned.json') });
    const earlier = readPlan(file('p.json'));
    expect(plan.layers).to.deep.equal(earlier.layers);
    expect(plan.drelus).to.deep.equal(earlier.drelus);
    expect(plan.model.sha256).to.equal(modelFileSha256(file('tuned.onnx')));
    expect(plan.source.carriedFrom).to.include({ model: earlier.model.sha256, plan: sha256(readFileSync(file('p.json'))), tool: 'mpcc plan --from' });
    expect(readPlan(file('p-tuned.json'))).to.deep.equal(plan);
    expect(text).to.match(/^total\s/m);
    const run = async (model: string, p: string) => (await runEval(file(model), { data: file('xs.npy'), labels: file('ys.npy'), plan: file(p), json: true })).report;
    const [a, b] = [await run('tiny.onnx', 'p.json'), await run('tuned.onnx', 'p-tuned.json')];
    expect([b.top1, b.drelus, b.baselineDrelus]).to.deep.equal([a.top1, a.drelus, a.baselineDrelus]);
  });

  it('leaves out windows chosen on the earlier weights, saying so', () => {
    runCompile(file('tiny.onnx'), { output: file('out'), plan: file('p.json'), compareBits: 'auto', calib: file('xs.npy'), quiet: true });
    expect(readPlan(file('out/plan.json')).compare).to.not.equal(undefined);
    const { plan, text } = runPlanCommand(file('tuned.onnx'), { from: file('out/plan.json'), output: file('w-tuned.json') });
    expect(plan.compare).to.equal(undefined);
    expect(text).to.contain("note: the plan's comparison windows were chosen on the earlier weights: left out");
  });

  it('refuses another architecture, naming what differs, and writes nothing', () => {
    writeFileSync(file('r18.onnx'), buildZooFiles('resnet18-cifar').model);
    const other = errorOf(() => runPlanCommand(file('r18.onnx'), { from: file('p.json'), output: file('never.json') }));
    expect(other.code).to.equal('MPCC4013');
    // the MaxPool made ReLU trees: a planned layer's shape differs (the pool now comes before its
    // ReLU), said with the passes that differ from the plan's
    const trees = errorOf(() => runPlanCommand(file('tuned.onnx'), { from: file('p.json'), passes: 'canonicalize,maxpool-to-relu-tree', output: file('never.json') }));
    expect(trees.code).to.equal('MPCC4019');
    expect(trees.message).to.match(/was planned for activation shape .*; the plan was made with --passes canonicalize, this model driven with --passes canonicalize,maxpool-to-relu-tree/);
    // every planned layer there, but the plan's model had a ReLU layer more (a partial plan of a larger network)
    const partial = JSON.parse(readFileSync(file('p.json'), 'utf8')) as { model: { reluLayers: string[] }; complete: boolean };
    partial.model.reluLayers.push('/head/Relu');
    writeFileSync(file('partial.json'), JSON.stringify(partial));
    const more = errorOf(() => runPlanCommand(file('tuned.onnx'), { from: file('partial.json'), output: file('never.json') }));
    expect(more.code).to.equal('MPCC4019');
    expect(more.message).to.equal(`plan '${file('partial.json')}' cannot be carried to '${file('tuned.onnx')}': the plan's model has a ReLU layer '/head/Relu' this one has not (mpcc plan --from takes a plan to a model of the same architecture)`);
    expect(errorOf(() => runPlanCommand(undefined, { from: file('p.json'), output: file('never.json') })).message).to.match(/--from.*needs the MODEL/);
    expect(errorOf(() => runPlanCommand(file('tuned.onnx'), { from: file('p.json'), uniform: '2x2', output: file('never.json') })).message).to.match(/these modes exclude each other/);
    expect(errorOf(() => runPlanCommand(file('tuned.onnx'), { from: file('p.json'), output: file('p.json') })).code).to.equal('MPCC0003');
    expect(() => readFileSync(file('never.json'))).to.throw();
  });
});
