// bin/mpcc.js, the installed command, before the build: a copy of it in a folder without
// dist/ prints MPCC0001 in the catalog's words, as the CLI prints any coded error, and exits 2.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diag } from '../../runtime/diagnostics.js';

const BIN = fileURLToPath(new URL('../../../bin/mpcc.js', import.meta.url));

describe('bin/mpcc.js', () => {
  it('MPCC0001 when the compiled CLI is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpcc-unbuilt-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(BIN, join(dir, 'bin/mpcc.js'));
      writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
      const r = spawnSync(process.execPath, [join(dir, 'bin/mpcc.js'), '--help'], { encoding: 'utf8' });
      expect(r.status).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.equal(`mpcc: ${diag('MPCC0001', ['dist/compiler/cli.js']).format()}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
