// The executor runs the model's own kernels module: tiny-cnn compiled (--truncation local: the
// specialized kernels are those of the local share truncation), its P1 biases moved onto
// the truncations, and the parties' kernels.wasm replaced by a module whose two final
// truncations are wrong on purpose (P0's adds 1.0, P1's skips the bias it should fuse in). If
// runProgram called those exports, the client's logits move by exactly that (within the
// truncation noise of two runs); if it ran the generic kernels they would not move. A missing
// kernel in kernels.wasm fails loading with a coded error naming the file.
import { expect } from 'chai';
import { resealParty } from '../../../runtime/program/reseal.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildZooFiles } from '../../../../examples/zoo/index.js';
import { ModuleBuilder } from '../../../../compiler/codegen/binaryen.js';
import { addRuntimeKernels } from '../../../../compiler/codegen/library/runtime-kernels.js';
import { runCompile } from '../../../../compiler/commands/compile.js';
import { runSecure } from '../../../../compiler/commands/run.js';
import { loadGraphFile } from '../../../../compiler/load-model.js';
import { encodeNpy } from '../../../../compiler/npy.js';
import { createInProcessSessions, runParties } from '../../../../runtime/session/connect.js';
import { loadPartyArtifacts, runProgram, sessionTag, sha256, type PartyArtifacts } from '../../../../runtime/program/index.js';
import { activeKernels, useKernels } from '../../../../runtime/kernels/ring-wasm.js';

const FRAC = 12;

/** The client's logits of one in-process run (kernels: the artifacts' unless `generic`). */
async function logits(arts: PartyArtifacts[], x: Float32Array, generic = false): Promise<Float64Array> {
  const ss = await createInProcessSessions({ tag: sessionTag(arts[0].manifest) });
  const r = await runParties(ss, (s) => runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: generic ? undefined : arts[s.id].kernels }));
  return r[0].outputs.get('output')!;
}

/** Writes `bytes` as every party's kernels.wasm of `out`, with the manifest's hashes to match. */
function replaceKernels(out: string, bytes: Uint8Array): void {
  for (const p of [0, 1, 2]) {
    writeFileSync(join(out, `party${p}/kernels.wasm`), bytes);
    resealParty(join(out, `party${p}`));
  }
}

/** The generic kernels plus tiny-cnn's last truncations (fc: 10 logits), made wrong: P0's adds
 * 1.0 to its share, P1's truncates without adding the bias it is handed. */
function sabotagedKernels(): Uint8Array {
  const m = new ModuleBuilder(16);
  addRuntimeKernels(m);
  const shift = (v: ReturnType<typeof m.i64.load>) => m.i64.shr_s(v, m.i64.const(BigInt(FRAC)));
  m.func('trunc0_10_12', [['src', 'i32'], ['dst', 'i32']], 'none', (f) => {
    const [src, dst, i] = [f.param('src'), f.param('dst'), f.local('i', 'i32')];
    const at = (p: typeof src) => m.i32.add(m.get(p), m.get(i));
    return [m.forRange(i, m.i32.const(0), m.i32.const(80), 8, () => [m.i64.store(at(dst), m.i64.add(shift(m.i64.load(at(src))), m.i64.const(1n << BigInt(FRAC))))])];
  });
  m.func('trunc1_10_12_bias10x1', [['src', 'i32'], ['bias', 'i32'], ['dst', 'i32']], 'none', (f) => {
    const [src, dst, i] = [f.param('src'), f.param('dst'), f.local('i', 'i32')];
    const at = (p: typeof src) => m.i32.add(m.get(p), m.get(i));
    const neg = (v: ReturnType<typeof m.i64.load>) => m.i64.sub(m.i64.const(0n), v);
    return [m.forRange(i, m.i32.const(0), m.i32.const(80), 8, () => [m.i64.store(at(dst), neg(shift(neg(m.i64.load(at(src))))))])];
  });
  return m.emit();
}

describe('runtime: the executor runs the model\'s kernels.wasm', function () {
  this.timeout(60000);
  let dir = '';
  let out = '';
  let x: Float32Array;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-kernels-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    out = join(dir, 'out');
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: out, truncation: 'local' });
    x = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37));
  });
  after(() => {
    useKernels(null);
    rmSync(dir, { recursive: true, force: true });
  });

  it('compiles P1\'s biases into the truncations and installs the party\'s module', async () => {
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const steps = arts[1].program.steps;
    expect(steps.filter((s) => s.kind === 'weights' || s.kind === 'reluWeights').map((s) => s.params.bias)).to.deep.equal([undefined, undefined, undefined]);
    expect(steps.filter((s) => s.kind === 'truncate').map((s) => [s.params.bias, s.params.inner])).to.deep.equal([['bn1.bias', 256], ['bn2.bias', 64], ['fc.bias', 1]]);
    useKernels(null);
    await logits(arts, x);
    expect(activeKernels().source).to.equal(join(out, 'party0/kernels.wasm'));
    expect(activeKernels().functions.has('trunc1_10_12_bias10x1')).to.equal(true);
    expect(arts.map((a) => a.kernels.hash)).to.deep.equal([0, 1, 2].map(() => sha256(readFileSync(join(out, 'party0/kernels.wasm')))));
  });

  it('calls its specialized truncations: sabotaged ones move the logits by what they do', async () => {
    const honest = await logits(await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id))), x);
    const bad = join(dir, 'sabotaged');
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: bad, truncation: 'local' });
    replaceKernels(bad, sabotagedKernels());
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(bad, id)));
    const moved = await logits(arts, x);
    expect(activeKernels().source).to.equal(join(bad, 'party0/kernels.wasm'));
    // fc.bias as the ONNX file has it: P1's sabotaged truncation leaves it out.
    const bias = loadGraphFile(join(dir, 'tiny.onnx')).constants.get('fc.bias')!.data as Float32Array;
    for (let j = 0; j < 10; j++) expect(moved[j] - honest[j], `logit ${j}`).to.be.closeTo(1 - bias[j], 0.01);
    expect(bias.some((b) => Math.abs(b) > 0.02)).to.equal(true);
    // The same artifacts on the generic kernels: the honest logits again.
    const generic = await logits(arts, x, true);
    for (let j = 0; j < 10; j++) expect(generic[j], `logit ${j}`).to.be.closeTo(honest[j], 0.01);
  });

  it('refuses a kernels.wasm that lacks a kernel: MPCC5103 naming the file (loader and mpcc run)', async () => {
    const bad = join(dir, 'lacking');
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: bad, truncation: 'local' });
    const m = new ModuleBuilder(16);
    m.func('add', [['a', 'i32'], ['b', 'i32'], ['out', 'i32'], ['n', 'i32']], 'none', () => []);
    replaceKernels(bad, m.emit());
    const err = await loadPartyArtifacts(bad, 2).then(() => null, (e: Error & { code?: string }) => e);
    expect(err?.code).to.equal('MPCC5103');
    expect(err?.message).to.contain(join(bad, 'party2/kernels.wasm')).and.to.contain("'sub' missing").and.to.match(/and \d+ more/);
    writeFileSync(join(dir, 'x.npy'), encodeNpy([1, 3, 16, 16], x));
    const cli = await runSecure(bad, { input: join(dir, 'x.npy'), transport: 'inproc' }).then(() => null, (e: Error & { code?: string }) => e);
    expect(cli?.code).to.equal('MPCC5103');
    expect(cli?.message).to.contain('party0/kernels.wasm');
  });
});
