// `mpcc run` when a party process dies without a coded error of its own (a crash): the run
// fails with MPCC6044 naming the party and its last line, not with the peers' "aborted" or
// "disconnected" errors that follow from it. The crash is provoked by a kernels.wasm whose
// client-side truncation of the logits writes outside its memory (a WebAssembly trap in P0
// alone), given to the three parties alike with their manifests resealed (so loading accepts
// it and their session tags still agree).
import { expect } from 'chai';
import { suiteTempDir } from '../../temp-dir.js';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { resealParty } from '../../runtime/program/reseal.js';
import { ModuleBuilder } from '../../../compiler/codegen/binaryen.js';
import { addRuntimeKernels } from '../../../compiler/codegen/library/runtime-kernels.js';

describe('mpcc run: a party that crashes', function () {
  this.timeout(90000);
  const tmp = suiteTempDir('mpcc-run-crash-');

  it('MPCC6044 names the party and its last line', async () => {
    writeFileSync(join(tmp(), 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    // --truncation local: the logits' truncation is then P0's local kernel, which the crash replaces
    runCompile(join(tmp(), 'tiny.onnx'), { fracBits: 12, output: join(tmp(), 'good'), truncation: 'local' });
    cpSync(join(tmp(), 'good'), join(tmp(), 'crash'), { recursive: true });
    const m = new ModuleBuilder(16);
    addRuntimeKernels(m);
    // tiny-cnn's last truncation on P0 (10 logits, 12 bits): a store below address 0 traps.
    m.func('trunc0_10_12', [['src', 'i32'], ['dst', 'i32']], 'none', () => [m.i64.store(m.i32.const(-8), m.i64.const(0n))]);
    const kernels = m.emit();
    for (const id of [0, 1, 2]) {
      writeFileSync(join(tmp(), `crash/party${id}/kernels.wasm`), kernels);
      resealParty(join(tmp(), `crash/party${id}`));
    }
    writeFileSync(join(tmp(), 'x.npy'), encodeNpy([1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.sin(i / 7))));
    const e = await runSecure(join(tmp(), 'crash'), { input: join(tmp(), 'x.npy') }).then(
      () => null,
      (err: { code?: string; message: string }) => err,
    );
    expect(e?.code).to.equal('MPCC6044');
    expect(e?.message).to.match(/^the parties could not run the model: party 0 exited with code 70: mpcc: internal error: .*memory access out of bounds/);
  });
});
