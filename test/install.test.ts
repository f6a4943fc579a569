// Installs run no install script and npm prints no warning (README, "Set up"): npm itself, run
// in the repository, is the reference — it reads `.npmrc` and must not warn about an unknown
// config, and it must resolve `ignore-scripts` to true; and every installed package that has an
// install script (preinstall, install, postinstall) is denied by `package.json`'s `allowScripts`,
// so a new dependency with a script fails here until it is reviewed.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** npm run in the repository: its exit status, stdout and stderr. */
function npm(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'warn' }, timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The installed packages (name → package.json), scoped ones included, nested ones too. */
function installed(dir = join(ROOT, 'node_modules'), found = new Map<string, { scripts?: Record<string, string> }>()): Map<string, { scripts?: Record<string, string> }> {
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (entry.startsWith('@')) {
      installed(path, found);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; scripts?: Record<string, string> };
    found.set(pkg.name ?? entry, pkg);
    installed(join(path, 'node_modules'), found);
  }
  return found;
}

describe('install: no scripts, no warnings', function () {
  this.timeout(120000);

  it('npm reads the project config without a warning and resolves ignore-scripts to true', () => {
    const r = npm('config', 'get', 'ignore-scripts');
    expect(r.status).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal('true');
  });

  it('every installed package with an install script is denied by allowScripts (and nothing else is listed)', () => {
    const policy = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    const withScripts = [...installed()]
      .filter(([, pkg]) => ['preinstall', 'install', 'postinstall'].some((s) => pkg.scripts?.[s]))
      .map(([name]) => name)
      .sort();
    expect(withScripts).to.include('onnxruntime-node');
    expect(Object.keys(policy).sort()).to.deep.equal(withScripts);
    for (const name of withScripts) expect(policy[name], name).to.equal(false);
  });

  it(".ci/run runs exactly the README's set-up commands, in order", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const setUp = /## Set up[^\n]*\n\n((?: {4}.*\n)+)/.exec(readme)![1].split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().replace(/\s+# .*$/, ''));
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^(set|cd) /.test(l));
    expect(setUp[0]).to.equal('npm ci');
    expect(setUp[setUp.length - 1]).to.equal('npm test');
    expect(ci).to.deep.equal(setUp);
  });
});
