// Bad input to `mpcc run` and `mpcc party`, through the real CLI (child processes of
// bin/mpcc.js): each case must end with exit code 2, exactly one coded error line on stderr
// (progress lines may precede it), no stack trace, nothing on stdout, and no output file or
// temporary left behind. Parties that cannot meet must give up within their connect timeout.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildZooModel } from '../../examples/zoo/index.js';
import { runCompile } from '../../compiler/commands/compile.js';
import { encodeNpy } from '../../compiler/npy.js';
import { freeLocalAddresses } from '../../runtime/session/connect.js';

const BIN = fileURLToPath(new URL('../../../bin/mpcc.js', import.meta.url));

/** What a finished CLI process left: exit code, its output, and how long it took. */
interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  millis: number;
}

/** Runs `mpcc ARGS` in `cwd` (never rejects). */
function mpcc(cwd: string, args: string[]): Promise<Exit> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 60000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr, millis: Date.now() - t0 });
    });
  });
}

/** Asserts a one-line coded user error with `code`; returns its line. */
function expectCodedError(e: Exit, code: string, what: string): string {
  expect(e.code, `${what}: exit code (stderr: ${e.stderr})`).to.equal(2);
  const lines = e.stderr.split('\n').filter((l) => l !== '');
  const errors = lines.filter((l) => /error/i.test(l));
  expect(errors, `${what}: error lines`).to.have.length(1);
  expect(errors[0], what).to.match(new RegExp(`^mpcc: error ${code}: \\S`));
  expect(lines.every((l) => l.startsWith('mpcc: ')), `${what}: stderr is mpcc lines only`).to.equal(true);
  expect(e.stderr, `${what}: no stack trace`).to.not.match(/^\s+at /m);
  expect(e.stderr).to.not.include('internal error');
  expect(e.stdout, `${what}: stdout`).to.equal('');
  return errors[0];
}

describe('e2e: bad input through the CLI', function () {
  this.timeout(120000);
  let dir = '';
  const leftovers = () => readdirSync(dir).filter((f) => f.startsWith('y'));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-e2e-cli-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooModel('tiny-cnn'));
    writeFileSync(join(dir, 'ops.onnx'), buildZooModel('secure-ops')); // another model, same input shape [1,3,16,16]
    runCompile(join(dir, 'tiny.onnx'), { output: join(dir, 'out') });
    runCompile(join(dir, 'ops.onnx'), { output: join(dir, 'ops') });
    writeFileSync(join(dir, 'x.npy'), encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.cos(i / 5))));
    writeFileSync(join(dir, 'big.npy'), encodeNpy([1, 3, 32, 32], new Array(3072).fill(0.5)));
    // An int64 array of the right shape (numpy's np.zeros((1,3,16,16), dtype='int64')).
    const header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3, 16, 16), }";
    const padded = header + ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
    writeFileSync(join(dir, 'int.npy'), Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length, 0]), Buffer.from(padded, 'latin1'), Buffer.alloc(8 * 768)]));
    // Broken copies of the artifacts.
    cpSync(join(dir, 'out'), join(dir, 'missing'), { recursive: true });
    rmSync(join(dir, 'missing/party2/kernels.wasm'));
    cpSync(join(dir, 'out'), join(dir, 'corrupt'), { recursive: true });
    const w = readFileSync(join(dir, 'corrupt/party1/weights.bin'));
    w[w.length >> 1] ^= 1; // one bit of one weight
    writeFileSync(join(dir, 'corrupt/party1/weights.bin'), w);
    cpSync(join(dir, 'out'), join(dir, 'old'), { recursive: true });
    for (const f of ['manifest.json', 'party0/manifest.json', 'party1/manifest.json', 'party2/manifest.json']) {
      const m = join(dir, 'old', f);
      const manifest = JSON.parse(readFileSync(m, 'utf8')) as { mpccVersion: string };
      writeFileSync(m, JSON.stringify({ ...manifest, mpccVersion: `${manifest.mpccVersion}-old` }));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => expect(leftovers(), 'output files left behind').to.deep.equal([]));

  it('mpcc run: wrong input shape, wrong dtype, missing and corrupt artifacts, another version', async () => {
    const run = (out: string, input: string) => mpcc(dir, ['run', out, '--input', input, '-o', 'y.npy']);
    const [shape, dtype, missing, corrupt, old] = await Promise.all([run('out', 'big.npy'), run('out', 'int.npy'), run('missing', 'x.npy'), run('corrupt', 'x.npy'), run('old', 'x.npy')]);
    expect(expectCodedError(shape, 'MPCC3002', 'wrong shape')).to.include('[1,3,32,32]').and.include('[1,3,16,16]').and.include("file 'big.npy'");
    expect(expectCodedError(dtype, 'MPCC3003', 'wrong dtype')).to.include('<i8');
    expect(expectCodedError(missing, 'MPCC5220', 'missing artifact')).to.include('party2/kernels.wasm');
    expect(expectCodedError(corrupt, 'MPCC5220', 'corrupt artifact')).to.include('party1/weights.bin').and.include('sha256');
    expect(expectCodedError(old, 'MPCC5221', 'another version')).to.include('-old');
  });

  it('usage errors (an unknown flag or command, a missing required flag, an argument too many): one MPCC0007 line naming the help, not the help itself', async () => {
    const [flag, command, required, extra, partyFlag] = await Promise.all([
      mpcc(dir, ['run', 'out', '--input', 'x.npy', '--frobnicate']),
      mpcc(dir, ['frobnicate']),
      mpcc(dir, ['infer', 'x.onnx']),
      mpcc(dir, ['compile', 'a.onnx', 'b.onnx', '-o', 'o.out']),
      mpcc(dir, ['party', 'out', '--id', '1', '--peers', '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002', '--frobnicate']),
    ]);
    expect(expectCodedError(flag, 'MPCC0007', 'unknown flag')).to.include("unknown option '--frobnicate'").and.include('mpcc run --help');
    expect(expectCodedError(command, 'MPCC0007', 'unknown command')).to.include("unknown command 'frobnicate'").and.include('mpcc --help');
    expect(expectCodedError(required, 'MPCC0007', 'missing flag')).to.include("required option '--input <file>' not specified").and.include('mpcc infer --help');
    expect(expectCodedError(extra, 'MPCC0007', 'an argument too many')).to.include('too many arguments').and.include('mpcc compile --help');
    expect(expectCodedError(partyFlag, 'MPCC0007', 'unknown party flag')).to.include("unknown option '--frobnicate'").and.include('mpcc party --help');
    // help and the version still print and exit 0; no command at all prints the help, exit 2, and no coded line
    const [help, version, bare] = await Promise.all([mpcc(dir, ['run', '--help']), mpcc(dir, ['--version']), mpcc(dir, [])]);
    expect([help.code, version.code]).to.deep.equal([0, 0]);
    expect(help.stdout).to.match(/^Usage: mpcc run/);
    expect(bare.code).to.equal(2);
    expect(bare.stderr).to.match(/^Usage: mpcc/).and.not.match(/MPCC0007|outputHelp/);
  });

  it('mpcc party: a peer that never connects fails within its timeout, naming the peer', async () => {
    const peers = (await freeLocalAddresses()).join(',');
    const e = await mpcc(dir, ['party', 'out', '--id', '1', '--peers', peers, '--connect-timeout', '1500']);
    const line = expectCodedError(e, 'MPCC5006', 'peer never connects');
    expect(line).to.match(/peer [02] \((client|helper)\) at 127\.0\.0\.1:\d+ within 1500 ms/);
    // 1.5 s of waiting plus the start of a node process (up to ~3 s on this 2-core machine
    // when other jobs load it): "within seconds", not a hang.
    expect(e.millis).to.be.below(12000);
  });

  it('mpcc party: parties holding artifacts of different models or versions refuse each other', async () => {
    // P0 (with its input and -o) has tiny-cnn's artifacts, P1 and P2 those of secure-ops.
    let peers = (await freeLocalAddresses()).join(',');
    const party = (out: string, id: number) => mpcc(dir, ['party', out, '--id', String(id), '--peers', peers, '--connect-timeout', '3000', ...(id === 0 ? ['--input', 'x.npy', '-o', 'y.npy'] : [])]);
    const models = await Promise.all([party('out', 0), party('ops', 1), party('ops', 2)]);
    const codes = models.map((e, id) => /error (MPCC\d+)/.exec(expectCodedError(e, 'MPCC\\d+', `models: party ${id}`))![1]);
    expect(codes).to.include('MPCC5008');
    for (const e of models) expect(e.millis).to.be.below(20000); // 3 s timeout + process starts on a loaded machine
    // P1 holds artifacts of another mpcc version: it refuses them; the others give up on it.
    peers = (await freeLocalAddresses()).join(',');
    const versions = await Promise.all([party('out', 0), party('old', 1), party('out', 2)]);
    expectCodedError(versions[1], 'MPCC5221', 'versions: party 1');
    for (const id of [0, 2]) expect(expectCodedError(versions[id], 'MPCC\\d+', `versions: party ${id}`)).to.match(/peer 1 \(server\)/);
    for (const e of versions) expect(e.millis).to.be.below(20000);
  });

  it('the same artifacts and input run (so the failures above are the bad input\'s)', async () => {
    const e = await mpcc(dir, ['run', 'out', '--input', 'x.npy', '-o', 'y.npy', '--transport', 'inproc', '--json']);
    expect(e.code, e.stderr).to.equal(0);
    expect(JSON.parse(e.stdout).output).to.equal('y.npy');
    expect(existsSync(join(dir, 'y.npy'))).to.equal(true);
    rmSync(join(dir, 'y.npy'));
  });
});
