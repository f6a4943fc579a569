// One plan, one share of DReLUs kept, whichever command reports it: `mpcc eval MODEL --plan`
// counts what cost.json of the program compiled with that plan counts (the plan's layers and the
// MaxPool as the planned network runs it, against the same network with the plan's layers at one
// DReLU per element), and `mpcc plan` says that a MaxPool stays outside the plan, with as many
// comparisons as the compiled program's trees run. Model: the zoo's tiny-cnn (a MaxPool, an AveragePool).
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { driveModel } from '../../../compiler/driver.js';
import { numel } from '../../../ir/types.js';
import { suiteTempDir } from '../../temp-dir.js';


describe('DReLU counts of one plan across plan, compile, cost and eval', function () {
  this.timeout(180000);
  const dir = suiteTempDir('mpcc-drelus-');
  const file = (name: string) => join(dir(), name);

  it("plan's MaxPool note, cost.json and eval MODEL --plan agree", async () => {
    const MODEL = file('tiny.onnx');
    writeFileSync(MODEL, buildZooFiles('tiny-cnn').model);
    writeFileSync(file('xs.npy'), encodeNpy([4, 3, 16, 16], Array.from({ length: 4 * 768 }, (_, i) => Math.sin(i / 7))));
    writeFileSync(file('ys.npy'), encodeNpy([4], [1, 2, 3, 4], '<i8'));
    const { plan, text } = runPlanCommand(MODEL, { uniform: '2x2', output: file('p.json') });
    const note = /note: MaxPool '([^']+)' is outside the plan: ([\d,]+) comparisons per inference as ReLU trees \(([\d.]+)× the plan's ([\d,]+) DReLUs\) run in full; plan with --passes canonicalize,maxpool-to-relu-tree/.exec(text);
    expect(note, text).to.not.equal(null);
    const num = (s: string) => Number(s.replace(/,/g, ''));
    expect(num(note![4])).to.equal(plan.drelus.planned);
    // the client-offline program runs that MaxPool as exact ReLU trees outside the plan: compile's own note counts them
    const summary = runCompile(MODEL, { output: file('out'), plan: file('p.json'), clientOffline: true, quiet: true });
    const compiled = summary.notes.map((l) => /note: MaxPool '([^']+)' is outside the plan: run as exact ReLU trees \(\d+ levels[^)]*\), ([\d,]+) DReLUs/.exec(l)).find((m) => m !== null);
    expect(compiled, summary.notes.join('\n')).to.not.equal(undefined);
    expect([compiled![1], num(compiled![2])]).to.deep.equal([note![1], num(note![2])]);
    // eval MODEL --plan: the program's count and its baseline, as cost.json has them
    const cost = JSON.parse(readFileSync(file('out/cost.json'), 'utf8')) as { drelus: number; drelusBefore: number };
    expect(cost.drelus).to.equal(plan.drelus.planned + num(note![2]));
    const { report } = await runEval(MODEL, { data: file('xs.npy'), labels: file('ys.npy'), plan: file('p.json') });
    expect([report.drelus, report.baselineDrelus]).to.deep.equal([cost.drelus, cost.drelusBefore]);
  });

  it("a HardSigmoid network: plan's and compile's notes count the comparisons no plan replaces, two per gated element", async () => {
    const MODEL = file('mv3.onnx');
    writeFileSync(MODEL, buildZooFiles('mobilenetv3-small').model);
    const { plan, text } = runPlanCommand(MODEL, { uniform: '2x2', output: file('mv3.json') });
    // by hand: HardSigmoid clips to [0, 1], one comparison at each end, on every element of its output
    const canonical = driveModel(MODEL, { target: 'float' }).graph;
    const gates = canonical.nodes.filter((n) => n.op === 'HardSigmoid');
    const byHand = 2 * gates.reduce((t, n) => t + numel(canonical.types.get(n.outputs[0])!.shape), 0);
    const note = new RegExp(`note: ${gates.length} HardSigmoid layers are outside the plan: ([\\d,]+) comparisons per inference \\(([\\d.]+)× the plan's ${plan.drelus.planned.toLocaleString('en-US')} DReLUs\\) run in full; a plan replaces ReLU layers only`).exec(text);
    expect(note, text).to.not.equal(null);
    expect(Number(note![1].replace(/,/g, ''))).to.equal(byHand);
    // compile --plan says the same, with the bytes; the program's DReLUs are the plan's and these
    const summary = runCompile(MODEL, { output: file('mv3-out'), plan: file('mv3.json'), quiet: true });
    const compiled = summary.notes.find((l) => l.startsWith(`note: ${gates.length} HardSigmoid layers are outside the plan: ${byHand.toLocaleString('en-US')} comparisons per inference (`));
    expect(compiled, summary.notes.join('\n')).to.match(/, [\d.]+ MB\) run in full/);
    expect(summary.cost.drelus).to.equal(plan.drelus.planned + byHand);
    // a ReLU-only network has no such note
    expect(runPlanCommand(file('tiny.onnx'), { uniform: '2x2', output: file('p2.json') }).text).to.not.match(/layers? (is|are) outside the plan/);
  });
});
