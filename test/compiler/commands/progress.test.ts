// Progress lines and the shared flags: every long command (compile, cost, infer, ir, run,
// party) writes progress lines to the sink it is given and none with --quiet; the CLI writes
// them on stderr only when it is a terminal or --progress is given; --frac-bits is 4..28 with
// one message in every command that takes it.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NO_PROGRESS, type ProgressSink, stderrProgress } from '../../../compiler/cli-support.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runCost } from '../../../compiler/commands/cost.js';
import { runInfer } from '../../../compiler/commands/infer.js';
import { runIr } from '../../../compiler/commands/ir.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { runParty } from '../../../compiler/commands/party.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { freeLocalAddresses } from '../../../runtime/session/connect.js';
import { errorOf } from '../../passes/util.js';

const CLI = fileURLToPath(new URL('../../../compiler/cli.js', import.meta.url));

describe('progress lines and shared flags', function () {
  this.timeout(90000);
  let dir = '';
  const file = (name: string) => join(dir, name);
  const silent = { stdout: () => undefined, stderr: () => undefined };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-progress-'));
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    writeFileSync(file('x.npy'), encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.cos(i / 11))));
    runCompile(file('tiny.onnx'), { output: file('out') });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The lines a command gave its sink, with and without --quiet. */
  async function linesOf(command: (quiet: boolean, sink: ProgressSink) => unknown): Promise<{ loud: string[]; quiet: string[] }> {
    const loud: string[] = [];
    const quiet: string[] = [];
    await command(false, (l) => loud.push(l));
    await command(true, (l) => quiet.push(l));
    return { loud, quiet };
  }

  const COMMANDS: [string, (quiet: boolean, sink: ProgressSink) => unknown, RegExp][] = [
    ['compile', (quiet, sink) => runCompile(file('tiny.onnx'), { output: file('o2'), quiet }, sink), /^wrote .* 19 rounds/],
    ['cost', (quiet, sink) => runCost(file('tiny.onnx'), { quiet }, sink), /^pass 7\/7 schedule-rounds: \d+ ms$/],
    ['infer', (quiet, sink) => runInfer(file('tiny.onnx'), { input: file('x.npy'), fixed: true, quiet }, sink), /^pass 5\/5 quantize\{frac-bits=16\}: \d+ ms$/],
    ['ir', (quiet, sink) => runIr(file('tiny.onnx'), { quiet }, silent, sink), /^loading .*tiny\.onnx$/],
    ['run (one process)', (quiet, sink) => runSecure(file('out'), { input: file('x.npy'), transport: 'inproc', quiet }, sink), /^party 0: inference (\d+)\/\1 steps/],
    ['run (three processes)', (quiet, sink) => runSecure(file('out'), { input: file('x.npy'), quiet }, sink), /^party [012]: inference (\d+)\/\1 steps/],
  ];
  for (const [name, command, expected] of COMMANDS) {
    it(`${name}: progress lines to its sink, none with --quiet`, async () => {
      const { loud, quiet } = await linesOf(command);
      expect(loud.some((l) => expected.test(l)), loud.join('\n')).to.equal(true);
      expect(quiet).to.deep.equal([]);
    });
  }

  it('party: progress lines to its sink, none with --quiet', async () => {
    for (const quiet of [false, true]) {
      const peers = (await freeLocalAddresses()).join(',');
      const lines: string[][] = [[], [], []];
      await Promise.all([0, 1, 2].map((id) => runParty(file('out'), { id: String(id), peers, quiet, ...(id === 0 ? { input: file('x.npy') } : {}) }, (l) => lines[id].push(l))));
      for (const id of [0, 1, 2]) {
        if (quiet) expect(lines[id]).to.deep.equal([]);
        else expect(lines[id][0]).to.match(new RegExp(`^party ${id}: connecting to `));
      }
    }
  });

  it('the CLI writes them on stderr only to a terminal or with --progress, never with --quiet', () => {
    const stream = (isTTY: boolean) => {
      const written: string[] = [];
      return { written, stream: { isTTY, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream };
    };
    const cases: [boolean, { quiet?: boolean; progress?: boolean }, string[]][] = [
      [true, {}, ['mpcc: hello\n']],
      [true, { quiet: true }, []],
      [false, {}, []],
      [false, { progress: true }, ['mpcc: hello\n']],
      [false, { progress: true, quiet: true }, []],
    ];
    for (const [isTTY, flags, want] of cases) {
      const s = stream(isTTY);
      stderrProgress(flags, s.stream)('hello');
      expect(s.written, JSON.stringify({ isTTY, ...flags })).to.deep.equal(want);
    }
    expect(stderrProgress({}, stream(false).stream)).to.equal(NO_PROGRESS);
    // Through the CLI, stderr a pipe: quiet by default, lines with --progress.
    const compile = (...flags: string[]) => spawnSync(process.execPath, [CLI, 'compile', file('tiny.onnx'), '-o', file('o3'), ...flags], { encoding: 'utf8' });
    const quiet = compile();
    expect(quiet.status).to.equal(0);
    expect(quiet.stderr).to.equal('');
    const loud = compile('--progress');
    expect(loud.stderr.split('\n')[0]).to.equal(`mpcc: loading ${file('tiny.onnx')}`);
    expect(loud.stderr).to.match(/^mpcc: pass 7\/7 schedule-rounds: \d+ ms$/m);
  });

  it('--frac-bits is 4..28 with one message in compile, cost, infer and ir', () => {
    const calls: [string, (f: string) => unknown][] = [
      ['compile', (f) => runCompile(file('tiny.onnx'), { output: file('o4'), fracBits: f })],
      ['cost', (f) => runCost(file('tiny.onnx'), { fracBits: f })],
      ['infer', (f) => runInfer(file('tiny.onnx'), { input: file('x.npy'), fixed: true, fracBits: f })],
      ['ir', (f) => runIr(file('tiny.onnx'), { fracBits: f }, silent)],
    ];
    for (const [name, call] of calls) {
      for (const bad of ['3', '29', 'twelve', '12.5', '-12']) {
        const e = errorOf(() => call(bad));
        expect(e.code, `${name} ${bad}`).to.equal('MPCC0004');
        expect(e.message, name).to.equal(`invalid value '${bad}' for flag --frac-bits: expected an integer in 4..28`);
      }
    }
    for (const [name, call] of calls) expect(() => call('28'), name).to.not.throw();
  });
});
