// compiler/cli-support.ts exitAfterOutput: a command that prints much on a pipe and then exits
// must not lose what is still queued. A child writes 8 MB to its stdout (a pipe the test reads)
// and exits through exitAfterOutput: all 8 MB arrive. (With process.exit alone the same child
// delivered 65,536 bytes here: the pipe's buffer; `mpcc party --serve --json` lost its reports
// of hundreds of inferences that way.) A reader that never reads does not keep it: it exits with
// its code after its wait.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputPath, outputPathProblem } from '../../compiler/cli-support.js';

const SUPPORT = new URL('../../compiler/cli-support.js', import.meta.url).href;

describe('cli-support: exitAfterOutput', function () {
  this.timeout(60000);
  it('exits only once 8 MB written to a piped stdout (and a line to stderr) have left the process', async () => {
    const script = `import(${JSON.stringify(SUPPORT)}).then((m) => { process.stdout.write('x'.repeat(8e6)); process.stderr.write('done\\n'); return m.exitAfterOutput(3); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let err = '';
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect([code, bytes, err]).to.deep.equal([3, 8e6, 'done\n']);
  });

  it('does not hang on a reader that never reads: it exits with its code after its 10 s wait', async () => {
    const script = `import(${JSON.stringify(SUPPORT)}).then((m) => { process.stdout.write('x'.repeat(8e6)); return m.exitAfterOutput(5); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.pause();
    // (a hang is this test's timeout)
    expect(await new Promise<number | null>((resolve) => child.on('exit', resolve))).to.equal(5);
  });
});

describe('cli-support: where an output can go (outputPathProblem)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-outpath-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names a folder where a file goes, a file where a folder goes, a file among the parents, and /proc', () => {
    writeFileSync(join(dir, 'f'), 'x');
    mkdirSync(join(dir, 'd'));
    expect(outputPathProblem(join(dir, 'new.npy'))).to.equal(null);
    expect(outputPathProblem(join(dir, 'a', 'b', 'new.npy'))).to.equal(null); // missing parents are made
    expect(outputPathProblem(join(dir, 'd'))).to.equal('it is a folder');
    expect(outputPathProblem(join(dir, 'd'), true)).to.equal(null);
    expect(outputPathProblem(join(dir, 'f'), true)).to.equal('it is a file, not a folder');
    expect(outputPathProblem(join(dir, 'f', 'x', 'y.npy'))).to.equal(`'${join(dir, 'f')}' is a file, not a folder`);
    expect(outputPathProblem('/proc/mpcc_out', true)).to.equal('it is under /proc, a virtual file system of the kernel, not a place for files');
    expect(() => checkOutputPath(join(dir, 'd'))).to.throw(`cannot write file '${join(dir, 'd')}': it is a folder`).with.property('code', 'MPCC0003');
    // not over one of the command's inputs, nor inside an input folder (OUT)
    expect(() => checkOutputPath(join(dir, 'f'), false, [join(dir, 'f')])).to.throw("it is this command's input").with.property('code', 'MPCC0003');
    expect(() => checkOutputPath(join(dir, 'd', 'y.npy'), false, [join(dir, 'd')])).to.throw(`it lies inside '${join(dir, 'd')}'`);
    expect(() => checkOutputPath(join(dir, 'dd.npy'), false, [join(dir, 'd')])).to.not.throw();
    // through a symbolic link: a link to the input folder is the input folder, a link to the input file the file
    symlinkSync(join(dir, 'd'), join(dir, 'link-d'));
    symlinkSync(join(dir, 'f'), join(dir, 'link-f'));
    expect(() => checkOutputPath(join(dir, 'link-d', 'sub', 'y.npy'), false, [join(dir, 'd')])).to.throw(`it lies inside '${join(dir, 'd')}'`);
    expect(() => checkOutputPath(join(dir, 'link-f'), false, [join(dir, 'f')])).to.throw("it is this command's input");
    expect(() => checkOutputPath(join(dir, 'new.npy'), false, [join(dir, 'link-d')])).to.not.throw();
  });
});
