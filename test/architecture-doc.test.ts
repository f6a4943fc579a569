// ARCHITECTURE.md against the tree it maps: every path it names exists (globs expanded), each
// op table has one row per op of the op registry and none for an op that does not exist, and
// the cells that name code name what is there (the importer, definition and interpreter files
// mention their op; cost keys are PROTOCOL_COSTS keys, step kinds STEP_KINDS keys). A file
// moved or an op added without updating the map fails here.
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { opNames } from '../ir/ops/index.js';
import { STEP_KINDS } from '../runtime/program/steps.js';
import { PROTOCOL_COSTS } from '../runtime/protocols/costs.js';

/** The repository root (this file runs as dist/test/architecture-doc.test.js). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** First folders and root files a repository path may start with. */
const REPO_TOPS = ['compiler', 'ir', 'passes', 'runtime', 'examples', 'bench', 'test', 'bin', '.ci'];
const ROOT_FILES = ['README.md', 'BENCHMARKS.md', 'ARCHITECTURE.md', 'package.json', 'tsconfig.json'];

/** True when a backticked token is meant as a repository path (not `relu` or `mpcc run`).
 * Placeholders such as `ir/ops/<group>.ts` are templates, not paths. */
function isRepoPath(token: string): boolean {
  if (/[\s<>]/.test(token)) return false;
  return ROOT_FILES.includes(token) || REPO_TOPS.some((t) => token.startsWith(`${t}/`));
}

/** `a/{b,c}/d` → `a/b/d`, `a/c/d` (nested braces expanded left to right). */
function expandBraces(pattern: string): string[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (!m) return [pattern];
  return m[1].split(',').flatMap((alt) => expandBraces(pattern.slice(0, m.index) + alt + pattern.slice(m.index + m[0].length)));
}

/** Repository paths a pattern names: braces expanded, then `*` matched within one path segment. */
function expandPath(pattern: string, exists: (p: string) => boolean, list: (dir: string) => string[]): string[] {
  return expandBraces(pattern).flatMap((p) => {
    const segments = p.replace(/\/$/, '').split('/');
    let found = [''];
    for (const seg of segments) {
      if (!seg.includes('*')) { found = found.map((f) => (f ? `${f}/${seg}` : seg)).filter(exists); continue; }
      const re = new RegExp(`^${seg.split('*').map((s) => s.replace(/[.+?^$()[\]\\|]/g, '\\$&')).join('[^/]*')}$`);
      found = found.flatMap((f) => list(f).filter((name) => re.test(name)).map((name) => (f ? `${f}/${name}` : name)));
    }
    return found;
  });
}

/** Every repository path the document names: in backticks anywhere, and inside fenced blocks
 * every word that starts with a repository folder. */
function documentPaths(markdown: string): string[] {
  const paths: string[] = [];
  const parts = markdown.split(/^```.*$/m);
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      for (const m of part.matchAll(/(?<![\w/.])((?:compiler|ir|passes|runtime|examples|bench|test)\/[\w./{},*-]*)/g)) paths.push(m[1].replace(/[.,]$/, ''));
    } else {
      for (const m of part.matchAll(/`([^`\n]+)`/g)) if (isRepoPath(m[1])) paths.push(m[1]);
    }
  });
  return [...new Set(paths)];
}

/** One markdown table: its header cells and its rows' cells. */
interface MarkdownTable {
  readonly header: string[];
  readonly rows: string[][];
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** The tables of the section that starts with heading `title` (up to the next heading of the
 * same level). */
function sectionTables(markdown: string, title: string): MarkdownTable[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === title);
  if (start < 0) return [];
  const level = /^#+/.exec(title)![0];
  const end = lines.findIndex((l, i) => i > start && new RegExp(`^${level} `).test(l));
  const body = lines.slice(start + 1, end < 0 ? undefined : end);
  const tables: MarkdownTable[] = [];
  for (let i = 0; i < body.length; i++) {
    if (!body[i].startsWith('|') || !/^\|[\s|:-]+\|$/.test(body[i + 1]?.trim() ?? '')) continue;
    const header = cells(body[i]);
    const rows: string[][] = [];
    for (i += 2; i < body.length && body[i].startsWith('|'); i++) rows.push(cells(body[i]));
    tables.push({ header, rows });
  }
  return tables;
}

/** The op names of a table's rows that are not ops, ops without a row, and ops with two rows. */
function opRowProblems(table: MarkdownTable, ops: readonly string[]): { unknown: string[]; missing: string[]; twice: string[] } {
  const names = table.rows.map((r) => r[0].replace(/[`*]/g, ''));
  const known = new Set(ops);
  return {
    unknown: names.filter((n) => !known.has(n)),
    missing: ops.filter((o) => !names.includes(o)),
    twice: names.filter((n, i) => names.indexOf(n) !== i),
  };
}

/** True when TypeScript `source` defines `name`: a function, a declaration, a re-export
 * under that name, an object key, or a string literal of a union type (`'oneTime'`). */
function definesName(source: string, name: string): boolean {
  return new RegExp(`(function\\s+${name}\\b|(const|let|class|interface|type|as)\\s+${name}\\b|^\\s*${name}\\s*:|'${name}')`, 'm').test(source);
}

/** Code identifiers a document names in backticks: camelCase and CONSTANT_CASE words. */
function codeIdentifiers(markdown: string): string[] {
  const words = [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  return [...new Set(words.filter((w) => /^([a-z]+[A-Z][A-Za-z0-9]*|[A-Z][A-Z0-9_]{2,})$/.test(w)))].sort();
}

/** Where a row's cell says `file` (name): the pairs whose file does not define (or re-export
 * as) that name, as `op: file (name)`. */
function undefinedNames(row: readonly string[], read: (file: string) => string): string[] {
  const wrong: string[] = [];
  for (const cell of row) {
    for (const [, file, name] of cell.matchAll(/`([^`]+)` \((\w+)[;)]/g)) {
      if (!isRepoPath(file)) continue;
      if (!definesName(read(file), name)) wrong.push(`${row[0]}: ${file} (${name})`);
    }
  }
  return wrong;
}

/** Backticked tokens of a cell. */
function ticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/** The .ts files under `dir`. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

const onDisk = (p: string): boolean => existsSync(join(ROOT, p));
const listDir = (d: string): string[] => (statSync(join(ROOT, d || '.')).isDirectory() ? readdirSync(join(ROOT, d || '.')) : []);

describe('ARCHITECTURE.md', () => {
  const doc = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  const ops = opNames();
  const tables = sectionTables(doc, '## Ops');

  describe('its checks catch planted mistakes', () => {
    it('expands braces and stars, and finds nothing for a missing path', () => {
      expect(expandBraces('compiler/onnx/{reader,writer}.ts')).to.deep.equal(['compiler/onnx/reader.ts', 'compiler/onnx/writer.ts']);
      const files = new Set(['a', 'a/x.ts', 'a/y.ts', 'a/b', 'a/b/z.ts']);
      const list = (d: string) => [...files].filter((f) => posix.dirname(f) === (d || '.')).map((f) => posix.basename(f));
      const exists = (p: string) => files.has(p);
      expect(expandPath('a/*.ts', exists, list)).to.deep.equal(['a/x.ts', 'a/y.ts']);
      expect(expandPath('a/{b/z,x}.ts', exists, list)).to.deep.equal(['a/b/z.ts', 'a/x.ts']);
      expect(expandPath('a/b/', exists, list)).to.deep.equal(['a/b']);
      expect(expandPath('a/c/*.ts', exists, list)).to.deep.equal([]);
    });

    it('reads paths from backticks and fenced blocks, not commands, names or templates', () => {
      const md = 'Run `mpcc run`, see `runtime/a.ts` and `ir/ops/<group>.ts`, step `relu`.\n```\nimport ─ compiler/onnx/*.ts, then passes/x.ts.\n```\n';
      expect(documentPaths(md)).to.deep.equal(['runtime/a.ts', 'compiler/onnx/*.ts', 'passes/x.ts']);
    });

    it('finds a cell naming a function its file does not define', () => {
      const files: Record<string, string> = { 'runtime/a.ts': 'export async function relu(s) {}\nexport { add as addShares };\n', 'runtime/b.ts': '// relu moved to a.ts\n' };
      const row = ['Relu', '`runtime/a.ts` (relu), `runtime/b.ts` (relu)', '`runtime/a.ts` (addShares); `runtime/a.ts` (sub)', '`relu` (no file)'];
      expect(undefinedNames(row, (f) => files[f])).to.deep.equal(['Relu: runtime/b.ts (relu)', 'Relu: runtime/a.ts (sub)']);
    });

    it('reads camelCase and CONSTANT_CASE names from backticks, and knows a definition', () => {
      expect(codeIdentifiers('`KEPT` in `a/b.ts`, kind `relu`, `reluWeights`, `MPCC6001`, `mpcc run`, `KEPT`')).to.deep.equal(['KEPT', 'MPCC6001', 'reluWeights']);
      expect(definesName("const KEPT = new Set(['Relu']);", 'KEPT')).to.equal(true);
      expect(definesName('// KEPT went into the op facts', 'KEPT')).to.equal(false);
    });

    it('finds a missing, an unknown and a doubled op row', () => {
      const md = '## Ops\n\n| op | file |\n|---|---|\n| Relu | `a` |\n| Relu | `b` |\n| Gelu | — |\n\n## Next\n\n| op |\n|---|\n| Conv |\n';
      const [t, ...more] = sectionTables(md, '## Ops');
      expect(more).to.deep.equal([]);
      expect(opRowProblems(t, ['Conv', 'Relu'])).to.deep.equal({ unknown: ['Gelu'], missing: ['Conv'], twice: ['Relu'] });
    });
  });

  it('names only paths that exist', () => {
    const paths = documentPaths(doc);
    expect(paths.length).to.be.greaterThan(100);
    const missing = paths.filter((p) => expandPath(p, onDisk, listDir).length === 0);
    expect(missing).to.deep.equal([]);
  });

  it('has two op tables, each with one row for every op of the registry and no other', () => {
    expect(ops.length).to.be.greaterThan(30);
    expect(tables.map((t) => t.header[0])).to.deep.equal(['op', 'op']);
    for (const t of tables) {
      expect(opRowProblems(t, ops), t.header.join(' | ')).to.deep.equal({ unknown: [], missing: [], twice: [] });
      for (const r of t.rows) expect(r.length, `row ${r[0]}`).to.equal(t.header.length);
    }
  });

  it('names, for each op, files that mention it as its importer, definition and interpreters', () => {
    const front = tables[0];
    const mentions = (file: string, op: string): boolean => new RegExp(`\\b${op}\\b`).test(readFileSync(join(ROOT, file), 'utf8'));
    const wrong: string[] = [];
    for (const column of ['importer', 'IR op', 'float interpreter', 'fixed-point interpreter']) {
      const at = front.header.indexOf(column);
      expect(at, column).to.be.greaterThan(0);
      for (const row of front.rows) {
        const file = ticked(row[at]).find(isRepoPath);
        if (file && !mentions(file, row[0])) wrong.push(`${row[0]}: ${column} ${file}`);
      }
    }
    expect(wrong).to.deep.equal([]);
    const defAt = front.header.indexOf('IR op');
    for (const row of front.rows) {
      const def = ticked(row[defAt])[0];
      expect(def && readFileSync(join(ROOT, def), 'utf8').includes(`'${row[0]}'`), `${row[0]} defined in ${def}`).to.equal(true);
    }
  });

  it('names, where a cell gives `file` (name), a file that defines that name', () => {
    const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');
    expect(tables.flatMap((t) => t.rows.flatMap((row) => undefinedNames(row, read)))).to.deep.equal([]);
  });

  it('names only code identifiers (camelCase, CONSTANT_CASE) that some source file defines', () => {
    const sources = ['compiler', 'ir', 'passes', 'runtime'].flatMap((d) => sourceFiles(join(ROOT, d))).map((f) => readFileSync(f, 'utf8'));
    const names = codeIdentifiers(doc);
    expect(names).to.include.members(['CLIENT_TAIL', 'LOWERINGS', 'STEP_KINDS']);
    expect(names.filter((n) => !sources.some((text) => definesName(text, n)))).to.deep.equal([]);
  });

  it('names real cost keys, step kinds and secure ops', () => {
    const back = tables[1];
    const check = (column: string, known: readonly string[]): string[] => {
      const at = back.header.indexOf(column);
      expect(at, column).to.be.greaterThan(0);
      return back.rows.flatMap((r) => ticked(r[at]).filter((t) => !isRepoPath(t) && !known.includes(t)).map((t) => `${r[0]}: ${column} ${t}`));
    };
    expect([
      ...check('cost', Object.keys(PROTOCOL_COSTS)),
      ...check('step kind', Object.keys(STEP_KINDS)),
      ...check('secure op', ops.filter((o) => o.startsWith('Secure'))),
    ]).to.deep.equal([]);
    // Every step kind has an op that uses it, but `broadcast`, which no codegen emits today
    // (when one does, or it goes, this list changes with the table).
    const kindAt = back.header.indexOf('step kind');
    const used = new Set(back.rows.flatMap((r) => ticked(r[kindAt])));
    expect(Object.keys(STEP_KINDS).filter((k) => !used.has(k))).to.deep.equal(['broadcast']);
  });
});
