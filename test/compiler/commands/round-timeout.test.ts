// `--round-timeout` of `mpcc party` and `mpcc run`: a party process whose peer connected and
// then went silent (SIGSTOPped) stops with MPCC5002 naming that peer, within the timeout
// + 1 s, exits non-zero and writes no output; a malformed value is MPCC0004 naming the flag.

import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { parseRoundTimeout } from '../../../compiler/commands/flags.js';
import { freeLocalAddresses } from '../../../runtime/session/connect.js';
import { readManifest, sessionTag } from '../../../runtime/program/index.js';

const CLI = fileURLToPath(new URL('../../../compiler/cli.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../../runtime/transport/fixtures/tcp-party.js', import.meta.url));
const run = promisify(execFile);

describe('mpcc party / mpcc run --round-timeout', function () {
  this.timeout(90000);
  let dir = '';
  let out = '';
  let xPath = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-round-timeout-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    out = join(dir, 'out');
    runCompile(join(dir, 'tiny.onnx'), { output: out });
    xPath = join(dir, 'x.npy');
    writeFileSync(xPath, encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.cos(i / 5))));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('client and server stop with MPCC5002 naming a SIGSTOPped helper, exit non-zero, write nothing', async () => {
    const peers = await freeLocalAddresses();
    const tag = sessionTag(readManifest(out));
    // The helper joins the session (same tag), then stops: its sockets stay open.
    const helper = spawn(process.execPath, [FIXTURE, '2', peers.join(','), 'join', tag], { stdio: ['ignore', 'pipe', 'pipe'] });
    const yPath = join(dir, 'y.npy');
    const timeoutMs = 1500;
    try {
      const party = (id: number) =>
        new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
          const args = [CLI, 'party', out, '--id', String(id), '--peers', peers.join(','), '--round-timeout', String(timeoutMs), '--quiet', ...(id === 0 ? ['--input', xPath, '-o', yPath] : [])];
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
        // From the helper's handshake: the one-time setup, then the first round that needs it.
        expect(r.ms).to.be.below(timeoutMs + 1000 + 2000);
      }
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
