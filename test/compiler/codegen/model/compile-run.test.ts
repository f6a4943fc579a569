// End to end through the artifacts: `mpcc compile` of the zoo's tiny-cnn, the three parties
// loaded from OUT/ and run over the in-process transport, against onnxruntime-node's float
// output and the cost report; party0/ and party2/ hold no weight bytes; bad artifacts fail
// with coded errors.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildZooFiles } from '../../../../examples/zoo/index.js';
import { runCompile } from '../../../../compiler/commands/compile.js';
import { formatPlan, planPasses } from '../../../../compiler/driver.js';
import { createInProcessSessions, runParties } from '../../../../runtime/session/connect.js';
import { loadPartyArtifacts, runProgram, sessionTag, type RunResult } from '../../../../runtime/program/index.js';
import { encode } from '../../../../runtime/ring/ring.js';
import { loadGraphFile } from '../../../../compiler/load-model.js';
import type { CostReport } from '../../../../passes/secure/cost-model.js';

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

describe('codegen: compile tiny-cnn, run the artifacts', function () {
  this.timeout(60000);
  let dir = '';
  let out = '';
  let onnx: Uint8Array;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-compile-'));
    onnx = buildZooFiles('tiny-cnn').model;
    writeFileSync(join(dir, 'tiny.onnx'), onnx);
    out = join(dir, 'out');
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: out });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every artifact the manifest lists', () => {
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: Record<string, string>; frac: number; input: { shape: number[] } };
    expect(Object.keys(m.files).sort()).to.deep.equal(['cost.json', 'party0/kernels.wasm', 'party0/manifest.json', 'party0/program.json', 'party1/kernels.wasm', 'party1/manifest.json', 'party1/model.mir', 'party1/program.json', 'party1/weights.bin', 'party1/weights.json', 'party2/kernels.wasm', 'party2/manifest.json', 'party2/program.json']);
    expect(m.frac).to.equal(12);
    expect(m.input.shape).to.deep.equal([1, 3, 16, 16]);
    expect(readdirSync(join(out, 'party0')).sort()).to.deep.equal(['kernels.wasm', 'manifest.json', 'program.json']);
    expect(readdirSync(out).sort()).to.deep.equal(['cost.json', 'manifest.json', 'party0', 'party1', 'party2']);
  });

  it('gives onnxruntime\'s top-1 within 1% of the output range, with the bytes and rounds of cost.json', async () => {
    const rand = lcg(11);
    const x = Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1);
    const session = await ort.InferenceSession.create(onnx);
    const ref = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, 16, 16]) }))[session.outputNames[0]].data as Float32Array;
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const ss = await createInProcessSessions({ tag: sessionTag(arts[0].manifest) });
    const r = await runParties(ss, (s) => runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: arts[s.id].kernels }));
    const y = r[0].outputs.get('output')!;
    const argmax = (v: ArrayLike<number>) => Array.from(v).reduce((b, _, i, a) => (a[i] > a[b] ? i : b), 0);
    expect(argmax(y)).to.equal(argmax(ref));
    const range = Math.max(...ref) - Math.min(...ref);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - ref[i])).to.be.at.most(0.01 * range);
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as CostReport;
    const sum = (f: (p: RunResult) => number) => r.reduce((t, p) => t + f(p), 0);
    expect(sum((p) => p.counters.sent.online)).to.equal(cost.bytes.online);
    expect(sum((p) => p.counters.sent.preprocessing)).to.equal(cost.bytes.preprocessing);
    expect(sum((p) => p.counters.sent.oneTime)).to.equal(cost.bytes.oneTime);
    expect(r.map((p) => p.counters.sent.online + p.counters.sent.preprocessing)).to.deep.equal(cost.bytes.perParty);
    for (const p of r) expect([p.rounds, p.oneTimeRounds]).to.deep.equal([cost.rounds, cost.oneTimeRounds]);
  });

  it('puts no weight bytes into party0/ or party2/', async () => {
    const { weights } = await loadPartyArtifacts(out, 1);
    expect(weights.size).to.be.greaterThan(0);
    const files = (p: number) => readdirSync(join(out, `party${p}`)).map((f) => readFileSync(join(out, `party${p}`, f)));
    // Every constant's encoding, in 16-byte windows (two ring elements) from its start, as the
    // compiler encodes it independently here (W at frac, biases at 2·frac): none may occur.
    const needles: Buffer[] = [];
    for (const w of weights.values()) if (w.length >= 2) needles.push(Buffer.from(w.buffer, w.byteOffset, 16));
    expect(needles.length).to.be.greaterThan(2);
    for (const p of [0, 2]) for (const f of files(p)) for (const nd of needles) expect(f.indexOf(nd)).to.equal(-1);
    // The search finds them where they are (P1's file).
    const bin = readFileSync(join(out, 'party1/weights.bin'));
    for (const nd of needles) expect(bin.indexOf(nd)).to.not.equal(-1);
    // An encoding made here from the ONNX file itself (the classifier's bias, which no
    // canonicalization changes, at 2·frac): in P1's file, in no other party's.
    const fcBias = loadGraphFile(join(dir, 'tiny.onnx')).constants.get('fc.bias')!;
    const own = encode(fcBias.data as Float32Array, 24);
    const needle = Buffer.from(own.buffer, 0, 8 * own.length);
    expect(bin.indexOf(needle)).to.not.equal(-1);
    for (const p of [0, 2]) for (const f of files(p)) expect(f.indexOf(needle)).to.equal(-1);
  });

  it('--passes replaces only the float-level passes; --dump-ir writes the IR after each pass', () => {
    // The driver's plan for a float model (compiler/driver.ts); quantize's default frac-bits=12 is not spelled.
    const float = loadGraphFile(join(dir, 'tiny.onnx'));
    const plan = (passes?: string, fracBits?: number) => formatPlan(planPasses(float, { passes, fracBits, target: 'scheduled' }));
    expect(plan()).to.equal('canonicalize,quantize,lower,schedule-rounds');
    expect(plan('canonicalize,maxpool-to-avgpool', 10)).to.equal('canonicalize,maxpool-to-avgpool,quantize{frac-bits=10},lower,schedule-rounds');
    expect(plan('canonicalize,quantize{frac-bits=9},lower')).to.equal('canonicalize,quantize{frac-bits=9},lower,schedule-rounds');
    const dump = join(dir, 'dump');
    const s = runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: join(dir, 'avg'), passes: 'canonicalize,maxpool-to-avgpool', dumpIr: dump });
    const files = readdirSync(dump).sort();
    expect(files[files.length - 1]).to.match(/schedule-rounds\.mir$/);
    expect(readFileSync(join(dump, files[files.length - 1]), 'utf8')).to.contain('SecureReveal');
    expect(s.cost.layers.some((l) => l.op === 'SecureMaxPool')).to.equal(false);
  });

  it('removes the files of the layout before (a top-level model.mir, program.js) when compiling over them', () => {
    const old = join(dir, 'old');
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: old });
    writeFileSync(join(old, 'model.mir'), 'const %bias: float32[2] = [0.125, 0.25]\n');
    writeFileSync(join(old, 'party0/program.js'), 'export default {};\n');
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: old });
    expect(readdirSync(old).sort()).to.deep.equal(['cost.json', 'manifest.json', 'party0', 'party1', 'party2']);
    expect(readdirSync(join(old, 'party0')).sort()).to.deep.equal(['kernels.wasm', 'manifest.json', 'program.json']);
  });

  it('refuses missing, corrupt and foreign-version artifacts with coded errors', async () => {
    const bad = join(dir, 'bad');
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: bad });
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);
    rmSync(join(bad, 'party2/kernels.wasm'));
    expect(await code(loadPartyArtifacts(bad, 2))).to.equal('MPCC5220');
    const prog = join(bad, 'party0/program.json');
    writeFileSync(prog, readFileSync(prog, 'utf8').replace('"round":1', '"round":2'));
    expect(await code(loadPartyArtifacts(bad, 0))).to.equal('MPCC5220');
    const mf = join(bad, 'party1/manifest.json');
    const manifest = readFileSync(mf, 'utf8');
    writeFileSync(mf, manifest.replace(/"mpccVersion": "[^"]*"/, '"mpccVersion": "0.0.0-other"'));
    expect(await code(loadPartyArtifacts(bad, 1))).to.equal('MPCC5221');
    writeFileSync(mf, manifest);
    writeFileSync(mf, readFileSync(mf, 'utf8').replace('"format": 2', '"format": 99'));
    expect(await code(loadPartyArtifacts(bad, 1))).to.equal('MPCC5221');
    writeFileSync(mf, '{ not json');
    expect(await code(loadPartyArtifacts(bad, 1))).to.equal('MPCC5220');
  });
});
