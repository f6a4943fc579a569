// `mpcc party --serve` as processes (runtime/transport/serving.ts; the protocol's own tests are in
// test/runtime/transport/serving.test.ts): P1 and P2 with keygen keys stay up; a client with
// two inputs over one connection gets what `mpcc run` computes (within 8 ulps: local share
// truncation); --max-inferences ends both servers with exit 0; a client killed in the middle
// of its inference ends that inference only (the next client is served); SIGTERM stops both
// servers with exit 0 and a line on stderr. A client fed on stdin (`--input -`) prepares each
// next inference before its line comes (its stderr says so, and the test writes each line only
// after); end of stdin, a bad line, SIGTERM and SIGKILL of such a client end it alone.

import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure, runSecureInputs } from '../../../compiler/commands/run.js';
import { runParty, serveParty } from '../../../compiler/commands/party.js';
import { encodeNpy, readNpy } from '../../../compiler/npy.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';
import { freeLocalAddresses } from '../../../runtime/session/connect.js';
import { writeKeyPair } from '../../../runtime/session/identity.js';

const CLI = fileURLToPath(new URL('../../../compiler/party-cli.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('../../runtime/transport/fixtures/serving-client.js', import.meta.url));

/** A spawned process with its output collected; `exit` resolves with its code. */
function launch(args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, args, { stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, MPCC_THREADS: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => stdout, err: () => stderr, exit };
}

/** Resolves once `text()` matches `re` (the test's timeout fails it otherwise). */
async function waitFor(text: () => string, re: RegExp): Promise<void> {
  while (!re.test(text())) await new Promise((r) => setTimeout(r, 20));
}

describe('mpcc party --serve (processes)', function () {
  this.timeout(90000);
  let dir = '';
  let out = '';
  let keys = '';
  const xs: string[] = [];
  let refs: number[][] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-serve-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    out = join(dir, 'out');
    runCompile(join(dir, 'tiny.onnx'), { output: out });
    keys = join(dir, 'keys');
    for (const id of [0, 1, 2] as const) writeKeyPair(keys, id);
    for (let k = 0; k < 2; k++) {
      xs.push(join(dir, `x${k}.npy`));
      writeFileSync(xs[k], encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.sin(i / (7 + k)))));
    }
    refs = await Promise.all(xs.map(async (x) => (await runSecure(out, { input: x, transport: 'inproc' })).outputs.output));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const keyFlags = (id: number) => ['--key', join(keys, `party${id}.key`), '--peer-keys', keys];
  const server = (id: number, peers: string, extra: string[] = []) => launch([CLI, 'party', out, '--id', String(id), '--peers', peers, '--serve', ...keyFlags(id), ...extra]);
  const client = (peers: string, extra: string[]) => launch([CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', ...keyFlags(0), ...extra]);
  const expectNear = (y: ArrayLike<number>, ref: readonly number[]) => ref.forEach((v, i) => expect(Math.abs(y[i] - v), `logit ${i}`).to.be.at.most(8 * 2 ** -12));

  it('checks the serving flags before connecting (MPCC0004 naming the flag)', async () => {
    const peers = '127.0.0.1:1,127.0.0.1:2,127.0.0.1:3';
    const codeAndText = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
    expect(await codeAndText(runParty(out, { id: '1', peers, maxInferences: '2' }))).to.match(/^MPCC0004: .*--max-inferences/);
    expect(await codeAndText(runParty(out, { id: '0', peers, input: [xs[0], xs[1]] }))).to.match(/^MPCC0004: .*--input.*need --serve/);
    expect(await codeAndText(serveParty(out, { id: '1', peers, maxInferences: '0' }))).to.match(/^MPCC0004: .*--max-inferences.*positive integer/);
    expect(await codeAndText(serveParty(out, { id: '0', peers, input: [xs[0], xs[1]], output: ['y.npy'] }))).to.match(/^MPCC0004: .*one -o per --input/);
    expect(await codeAndText(runParty(out, { id: '0', peers, input: '-' }))).to.match(/^MPCC0004: .*--input.*paths from stdin need --serve/);
    expect(await codeAndText(serveParty(out, { id: '0', peers, input: ['-', xs[0]] }))).to.match(/^MPCC0004: .*--input.*comes alone/);
    expect(await codeAndText(serveParty(out, { id: '0', peers, input: '-', output: ['a', 'b'] }))).to.match(/^MPCC0004: .*--output.*one folder/);
    expect(await codeAndText(serveParty(out, { id: '0', peers, input: xs[0], predeal: false }))).to.match(/^MPCC0004: .*--no-predeal.*only for party 1 or 2 with --serve/);
    expect(await codeAndText(runParty(out, { id: '2', peers, predeal: false }))).to.match(/^MPCC0004: .*--no-predeal/);
    // where the outputs go: a folder with --input -, files otherwise, each its own
    const aFile = join(dir, 'a-file');
    writeFileSync(aFile, 'x');
    expect(await codeAndText(serveParty(out, { id: '0', peers, input: '-', output: [aFile] }))).to.equal(`MPCC0003: cannot write file '${aFile}': it is a file, not a folder`);
    expect(await codeAndText(runParty(out, { id: '0', peers, input: xs[0], output: [dir] }))).to.equal(`MPCC0003: cannot write file '${dir}': it is a folder`);
    expect(await codeAndText(runParty(out, { id: '0', peers, input: xs[0], output: [join(aFile, 'y.npy')] }))).to.contain(`'${aFile}' is a file, not a folder`);
    expect(await codeAndText(serveParty(out, { id: '0', peers, input: [xs[0], xs[1]], output: ['y.npy', 'y.npy'] }))).to.match(/^MPCC0004: .*--output.*given twice/);
    expect(await codeAndText(runParty(out, { id: '1', peers, connectTimeout: '0' }))).to.match(/^MPCC0004: .*--connect-timeout.*positive whole number/);
  });

  it('pre-deals each client\'s first inference by default (the helper logs it; --json says per inference whether and how long), and --no-predeal gives the same outputs without', async () => {
    for (const extra of [[], ['--no-predeal']]) {
      const peers = (await freeLocalAddresses()).join(',');
      const servers = [server(1, peers, ['--max-inferences', '3', '--json', ...extra]), server(2, peers, ['--max-inferences', '3', '--json', ...extra])];
      const ys = [join(dir, 'yp0.npy'), join(dir, 'yp1.npy'), join(dir, 'yp2.npy')];
      const first = client(peers, ['--input', xs[0], '--input', xs[1], '-o', ys[0], '-o', ys[1], '--quiet']);
      expect(await first.exit, first.err()).to.equal(0);
      const second = client(peers, ['--input', xs[1], '-o', ys[2], '--quiet']);
      expect(await second.exit, second.err()).to.equal(0);
      [0, 1, 1].forEach((k, i) => expectNear(readNpy(ys[i]).data, refs[k]));
      for (const s of servers) expect(await s.exit, s.err()).to.equal(0);
      const reports = servers.map((s) => s.out().trim().split('\n').slice(0, 3).map((l) => JSON.parse(l) as { predealt: boolean; predealSeconds: number | null }));
      const on = extra.length === 0;
      for (const r of reports) expect(r.map((x) => x.predealt)).to.deep.equal([on, false, on]);
      expect(reports[1].map((x) => x.predealSeconds !== null && x.predealSeconds > 0)).to.deep.equal([on, false, on]);
      expect(reports[0].every((x) => x.predealSeconds === null)).to.equal(true);
      expect(servers[1].err().includes('party 2: next inference pre-dealt in')).to.equal(on);
    }
  });

  it('--input -: input paths on stdin, each next inference prepared before its line comes; outputs as mpcc run computes; end of stdin: exit 0, a departure at the servers', async () => {
    const peers = (await freeLocalAddresses()).join(',');
    const servers = [server(1, peers), server(2, peers)];
    const outDir = join(dir, 'served');
    const c = launch([CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', ...keyFlags(0), '--input', '-', '-o', outDir, '--json'], 'pipe');
    c.child.stdin!.write(xs[0] + '\n');
    for (let k = 1; k <= 2; k++) {
      // Inference k+1 is prepared (offline phase done) while no line for it exists yet.
      await waitFor(c.err, new RegExp(`party 0: inference ${k + 1} prepared \\(offline phase done\\); waiting for its input`));
      expect(c.out().trim().split('\n')).to.have.length(k);
      if (k < 2) c.child.stdin!.write(`\n  ${xs[k]}  \n`); // blank lines and spaces are skipped
    }
    c.child.stdin!.end();
    expect(await c.exit, c.err()).to.equal(0);
    const lines = c.out().trim().split('\n').map((l) => JSON.parse(l) as { input: string; output: string; preparedBeforeInput: boolean; latencySeconds: number; onlineSeconds: number; offlineSeconds: number });
    expect(lines.map((l) => l.input)).to.deep.equal([xs[0], xs[1]]);
    expect(lines.map((l) => l.output)).to.deep.equal([join(outDir, 'x0.out.npy'), join(outDir, 'x1.out.npy')]);
    expect(lines[1].preparedBeforeInput).to.equal(true);
    for (const l of lines) expect(l.latencySeconds).to.be.at.least(l.onlineSeconds);
    lines.forEach((l, k) => expectNear(readNpy(l.output).data, refs[k]));
    expect(readdirSync(outDir).sort()).to.deep.equal(['x0.out.npy', 'x1.out.npy']);
    servers[0].child.kill('SIGTERM');
    for (const s of servers) expect(await s.exit, s.err()).to.equal(0);
    for (const [i, s] of servers.entries()) expect(s.err()).to.include(`party ${i + 1}: client 1: left (end of its input) after 2 inference(s); its prepared inference 3 is abandoned`);
    expect(servers[0].err()).to.match(/stopped \(SIGTERM\) after 2 inference\(s\) for 1 client\(s\)\n$/);
  });

  it('--input - and servers stopping at --max-inferences: a client whose stdin has ended leaves with exit 0; one whose next line still comes stops with MPCC5034', async () => {
    // Ended: two lines then the end of stdin, servers at --max-inferences 2. The client prepares a
    // third inference meanwhile, which the servers' stop abandons: no input was coming for it.
    let peers = (await freeLocalAddresses()).join(',');
    let servers = [server(1, peers, ['--max-inferences', '2']), server(2, peers, ['--max-inferences', '2'])];
    const outDir = join(dir, 'served-max');
    const ended = launch([CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', ...keyFlags(0), '--input', '-', '-o', outDir, '--json'], 'pipe');
    ended.child.stdin!.end(`${xs[0]}\n${xs[1]}\n`);
    expect(await ended.exit, ended.err()).to.equal(0);
    const lines = ended.out().trim().split('\n').map((l) => JSON.parse(l) as { input: string; output: string; outputs?: unknown; rounds: number; sent: { online: number }; party: number });
    expect(lines.map((l) => l.input)).to.deep.equal(xs);
    lines.forEach((l, k) => expectNear(readNpy(l.output).data, refs[k]));
    // a written output stays out of the line; the line is the client's report
    for (const l of lines) expect(l).to.not.have.property('outputs');
    for (const l of lines) expect([l.party, l.rounds > 0, l.sent.online > 0]).to.deep.equal([0, true, true]);
    for (const s of servers) expect(await s.exit, s.err()).to.equal(0);
    // Not ended: one line, the servers stop after it, and the second line comes later: that
    // input cannot run, so the stop is the client's error (exit 2), its first output kept.
    peers = (await freeLocalAddresses()).join(',');
    servers = [server(1, peers, ['--max-inferences', '1']), server(2, peers, ['--max-inferences', '1'])];
    const late = launch([CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', ...keyFlags(0), '--input', '-', '-o', join(dir, 'served-late')], 'pipe');
    late.child.stdin!.write(xs[0] + '\n');
    for (const s of servers) expect(await s.exit, s.err()).to.equal(0);
    late.child.stdin!.end(xs[1] + '\n');
    expect(await late.exit).to.equal(2);
    expect(late.err()).to.match(/error MPCC5034: peer \d \(\w+\) is stopping/);
    expect(readdirSync(join(dir, 'served-late'))).to.deep.equal(['x0.out.npy']);
  });

  it('--input - without -o or --json: the top classes of every input on stdout under its path, in the order of the lines', async () => {
    const peers = (await freeLocalAddresses()).join(',');
    const servers = [server(1, peers), server(2, peers)];
    const c = launch([CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', ...keyFlags(0), '--input', '-'], 'pipe');
    c.child.stdin!.end(`${xs[0]}\n${xs[1]}\n`);
    expect(await c.exit, c.err()).to.equal(0);
    const text = c.out();
    // Each block: the path, the output's name and size, then its classes by value; the best class
    // of each is the argmax of mpcc run's output for that input (the logits differ by ulps only).
    const blocks = text.split(/^(?=\S.*\.npy:$)/m).filter((b) => b.trim() !== '');
    expect(blocks.map((b) => b.split('\n')[0])).to.deep.equal([`${xs[0]}:`, `${xs[1]}:`]);
    blocks.forEach((b, k) => {
      const best = refs[k].reduce((m, v, i) => (v > refs[k][m] ? i : m), 0);
      expect(b).to.match(new RegExp(`: ${refs[k].length} values\n  top-1: class ${best} `));
    });
    servers[0].child.kill('SIGTERM');
    for (const s of servers) expect(await s.exit, s.err()).to.equal(0);
  });

  it('--input -: a bad line (MPCC0002 naming the file), SIGTERM (MPCC5051) and SIGKILL of a waiting client end that client alone, nothing half-written; the servers serve the next', async () => {
    const peers = (await freeLocalAddresses()).join(',');
    const servers = [server(1, peers), server(2, peers)];
    const stdinClient = (outDir: string) => launch([CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', ...keyFlags(0), '--input', '-', '-o', outDir], 'pipe');
    // A line naming a missing file: the client stops with its error; its prepared session is abandoned.
    const badDir = join(dir, 'bad');
    const missing = join(dir, 'missing.npy');
    const bad = stdinClient(badDir);
    await waitFor(bad.err, /inference 1 prepared/);
    bad.child.stdin!.write(missing + '\n');
    expect(await bad.exit).to.equal(2);
    expect(bad.err()).to.match(new RegExp(`error MPCC0002: cannot read file '${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
    expect(existsSync(badDir)).to.equal(false);
    // SIGTERM while the next inference is prepared: MPCC5051, the first output only.
    const termDir = join(dir, 'term');
    const term = stdinClient(termDir);
    term.child.stdin!.write(xs[0] + '\n');
    await waitFor(term.err, /inference 2 prepared/);
    term.child.kill('SIGTERM');
    expect(await term.exit).to.equal(2);
    expect(term.err()).to.match(/error MPCC5051: stopped \(SIGTERM\) during the offline phase: the inference is abandoned, nothing was written/);
    expect(readdirSync(termDir)).to.deep.equal(['x0.out.npy']);
    // Two inputs of one name would write one file: the second line stops the client, the first output kept.
    const twinDir = join(dir, 'twin');
    const twin = stdinClient(twinDir);
    mkdirSync(join(dir, 'other'), { recursive: true });
    copyFileSync(xs[0], join(dir, 'other', 'x0.npy'));
    twin.child.stdin!.write(`${xs[0]}\n${xs[0]}\n${join(dir, 'other', 'x0.npy')}\n`);
    expect(await twin.exit).to.equal(2);
    expect(twin.err()).to.contain(`error MPCC0003: cannot write file '${join(twinDir, 'x0.out.npy')}': input '${join(dir, 'other', 'x0.npy')}' would overwrite the output of input '${xs[0]}'`);
    expect(readdirSync(twinDir)).to.deep.equal(['x0.out.npy']);
    // SIGKILL while prepared: the servers notice the closed connection at once.
    const killed = stdinClient(join(dir, 'killed'));
    await waitFor(killed.err, /inference 1 prepared/);
    killed.child.kill('SIGKILL');
    await killed.exit;
    const y = join(dir, 'y-after.npy');
    const next = client(peers, ['--input', xs[1], '-o', y, '--quiet']);
    expect(await next.exit, next.err()).to.equal(0);
    expectNear(readNpy(y).data, refs[1]);
    servers[1].child.kill('SIGTERM');
    for (const s of servers) expect(await s.exit, s.err()).to.equal(0);
    for (const [i, s] of servers.entries()) {
      const p = `party ${i + 1}: client`;
      expect(s.err()).to.include(`${p} 1: left (an error at the client) after 0 inference(s); its prepared inference 1 is abandoned`);
      expect(s.err()).to.include(`${p} 2: left (stopped at the client) after 1 inference(s); its prepared inference 2 is abandoned`);
      expect(s.err()).to.include(`${p} 3: left (an error at the client) after 2 inference(s); its prepared inference 3 is abandoned`);
      expect(s.err()).to.match(new RegExp(`${p} 4: inference 1 ended: error MPCC50(01|11|12): `));
      expect(s.err()).to.include(`${p} 5: inference 1 done`);
    }
  });

  it('serves a client with two inputs over one connection, then exits 0 at --max-inferences', async () => {
    const peers = (await freeLocalAddresses()).join(',');
    const servers = [server(1, peers, ['--max-inferences', '2']), server(2, peers, ['--max-inferences', '2'])];
    const ys = [join(dir, 'y0.npy'), join(dir, 'y1.npy')];
    const c = client(peers, ['--input', xs[0], '--input', xs[1], '-o', ys[0], '-o', ys[1], '--quiet', '--json']);
    expect(await c.exit, c.err()).to.equal(0);
    ys.forEach((y, k) => expectNear(readNpy(y).data, refs[k]));
    // a line per inference as a stdin-fed client's: its input, its output file, no values
    const lines = c.out().trim().split('\n').map((l) => JSON.parse(l) as { input: string; output: string; outputs?: unknown; rounds: number });
    expect(lines.map((l) => [l.input, l.output, l.outputs])).to.deep.equal([[xs[0], ys[0], undefined], [xs[1], ys[1], undefined]]);
    expect(await servers[0].exit, servers[0].err()).to.equal(0);
    expect(await servers[1].exit, servers[1].err()).to.equal(0);
    expect(servers[0].err()).to.match(/party 1: client 1: 2 inference\(s\), one-time setup made at start-up\n/); // for pre-dealing
    expect(servers[0].err()).to.match(/party 1: stopped \(served 2 inference\(s\) \(--max-inferences\)\) after 2 inference\(s\) for 1 client\(s\)\n$/);
  });

  it('a client killed mid-inference ends that inference only; the next client is served; SIGTERM stops both servers with exit 0', async () => {
    const peers = (await freeLocalAddresses()).join(',');
    const servers = [server(1, peers), server(2, peers)];
    const dying = launch([CLIENT, out, peers, keys, xs[0], '3']);
    await dying.exit;
    expect(dying.out()).to.equal('dying\n');
    const y = join(dir, 'y-next.npy');
    const c = client(peers, ['--input', xs[1], '-o', y, '--quiet']);
    expect(await c.exit, c.err()).to.equal(0);
    expectNear(readNpy(y).data, refs[1]);
    for (const [i, s] of servers.entries()) expect(s.err()).to.match(new RegExp(`party ${i + 1}: client 1: inference 1 ended: error MPCC50(01|11|12): .*\\n(.|\\n)*party ${i + 1}: client 2: inference 1 done`));
    servers[0].child.kill('SIGTERM');
    expect(await servers[0].exit, servers[0].err()).to.equal(0);
    expect(await servers[1].exit, servers[1].err()).to.equal(0);
    expect(servers[0].err()).to.match(/party 1: stopped \(SIGTERM\) after 1 inference\(s\) for 2 client\(s\)\n$/);
    expect(servers[1].err()).to.match(/party 2: stopped \(the server stopped: SIGTERM\)/);
  });

  it('mpcc run --inputs: one server session for several inputs, the one-time setup in the first only, bytes per inference as cost.json says', async () => {
    const runs = await runSecureInputs(out, { inputs: xs });
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as CostReport;
    expect(runs).to.have.length(2);
    runs.forEach((r, k) => expectNear(r.outputs.output, refs[k]));
    expect(runs.map((r) => r.summary.bytes.oneTime)).to.deep.equal([cost.bytes.oneTime, 0]);
    for (const r of runs) expect({ ...r.summary.bytes, oneTime: 0 }).to.deep.equal({ ...cost.bytes, oneTime: 0 });
    expect(await runSecureInputs(out, { inputs: xs, transport: 'inproc' }).then(() => 'ok', (e: { code?: string }) => e.code)).to.equal('MPCC0004');
    // the CLI's --json: one line per input, naming it
    const mpcc = fileURLToPath(new URL('../../../../bin/mpcc.js', import.meta.url));
    const lines = execFileSync(process.execPath, [mpcc, 'run', out, '--inputs', ...xs, '--json', '--quiet'], { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.input)).to.deep.equal(xs);
    expect(lines.map((l) => l.bytes.online)).to.deep.equal([cost.bytes.online, cost.bytes.online]);
    // and each input's values (no -o here), as the in-process runs compute them
    lines.forEach((l, k) => expectNear(l.outputs.output, refs[k]));
    // each input's outputs handed over as its inference ends, not kept: the same values
    const handed: Record<string, number[]>[] = [];
    const streamed = await runSecureInputs(out, { inputs: xs }, undefined, (i, outputs) => (handed[i] = outputs));
    handed.forEach((o, k) => expectNear(o.output, refs[k]));
    expect(streamed.map((r) => Object.keys(r.outputs))).to.deep.equal([[], []]);
    // the CLI's text: each input under its path, its best class mpcc run's output's argmax
    const text = execFileSync(process.execPath, [mpcc, 'run', out, '--inputs', ...xs, '--quiet'], { encoding: 'utf8' });
    const blocks = text.split(/^(?=\S.*\.npy:$)/m);
    expect(blocks.map((b) => b.split('\n')[0])).to.deep.equal(xs.map((x) => `${x}:`));
    blocks.forEach((b, k) => {
      const best = refs[k].reduce((m, v, i) => (v > refs[k][m] ? i : m), 0);
      expect(b).to.match(new RegExp(`top-1: class ${best} `));
      expect(b).to.match(/bytes sent: .* per inference/);
    });
  });
});
