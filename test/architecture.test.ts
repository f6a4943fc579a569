// The architecture's rules, checked on the source tree (ARCHITECTURE.md explains them): no
// import cycle; every import goes down the layer order runtime < ir < passes < compiler <
// examples < {bench, test}, but for one named exception; onnx-proto, binaryen and chevrotain
// each imported by their wrapper only; every file of test/ in a folder that mirrors a source
// folder. Each rule is a plain function over a file graph, and each is shown to catch a
// planted violation, so a green run means the tree obeys the rule, not that the check is blind.
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/test/architecture.test.js). */
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folders tsconfig.json compiles, each a layer, and bin/ (the JavaScript entry point,
 * which test/bin/ mirrors). */
const SOURCE_FOLDERS = ['runtime', 'ir', 'passes', 'compiler', 'examples', 'bench', 'test', 'bin'] as const;

/** One import of a file: the specifier as written and the repository file it names, if any. */
interface ImportEdge {
  readonly specifier: string;
  /** Repository-relative path of the imported .ts file (relative specifiers only). */
  readonly target?: string;
}

/** Files (repository-relative, forward slashes) and what each imports. */
type ImportGraph = ReadonlyMap<string, readonly ImportEdge[]>;

/** `text` with comments blanked out; string and template literals are kept as written. */
function withoutComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
      out += ' ';
    } else out += c;
  }
  return out;
}

/** Module specifiers a TypeScript source imports: `import … from`, `export … from` (type-only
 * included), side-effect `import '…'` and dynamic `import('…')` with a literal argument. */
function importSpecifiers(source: string): string[] {
  const code = withoutComments(source);
  const patterns = [
    /^\s*import\s+(?:type\s+)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*export\s+(?:type\s+)?(?:\*|\{)[^'";]*?\sfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  const found: string[] = [];
  for (const p of patterns) for (const m of code.matchAll(p)) found.push(m[1]);
  return found;
}

/** The .ts file a relative specifier of `from` names (`./x.js` → `dir/x.ts`), or undefined. */
function resolveSpecifier(from: string, specifier: string, exists: (path: string) => boolean): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const joined = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = [joined.replace(/\.js$/, '.ts'), `${joined}.ts`, `${joined}/index.ts`];
  return candidates.find(exists);
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

/** Repository-relative paths of every file under the source folders. */
function repoFiles(root = REPO_ROOT): string[] {
  return SOURCE_FOLDERS.flatMap((f) => listFiles(join(root, f))).map((p) => relative(root, p).split('\\').join('/')).sort();
}

/** The import graph of every .ts file of the source folders. */
function repoImportGraph(root = REPO_ROOT): ImportGraph {
  const files = repoFiles(root).filter((f) => f.endsWith('.ts'));
  const known = new Set(files);
  const graph = new Map<string, ImportEdge[]>();
  for (const file of files) {
    const specs = importSpecifiers(readFileSync(join(root, file), 'utf8'));
    graph.set(file, specs.map((specifier) => ({ specifier, target: resolveSpecifier(file, specifier, (p) => known.has(p)) })));
  }
  return graph;
}

/** Import cycles: for every file on one, the shortest cycle through it, each cycle listed once
 * with its files in import order and the first repeated at the end (`a.ts → b.ts → a.ts`). */
function findCycles(graph: ImportGraph): string[][] {
  const succ = (f: string): string[] => [...new Set((graph.get(f) ?? []).flatMap((e) => (e.target && graph.has(e.target) ? [e.target] : [])))].sort();
  // Tarjan's strongly connected components, iteratively (deep chains must not overflow the stack).
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [], components: string[][] = [];
  let counter = 0;
  for (const start of [...graph.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { file: string; next: string[] }[] = [];
    const open = (f: string): void => {
      index.set(f, counter);
      low.set(f, counter++);
      stack.push(f);
      onStack.add(f);
      work.push({ file: f, next: succ(f) });
    };
    open(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const to = top.next.shift();
      if (to !== undefined) {
        if (!index.has(to)) open(to);
        else if (onStack.has(to)) low.set(top.file, Math.min(low.get(top.file)!, index.get(to)!));
        continue;
      }
      work.pop();
      if (work.length > 0) { const parent = work[work.length - 1].file; low.set(parent, Math.min(low.get(parent)!, low.get(top.file)!)); }
      if (low.get(top.file) === index.get(top.file)) {
        const comp: string[] = [];
        let f: string;
        do { f = stack.pop()!; onStack.delete(f); comp.push(f); } while (f !== top.file);
        if (comp.length > 1 || succ(top.file).includes(top.file)) components.push(comp.sort());
      }
    }
  }
  // Per component, the shortest cycle through each of its files, each cycle once (rotated to
  // start at its least file), so every file on a cycle is named.
  const cycles = new Map<string, string[]>();
  for (const comp of components) {
    for (const f of comp) {
      const ring = shortestCycle(f, new Set(comp), succ).slice(0, -1);
      const at = ring.indexOf([...ring].sort()[0]);
      const rotated = [...ring.slice(at), ...ring.slice(0, at)];
      cycles.set(rotated.join('\n'), [...rotated, rotated[0]]);
    }
  }
  return [...cycles.values()].sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
}

/** The shortest path from `start` back to itself inside `within` (breadth first). */
function shortestCycle(start: string, within: Set<string>, succ: (f: string) => string[]): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const f = queue.shift()!;
    for (const to of succ(f)) {
      if (!within.has(to)) continue;
      if (to === start) {
        const path = [f];
        while (path[0] !== start) path.unshift(prev.get(path[0])!);
        return [...path, start];
      }
      if (!prev.has(to)) { prev.set(to, f); queue.push(to); }
    }
  }
  return [start, start];
}

/** The layer order, bottom first; a file may import its own folder's layer or any layer below
 * it. Folders sharing a layer (bench and test) do not import each other. */
const LAYERS: readonly (readonly string[])[] = [['runtime'], ['ir'], ['passes'], ['compiler'], ['examples'], ['bench', 'test']];

/** Rank of a file's layer (by its first folder), or undefined outside the layers. */
function layerRank(file: string): number | undefined {
  const top = file.split('/')[0];
  const rank = LAYERS.findIndex((l) => l.includes(top));
  return rank < 0 ? undefined : rank;
}

/** The one import allowed against the layer order: `mpcc zoo` writes the example models. */
const LAYER_EXCEPTIONS: readonly { readonly from: string; readonly toFolder: string }[] = [
  { from: 'compiler/commands/zoo.ts', toFolder: 'examples/zoo/' },
];

/** Imports from a lower layer to a higher one (or between bench and test), as `from → to`. */
function layerViolations(graph: ImportGraph, exceptions = LAYER_EXCEPTIONS): string[] {
  const out: string[] = [];
  for (const [from, edges] of graph) {
    const rf = layerRank(from);
    for (const e of edges) {
      if (!e.target || rf === undefined) continue;
      const rt = layerRank(e.target);
      if (rt === undefined) continue;
      const peers = rt === rf && from.split('/')[0] !== e.target.split('/')[0];
      if (rt <= rf && !peers) continue;
      if (exceptions.some((x) => x.from === from && e.target!.startsWith(x.toFolder))) continue;
      out.push(`${from} → ${e.target}`);
    }
  }
  return out.sort();
}

/** Third-party packages each wrapped by named files; nothing else may import them. */
const WRAPPED_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  'onnx-proto': ['compiler/onnx/reader.ts', 'compiler/onnx/writer.ts', 'compiler/onnx/storage.ts'],
  binaryen: ['compiler/codegen/binaryen.ts'],
  chevrotain: ['ir/parse-grammar.ts'],
  pngjs: ['compiler/calibration/images.ts'],
  'jpeg-js': ['compiler/calibration/images.ts'],
  'vega-lite': ['compiler/report/charts.ts'],
};

/** Imports of a wrapped package outside its wrappers, as `file → package`. */
function wrapperViolations(graph: ImportGraph, wrapped = WRAPPED_PACKAGES): string[] {
  const out: string[] = [];
  for (const [file, edges] of graph) {
    for (const e of edges) {
      const pkg = Object.keys(wrapped).find((p) => e.specifier === p || e.specifier.startsWith(`${p}/`));
      if (pkg && !wrapped[pkg].includes(file)) out.push(`${file} → ${pkg}`);
    }
  }
  return [...new Set(out)].sort();
}

/** Folders of test/ that hold fixtures or whole-program tests and so mirror no source folder. */
const TEST_FOLDERS_WITHOUT_SOURCE: readonly string[] = [
  'test/e2e', 'test/fixtures', 'test/passes/golden', 'test/passes/golden-zoo', 'test/runtime/transport/fixtures',
];

/** Files of test/ whose folder is not test/ itself, not a mirror of a source folder
 * (test/ir/interp ↔ ir/interp) and not under an excepted folder. */
function unmirroredTestFiles(files: readonly string[], sourceFolders: ReadonlySet<string>, excepted = TEST_FOLDERS_WITHOUT_SOURCE): string[] {
  return files.filter((f) => {
    if (!f.startsWith('test/')) return false;
    const folder = posix.dirname(f);
    if (folder === 'test') return false;
    if (excepted.some((x) => folder === x || folder.startsWith(`${x}/`))) return false;
    return !sourceFolders.has(folder.slice('test/'.length));
  }).sort();
}

/** Folders outside test/ with a source file (.ts, .js) in them or below them, repository-relative. */
function sourceFolders(files: readonly string[]): Set<string> {
  const folders = new Set<string>();
  for (const f of files) {
    if (!/\.[jt]s$/.test(f) || f.startsWith('test/')) continue;
    for (let d = posix.dirname(f); d !== '.'; d = posix.dirname(d)) folders.add(d);
  }
  return folders;
}

/** A fake import graph from `file: [relative specifiers or package names]`. */
function fakeGraph(imports: Record<string, string[]>): ImportGraph {
  const known = new Set(Object.keys(imports));
  return new Map(Object.entries(imports).map(([file, specs]) => [file, specs.map((specifier) => ({ specifier, target: resolveSpecifier(file, specifier, (p) => known.has(p)) }))]));
}

describe('architecture', () => {
  describe('the checkers catch planted violations', () => {
    it('reads every kind of import and no comment', () => {
      const src = [
        "import { a } from './a.js';",
        "import type { B } from '../b.js';",
        'import {\n  c,\n  d,\n} from "./c.js";',
        "import './side.js';",
        "export { e } from './e.js';",
        "export * from './f.js';",
        "export type { G } from './g.js';",
        "const h = await import('./h.js');",
        "// import { x } from './commented.js';",
        "/* import('./blocked.js') */",
        "const s = 'http://example.org/*'; // import('./trailing.js')",
        "import { i } from './i.js'; // */",
      ].join('\n');
      expect(importSpecifiers(src).sort()).to.deep.equal(['../b.js', './a.js', './c.js', './e.js', './f.js', './g.js', './h.js', './i.js', './side.js']);
    });

    it('resolves .js specifiers to the .ts files they compile from', () => {
      const exists = (p: string) => ['ir/graph.ts', 'ir/ops/index.ts'].includes(p);
      expect(resolveSpecifier('passes/secure/lower.ts', '../../ir/graph.js', exists)).to.equal('ir/graph.ts');
      expect(resolveSpecifier('ir/print.ts', './ops/index.js', exists)).to.equal('ir/ops/index.ts');
      expect(resolveSpecifier('ir/print.ts', 'chevrotain', exists)).to.equal(undefined);
    });

    it('finds a cycle through a dynamic import and a self-import, and none in a chain', () => {
      const g = fakeGraph({
        'runtime/a.ts': ['./b.js'],
        'runtime/b.ts': ['./c.js'],
        'runtime/c.ts': ['./a.js', './d.js'],
        'runtime/d.ts': [],
        'runtime/e.ts': ['./e.js'],
      });
      expect(findCycles(g)).to.deep.equal([
        ['runtime/a.ts', 'runtime/b.ts', 'runtime/c.ts', 'runtime/a.ts'],
        ['runtime/e.ts', 'runtime/e.ts'],
      ]);
      expect(findCycles(fakeGraph({ 'ir/a.ts': ['./b.js'], 'ir/b.ts': ['./c.js'], 'ir/c.ts': [] }))).to.deep.equal([]);
    });

    it('flags an import up the layer order, and between bench and test, but not the zoo command', () => {
      const g = fakeGraph({
        'runtime/ring/ring.ts': ['../../ir/graph.js'],
        'ir/graph.ts': ['../runtime/diagnostics.js'],
        'runtime/diagnostics.ts': [],
        'passes/pass.ts': ['../compiler/cli.js', '../ir/graph.js'],
        'compiler/cli.ts': [],
        'compiler/commands/zoo.ts': ['../../examples/zoo/index.js'],
        'compiler/commands/cost.ts': ['../../examples/zoo/index.js'],
        'examples/zoo/index.ts': [],
        'bench/run.ts': ['../test/e2e/support.js', '../examples/zoo/index.js'],
        'test/e2e/support.ts': ['../../bench/run.js'],
      });
      expect(layerViolations(g)).to.deep.equal([
        'bench/run.ts → test/e2e/support.ts',
        'compiler/commands/cost.ts → examples/zoo/index.ts',
        'passes/pass.ts → compiler/cli.ts',
        'runtime/ring/ring.ts → ir/graph.ts',
        'test/e2e/support.ts → bench/run.ts',
      ]);
    });

    it('flags a wrapped package imported outside its wrapper', () => {
      const g = fakeGraph({
        'compiler/onnx/reader.ts': ['onnx-proto'],
        'compiler/onnx/import.ts': ['onnx-proto'],
        'compiler/codegen/model/model-kernels.ts': ['binaryen'],
        'ir/parse.ts': ['chevrotain/lib/src/api.js'],
        'ir/parse-grammar.ts': ['chevrotain'],
      });
      expect(wrapperViolations(g)).to.deep.equal([
        'compiler/codegen/model/model-kernels.ts → binaryen',
        'compiler/onnx/import.ts → onnx-proto',
        'ir/parse.ts → chevrotain',
      ]);
    });

    it('flags a test file in a folder that mirrors no source folder', () => {
      const files = ['ir/interp/run.ts', 'runtime/ring/ring.ts', 'bin/mpcc.js', 'test/bin/mpcc.test.ts', 'examples/zoo/README.md', 'test/examples/zoo/x.test.ts', 'test/ir/interp/run.test.ts', 'test/ring/ring.test.ts', 'test/ir/interp/fixed/x.test.ts',
        'test/e2e/x.test.ts', 'test/passes/golden/a.mir', 'test/ir/golden/a.mir', 'test/architecture.test.ts', 'test/runtime/ring/x.test.ts', 'test/runtime/x.test.ts'];
      expect(unmirroredTestFiles(files, sourceFolders(files))).to.deep.equal(['test/examples/zoo/x.test.ts', 'test/ir/golden/a.mir', 'test/ir/interp/fixed/x.test.ts', 'test/ring/ring.test.ts']);
    });
  });

  describe('the source tree', () => {
    const graph = repoImportGraph();

    it('reads the whole tree', () => {
      expect(graph.size).to.be.greaterThan(200);
      expect(graph.get('passes/secure/lower.ts')!.map((e) => e.target)).to.include('ir/graph.ts');
    });

    it('has no import cycle', () => {
      const cycles = findCycles(graph).map((c) => c.join(' → '));
      expect(cycles, `import cycles:\n  ${cycles.join('\n  ')}\n`).to.deep.equal([]);
    });

    it('imports only down the layer order runtime < ir < passes < compiler < examples < {bench, test}', () => {
      expect(layerViolations(graph)).to.deep.equal([]);
    });

    it('the allowed exception is still needed (remove it from LAYER_EXCEPTIONS when it is not)', () => {
      for (const x of LAYER_EXCEPTIONS) {
        expect((graph.get(x.from) ?? []).some((e) => e.target?.startsWith(x.toFolder)), x.from).to.equal(true);
      }
    });

    it('imports onnx-proto, binaryen, chevrotain, pngjs, jpeg-js and vega-lite only in their wrappers', () => {
      expect(wrapperViolations(graph)).to.deep.equal([]);
      for (const [pkg, wrappers] of Object.entries(WRAPPED_PACKAGES)) {
        for (const w of wrappers) expect(graph.get(w)?.some((e) => e.specifier === pkg), `${w} imports ${pkg}`).to.equal(true);
      }
    });

    it('keeps every test file in a folder that mirrors a source folder', () => {
      const files = repoFiles();
      expect(unmirroredTestFiles(files, sourceFolders(files))).to.deep.equal([]);
      for (const x of TEST_FOLDERS_WITHOUT_SOURCE) expect(existsSync(join(REPO_ROOT, x)), `${x} exists`).to.equal(true);
    });
  });
});
