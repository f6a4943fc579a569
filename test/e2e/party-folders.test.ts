// What each party gets: `mpcc compile` of the zoo's tiny-cnn, then each party's folder copied
// alone into a fresh temporary folder and the three run from there as `mpcc party` processes
// over loopback. The client's output is checked against onnxruntime-node and against the
// in-process run of OUT itself, the bytes and rounds against cost.json. The client's and
// helper's folders hold no constant of the model (encoded, or as the decimals P1's model.mir
// prints) and no digest of the ONNX file; a folder holding another model's manifest, or a
// program.json edited without its digests, is refused.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { buildZooFiles } from '../../examples/zoo/index.js';
import { runCompile } from '../../compiler/commands/compile.js';
import { encodeNpy } from '../../compiler/npy.js';
import type { PartyReport } from '../../compiler/commands/secure-support.js';
import { freeLocalAddresses } from '../../runtime/session/connect.js';
import { loadPartyArtifacts, sha256, type PartyManifest } from '../../runtime/program/index.js';
import type { CostReport } from '../../passes/secure/cost-model.js';
import { suiteTempDir } from '../temp-dir.js';
import { argmax, copyPartyFolders, expectNoSecretsOutsideP1, inlineConstantDecimals, runSecureInProcess } from './support.js';

const CLI = fileURLToPath(new URL('../../../bin/mpcc.js', import.meta.url));

/** `mpcc party FOLDER --id N` for the three folders over loopback; the three JSON reports. */
async function partyProcesses(folders: readonly string[], input: string): Promise<PartyReport[]> {
  const peers = (await freeLocalAddresses()).join(',');
  return Promise.all(
    folders.map(
      (folder, id) =>
        new Promise<PartyReport>((resolve, reject) => {
          const args = [CLI, 'party', folder, '--id', String(id), '--peers', peers, '--json', '--quiet', ...(id === 0 ? ['--input', input] : [])];
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MPCC_THREADS: '1' } });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout.trim().split('\n').pop()!) as PartyReport) : reject(new Error(`party ${id} exited ${code}: ${stderr}`))));
        }),
    ),
  );
}

describe('e2e: each party runs from its own folder alone', function () {
  this.timeout(120000);
  const tmp = suiteTempDir('mpcc-party-folders-');
  let out = '';
  let onnx: Uint8Array;
  before(() => {
    onnx = buildZooFiles('tiny-cnn').model;
    writeFileSync(join(tmp(), 'tiny.onnx'), onnx);
    out = join(tmp(), 'out');
    runCompile(join(tmp(), 'tiny.onnx'), { output: out });
  });

  it('three `mpcc party` processes, each on a copy of its folder: the output and bytes of OUT run in process', async () => {
    const x = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37) * 0.9);
    writeFileSync(join(tmp(), 'x.npy'), encodeNpy([1, 3, 16, 16], x));
    const session = await ort.InferenceSession.create(onnx);
    const ref = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, 16, 16]) }))[session.outputNames[0]].data as Float32Array;
    const reports = await partyProcesses(copyPartyFolders(out, tmp()), join(tmp(), 'x.npy'));
    const inProcess = await runSecureInProcess(await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id))), x);
    const y = reports[0].outputs!.output;
    const yIn = inProcess[0].outputs.get('output')!;
    const range = Math.max(...ref) - Math.min(...ref);
    expect(argmax(y)).to.equal(argmax(ref));
    for (let i = 0; i < y.length; i++) {
      expect(Math.abs(y[i] - ref[i]), `logit ${i} vs onnxruntime`).to.be.at.most(0.01 * range);
      // Both runs truncate with fresh randomness: they agree up to the truncation error.
      expect(Math.abs(y[i] - yIn[i]), `logit ${i} vs the in-process run`).to.be.at.most(0.005 * range);
    }
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as CostReport;
    expect(reports.map((r) => r.sent)).to.deep.equal(inProcess.map((r) => ({ online: r.counters.sent.online, preprocessing: r.counters.sent.preprocessing, oneTime: r.counters.sent.oneTime })));
    expect(reports.map((r) => r.sent.online + r.sent.preprocessing)).to.deep.equal(cost.bytes.perParty);
    expect(reports.reduce((t, r) => t + r.sent.oneTime, 0)).to.equal(cost.bytes.oneTime);
    for (const r of reports) expect([r.rounds, r.oneTimeRounds]).to.deep.equal([cost.rounds, cost.oneTimeRounds]);
  });

  it('party0/ and party2/ hold no decimal of the constants P1\'s model.mir prints, nor the ONNX file\'s sha256', () => {
    const mir = readFileSync(join(out, 'party1/model.mir'), 'utf8');
    // tiny-cnn's two batch-norm biases (8 + 16) and the classifier's (10) are printed inline there.
    expect(inlineConstantDecimals(mir).length).to.be.at.least(30);
    expect(expectNoSecretsOutsideP1(out, onnx)).to.be.at.least(30);
    for (const id of [0, 2]) {
      const m = JSON.parse(readFileSync(join(out, `party${id}/manifest.json`), 'utf8')) as Record<string, unknown>;
      expect(Object.keys(m)).to.not.include('modelHash');
      expect(Object.keys(m.files as object).sort()).to.deep.equal(['kernels.wasm', 'program.json']);
    }
  });

  it('refuses a folder holding another model\'s manifest, and a program.json edited without its digests', async () => {
    runCompile(join(tmp(), 'tiny.onnx'), { output: join(tmp(), 'other'), fracBits: 10 });
    const [p0] = copyPartyFolders(out, tmp());
    copyFileSync(join(tmp(), 'other/party0/manifest.json'), join(p0, 'manifest.json'));
    const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
    // a model file or a missing folder where the folder goes: said so
    expect(await codeOf(loadPartyArtifacts(join(tmp(), 'tiny.onnx'), 0))).to.equal(`MPCC5220: artifact ${join(tmp(), 'tiny.onnx')}: a file, not a folder mpcc compile wrote: it is a model, compile it first (mpcc compile ${join(tmp(), 'tiny.onnx')} -o OUT) and give OUT`);
    expect(await codeOf(loadPartyArtifacts(join(tmp(), 'nowhere'), 0))).to.match(/^MPCC5220: artifact .*nowhere: no such folder: give the folder mpcc compile -o wrote/);
    expect(await codeOf(loadPartyArtifacts(p0, 0))).to.equal(`MPCC5220: artifact ${join(p0, 'program.json')}: corrupt (sha256 differs from the manifest)`);
    // program.json edited (a step moved to another round), the manifest left alone.
    const [p2] = copyPartyFolders(out, tmp()).slice(2);
    const prog = join(p2, 'program.json');
    const edited = readFileSync(prog, 'utf8').replace('"round":1,', '"round":2,');
    expect(edited).to.not.equal(readFileSync(prog, 'utf8'));
    writeFileSync(prog, edited);
    expect(await codeOf(loadPartyArtifacts(p2, 2))).to.match(/^MPCC5220: artifact .*party2\/program\.json: corrupt \(sha256 differs/);
    // Its sha256 updated but not the architecture digest (which the session tag comes from).
    const mf = join(p2, 'manifest.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as PartyManifest;
    m.files['program.json'] = sha256(Buffer.from(edited));
    writeFileSync(mf, JSON.stringify(m));
    expect(await codeOf(loadPartyArtifacts(p2, 2))).to.match(new RegExp(`^MPCC5223: artifact ${mf.replace(/[.]/g, '\\.')}: the public architecture digest ${m.architecture} does not match`));
    // Another party's folder given for this id.
    expect(await codeOf(loadPartyArtifacts(join(out, 'party0'), 2))).to.match(/^MPCC0004: .*--id.*party0 holds party 0's program .*give --id 0, or party 2's folder/);
  });
});
