// `mpcc run` when a party process dies without a coded error of its own (a crash): the run
// fails with MPCC6044 naming the party and its last line, not with the peers' "aborted" or
// "disconnected" errors that follow from it. The crash is provoked by the three parties'
// program.json edited alike (their manifests resealed, so loading accepts them and their
// session tags still agree) to a step whose parameters pass the schema but make the protocol
// throw: a max pool without its window geometry.
import { expect } from 'chai';
import { suiteTempDir } from '../../temp-dir.js';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { resealParty } from '../../runtime/program/reseal.js';

describe('mpcc run: a party that crashes', function () {
  this.timeout(90000);
  const tmp = suiteTempDir('mpcc-run-crash-');

  it('MPCC6044 names the party and its last line', async () => {
    writeFileSync(join(tmp(), 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    runCompile(join(tmp(), 'tiny.onnx'), { output: join(tmp(), 'good') });
    cpSync(join(tmp(), 'good'), join(tmp(), 'crash'), { recursive: true });
    for (const id of [0, 1, 2]) {
      const file = join(tmp(), `crash/party${id}/program.json`);
      const text = readFileSync(file, 'utf8');
      // The max pool step with an empty pool: reading its geometry throws a TypeError.
      const edited = text.replace(/("kind":"maxPool"[^\n]*"params":\{"pool":)\{[^}]*\}/, '$1{}');
      expect(edited, 'the program has a maxPool step to break').to.not.equal(text);
      writeFileSync(file, edited);
      resealParty(join(tmp(), `crash/party${id}`));
    }
    writeFileSync(join(tmp(), 'x.npy'), encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.sin(i / 7))));
    const e = await runSecure(join(tmp(), 'crash'), { input: join(tmp(), 'x.npy') }).then(
      () => null,
      (err: { code?: string; message: string }) => err,
    );
    expect(e?.code).to.equal('MPCC6044');
    expect(e?.message).to.match(/^the parties could not run the model: party [012] exited with code 70: mpcc: internal error: /);
  });
});
