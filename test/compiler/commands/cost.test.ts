// `mpcc cost`: the JSON report through the real CLI on a zoo model (fields, totals, per layer),
// the table, quantized/lowered .mir inputs, a compiled folder's cost.json, and coded errors.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCost } from '../../../compiler/commands/cost.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { saveMir } from '../../../ir/weights.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';
import { runPipeline } from '../../../passes/index.js';
import { residualGraph } from '../../passes/secure/secure-graphs.js';
import { errorOf } from '../../passes/util.js';

const CLI = new URL('../../../../bin/mpcc.js', import.meta.url).pathname;

/** Layer sums equal the totals; total = online + preprocessing; latencies follow the formula. */
function expectConsistent(r: CostReport): void {
  const add = (f: (l: CostReport['layers'][number]) => number) => r.layers.reduce((t, l) => t + f(l), 0);
  expect(add((l) => l.bytes.online)).to.equal(r.bytes.online);
  expect(add((l) => l.bytes.preprocessing)).to.equal(r.bytes.preprocessing);
  expect(add((l) => l.bytes.oneTime)).to.equal(r.bytes.oneTime);
  expect(add((l) => l.drelus)).to.equal(r.drelus);
  expect(r.bytes.total).to.equal(r.bytes.online + r.bytes.preprocessing);
  expect(r.bytes.perParty.reduce((a, b) => a + b, 0)).to.equal(r.bytes.total);
  const busiest = Math.max(...r.bytes.perParty);
  expect(r.latency.lan).to.be.closeTo(r.rounds * 0.5e-3 + (busiest * 8) / 1e9, 1e-9);
  expect(r.latency.wan).to.be.closeTo(r.rounds * 0.04 + (busiest * 8) / 1e8, 1e-9);
}

describe('mpcc cost', function () {
  this.timeout(60000);
  let dir: string;
  const file = (name: string) => join(dir, name);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-cost-'));
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    saveMir(residualGraph(), file('quantized.mir'));
    saveMir(runPipeline(residualGraph(), 'lower').graph, file('lowered.mir'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the JSON report of a zoo model through the CLI', () => {
    const run = spawnSync(process.execPath, [CLI, 'cost', file('tiny.onnx'), '--json'], { encoding: 'utf8' });
    expect(run.stderr).to.equal('');
    expect(run.status).to.equal(0);
    const r = JSON.parse(run.stdout) as CostReport;
    expect(Object.keys(r)).to.deep.equal(['rounds', 'oneTimeRounds', 'bytes', 'onlinePerParty', 'drelus', 'latency', 'layers', 'drelusBefore', 'bytesByKind', 'bytesPerDrelu', 'compareBytes64', 'mode', 'ring', 'phases']);
    // a classic program computes in Z_2^64 (compiler/ring-choice.ts)
    expect(r.ring).to.equal(64);
    expect(Object.keys(r.bytes)).to.deep.equal(['total', 'online', 'preprocessing', 'oneTime', 'perParty']);
    expect(Object.keys(r.latency)).to.deep.equal(['lan', 'wan', 'onlineLan', 'onlineWan']);
    for (const l of r.layers) expect(Object.keys(l)).to.deep.equal(['name', 'op', 'drelus', 'bytes', 'rounds', 'drelusBefore', 'bytesByKind', 'compareBits', 'compareLo', 'bytesPerDrelu', 'compareBytes64', 'round', 'inputShape']);
    // 64-bit windows: every DReLU's comparison bytes are the 64-bit ones
    expect(r.bytesPerDrelu).to.equal(r.compareBytes64 / r.drelus);
    // No block-ReLU: nothing was planned away.
    expect(r.drelusBefore).to.equal(r.drelus);
    // tiny-cnn: the first ReLU moves after the 2×2 max-pool (8×8×8 windows, 3 pairs each), so
    // it compares 8×8×8 elements, not 8×16×16; the second ReLU 16×8×8.
    expect(r.drelus).to.equal(8 * 64 + 8 * 64 * 3 + 16 * 64);
    expect(r.oneTimeRounds).to.equal(1);
    // conv1 1, pool 2 levels × 3, relu1 fused with conv2 3, relu2 3 (it feeds an average-pool),
    // the Gemm 1, the reveal 1, and the exact truncation after each of the three products and of
    // the average pool's division 1.
    expect(r.rounds).to.equal(1 + 6 + 3 + 3 + 1 + 1 + 4);
    // --truncation local: the truncations take no round, and no byte
    const local = runCost(file('tiny.onnx'), { json: true, truncation: 'local' }).report;
    expect(local.rounds).to.equal(r.rounds - 4);
    const truncs = r.layers.filter((l) => l.op === 'SecureTruncate');
    expect(truncs).to.have.length(4);
    expect(r.bytes.online - local.bytes.online).to.equal(truncs.reduce((t, l) => t + l.bytes.online, 0));
    expectConsistent(r);
  });

  it('prints a table for a quantized .mir and schedules a lowered one', () => {
    const a = runCost(file('quantized.mir'), {});
    expect(a.text).to.contain('rounds: 14 per inference online, 1 one-time');
    // the latency lines give the online part too, as cost.json's latency.onlineLan/onlineWan
    const secs = (x: number) => (x < 1 ? `${(x * 1e3).toFixed(1)} ms` : `${x.toFixed(2)} s`);
    expect(a.text).to.contain(`${secs(a.report.latency.lan)}, of which online (input given → output revealed: the online bytes only) ${secs(a.report.latency.onlineLan)}`);
    expect(a.report.latency.onlineLan).to.be.at.most(a.report.latency.lan);
    expect(a.report.rounds).to.equal(14);
    expectConsistent(a.report);
    expect(runCost(file('lowered.mir'), { json: true }).report).to.deep.equal(a.report);
    // a lowered model has its protocols: the flags that would choose them are refused, not ignored
    for (const [flags, named] of [[{ clientOffline: true }, '--client-offline'], [{ truncation: 'local' }, '--truncation'], [{ clientOffline: 'on', ring: '40' }, '--client-offline']] as const) {
      expect(errorOf(() => runCost(file('lowered.mir'), flags)).message, named).to.match(new RegExp(`flag ${named}: the model is already lowered: its protocols .* were chosen when it was lowered`));
    }
    // the quantized one still takes them
    expect(runCost(file('quantized.mir'), { truncation: 'local' }).report.rounds).to.be.below(a.report.rounds);
  });

  it('runs a given pipeline instead (maxpool-to-avgpool removes the pool\'s comparisons)', () => {
    const kept = runCost(file('tiny.onnx'), {}).report;
    const avg = runCost(file('tiny.onnx'), { passes: 'canonicalize,maxpool-to-avgpool,quantize,lower,schedule-rounds' }).report;
    // Without the max-pool, relu1 compares all 8×16×16 elements and runs alone (it feeds an
    // average-pool): conv1 1, relu1 3, conv2 1, relu2 3, fc 1, reveal 1, three truncations and the
    // two average pools' divisions 1 each.
    expect(avg.drelus).to.equal(8 * 256 + 16 * 64);
    expect(avg.rounds).to.equal(15);
    expect(kept.rounds).to.equal(19);
    expect(avg.layers.some((l) => l.op === 'SecureMaxPool')).to.equal(false);
  });

  it("reads a compiled folder's cost.json", () => {
    const report = runCost(file('quantized.mir'), {}).report;
    mkdirSync(file('out'));
    writeFileSync(file('out/cost.json'), JSON.stringify(report));
    const got = runCost(file('out'), { json: true });
    expect(JSON.parse(got.text)).to.deep.equal({ ...report, phases: got.phases });
    // The offline phase: the round of P2's bit corrections (the model has comparisons) and the
    // closing exchange, the input-independent bytes; the online phase: every inference round
    // and the online bytes.
    expect(got.phases).to.deep.equal({ offline: { rounds: 3, bytes: report.bytes.preprocessing }, online: { rounds: report.rounds, bytes: report.bytes.online } });
    expect(runCost(file('out'), {}).text).to.match(/offline \(before the input\): 3 round\(s\), [\d.]+ MB input-independent/).and.match(/online \(input given → output revealed\): 14 rounds/);
    // the model's own table, and a last line saying the mode the folder was compiled in
    expect(runCost(file('out'), {}).text).to.equal(`${runCost(file('quantized.mir'), {}).text}mode: classic, as ${file('out')} was compiled\n`);
    writeFileSync(file('out/cost.json'), JSON.stringify({ ...report, mode: 'client-offline' }));
    expect(runCost(file('out'), {}).text).to.match(/\nmode: client-offline, as .*out was compiled/);
    // a compiled folder's cost is what it was compiled with: another program's flags are refused,
    // and a party folder is not OUT
    expect(() => runCost(file('out'), { ring: '40' })).to.throw(/--ring.*is compiled: its cost\.json is what it was compiled with/).with.property('code', 'MPCC0004');
    expect(() => runCost(file('out'), { fracBits: 12 })).to.throw(/--frac-bits/).with.property('code', 'MPCC0004');
    mkdirSync(file('party-alone'), { recursive: true });
    writeFileSync(file('party-alone/manifest.json'), '{}');
    expect(() => runCost(file('party-alone'), {})).to.throw(/a party folder holds no cost\.json: give OUT/).with.property('code', 'MPCC0002');
  });

  describe('errors', () => {
    it('MPCC0002 for a folder without cost.json, MPCC6026 for a bad one', () => {
      mkdirSync(file('empty'));
      expect(errorOf(() => runCost(file('empty'), {})).code).to.equal('MPCC0002');
      mkdirSync(file('bad'));
      writeFileSync(file('bad/cost.json'), '{"rounds": 3}');
      expect(errorOf(() => runCost(file('bad'), {})).message).to.contain('is not a cost report');
      writeFileSync(file('bad/cost.json'), 'not json');
      expect(errorOf(() => runCost(file('bad'), {})).code).to.equal('MPCC6026');
    });

    it('--truncation: exact or local, and agreeing with lower{truncation} in --passes (MPCC0004 naming the flag)', () => {
      expect(errorOf(() => runCost(file('tiny.onnx'), { truncation: 'fast' })).format()).to.equal("error MPCC0004: invalid value 'fast' for flag --truncation: expected exact or local");
      const clash = errorOf(() => runCost(file('tiny.onnx'), { truncation: 'exact', passes: 'canonicalize,quantize,lower{truncation=local},schedule-rounds' }));
      expect(clash.format()).to.equal("error MPCC0004: invalid value 'exact' for flag --truncation: --passes sets lower{truncation=local}");
      // agreeing: the pass option alone says the same as the flag
      const viaPasses = runCost(file('tiny.onnx'), { passes: 'canonicalize,quantize,lower{truncation=local},schedule-rounds' }).report;
      expect(viaPasses.rounds).to.equal(runCost(file('tiny.onnx'), { truncation: 'local' }).report.rounds);
    });

    it('one coded line and exit code 2 for an unsupported model through the CLI', () => {
      const run = spawnSync(process.execPath, [CLI, 'cost', file('tiny.onnx'), '--frac-bits', 'twelve'], { encoding: 'utf8' });
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal("mpcc: error MPCC0004: invalid value 'twelve' for flag --frac-bits: expected an integer in 4..28\n");
    });
  });
});
