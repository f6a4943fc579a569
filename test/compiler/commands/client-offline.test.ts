// --client-offline on mpcc compile, cost and ir (compiler/driver.ts → lower{client-offline=1},
// passes/secure/lower-client-offline.ts): the folder compile writes (the contract's step kinds in
// every party's program.json, cost.json's mode), MaxPools written as ReLU trees first, the cost
// against the classic mode's, and a model outside the mode refused with MPCC6027 and nothing
// written, through the CLI too.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runCost } from '../../../compiler/commands/cost.js';
import { runIr } from '../../../compiler/commands/ir.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { localPartyThreads, runSecure } from '../../../compiler/commands/run.js';
import { loadPartyArtifacts } from '../../../runtime/program/index.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { saveMir } from '../../../ir/weights.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';
import type { Program } from '../../../runtime/program/program.js';
import { maxPoolGraph, residualGraph } from '../../passes/secure/secure-graphs.js';
import { errorOf } from '../../passes/util.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;

/** The test's models, in a fresh folder: two quantized .mir and the zoo's tiny-cnn. */
function writeModels(): string {
  const at = mkdtempSync(join(tmpdir(), 'mpcc-client-offline-'));
  saveMir(residualGraph(), join(at, 'residual.mir'));
  saveMir(maxPoolGraph(), join(at, 'maxpool.mir'));
  writeFileSync(join(at, 'tiny.onnx'), buildZooModel('tiny-cnn'));
  return at;
}

describe('--client-offline', function () {
  this.timeout(120000);
  let dir = '';
  const file = (name: string) => join(dir, name);
  before(() => (dir = writeModels()));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('mpcc compile writes programs of the contract\'s step kinds and a cost.json of the mode', () => {
    const summary = runCompile(file('residual.mir'), { output: file('out'), clientOffline: true });
    expect(summary.cost.mode).to.equal('client-offline');
    const cost = JSON.parse(readFileSync(file('out/cost.json'), 'utf8')) as CostReport;
    expect(cost.mode).to.equal('client-offline');
    expect(cost.rounds).to.equal(11);
    for (const party of [0, 1, 2]) {
      const program = JSON.parse(readFileSync(file(`out/party${party}/program.json`), 'utf8')) as Program;
      expect(program.steps.map((s) => s.kind)).to.deep.equal(['input', 'weights', 'helperSelect', 'weightsClientOffline', 'helperSelect', 'weightsClientOffline', 'weightsClientOffline', 'truncateClientOffline', 'helperSelect', 'reveal']);
      const relu2 = program.steps.find((s) => s.name === 'relu2')!;
      expect(relu2.params).to.deep.equal({ bits: 12, window: { lo: 0, k: 64 }, shape: [1, 4, 4, 4], size: 64 });
      expect(relu2.inputs).to.have.length(2);
    }
    // without the flag, the classic mode
    expect(runCompile(file('residual.mir'), { output: file('classic') }).cost.mode).to.equal('classic');
  });

  it('mpcc cost: a MaxPool becomes ReLU trees, fewer online bytes than the classic mode', () => {
    const co = runCost(file('tiny.onnx'), { clientOffline: true, json: true });
    const classic = runCost(file('tiny.onnx'), { json: true });
    expect(co.report.mode).to.equal('client-offline');
    expect(co.report.layers.map((l) => l.op)).to.not.include('SecureMaxPool');
    expect(co.report.layers.map((l) => l.op)).to.include.members(['SecureHelperSelect', 'SecureWeightsClientOffline']);
    expect(co.report.bytes.online).to.be.below(classic.report.bytes.online);
    // the rounds: the ReLU before each pool moves after it, so the conv's truncation stands alone
    // (2 rounds, 1 classic) while every ReLU + product saves one: one more on tiny-cnn's 2 pools
    expect(co.report.rounds).to.equal(classic.report.rounds + 1);
    // the same DReLUs: the trees compare what the pool's tree compared
    expect(co.report.drelus).to.equal(classic.report.drelus);
    // every offline message rides in the offline phase's one closing exchange (then the 'done' frames)
    expect(co.phases.offline).to.deep.equal({ rounds: 2, bytes: co.report.bytes.preprocessing });
    expect(JSON.parse(co.text).mode).to.equal('client-offline');
    expect(runCost(file('tiny.onnx'), { clientOffline: true }).text).to.contain('mode: client-offline');
  });

  it('mpcc compile --compare-bits K --client-offline: the windows moved up by each truncation\'s bits', () => {
    const summary = runCompile(file('tiny.onnx'), { output: file('windows'), clientOffline: true, compareBits: '16', fracBits: 12 });
    expect(summary.cost.mode).to.equal('client-offline');
    const selections = summary.cost.layers.filter((l) => l.op === 'SecureHelperSelect');
    expect(selections.length).to.be.greaterThan(0);
    for (const l of selections) expect(l.compareBits).to.equal(16);
    // tiny-cnn's second ReLU follows its conv's truncation by 12 bits; the trees' ReLUs no truncation
    expect(new Set(selections.map((l) => l.compareLo))).to.deep.equal(new Set([0, 12]));
  });

  it('mpcc ir --client-offline shows the mode\'s secure ops', () => {
    let text = '';
    runIr(file('residual.mir'), { stage: 'lowered', clientOffline: true }, { stdout: (t) => (text += t), stderr: () => undefined });
    expect(text).to.contain('SecureHelperSelect "relu2"(%convB_out, %convS.trunc_out)');
  });

  it('mpcc run gives its local parties a kernel worker in the client-offline mode only', async () => {
    runCompile(file('residual.mir'), { output: file('threads-co'), clientOffline: true });
    runCompile(file('residual.mir'), { output: file('threads-classic') });
    const arts = async (out: string) => Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(file(out), id)));
    expect(localPartyThreads(await arts('threads-co'))).to.equal('2');
    expect(localPartyThreads(await arts('threads-classic'))).to.equal('1');
  });

  it('MPCC6027 naming the first node outside the mode; nothing written', () => {
    const err = errorOf(() => runCompile(file('maxpool.mir'), { output: file('refused'), clientOffline: true }));
    expect(err.format()).to.match(/^error MPCC6027: --client-offline: node 'pool' \(SecureMaxPool\) keeps the model out of the client-offline mode: /);
    expect(existsSync(file('refused'))).to.equal(false);
    const run = spawnSync(process.execPath, [CLI, 'compile', file('maxpool.mir'), '--client-offline', '-o', file('refused-cli')], { encoding: 'utf8' });
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.contain("error MPCC6027: --client-offline: node 'pool' (SecureMaxPool)");
    expect(existsSync(file('refused-cli'))).to.equal(false);
  });

  // --client-offline auto (compiler/mode-choice.ts): the mode whose estimated online latency is
  // smaller, checked against the two explicit modes' own cost reports (the formula recomputed here
  // from their rounds and per-party online bytes, which the e2e tests hold equal to the counters:
  // test/e2e/support.ts expectCountersMatch), classic when the mode refuses the model.
  describe('auto', function () {
    const onlineLan = (r: CostReport) => r.rounds * 0.5e-3 + (Math.max(...r.onlinePerParty) * 8) / 1e9;

    it('chooses the mode of the smaller online estimate; compile, cost and ir agree', () => {
      for (const model of ['tiny.onnx', 'residual.mir']) {
        const on = runCost(file(model), { clientOffline: 'on', json: true }).report;
        const off = runCost(file(model), { clientOffline: 'off', json: true }).report;
        expect(on.mode).to.equal('client-offline');
        expect(off.mode).to.equal('classic');
        for (const r of [on, off]) {
          expect(r.onlinePerParty.reduce((a, b) => a + b, 0), model).to.equal(r.bytes.online);
          expect(r.latency.onlineLan, model).to.be.closeTo(onlineLan(r), 1e-12);
        }
        const want = onlineLan(on) < onlineLan(off) ? 'client-offline' : 'classic';
        const auto = runCost(file(model), { clientOffline: 'auto' });
        expect(auto.report.mode, model).to.equal(want);
        expect(auto.report).to.deep.equal(want === 'client-offline' ? on : off);
        expect(auto.text).to.contain(`--client-offline auto: ${want} (client-offline `);
        const summary = runCompile(file(model), { output: file(`auto-${model}`), clientOffline: 'auto' });
        expect(summary.cost.mode, model).to.equal(want);
        expect(summary.notes[0]).to.match(new RegExp(`^note: --client-offline auto: ${want} \\(client-offline [0-9.]+ MB and ${on.rounds} rounds online, \\d+ ms on the LAN profile; classic [0-9.]+ MB and ${off.rounds} rounds online`));
        let err = '';
        runIr(file(model), { stage: 'lowered', clientOffline: 'auto' }, { stdout: () => undefined, stderr: (t) => (err += t) });
        expect(err).to.contain(`--client-offline auto: ${want}`);
      }
    });

    it('is compile\'s default with a plan (off asks for the classic mode); without a plan the default stays classic', () => {
      const passes = 'canonicalize,maxpool-to-relu-tree';
      runPlanCommand(file('tiny.onnx'), { uniform: '2x2', passes, output: file('tiny-plan.json') });
      const compile = (out: string, clientOffline?: string) => runCompile(file('tiny.onnx'), { output: file(out), passes, plan: file('tiny-plan.json'), ...(clientOffline ? { clientOffline } : {}) });
      const [on, off, chosen] = [compile('plan-on', 'on'), compile('plan-off', 'off'), compile('plan-default')];
      expect([on.cost.mode, off.cost.mode]).to.deep.equal(['client-offline', 'classic']);
      const want = onlineLan(on.cost) < onlineLan(off.cost) ? on : off;
      expect(chosen.cost).to.deep.equal(want.cost);
      expect(chosen.notes[0]).to.match(new RegExp(`^note: --client-offline auto: ${want.cost.mode} `));
      expect(off.notes.join('\n')).to.not.contain('--client-offline auto');
      const unplanned = runCompile(file('tiny.onnx'), { output: file('unplanned') });
      expect(unplanned.cost.mode).to.equal('classic');
      expect(unplanned.notes.join('\n')).to.not.contain('--client-offline auto');
    });

    it('mpcc run --verify-against-plaintext rebuilds the network with the plan\'s passes (a plan made on ReLU trees: the MaxPool\'s levels checked as the parties ran them)', async () => {
      // 'plan-on' from the test above: tiny-cnn, its MaxPool as ReLU trees, a 2×2 plan, the mode.
      const shape = (JSON.parse(readFileSync(file('plan-on/manifest.json'), 'utf8')) as { input: { shape: number[] } }).input.shape;
      writeFileSync(file('x.npy'), encodeNpy(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(0.7 * i))));
      const { check } = await runSecure(file('plan-on'), { input: file('x.npy'), transport: 'inproc', verifyAgainstPlaintext: file('tiny.onnx') });
      const names = check!.layers.map((l) => l.name);
      expect(names.some((n) => /\.[wh]\d\.\d+\.relu$/.test(n)), names.join(', ')).to.equal(true);
      for (const l of check!.layers) expect(l.compared, l.name).to.be.above(0);
      expect(check!.maxDiffSimulated).to.be.below(0.01);
    });

    it('--plan alone runs the passes the plan was made with (its source.passes); an explicit --passes still wins', () => {
      // 'tiny-plan.json' from the test above: made with --passes canonicalize,maxpool-to-relu-tree.
      const alone = runCompile(file('tiny.onnx'), { output: file('plan-alone'), plan: file('tiny-plan.json'), clientOffline: 'on' });
      const on = JSON.parse(readFileSync(file('plan-on/cost.json'), 'utf8')) as CostReport;
      expect(alone.cost).to.deep.equal(on);
      expect(alone.cost.layers.some((l) => /\.[wh]\d\.\d+\.relu$/.test(l.name)), 'the pool as ReLU trees').to.equal(true);
      const err = errorOf(() => runCompile(file('tiny.onnx'), { output: file('plan-other'), plan: file('tiny-plan.json'), passes: 'canonicalize' }));
      expect(err.format()).to.match(/MPCC4013.*is not a ReLU layer of the model/);
      expect(existsSync(file('plan-other'))).to.equal(false);
    });

    it('compiles classic, saying why, when the mode refuses the model', () => {
      const summary = runCompile(file('maxpool.mir'), { output: file('auto-maxpool'), clientOffline: 'auto' });
      expect(summary.cost.mode).to.equal('classic');
      expect(summary.notes[0]).to.match(/^note: --client-offline auto: classic \(the client-offline mode does not apply: --client-offline: node 'pool' \(SecureMaxPool\) keeps the model out/);
    });

    it('a value other than on, off or auto is MPCC0004 naming the flag; the flag alone still means on', () => {
      expect(errorOf(() => runCost(file('tiny.onnx'), { clientOffline: 'yes' })).format()).to.match(/^error MPCC0004: invalid value 'yes' for flag --client-offline: expected on, off or auto/);
      const bare = spawnSync(process.execPath, [CLI, 'cost', file('tiny.onnx'), '--client-offline', '--json'], { encoding: 'utf8' });
      expect(bare.status, bare.stderr).to.equal(0);
      expect(JSON.parse(bare.stdout).mode).to.equal('client-offline');
      const before = spawnSync(process.execPath, [CLI, 'cost', '--client-offline', file('tiny.onnx')], { encoding: 'utf8' });
      expect(before.status).to.not.equal(0);
      // commander's usage error as one coded line (exit 2, as every usage error: compiler/cli-support.ts usageErrors), with the fix
      expect(before.status).to.equal(2);
      expect(before.stderr).to.match(/^mpcc: error MPCC0007: option '--client-offline \[when\]' argument '.*tiny\.onnx' is invalid\. expected on, off or auto .*put the flag after the model.*\(mpcc cost --help lists the flags\)\n$/);
      expect(before.stderr).to.not.contain('    at ');
    });
  });
});
