// `mpcc run` (three processes over TCP, and in process) and `mpcc party` on tiny-cnn: the
// --json object against cost.json and the in-process result; coded errors for a wrong input
// shape, a peer that never connects, and parties holding artifacts of different compiles;
// --round-timeout: a party process whose peer connected and then went silent (SIGSTOPped)
// stops with MPCC5002 naming that peer within the timeout + 1 s, exits non-zero and writes
// no output; a malformed value is MPCC0004 naming the flag; SIGTERM during the offline phase
// is MPCC5051 at the party and its peer, with no output written.

import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure, runSecureInputs, type RunSummary } from '../../../compiler/commands/run.js';
import type { MpccError } from '../../../runtime/diagnostics.js';
import { runParty } from '../../../compiler/commands/party.js';
import { encodeNpy, readNpy } from '../../../compiler/npy.js';
import { freeLocalAddresses } from '../../../runtime/session/connect.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';
import { parseRoundTimeout } from '../../../compiler/commands/flags.js';
import { costPhases } from '../../../compiler/commands/cost.js';
import { readManifest, sessionTag } from '../../../runtime/program/index.js';

const CLI = fileURLToPath(new URL('../../../compiler/cli.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../../runtime/transport/fixtures/tcp-party.js', import.meta.url));
const run = promisify(execFile);
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

describe('mpcc run / mpcc party', function () {
  this.timeout(90000);
  let dir = '';
  let out = '';
  let xPath = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-run-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    out = join(dir, 'out');
    runCompile(join(dir, 'tiny.onnx'), { output: out });
    xPath = join(dir, 'x.npy');
    writeFileSync(xPath, encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.sin(i / 7))));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs three processes over loopback TCP and prints the --json object; cost.json predicted it', async () => {
    const yPath = join(dir, 'y.npy');
    const { stdout } = await run(process.execPath, [CLI, 'run', out, '--input', xPath, '-o', yPath, '--json']);
    const s = JSON.parse(stdout) as RunSummary;
    expect(Object.keys(s).sort()).to.deep.equal(['architecture', 'bytes', 'offline', 'online', 'output', 'rounds', 'wallSeconds']);
    expect(Object.keys(s.bytes).sort()).to.deep.equal(['oneTime', 'online', 'perParty', 'preprocessing', 'total']);
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as CostReport;
    expect(s.rounds).to.equal(cost.rounds);
    // The offline and online phases apart, as mpcc cost predicts them; the wall time is both.
    const phases = costPhases(cost);
    expect({ rounds: s.online.rounds, bytes: s.online.bytes }).to.deep.equal(phases.online);
    expect({ rounds: s.offline.rounds, bytes: s.offline.bytes }).to.deep.equal(phases.offline);
    expect(s.offline.rounds).to.equal(3); // P2's comparison bit corrections, the closing exchange, the 'done' frames
    expect(s.online.seconds).to.be.above(0).and.at.most(s.wallSeconds);
    expect(s.offline.seconds).to.be.above(0).and.at.most(s.wallSeconds);
    // Each party's CPU seconds per phase: its own process's, hence positive and within what
    // the machine's cores give in the phase's wall time (with margin for the clocks' granularity).
    for (const ph of [s.online, s.offline]) {
      expect(ph.cpuSeconds).to.have.length(3);
      for (const c of ph.cpuSeconds) expect(c).to.be.above(0).and.at.most(availableParallelism() * ph.seconds + 0.05);
    }
    expect(s.bytes).to.deep.equal(cost.bytes);
    expect(s.output).to.equal(yPath);
    // The same computation in one process gives the same output (the protocols are exact up
    // to the ±1 truncation error, which depends on the random masks).
    const inproc = await runSecure(out, { input: xPath, transport: 'inproc' });
    expect(inproc.summary.bytes).to.deep.equal(cost.bytes);
    const y = readNpy(yPath);
    expect(y.shape).to.deep.equal([1, 10]);
    inproc.outputs.output.forEach((v, i) => expect(Math.abs(v - y.data[i])).to.be.below(0.01));
  });

  it('--verify-against-plaintext with another model is refused before any party starts; --expected exits 1 when top-1 differs', async () => {
    writeFileSync(join(dir, 'other.onnx'), buildZooFiles('secure-ops').model);
    const t0 = Date.now();
    const other = await run(process.execPath, [CLI, 'run', out, '--input', xPath, '--verify-against-plaintext', join(dir, 'other.onnx')]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(other?.code).to.equal(2);
    expect(other?.stderr).to.match(/MPCC0004: .*--verify-against-plaintext: it is not the model '.*out' was compiled from \(its sha256 [0-9a-f]{12}…, the compile's [0-9a-f]{12}…/);
    expect(Date.now() - t0, 'no inference ran').to.be.below(5000);
    // the run's own output as --expected: exit 0; its negation (another top class): exit 1, said on stderr
    const y = join(dir, 'y-expected.npy');
    await run(process.execPath, [CLI, 'run', out, '--input', xPath, '-o', y, '--transport', 'inproc', '--quiet']);
    const same = await run(process.execPath, [CLI, 'run', out, '--input', xPath, '--transport', 'inproc', '--expected', y]);
    expect(same.stdout).to.match(/agreement with the expected output \(scores\): top-1 equal/);
    const yy = readNpy(y);
    writeFileSync(join(dir, 'y-negated.npy'), encodeNpy(yy.shape, Array.from(yy.data, (v) => -v)));
    const differs = await run(process.execPath, [CLI, 'run', out, '--input', xPath, '--transport', 'inproc', '--expected', join(dir, 'y-negated.npy')]).then(() => undefined, (e: { code: number; stdout: string; stderr: string }) => e);
    expect(differs?.code).to.equal(1);
    expect(differs?.stdout).to.match(/top-1 differs/);
    expect(differs?.stderr).to.match(/warning: --expected: the top-1 class differs from .*y-negated\.npy's \(exit code 1\)/);
  });

  it('refuses checks --inputs cannot make (--expected, --verify-against-plaintext) and a party folder for OUT, before any party starts', async () => {
    for (const extra of [{ expected: xPath }, { verifyAgainstPlaintext: join(dir, 'tiny.onnx') }]) {
      const e = await runSecureInputs(out, { inputs: [xPath], ...extra }).then(() => undefined, (err: MpccError) => err);
      expect(e?.code).to.equal('MPCC0004');
      expect(e?.message).to.match(/not with --inputs/);
    }
    const party = await runSecure(join(out, 'party0'), { input: xPath, transport: 'inproc' }).then(() => undefined, (err: MpccError) => err);
    expect(party?.message).to.match(/party0' for flag OUT: it is party 0's folder: mpcc run runs the three parties from OUT.*mpcc party --id 0/);
  });

  it('refuses an input of the wrong shape (MPCC3002) before starting any party', async () => {
    const bad = join(dir, 'bad.npy');
    writeFileSync(bad, encodeNpy([1, 3, 8, 8], new Array(192).fill(0)));
    expect(await codeOf(runSecure(out, { input: bad, transport: 'inproc' }))).to.equal('MPCC3002');
    writeFileSync(bad, encodeNpy([3, 16, 16], new Array(768).fill(0)));
    expect(await codeOf(runSecure(out, { input: bad, transport: 'inproc' })), 'C×H×W: one image of a batch-1 model').to.equal('ok');
    writeFileSync(bad, encodeNpy([16, 16, 3], new Array(768).fill(0)));
    expect(await codeOf(runSecure(out, { input: bad, transport: 'inproc' })), 'H×W×C is not').to.equal('MPCC3002');
    // the C×H×W file's output is the N×C×H×W one's
    const x = readNpy(xPath);
    writeFileSync(bad, encodeNpy([3, 16, 16], Array.from(x.data)));
    const [a, b] = [await runSecure(out, { input: bad, transport: 'inproc' }), await runSecure(out, { input: xPath, transport: 'inproc' })];
    expect(a.outputs.output.length).to.equal(10);
    expect(Math.max(...a.outputs.output.map((v, i) => Math.abs(v - b.outputs.output[i])))).to.be.below(1e-3);
  });

  it('refuses -o over its input, inside OUT, or a folder (MPCC0003) before starting any party; nothing changed', async () => {
    const manifest = readFileSync(join(out, 'manifest.json'));
    const texts: string[] = [];
    for (const y of [xPath, join(out, 'manifest.json'), dir]) {
      const lines: string[] = [];
      const e = await runSecure(out, { input: xPath, output: y, transport: 'inproc', progress: true }, (l) => lines.push(l)).then(() => null, (err: Error & { code?: string }) => err);
      expect(e?.code).to.equal('MPCC0003');
      expect(lines.some((l) => l.startsWith('running the three parties'))).to.equal(false);
      texts.push(e!.message);
    }
    expect(texts[0]).to.contain("it is this command's input");
    expect(texts[1]).to.contain(`it lies inside '${out}', this command's input`);
    expect(texts[2]).to.contain('it is a folder');
    expect(readFileSync(join(out, 'manifest.json')).equals(manifest)).to.equal(true);
  });

  it('fails with MPCC5006 when a peer never connects', async () => {
    const peers = (await freeLocalAddresses()).join(',');
    const t0 = Date.now();
    expect(await codeOf(runParty(out, { id: '1', peers, connectTimeout: '800' }))).to.equal('MPCC5006');
    expect(Date.now() - t0).to.be.below(5000);
  });

  it('parties with artifacts of different compiles refuse each other (MPCC5008)', async () => {
    const other = join(dir, 'other');
    runCompile(join(dir, 'tiny.onnx'), { output: other, fracBits: 10 });
    const peers = (await freeLocalAddresses()).join(',');
    const codes = await Promise.all([
      codeOf(runParty(out, { id: '0', peers, input: xPath, connectTimeout: '4000' })),
      codeOf(runParty(other, { id: '1', peers, connectTimeout: '4000' })),
      codeOf(runParty(other, { id: '2', peers, connectTimeout: '4000' })),
    ]);
    expect(codes).to.include('MPCC5008');
    expect(codes).to.not.include('ok');
  });

  it('client and server stop with MPCC5002 naming a SIGSTOPped helper, exit non-zero, write nothing', async () => {
    const peers = await freeLocalAddresses();
    const tag = sessionTag(readManifest(out));
    // The helper joins the session (same tag), then stops: its sockets stay open.
    const helper = spawn(process.execPath, [FIXTURE, '2', peers.join(','), 'join', tag], { stdio: ['ignore', 'pipe', 'pipe'] });
    const yPath = join(dir, 'y-stalled.npy');
    const timeoutMs = 1500;
    try {
      const party = (id: number) =>
        new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
          // The client waits twice as long, so the server, which waits for the helper, always
          // times out first and reports it (the client's first online round, waiting for the
          // server, starts only a few ms after the server's wait for the helper: a race).
          const wait = id === 0 ? 2 * timeoutMs : timeoutMs;
          const args = [CLI, 'party', out, '--id', String(id), '--peers', peers.join(','), '--round-timeout', String(wait), '--quiet', ...(id === 0 ? ['--input', xPath, '-o', yPath] : [])];
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
          let stderr = '';
          let t0 = 0;
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          helper.stdout!.once('data', () => (t0 = Date.now()));
          child.on('close', (code) => resolve({ code, stderr, ms: Date.now() - t0 }));
        });
      const runs = [party(0), party(1)];
      await new Promise<void>((resolve) => helper.stdout!.once('data', () => resolve()));
      helper.kill('SIGSTOP');
      const [p0, p1] = await Promise.all(runs);
      for (const r of [p0, p1]) {
        expect(r.code, r.stderr).to.not.equal(0);
        expect(r.stderr).to.match(/error MPCC5002: timed out after 1500 ms waiting for peer 2 \(helper\) in round \d+/);
        // From the helper's handshake: the warm-up (runtime/program/warm-up.ts, up to a second on
        // a loaded 2-core machine), the one-time setup, then the first round that needs it; a
        // party that hung would never close.
        expect(r.ms).to.be.below(timeoutMs + 1000 + 4000);
      }
      expect(existsSync(yPath)).to.equal(false);
    } finally {
      helper.kill('SIGCONT');
      helper.kill('SIGKILL');
    }
  });

  it('SIGTERM during the offline phase: MPCC5051 naming the phase, the server told, exit non-zero, no output written', async () => {
    const peers = await freeLocalAddresses();
    const tag = sessionTag(readManifest(out));
    // The helper joins the session, then stops: client and server finish the one-time setup
    // and wait in the offline phase's closing exchange for it.
    const helper = spawn(process.execPath, [FIXTURE, '2', peers.join(','), 'join', tag], { stdio: ['ignore', 'pipe', 'pipe'] });
    const yPath = join(dir, 'y-sigterm.npy');
    try {
      const party = (id: number) => {
        const args = [CLI, 'party', out, '--id', String(id), '--peers', peers.join(','), '--round-timeout', '60000', '--progress', ...(id === 0 ? ['--input', xPath, '-o', yPath] : [])];
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
        return { child, done, stderr: () => stderr };
      };
      const [p0, p1] = [party(0), party(1)];
      await new Promise<void>((resolve) => helper.stdout!.once('data', () => resolve()));
      helper.kill('SIGSTOP');
      // P0 reports its offline steps done, then waits for the helper in the closing exchange.
      for (let i = 0; i < 1200 && !/party 0: offline (\d+)\/\1 steps/.test(p0.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(p0.stderr()).to.match(/party 0: offline (\d+)\/\1 steps/);
      await new Promise((r) => setTimeout(r, 300));
      p0.child.kill('SIGTERM');
      const [r0, r1] = await Promise.all([p0.done, p1.done]);
      expect(r0.code, r0.stderr).to.not.equal(0);
      expect(r0.stderr).to.match(/error MPCC5051: stopped \(SIGTERM\) during the offline phase: the inference is abandoned, nothing was written/);
      expect(r1.code, r1.stderr).to.not.equal(0);
      expect(r1.stderr).to.match(/error MPCC5011: peer 0 \(client\) aborted the session: .*stopped \(SIGTERM\) during the offline phase/);
      expect(existsSync(yPath)).to.equal(false);
    } finally {
      helper.kill('SIGCONT');
      helper.kill('SIGKILL');
    }
  });

  it('refuses a malformed --round-timeout with MPCC0004 naming the flag, in both commands', async () => {
    for (const cmd of [['run', out, '--input', xPath], ['party', out, '--id', '1', '--peers', '127.0.0.1:1,127.0.0.1:2,127.0.0.1:3']]) {
      const r = await run(process.execPath, [CLI, ...cmd, '--round-timeout', '2s']).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain("error MPCC0004: invalid value '2s' for flag --round-timeout");
    }
    expect(parseRoundTimeout(undefined)).to.equal('schedule');
    expect(parseRoundTimeout('0')).to.equal(0);
    expect(parseRoundTimeout('2500')).to.equal(2500);
  });

  it('mpcc run passes --round-timeout to the three processes and still runs', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'run', out, '--input', xPath, '--round-timeout', '60000', '--json']);
    expect(JSON.parse(stdout).rounds).to.be.above(0);
  });
});
