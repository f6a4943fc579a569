// `mpcc plan` (--uniform, --uniform-drelus, --show) and `mpcc compile --plan`: plans of zoo
// models against cost.json's per-layer DReLUs (the cost model counts the compiled block-ReLUs
// on its own), bad flags and bad plans as coded errors with nothing written, OUT/plan.json
// listed by the manifest, and an in-process secure run of a planned model against the
// fixed-point interpreter on the same planned graph.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { driveModel } from '../../../compiler/driver.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/index.js';
import { tensorOf } from '../../../ir/tensor.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';
import { type Plan, planJson } from '../../../passes/planning/plan-file.js';
import { sha256 } from '../../../runtime/program/artifacts.js';
import type { Manifest } from '../../../runtime/program/manifest.js';
import { errorOf } from '../../passes/util.js';
import { suiteTempDir } from '../../temp-dir.js';

const CLI = fileURLToPath(new URL('../../../compiler/cli.js', import.meta.url));
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

describe('mpcc plan and compile --plan', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-plan-');
  const file = (name: string) => join(dir(), name);
  before(() => {
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    writeFileSync(file('r18.onnx'), buildZooModel('resnet18-cifar'));
  });

  it('--uniform 4x4 on resnet18-cifar: every ReLU layer planned, DReLUs as the compiled cost report counts them', () => {
    const { plan } = runPlanCommand(file('r18.onnx'), { uniform: '4x4', output: file('r18-4x4.json') });
    expect(readFileSync(file('r18-4x4.json'), 'utf8')).to.equal(planJson(plan));
    expect(plan.model.sha256).to.equal(sha256(readFileSync(file('r18.onnx'))));
    expect(plan.layers).to.have.length(17);
    // 557,056 ReLUs (DESIGN.md); a 4×4 block keeps 1/16 of them on maps of side a multiple of 4.
    expect(plan.drelus).to.deep.equal({ baseline: 557056, planned: 557056 / 16 });
    const { cost } = runCompile(file('r18.onnx'), { fracBits: 12, output: file('r18-out'), plan: file('r18-4x4.json') });
    for (const layer of plan.layers) {
      // A block-ReLU read by a product is fused with it ('relu+conv').
      const costed = cost.layers.filter((l) => l.name === layer.name || l.name.startsWith(`${layer.name}+`));
      expect(costed.map((l) => [l.drelusBefore, l.drelus]), layer.name).to.deep.equal([[layer.drelus.baseline, layer.drelus.planned]]);
    }
    expect([cost.drelusBefore, cost.drelus]).to.deep.equal([plan.drelus.baseline, plan.drelus.planned]);
  });

  it('--uniform-drelus 0.1 on tiny-cnn: the smallest square block per layer under 10%', () => {
    const { plan, text } = runPlanCommand(file('tiny.onnx'), { uniformDrelus: '0.1', output: file('tiny-0.1.json') });
    // 16×16 keeps 25.6 at most: 4×4 gives 16 (3×3 gives 36); 8×8 keeps 6.4: 3×3 gives 9, 4×4 gives 4.
    expect(plan.layers.map((l) => [l.name, l.blocks[0]])).to.deep.equal([['/relu1/Relu', [4, 4]], ['/relu2/Relu', [4, 4]]]);
    expect(plan.source).to.include({ method: 'uniform-drelus', ratio: 0.1, tool: 'mpcc plan' });
    expect(text).to.match(/^\/relu1\/Relu\s+1x8x16x16\s+2,048\s+128\s+6\.25%\s+0%\s+4x4 \(8\)$/m);
  });

  it('--show prints the per-layer table of a mixed plan: DReLUs, identity share, most common blocks', () => {
    const { plan } = runPlanCommand(file('tiny.onnx'), { uniform: '2x2', output: file('tiny-2x2.json') });
    const mixed = mixedPlan(plan);
    writeFileSync(file('mixed.json'), planJson(mixed));
    const { text } = runPlanCommand(undefined, { show: file('mixed.json') });
    const lines = text.split('\n');
    expect(lines[0]).to.match(/^layer\s+shape\s+DReLUs before\s+after\s+kept\s+identity\s+most common blocks$/);
    // relu1 (8 channels of 16×16): identity, [1,1] 256, [2,2] 64, [3,5] 6·4 = 24, whole map 1,
    // then three [2,2] channels: 345 + 192 = 537 DReLUs; 1 of 8 identity.
    expect(lines[1]).to.match(/^\/relu1\/Relu\s+1x8x16x16\s+2,048\s+537\s+26\.22%\s+12\.50%\s+2x2 \(4\), 16x16 \(1\), 1x1 \(1\), 2 more$/);
    // relu2 (16 channels of 8×8): one identity, fifteen [2,2] of 16: 240; 2 of 24 channels identity.
    expect(lines.find((l) => l.startsWith('total'))).to.match(/^total\s+3,072\s+777\s+25\.29%\s+8\.33%\s+2x2 \(19\), identity \(2\), 16x16 \(1\), 2 more$/);
    // a calibration folder's files and digests are counted in the table's source line, listed in the file
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `img${i}.png`, sha256: 'ab'.repeat(32) }));
    writeFileSync(file('sourced.json'), planJson({ ...mixed, source: { ...mixed.source, calib: { kind: 'images', path: 'imgs/', files, sampleDigests: files.map(() => 'cd'.repeat(8)) } } }));
    const source = runPlanCommand(undefined, { show: file('sourced.json') }).text.split('\n').find((l) => l.startsWith('source: '))!;
    expect(source).to.contain('"files":"(40 files)"').and.contain('"sampleDigests":"(40 digests)"').and.not.contain('img3.png');
  });

  it('--show --json gives the same summary as data: per-layer DReLUs, identity channels, block counts (hand-counted)', () => {
    const { plan } = runPlanCommand(file('tiny.onnx'), { uniform: '2x2', output: file('tiny-2x2.json') });
    writeFileSync(file('mixed-json.json'), planJson(mixedPlan(plan)));
    const { text } = runPlanCommand(undefined, { show: file('mixed-json.json'), json: true });
    const s = JSON.parse(text);
    // As the table's test counts: relu1 keeps 537 of 2,048 with 1 identity channel of 8; relu2
    // keeps 240 of 1,024 with 1 identity of 16; 3,072 → 777 in all, 2 identity of 24 channels.
    expect(s.layers.map((l: { name: string; drelus: unknown; channels: number; identityChannels: number }) => [l.name, l.drelus, l.channels, l.identityChannels])).to.deep.equal([
      ['/relu1/Relu', { baseline: 2048, planned: 537 }, 8, 1],
      ['/relu2/Relu', { baseline: 1024, planned: 240 }, 16, 1],
    ]);
    expect(s.layers[1].blocks).to.deep.equal({ '2x2': 15, identity: 1 });
    expect(Object.values(s.layers[0].blocks).reduce((a: number, b) => a + (b as number), 0)).to.equal(8);
    expect(s.layers[0].blocks).to.include({ '2x2': 4, '16x16': 1, '1x1': 1, identity: 1 });
    expect([s.drelus, s.channels, s.identityChannels, s.model.sha256]).to.deep.equal([{ baseline: 3072, planned: 777 }, 24, 2, plan.model.sha256]);
    expect(errorOf(() => runPlanCommand(file('tiny.onnx'), { uniform: '4x4', json: true, output: file('bad-json.json') })).message).to.contain('flag --json');
    expect(existsSync(file('bad-json.json'))).to.equal(false);
  });

  it('bad flags are MPCC0004 naming the flag, and nothing is written', () => {
    const cases: [Parameters<typeof runPlanCommand>[1], string][] = [
      [{ uniform: '0x3' }, "invalid value '0x3' for flag --uniform"],
      [{ uniform: '4' }, "invalid value '4' for flag --uniform"],
      [{ uniformDrelus: '1.5' }, "invalid value '1.5' for flag --uniform-drelus"],
      [{ uniformDrelus: '0' }, "invalid value '0' for flag --uniform-drelus"],
      [{ uniformDrelus: 'half' }, "invalid value 'half' for flag --uniform-drelus"],
      [{ uniform: '4x4', uniformDrelus: '0.1' }, 'flag --uniform and --uniform-drelus: these modes exclude each other: give exactly one of --uniform, --uniform-drelus, --show'],
      [{}, 'give exactly one of --uniform, --uniform-drelus, --show'],
    ];
    for (const [options, message] of cases) {
      const e = errorOf(() => runPlanCommand(file('tiny.onnx'), { ...options, output: file('bad.json') }));
      expect(e.code, message).to.equal('MPCC0004');
      expect(e.message).to.contain(message);
      expect(existsSync(file('bad.json'))).to.equal(false);
    }
    expect(errorOf(() => runPlanCommand(file('tiny.onnx'), { uniform: '4x4' })).message).to.contain('flag -o');
  });

  it('the CLI: exit 2 and one coded line for --uniform 0x3, no file; --show prints the table', async () => {
    const failed = await promisify(execFile)(process.execPath, [CLI, 'plan', file('tiny.onnx'), '--uniform', '0x3', '-o', file('cli.json')]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.equal("mpcc: error MPCC0004: invalid value '0x3' for flag --uniform: expected BHxBW, two integers >= 1, e.g. 4x4\n");
    expect(existsSync(file('cli.json'))).to.equal(false);
    await promisify(execFile)(process.execPath, [CLI, 'plan', file('tiny.onnx'), '--uniform', '3x3', '-o', file('cli.json')]);
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'plan', '--show', file('cli.json')]);
    // 16×16 in 3×3 tiles: 6·6 = 36 per channel, 8 channels; 8×8: 3·3 = 9, 16 channels.
    expect(stdout).to.match(/^\/relu1\/Relu\s+1x8x16x16\s+2,048\s+288\s+14\.06%\s+0%\s+3x3 \(8\)$/m);
    expect(stdout).to.match(/^total\s+3,072\s+432\s+14\.06%\s+0%\s+3x3 \(24\)$/m);
  });

  it('compile --plan writes OUT/plan.json, listed by the manifest; the in-process run equals the fixed-point interpreter', async () => {
    const { plan } = runPlanCommand(file('tiny.onnx'), { uniform: '2x2', output: file('tiny-2x2.json') });
    writeFileSync(file('mixed.json'), planJson(mixedPlan(plan)));
    const out = file('tiny-out');
    // the classic mode's SecureBlockRelu (with a plan compile's default is --client-offline auto,
    // which takes the client-offline mode here: test/e2e/maxpool-tree.test.ts)
    const { cost } = runCompile(file('tiny.onnx'), { fracBits: 12, output: out, plan: file('mixed.json'), clientOffline: 'off' });
    const bytes = readFileSync(file('mixed.json'));
    expect(readFileSync(join(out, 'plan.json')).equals(bytes)).to.equal(true);
    expect(readJson<Manifest>(join(out, 'manifest.json')).files['plan.json']).to.equal(sha256(bytes));
    expect(readFileSync(join(out, 'party1/model.mir'), 'utf8')).to.contain('BlockRelu');

    const xs = Array.from({ length: 768 }, (_, i) => Math.sin(i / 7) + 0.3 * Math.cos(i / 3));
    writeFileSync(file('x.npy'), encodeNpy([1, 3, 16, 16], xs));
    const secure = await runSecure(out, { input: file('x.npy'), transport: 'inproc' });
    expect(secure.summary.bytes).to.deep.equal(cost.bytes);
    expect(secure.summary.rounds).to.equal(cost.rounds);
    // Three processes over loopback TCP (mpcc run starts three `mpcc party`): cost.json's bytes too.
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'run', out, '--input', file('x.npy'), '--json']);
    const tcp = JSON.parse(stdout) as { bytes: CostReport['bytes']; rounds: number; output: string | null; outputs: Record<string, number[]> };
    expect([tcp.bytes, tcp.rounds]).to.deep.equal([cost.bytes, cost.rounds]);
    const { graph } = driveModel(file('tiny.onnx'), { planFile: file('mixed.json'), target: 'quantized', fracBits: 12 });
    expect(graph.nodes.filter((n) => n.op === 'BlockRelu').map((n) => n.name)).to.deep.equal(['/relu1/Relu', '/relu2/Relu']);
    const want = runGraphFixed(graph, { input: tensorOf('float32', [1, 3, 16, 16], xs) }, { frac: 12 }).outputs.get('output')!.data;
    const got = secure.outputs.output;
    // Local truncation differs from the interpreter's by one unit (2^-12) per truncation.
    const diff = Math.max(...got.map((v, i) => Math.abs(v - Number(want[i]))));
    expect(diff).to.be.below(8 / 4096);
    // --json without -o carries the output's values (the three processes' run: the same bound)
    expect(tcp.output).to.equal(null);
    expect(Math.max(...tcp.outputs.output.map((v, i) => Math.abs(v - Number(want[i]))))).to.be.below(8 / 4096);
    // The plan matters: the all-ReLU network computes something else.
    const { graph: plain } = driveModel(file('tiny.onnx'), { target: 'quantized', fracBits: 12 });
    const allRelu = runGraphFixed(plain, { input: tensorOf('float32', [1, 3, 16, 16], xs) }, { frac: 12 }).outputs.get('output')!.data;
    expect(Math.max(...got.map((v, i) => Math.abs(v - Number(allRelu[i]))))).to.be.above(100 * diff);
  });

  it('a compile into an earlier OUT replaces it: no plan.json of the earlier plan stays; a folder of other files is refused', () => {
    const { plan } = runPlanCommand(file('tiny.onnx'), { uniform: '2x2', output: file('again-2x2.json') });
    const out = file('again-out');
    runCompile(file('tiny.onnx'), { fracBits: 12, output: out, plan: file('again-2x2.json') });
    expect(existsSync(join(out, 'plan.json'))).to.equal(true);
    const { cost } = runCompile(file('tiny.onnx'), { fracBits: 12, output: out });
    // the second program has no plan: neither has OUT, and its manifest lists exactly what OUT holds
    expect(existsSync(join(out, 'plan.json'))).to.equal(false);
    const listed = Object.keys(readJson<Manifest>(join(out, 'manifest.json')).files).sort();
    const held = readdirSync(out, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => relative(out, join(d.parentPath, d.name))).filter((f) => f !== 'manifest.json').sort();
    expect(held).to.deep.equal(listed);
    expect(cost.drelus).to.equal(cost.drelusBefore ?? cost.drelus);
    expect(plan.drelus.planned).to.be.below(cost.drelus);
    // a folder of other files: not written into (a typo must not scatter a compile among them)
    mkdirSync(file('mine'));
    writeFileSync(file('mine/notes.txt'), 'mine');
    const e = errorOf(() => runCompile(file('tiny.onnx'), { fracBits: 12, output: file('mine') }));
    expect(e.code).to.equal('MPCC0003');
    expect(e.message).to.match(/mine': it holds 1 other file \(e\.g\. 'notes\.txt'\) and no manifest\.json: not a folder mpcc compile wrote/);
    expect(readdirSync(file('mine'))).to.deep.equal(['notes.txt']);
    // a party's folder of OUT is not an OUT: refused, its program left
    const party = errorOf(() => runCompile(file('tiny.onnx'), { fracBits: 12, output: join(out, 'party0') }));
    expect([party.code, party.message]).to.satisfy(([c, m]: string[]) => c === 'MPCC0003' && /party0': it is party 0's folder of a compiled OUT, not an OUT/.test(m), party.message);
    expect(existsSync(join(out, 'party0', 'program.json'))).to.equal(true);
    // --plan OUT (the folder, not its plan.json): a coded error naming the file to give
    runCompile(file('tiny.onnx'), { fracBits: 12, output: out, plan: file('again-2x2.json') });
    const folder = errorOf(() => runCompile(file('tiny.onnx'), { fracBits: 12, output: file('never-out'), plan: out }));
    expect([folder.code, folder.message]).to.deep.equal(['MPCC0002', `cannot read file '${out}': it is a folder; its plan is ${join(out, 'plan.json')}`]);
    expect(existsSync(file('never-out'))).to.equal(false);
  });

  describe('compile --plan: a bad plan is its coded error, and OUT is not written', () => {
    /** The error compiling `model` with plan `plan` (text) fails with. */
    function compileError(name: string, plan: string, model = file('tiny.onnx'), passes?: string) {
      writeFileSync(file(`${name}.json`), plan);
      const out = file(`${name}-out`);
      const e = errorOf(() => runCompile(model, { fracBits: 12, output: out, plan: file(`${name}.json`), passes }));
      expect(existsSync(out), 'no artifacts').to.equal(false);
      return e;
    }
    const tinyPlan = (): Plan => runPlanCommand(file('tiny.onnx'), { uniform: '3x3', output: file('tiny-3x3.json') }).plan;

    it('MPCC4012 for a plan of another model', () => {
      const e = compileError('r18-plan', readFileSync(file('r18-4x4.json'), 'utf8'));
      expect(e.code).to.equal('MPCC4012');
      expect(e.message).to.contain(`but '${file('tiny.onnx')}' has sha256 ${sha256(readFileSync(file('tiny.onnx')))}`);
    });

    it('MPCC4011, MPCC4010 and MPCC4018 before the model is touched', () => {
      expect(compileError('v0', planJson(tinyPlan()).replace('"version": 1', '"version": 0')).code).to.equal('MPCC4011');
      expect(compileError('truncated', planJson(tinyPlan()).slice(0, 200)).code).to.equal('MPCC4010');
      const e = compileError('big-block', planJson(tinyPlan()).replace('[[3,3],', '[[17,3],'));
      expect(e.format()).to.match(/MPCC4018: plan '.*big-block\.json': layer '\/relu1\/Relu', channel 0: block \[17, 3\] does not fit the 16x16 map/);
    });

    it('MPCC4014 for a ReLU6 layer unless relu6-to-relu runs; MPCC0004 for --plan on a quantized model', () => {
      const model = file('relu6.mir');
      writeFileSync(model, 'mir 1\ngraph @net(%x: float32[1,2,3,3]) -> (%y: float32[1,2,3,3]) {\n  %y: float32[1,2,3,3] = Clip "r6"(%x) {max = 6, min = 0}\n}\n');
      const { plan } = runPlanCommand(model, { uniform: '2x2', output: file('relu6-plan.json'), passes: 'canonicalize,relu6-to-relu' });
      expect(plan.layers.map((l) => l.name)).to.deep.equal(['r6']);
      // --passes without relu6-to-relu overrides the plan's own passes.
      const e = compileError('relu6', planJson(plan), model, 'canonicalize');
      expect(e.format()).to.match(/^error MPCC4014: plan '.*relu6\.json': layer 'r6' is a Clip \(ReLU6\) in this model; .*run relu6-to-relu first/);
      runCompile(model, { fracBits: 12, output: file('relu6-ok'), plan: file('relu6.json'), passes: 'canonicalize,relu6-to-relu' });
      expect(readFileSync(join(file('relu6-ok'), 'party1/model.mir'), 'utf8')).to.contain('SecureBlockRelu "r6"');
      // Without --passes, the plan's own (its source.passes: canonicalize,relu6-to-relu).
      runCompile(model, { fracBits: 12, output: file('relu6-plan-passes'), plan: file('relu6.json') });
      expect(readFileSync(join(file('relu6-plan-passes'), 'party1/model.mir'), 'utf8')).to.equal(readFileSync(join(file('relu6-ok'), 'party1/model.mir'), 'utf8'));

      const quantized = file('quantized.mir');
      writeFileSync(quantized, 'mir 1\ngraph @net(%x: float32[1,2,3,3]) -> (%y: float32[1,2,3,3]) {\n  %q: float32[1,2,3,3] = FixedInput "q"(%x) {frac = 12}\n  %y: float32[1,2,3,3] = Relu "r6"(%q)\n}\n');
      const q = compileError('quantized', planJson({ ...plan, model: { ...plan.model, sha256: sha256(readFileSync(quantized)) } }), quantized);
      expect(q.format()).to.equal(`error MPCC0004: invalid value '${file('quantized.json')}' for flag --plan: the model is already quantized; a plan applies to a float model`);
    });
  });
});

/** `plan` (tiny-cnn, 2×2 everywhere) with relu1's first five channels identity, [1,1], [2,2],
 * [3,5] and the whole 16×16 map, and relu2's first channel identity. */
function mixedPlan(plan: Plan): Plan {
  const relu1 = plan.layers[0], relu2 = plan.layers[1];
  const blocks1 = [...relu1.blocks];
  blocks1.splice(0, 5, 'identity', [1, 1], [2, 2], [3, 5], [16, 16]);
  const blocks2 = [...relu2.blocks];
  blocks2[0] = 'identity';
  const layers = [{ ...relu1, blocks: blocks1 }, { ...relu2, blocks: blocks2 }];
  const count = (l: (typeof layers)[number]) => l.blocks.reduce((t, b) => t + (b === 'identity' ? 0 : Math.ceil(l.shape[2] / b[0]) * Math.ceil(l.shape[3] / b[1])), 0);
  const withCounts = layers.map((l) => ({ ...l, drelus: { baseline: l.drelus.baseline, planned: count(l) } }));
  return { ...plan, source: { method: 'hand-edited' }, layers: withCounts, drelus: { baseline: plan.drelus.baseline, planned: withCounts.reduce((t, l) => t + l.drelus.planned, 0) } };
}
