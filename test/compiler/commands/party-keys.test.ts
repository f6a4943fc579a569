// `mpcc keygen` and `mpcc party --key --peer-keys` on tiny-cnn: a deployment of three party
// processes with keys from keygen computes what `mpcc run` computes; an impostor's key is
// refused with a coded error naming the peer and no output; keyless parties run only on
// loopback or with --insecure (which warns); key files are checked (MPCC5019).

import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { runParty } from '../../../compiler/commands/party.js';
import { runKeygen } from '../../../compiler/commands/keygen.js';
import { encodeNpy, readNpy } from '../../../compiler/npy.js';
import { freeLocalAddresses } from '../../../runtime/session/connect.js';

const CLI = fileURLToPath(new URL('../../../compiler/cli.js', import.meta.url));
const run = promisify(execFile);
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

/** Runs `mpcc ARGS`; resolves with the exit code and both streams (never rejects). */
function mpcc(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('mpcc keygen / mpcc party with keys', function () {
  this.timeout(120000);
  let dir = '';
  let out = '';
  let xPath = '';
  let keys = '';
  /** The fingerprints keygen printed for parties 0, 1, 2. */
  const printed: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-keys-'));
    [out, xPath, keys] = ['out', 'x.npy', 'keys'].map((f) => join(dir, f));
    // Each party makes its own pair (on its own machine, in a deployment).
    for (const id of ['0', '1', '2']) {
      const r = await run(process.execPath, [CLI, 'keygen', '--id', id, '-o', keys]);
      expect(r.stdout).to.match(/^wrote .*party\d\.key .*\nfingerprint [0-9a-f:]{39}\n$/);
      printed.push(/fingerprint (\S+)/.exec(r.stdout)![1]);
    }
    const onnx = join(dir, 'tiny.onnx');
    writeFileSync(onnx, buildZooFiles('tiny-cnn').model);
    runCompile(onnx, { output: out });
    writeFileSync(xPath, encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.cos(i / 5))));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keygen writes an X25519 pair, the private key with mode 0600, and refuses to overwrite it (MPCC5019)', async () => {
    for (const id of [0, 1, 2]) {
      expect(statSync(join(keys, `party${id}.key`)).mode & 0o777).to.equal(0o600);
      const priv = createPrivateKey(readFileSync(join(keys, `party${id}.key`)));
      const pub = createPublicKey(readFileSync(join(keys, `party${id}.pub`)));
      expect(priv.asymmetricKeyType).to.equal('x25519');
      expect(createPublicKey(priv).export({ format: 'der', type: 'spki' }).equals(pub.export({ format: 'der', type: 'spki' }))).to.equal(true);
    }
    const before = readFileSync(join(keys, 'party1.key'), 'utf8');
    expect(() => runKeygen({ id: '1', output: keys })).to.throw(/MPCC5019|already exists/).with.property('code', 'MPCC5019');
    expect(readFileSync(join(keys, 'party1.key'), 'utf8')).to.equal(before);
    expect(() => runKeygen({ id: '3', output: keys })).to.throw().with.property('code', 'MPCC0004');
  });

  it("keygen --show prints a received .pub's fingerprint as keygen printed it where the key was made (and a .key's)", async () => {
    const r = await mpcc(['keygen', '--show', join(keys, 'party0.pub'), join(keys, 'party2.pub'), join(keys, 'party1.key')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`${join(keys, 'party0.pub')}: public key, fingerprint ${printed[0]}\n${join(keys, 'party2.pub')}: public key, fingerprint ${printed[2]}\n${join(keys, 'party1.key')}: private key, fingerprint ${printed[1]}\n`);
    // the folder stands for its key files
    const folder = await mpcc(['keygen', '--show', keys]);
    expect(folder.stdout.split('\n').filter(Boolean)).to.deep.equal([0, 1, 2].flatMap((p) => [`${join(keys, `party${p}.key`)}: private key, fingerprint ${printed[p]}`, `${join(keys, `party${p}.pub`)}: public key, fingerprint ${printed[p]}`]));
    const both = await mpcc(['keygen', '--show', join(keys, 'party0.pub'), '--id', '0']);
    expect([both.code, both.stderr]).to.satisfy(([c, e]: [number | null, string]) => c === 2 && e.includes('MPCC0004') && e.includes('not with --show'));
    const junk = await mpcc(['keygen', '--show', xPath]);
    expect([junk.code, junk.stderr]).to.satisfy(([c, e]: [number | null, string]) => c === 2 && e.includes('MPCC5019') && e.includes('x.npy'));
  });

  it('three `mpcc party` processes with keygen keys compute what `mpcc run` computes', async () => {
    const peers = (await freeLocalAddresses()).join(',');
    const yPath = join(dir, 'y-party.npy');
    const k = (id: number) => ['--key', join(keys, `party${id}.key`), '--peer-keys', keys];
    const [p0, p1, p2] = await Promise.all([
      mpcc(['party', out, '--id', '0', '--peers', peers, ...k(0), '--input', xPath, '-o', yPath, '--quiet']),
      mpcc(['party', out, '--id', '1', '--peers', peers, ...k(1)]),
      mpcc(['party', out, '--id', '2', '--peers', peers, ...k(2), '--quiet']),
    ]);
    for (const p of [p0, p1, p2]) expect(p.code, p.stderr).to.equal(0);
    expect(p1.stdout + p2.stdout).to.equal('');
    // without --quiet (stderr not a terminal, no --progress) a party still says its own and the
    // pinned fingerprints as it starts: what its operator compares with keygen's
    expect(p1.stderr).to.contain(`mpcc: party 1: key fingerprint ${printed[1]}; pins party 0 ${printed[0]}, party 2 ${printed[2]} (${keys})`);
    expect(p2.stderr).to.equal('');
    expect(p0.stdout).to.equal(`output written to ${yPath}\n`);
    const ref = await runSecure(out, { input: xPath });
    const y = readNpy(yPath);
    expect(y.shape).to.deep.equal([1, 10]);
    // Exact up to the ±1 truncation error (it depends on the random masks).
    ref.outputs.output.forEach((v, i) => expect(Math.abs(v - y.data[i])).to.be.below(0.01));
    // cost.json's byte counts still hold for `mpcc run`'s authenticated parties: payload only.
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as { bytes: unknown; rounds: number };
    expect(ref.summary.bytes).to.deep.equal(cost.bytes);
    expect(ref.summary.rounds).to.equal(cost.rounds);
  });

  it('refuses a party whose key is not the pinned one: coded errors naming the peer, exit 2, no output', async () => {
    const rogueKeys = join(dir, 'rogue');
    runKeygen({ id: '2', output: rogueKeys });
    const peers = (await freeLocalAddresses()).join(',');
    const yPath = join(dir, 'y-rogue.npy');
    const k = (id: number) => ['--key', join(keys, `party${id}.key`), '--peer-keys', keys, '--connect-timeout', '2000'];
    const [p0, p1, p2] = await Promise.all([
      mpcc(['party', out, '--id', '0', '--peers', peers, ...k(0), '--input', xPath, '-o', yPath]),
      mpcc(['party', out, '--id', '1', '--peers', peers, ...k(1)]),
      mpcc(['party', out, '--id', '2', '--peers', peers, '--key', join(rogueKeys, 'party2.key'), '--peer-keys', keys, '--connect-timeout', '2000']),
    ]);
    for (const p of [p0, p1, p2]) {
      expect(p.code).to.equal(2);
      expect(p.stdout).to.equal('');
    }
    expect(p0.stderr).to.match(/error MPCC5016: peer 2 \(helper\) never made an authenticated connection .* failed authentication/);
    expect(p1.stderr).to.match(/error MPCC5016: peer 2 \(helper\)/);
    expect(p2.stderr).to.match(/error MPCC5015: authentication of peer [01] \((client|server)\) failed/);
    expect(existsSync(yPath)).to.equal(false);
  });

  it('without keys: refused on a non-loopback address (MPCC5020), allowed with --insecure, which warns', async () => {
    const far = '10.1.2.3:7000,127.0.0.1:7001,127.0.0.1:7002';
    expect(await codeOf(runParty(out, { id: '1', peers: far }))).to.equal('MPCC5020');
    const peers = (await freeLocalAddresses()).join(',');
    const r = await mpcc(['party', out, '--id', '1', '--peers', peers, '--insecure', '--connect-timeout', '300']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('mpcc: warning: --insecure: the links to the other parties are neither encrypted nor authenticated');
    expect(r.stderr).to.contain('error MPCC5006');
  });

  it('checks the key flags and files (MPCC0004, MPCC5019) before connecting', async () => {
    const peers = '127.0.0.1:1,127.0.0.1:2,127.0.0.1:3';
    expect(await codeOf(runParty(out, { id: '1', peers, key: join(keys, 'party1.key') }))).to.equal('MPCC0004');
    expect(await codeOf(runParty(out, { id: '1', peers, peerKeys: keys }))).to.equal('MPCC0004');
    expect(await codeOf(runParty(out, { id: '1', peers, key: join(keys, 'party1.key'), peerKeys: keys, insecure: true }))).to.equal('MPCC0004');
    // A public key where the private key belongs, a folder without a peer's key, a missing file.
    const err = (p: Promise<unknown>) => p.then(() => null, (e: Error & { code?: string }) => e);
    const e1 = await err(runParty(out, { id: '1', peers, key: join(keys, 'party1.pub'), peerKeys: keys }));
    expect([e1?.code, e1?.message]).to.satisfy(([c, m]: string[]) => c === 'MPCC5019' && m.includes('party1.pub') && m.includes('not a PEM private key'));
    const e2 = await err(runParty(out, { id: '1', peers, key: join(keys, 'party1.key'), peerKeys: join(dir, 'rogue') }));
    expect(e2?.code).to.equal('MPCC5019');
    expect(e2?.message).to.contain('party0.pub');
    const e3 = await err(runParty(out, { id: '0', peers, input: xPath, key: join(keys, 'party0.key'), peerKeys: join(dir, 'nowhere') }));
    expect(e3?.code).to.equal('MPCC5019');
    expect(e3?.message).to.contain('cannot read it (ENOENT)');
  });
});
