import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/runtime). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Source without comments, so a comment that warns against Math.random does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

describe('runtime hygiene', () => {
  it('never uses Math.random in runtime/ (randomness comes from AES-CTR streams and crypto.randomBytes)', () => {
    const files = tsFiles(join(ROOT, 'runtime'));
    expect(files.length).to.be.greaterThan(3);
    const offenders = files.filter((f) => /Math\s*\.\s*random/.test(code(readFileSync(f, 'utf8'))));
    expect(offenders).to.deep.equal([]);
  });

  it('never imports the compiler from runtime/', () => {
    const files = tsFiles(join(ROOT, 'runtime'));
    const offenders = files.filter((f) => /from\s+['"](\.\.\/)+(compiler|ir|passes)\//.test(readFileSync(f, 'utf8')));
    expect(offenders).to.deep.equal([]);
  });
});
