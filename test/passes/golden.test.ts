// Golden tests of the passes: each test/passes/golden/*.mir holds a header (`// RUN: pipeline`,
// `// EXPECT: same outputs|outputs change`, a description), the IR before, a separator line
// `// ----- after PIPELINE -----` and the exact IR the pipeline must print. Regenerate the
// expected parts with `MPCC_UPDATE_GOLDEN=1 npm test` or `npm test -- --update`, then read the
// diff: the folded numbers are worked out by hand in each file's description.
import { expect } from 'chai';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseMir } from '../../ir/parse.js';
import { printGraph } from '../../ir/print.js';
import { runPipeline } from '../../passes/index.js';
import { expectSameOutputs } from './util.js';

/** The source folder of the golden files (tests run from dist/test/passes). */
const GOLDEN_DIR = fileURLToPath(new URL('../../../test/passes/golden/', import.meta.url));
const UPDATE = process.env.MPCC_UPDATE_GOLDEN === '1' || process.argv.includes('--update');

interface GoldenCase {
  readonly pipeline: string;
  readonly sameOutputs: boolean;
  /** Header and IR before, up to the separator. */
  readonly before: string;
  /** The expected IR after, or undefined when the file has none yet. */
  readonly after?: string;
}

function readCase(file: string, text: string): GoldenCase {
  const pipeline = /^\/\/ RUN: (.*)$/m.exec(text)?.[1];
  const expectLine = /^\/\/ EXPECT: (same outputs|outputs change)$/m.exec(text)?.[1];
  if (pipeline === undefined || expectLine === undefined) throw new Error(`${file}: needs '// RUN: <pipeline>' and '// EXPECT: same outputs|outputs change' lines`);
  const sep = /^\/\/ ----- after .* -----\n/m.exec(text);
  return {
    pipeline,
    sameOutputs: expectLine === 'same outputs',
    before: sep ? text.slice(0, sep.index) : text,
    after: sep ? text.slice(sep.index + sep[0].length) : undefined,
  };
}

describe('pass golden tests', () => {
  const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.mir')).sort();

  it('has golden files for every built-in pass', () => {
    const runs = files.map((f) => readCase(f, readFileSync(GOLDEN_DIR + f, 'utf8')).pipeline);
    for (const pass of ['canonicalize', 'drop-identity', 'fold-constants', 'fold-batchnorm', 'remove-dead-nodes', 'relu6-to-relu', 'maxpool-to-avgpool', 'quantize', 'insert-block-relu']) {
      expect(runs.some((r) => r.split(/[,{]/)[0] === pass), pass).to.equal(true);
    }
  });

  for (const file of files) {
    it(file, () => {
      const path = GOLDEN_DIR + file;
      const c = readCase(file, readFileSync(path, 'utf8'));
      const before = parseMir(c.before, { file });
      const after = runPipeline(before, c.pipeline).graph;
      const printed = printGraph(after);
      if (UPDATE && printed !== c.after) {
        writeFileSync(path, `${c.before}// ----- after ${c.pipeline} -----\n${printed}`);
      } else {
        expect(c.after, `${file} has no expected IR; run with MPCC_UPDATE_GOLDEN=1`).to.be.a('string');
        expect(printed).to.equal(c.after);
      }
      // The expected text is itself valid IR that prints back identically.
      expect(printGraph(parseMir(printed))).to.equal(printed);
      if (c.sameOutputs) expectSameOutputs(before, after);
    });
  }
});
