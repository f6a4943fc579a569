// The diagnostics catalog (runtime/diagnostics.ts): templates filled, and the catalog held to
// the source tree and the tests. Every code is raised somewhere, every code raised is in the
// catalog, no two codes share a template, and every code is named by a test unless it is in
// INTERNAL_CODES. The checker is a plain function, run once on a fake tree to show it fails.
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIAGNOSTICS, INTERNAL_CODES, diag, MpccError, RuntimeError, runtimeError } from '../../runtime/diagnostics.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CATALOG_FILE = 'runtime/diagnostics.ts';
const THIS_FILE = 'test/runtime/diagnostics.test.ts';

/** What the checker reads: the catalog, its internal codes, and file texts by path. */
interface CatalogTree {
  catalog: Readonly<Record<string, string>>;
  internal: ReadonlySet<string>;
  sources: ReadonlyMap<string, string>;
  tests: ReadonlyMap<string, string>;
}

/** Text of every file under `dir` (relative to ROOT) whose name ends in one of `exts`. */
function readTree(dir: string, exts: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(ROOT, rel))) {
      const path = `${rel}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (exts.some((e) => name.endsWith(e)) && !name.endsWith('.d.ts')) out.set(path, readFileSync(join(ROOT, path), 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/** Codes a source text raises: quoted code literals ('MPCC6001', `MPCC5011 …`) and coded
 * lines written by hand ('mpcc: error MPCC0001: …' in bin/) outside comments, so a code a
 * comment only mentions does not count as raised. */
function raisedIn(text: string): string[] {
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .filter((l) => !l.trim().startsWith('//'))
    .join('\n');
  return [...code.matchAll(/(?:['"`]|error )(MPCC\d{4})\b/g)].map((m) => m[1]);
}

/** Every problem of the catalog against the tree, one line each (empty when it holds). */
function catalogProblems(t: CatalogTree): string[] {
  const problems: string[] = [];
  const codes = Object.keys(t.catalog);
  const raisedAt = new Map<string, string[]>();
  for (const [path, text] of t.sources) for (const c of raisedIn(text)) raisedAt.set(c, [...(raisedAt.get(c) ?? []), path]);
  const named = new Set<string>();
  for (const text of t.tests.values()) for (const m of text.matchAll(/MPCC\d{4}/g)) named.add(m[0]);
  for (const c of codes) {
    if (!raisedAt.has(c)) problems.push(`${c} is raised nowhere`);
    if (!named.has(c) && !t.internal.has(c)) problems.push(`${c} is named by no test (test it, or add it to INTERNAL_CODES with a reason)`);
  }
  for (const c of t.internal) if (!(c in t.catalog)) problems.push(`internal code ${c} is not in the catalog`);
  for (const [c, paths] of raisedAt) if (!(c in t.catalog)) problems.push(`${c} is raised in ${[...new Set(paths)].join(', ')} but is not in the catalog`);
  // Placeholders aside: "'{0}'" and "{0}" say the same nothing.
  const byTemplate = new Map<string, string>();
  for (const c of codes) {
    const key = t.catalog[c].replace(/\{\d+\}/g, '{}');
    const other = byTemplate.get(key);
    if (other) problems.push(`${other} and ${c} share the template "${t.catalog[c]}"`);
    else byTemplate.set(key, c);
  }
  return problems;
}

/** The real tree: .ts sources of every layer and bin/'s scripts, and the tests. */
function realTree(): CatalogTree {
  const sources = new Map<string, string>();
  for (const dir of ['compiler', 'ir', 'passes', 'runtime', 'examples', 'bench']) for (const [p, s] of readTree(dir, ['.ts'])) if (p !== CATALOG_FILE) sources.set(p, s);
  for (const [p, s] of readTree('bin', ['.js'])) sources.set(p, s);
  const tests = readTree('test', ['.ts']);
  tests.delete(THIS_FILE);
  return { catalog: DIAGNOSTICS, internal: INTERNAL_CODES, sources, tests };
}

describe('diagnostics catalog', () => {
  it('fills templates and keeps the code', () => {
    const e = diag('MPCC1001', ['Foo', 13, 'node_7']);
    expect(e).to.be.instanceOf(MpccError);
    expect(e.code).to.equal('MPCC1001');
    expect(e.format()).to.equal("error MPCC1001: ONNX operator 'Foo' (opset 13) at node 'node_7' is not supported");
    // a flag error with no value to show names the flag alone
    expect(diag('MPCC0004', ['--bits', '17', 'expected 1..16']).message).to.equal("invalid value '17' for flag --bits: expected 1..16");
    expect(diag('MPCC0004', ['-o', '', 'an output folder OUT is required']).message).to.equal('flag -o: an output folder OUT is required');
  });

  it('formats a RuntimeError as the CLI prints any user error, the peer named in its text', () => {
    const e = runtimeError('MPCC5001', ['connection reset'], 2);
    expect(e).to.be.instanceOf(RuntimeError).and.instanceOf(MpccError);
    expect(e.peer).to.equal(2);
    expect(e.format()).to.equal('error MPCC5001: peer 2 (helper) disconnected: connection reset');
  });

  it('has well-formed codes', () => {
    for (const code of Object.keys(DIAGNOSTICS)) expect(code).to.match(/^MPCC\d{4}$/);
  });

  it('holds every code raised, raised somewhere and named by a test (or internal), no template twice', () => {
    const tree = realTree();
    expect(tree.sources.size, 'source files read').to.be.above(100);
    expect(tree.tests.size, 'test files read').to.be.above(50);
    expect(catalogProblems(tree)).to.deep.equal([]);
  });

  it('finds each kind of problem in a fake tree (the check can fail)', () => {
    const tree: CatalogTree = {
      catalog: { MPCC9001: "thing '{0}' is bad", MPCC9002: 'never raised: {0}', MPCC9003: "thing '{1}' is bad", MPCC9004: 'untested {0}', MPCC9005: 'internal {0}' },
      internal: new Set(['MPCC9005', 'MPCC9009']),
      sources: new Map([
        ['a.ts', "throw diag('MPCC9001', [x]);\n// 'MPCC9002' only in a comment\n/* 'MPCC9002' nor here */ throw diag('MPCC9003');"],
        ['b.ts', "throw runtimeError('MPCC9004'); throw diag(\"MPCC9005\"); reject(`MPCC9008 ${id}`);"],
      ]),
      tests: new Map([['a.test.ts', 'MPCC9001 MPCC9002 MPCC9003 MPCC9008']]),
    };
    expect(catalogProblems(tree)).to.deep.equal([
      'MPCC9002 is raised nowhere',
      'MPCC9004 is named by no test (test it, or add it to INTERNAL_CODES with a reason)',
      'internal code MPCC9009 is not in the catalog',
      'MPCC9008 is raised in b.ts but is not in the catalog',
      'MPCC9001 and MPCC9003 share the template "thing \'{1}\' is bad"',
    ]);
  });

  it('keeps the internal set small', () => {
    expect(INTERNAL_CODES.size).to.be.at.most(5);
    const text = readFileSync(join(ROOT, CATALOG_FILE), 'utf8');
    const set = text.slice(text.indexOf('INTERNAL_CODES'), text.indexOf(']);', text.indexOf('INTERNAL_CODES')));
    // Each internal code has its reason: a comment line right above it.
    for (const c of INTERNAL_CODES) expect(set, `${c} needs a reason`).to.match(new RegExp(`//[^\\n]*\\n\\s*'${c}'`));
  });
});
