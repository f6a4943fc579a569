// `mpcc run` when a party process dies without a coded error of its own (a crash): the run
// fails with MPCC6044 naming the party and its last line, not with the peers' "aborted" or
// "disconnected" errors that follow from it. The crash is provoked by a party2/program.js
// edited (its sha256 updated in the manifest, so loading accepts it) to a step that throws.
import { expect } from 'chai';
import { suiteTempDir } from '../../temp-dir.js';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { sha256 } from '../../../runtime/program/index.js';

describe('mpcc run: a party that crashes', function () {
  this.timeout(90000);
  const tmp = suiteTempDir('mpcc-run-crash-');

  it('MPCC6044 names the party and its last line', async () => {
    writeFileSync(join(tmp(), 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    runCompile(join(tmp(), 'tiny.onnx'), { output: join(tmp(), 'good') });
    cpSync(join(tmp(), 'good'), join(tmp(), 'crash'), { recursive: true });
    const file = join(tmp(), 'crash/party2/program.js');
    const text = readFileSync(file, 'utf8');
    // The ReLU step without its bit window: reading the window throws a TypeError in P2.
    const edited = text.replace(/^(\s*\{"name":[^\n]*"kind":"relu"[^\n]*"params":)\{.*\}(\},?)$/m, '$1{}$2');
    expect(edited, 'the program has a relu step to break').to.not.equal(text);
    writeFileSync(file, edited);
    const manifestFile = join(tmp(), 'crash/manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: Record<string, string> };
    manifest.files['party2/program.js'] = sha256(Buffer.from(edited));
    writeFileSync(manifestFile, JSON.stringify(manifest));
    writeFileSync(join(tmp(), 'x.npy'), encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.sin(i / 7))));
    const e = await runSecure(join(tmp(), 'crash'), { input: join(tmp(), 'x.npy') }).then(
      () => null,
      (err: { code?: string; message: string }) => err,
    );
    expect(e?.code).to.equal('MPCC6044');
    expect(e?.message).to.match(/^the parties could not run the model: party 2 exited with code 70: mpcc: internal error: /);
  });
});
