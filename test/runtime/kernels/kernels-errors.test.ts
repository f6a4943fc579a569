// A broken install: the compiled runtime without the generic kernels module the build writes
// (dist/runtime/kernels/ring-kernels.wasm) fails with MPCC5101 naming the file and the fix.
// The runtime is copied to a temporary folder without that file and imported from there, so
// this process's own kernels stay as they are.
import { expect } from 'chai';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as KernelsModuleFile from '../../../runtime/kernels/kernels-module.js';

const RUNTIME = fileURLToPath(new URL('../../../runtime/', import.meta.url));

describe('runtime kernels: a missing generic module', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-no-kernels-'));
    cpSync(RUNTIME, join(dir, 'runtime'), { recursive: true, filter: (src) => !src.endsWith('ring-kernels.wasm') });
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('MPCC5101 names the missing file and `npm run build`', async () => {
    const copy = join(dir, 'runtime/kernels/kernels-module.js');
    const m = (await import(pathToFileURL(copy).href)) as typeof KernelsModuleFile;
    let error: { code?: string; message: string } | null = null;
    try {
      m.genericKernels();
    } catch (e) {
      error = e as { code?: string; message: string };
    }
    expect(error?.code).to.equal('MPCC5101');
    expect(error?.message).to.match(/^ring kernels missing at .*ring-kernels\.wasm: run `npm run build`, which generates them \(ENOENT/);
    expect(error?.message).to.contain(join(dir, 'runtime/kernels/ring-kernels.wasm'));
  });
});
