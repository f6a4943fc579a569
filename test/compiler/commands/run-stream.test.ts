// compiler/commands/run-stream.ts: secure inferences over a stream of inputs, as `mpcc eval OUT`
// runs them. Against the same inputs run one at a time in one process (runSecure, inproc): the
// same outputs, in order; every inference's bytes as cost.json says (the one-time setup in the
// first only). The footprint stays bounded: an input is written only when at most `lookahead`
// inputs are still waiting ahead of the client, and at each output the folder holds those inputs
// and no output. Errors: a writeInput or onOutput that throws ends the run with its own error,
// all three parties stopped, the folder emptied of outputs.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { streamSecureInferences } from '../../../compiler/commands/run-stream.js';
import { encodeNpy } from '../../../compiler/npy.js';
import type { CostReport } from '../../../passes/secure/cost-model.js';

/** The command lines of the `mpcc party` processes running program `out` (from /proc). */
function partiesOf(out: string): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((f) => /^\d+$/.test(f))) {
    try {
      const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (line.includes('party-cli.js') && line.includes(out)) lines.push(line);
    } catch {
      // gone meanwhile
    }
  }
  return lines;
}

describe('secure inferences over a stream of inputs (run-stream.ts)', function () {
  this.timeout(120000);
  let dir = '';
  let out = '';
  const N = 7;
  const image = (k: number) => Array.from({ length: 768 }, (_, i) => Math.cos(i / (5 + k)) * (1 + (k % 3)));
  let refs: number[][] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-stream-test-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    out = join(dir, 'out');
    runCompile(join(dir, 'tiny.onnx'), { output: out });
    refs = [];
    for (let k = 0; k < N; k++) {
      const x = join(dir, `ref${k}.npy`);
      writeFileSync(x, encodeNpy([1, 3, 16, 16], image(k)));
      refs.push((await runSecure(out, { input: x, transport: 'inproc' })).outputs.output);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the outputs a run of each input gives, in order, each inference costing what cost.json says, with at most `lookahead` inputs waiting and no output kept', async () => {
    const work = join(dir, 'work');
    const events: string[] = [];
    const outputs: number[][] = [];
    const lookahead = 2;
    const summaries = await streamSecureInferences(
      out,
      N,
      (k, file) => {
        events.push(`in ${k}`);
        writeFileSync(file, encodeNpy([1, 3, 16, 16], image(k)));
      },
      (k, values) => {
        events.push(`out ${k}`);
        outputs.push(Array.from(values));
        // written inputs not yet revealed: the ones waiting beyond output k
        const inputs = readdirSync(join(work, 'in')).filter((f) => f.endsWith('.npy'));
        expect(inputs.length, `inputs at output ${k}`).to.be.at.most(lookahead);
        expect(inputs.length, `inputs at output ${k}`).to.equal(Math.min(N, k + 1 + lookahead) - (k + 1));
        expect(readdirSync(join(work, 'out')).filter((f) => f.endsWith('.npy')), `outputs at output ${k}`).to.deep.equal([]);
      },
      { dir: work, lookahead },
    );
    // input j is written only once output j − lookahead − 1 is in
    for (let j = 0; j < N; j++) {
      const wrote = events.indexOf(`in ${j}`);
      const outputsBefore = events.slice(0, wrote).filter((e) => e.startsWith('out')).length;
      expect(j - outputsBefore, `input ${j}`).to.be.at.most(lookahead);
    }
    expect(events.filter((e) => e.startsWith('out'))).to.deep.equal(Array.from({ length: N }, (_, k) => `out ${k}`));
    outputs.forEach((y, k) => y.forEach((v, i) => expect(Math.abs(v - refs[k][i]), `output ${k}, logit ${i}`).to.be.at.most(8 * 2 ** -12)));
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as CostReport;
    expect(summaries).to.have.length(N);
    expect(summaries.map((s) => s.bytes.oneTime)).to.deep.equal([cost.bytes.oneTime, ...Array(N - 1).fill(0)]);
    for (const s of summaries) expect({ ...s.bytes, oneTime: 0 }).to.deep.equal({ ...cost.bytes, oneTime: 0 });
    expect(readdirSync(join(work, 'in'))).to.deep.equal([]);
  });

  it('mpcc eval OUT killed (SIGKILL) in the middle: its server and helper stop within seconds, its client with them', async () => {
    const n = 40;
    writeFileSync(join(dir, 'xs.npy'), encodeNpy([n, 3, 16, 16], Array.from({ length: n }, (_, k) => image(k)).flat()));
    writeFileSync(join(dir, 'ys.npy'), encodeNpy([n], Array.from({ length: n }, (_, k) => k % 10), '<i8'));
    const mpcc = fileURLToPath(new URL('../../../../bin/mpcc.js', import.meta.url));
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const evaluator = spawn(process.execPath, [mpcc, 'eval', out, '--data', join(dir, 'xs.npy'), '--labels', join(dir, 'ys.npy'), '--quiet'], { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, TMPDIR: tmp } });
    const parties = () => partiesOf(out);
    // quiet parties write nothing a dead parent's pipe would refuse: only their watch of the
    // command (the IPC channel) can stop them
    while (parties().length < 3) await new Promise((r) => setTimeout(r, 20));
    while (readdirSync(join(readdirSync(tmp).map((f) => join(tmp, f))[0], 'in')).every((f) => Number(f.split('.')[0]) < 4)) await new Promise((r) => setTimeout(r, 20));
    evaluator.kill('SIGKILL');
    const killedAt = Date.now();
    while (parties().length > 0 && Date.now() - killedAt < 10000) await new Promise((r) => setTimeout(r, 100));
    expect(parties(), 'party processes 10 s after the kill').to.deep.equal([]);
    // (a killed command cannot remove its temporary folder: the test's own folder holds it)
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`mpcc eval OUT --predictions stopped by ${signal}: MPCC0008, exit ${code}, no party left, no temporary folder, no predictions file`, async () => {
      const n = 40;
      writeFileSync(join(dir, 'xs.npy'), encodeNpy([n, 3, 16, 16], Array.from({ length: n }, (_, k) => image(k)).flat()));
      writeFileSync(join(dir, 'ys.npy'), encodeNpy([n], Array.from({ length: n }, (_, k) => k % 10), '<i8'));
      const mpcc = fileURLToPath(new URL('../../../../bin/mpcc.js', import.meta.url));
      const tmp = mkdtempSync(join(dir, 'tmp-'));
      const pred = join(dir, `pred-${signal}`, 'p.npy');
      const evaluator = spawn(process.execPath, [mpcc, 'eval', out, '--data', join(dir, 'xs.npy'), '--labels', join(dir, 'ys.npy'), '--predictions', pred, '--progress'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
      let err = '';
      evaluator.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exit = new Promise<number | null>((resolve) => evaluator.on('close', (c) => resolve(c)));
      while (!/eval: \d+\/40 images by secure inference/.test(err)) await new Promise((r) => setTimeout(r, 20));
      expect(partiesOf(out)).to.have.length(3);
      evaluator.kill(signal);
      expect(await exit).to.equal(code);
      expect(err).to.match(new RegExp(`mpcc: error MPCC0008: stopped \\(${signal}\\): the work in progress is abandoned`));
      expect(err).to.not.match(/\n\s+at /);
      const killedAt = Date.now();
      while (partiesOf(out).length > 0 && Date.now() - killedAt < 5000) await new Promise((r) => setTimeout(r, 50));
      expect(partiesOf(out)).to.deep.equal([]);
      expect(readdirSync(tmp)).to.deep.equal([]);
      expect(readdirSync(join(dir, `pred-${signal}`))).to.deep.equal([]);
    });
  }

  it("an onOutput or writeInput that throws ends the run with that error, no party left running", async () => {
    // the stream's temporary folder goes to a private TMPDIR, which must be empty after
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    const failAt = (where: 'in' | 'out') =>
      streamSecureInferences(
        out,
        N,
        (k, file) => {
          if (where === 'in' && k === 3) throw new Error('no image 3');
          writeFileSync(file, encodeNpy([1, 3, 16, 16], image(k)));
        },
        (k) => {
          if (where === 'out' && k === 1) throw new Error('bad label at output 1');
        },
      ).then(
        () => 'ok',
        (e: Error) => e.message,
      );
    try {
      expect(await failAt('out')).to.equal('bad label at output 1');
      expect(await failAt('in')).to.equal('no image 3');
    } finally {
      process.env.TMPDIR = saved;
      if (saved === undefined) delete process.env.TMPDIR;
    }
    // no party process of this program is left, and no temporary folder
    expect(partiesOf(out)).to.deep.equal([]);
    expect(readdirSync(tmp)).to.deep.equal([]);
  });
});
