// quantize on zoo models: golden IR after canonicalize,quantize (weights by summary line;
// regenerate with MPCC_UPDATE_GOLDEN=1), the float interpreter of the quantized graph against
// the unquantized one, options and coded errors (also through the CLI).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import type { Graph } from '../../../ir/graph.js';
import { runGraph } from '../../../ir/interp/index.js';
import { parseMir } from '../../../ir/parse.js';
import { printGraph } from '../../../ir/print.js';
import { runPipeline } from '../../../passes/index.js';
import { errorOf, randomInputs } from '../util.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const GOLDEN_DIR = join(ROOT, 'test/passes/golden-zoo');
const UPDATE = process.env.MPCC_UPDATE_GOLDEN === '1' || process.argv.includes('--update');

/** max |a − b| over all elements, and the range (max − min) of b. */
function errorAndRange(a: ArrayLike<number>, b: ArrayLike<number>): { err: number; range: number } {
  let err = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    lo = Math.min(lo, b[i]);
    hi = Math.max(hi, b[i]);
  }
  return { err, range: hi - lo };
}

describe('quantize on zoo models', () => {
  const graphs = new Map<string, Graph>();
  before(() => {
    for (const name of ['tiny-cnn', 'secure-ops', 'resnet18-cifar']) graphs.set(name, runPipeline(importOnnx(buildZooModel(name)), 'canonicalize').graph);
  });

  for (const name of ['tiny-cnn', 'secure-ops', 'resnet18-cifar']) {
    it(`${name}: canonicalize,quantize prints the golden IR`, () => {
      const q = runPipeline(graphs.get(name)!, 'quantize').graph;
      const text = printGraph(q, { weightsRef: `${name}.weights` });
      const file = join(GOLDEN_DIR, `${name}.mir`);
      if (UPDATE) writeFileSync(file, text);
      expect(text).to.equal(readFileSync(file, 'utf8'));
      const products = q.nodes.filter((n) => ['Conv', 'Gemm', 'MatMul', 'Mul'].includes(n.op)).length;
      expect(q.nodes.filter((n) => n.op === 'Truncate').length).to.equal(products);
      expect(q.nodes[0].op).to.equal('FixedInput');
    });

    it(`${name}: the float interpreter of the quantized graph stays within 1% of the output range`, () => {
      const g = graphs.get(name)!;
      const q = runPipeline(g, 'quantize{frac-bits=12}').graph;
      for (const seed of name === 'resnet18-cifar' ? [1] : [1, 2, 3]) {
        const inputs = randomInputs(g, seed);
        const want = runGraph(g, inputs, { precision: 'float64' }).get(g.outputs[0])!.data;
        const got = runGraph(q, inputs, { precision: 'float64' }).get(q.outputs[0])!.data;
        const { err, range } = errorAndRange(got, want);
        expect(err, `seed ${seed}`).to.be.at.most(0.01 * range);
        expect(err, 'the grid changes something').to.be.greaterThan(0);
      }
    });
  }

  it('rejects frac-bits outside 4..28 and quantizing twice', () => {
    const g = graphs.get('tiny-cnn')!;
    expect(errorOf(() => runPipeline(g, 'quantize{frac-bits=3}')).code).to.equal('MPCC4003');
    expect(errorOf(() => runPipeline(g, 'quantize{frac-bits=29}')).code).to.equal('MPCC4003');
    const e = errorOf(() => runPipeline(g, 'quantize,quantize'));
    expect(e.code).to.equal('MPCC6005');
  });

  it('rejects unsupported ops with MPCC6001 naming node and operator', () => {
    const cases: [string, RegExp][] = [
      ['%i: int32[1,4] = Cast "cv"(%x) {to = "int32"}\n  %y: float32[1,4] = Cast "back"(%i) {to = "float32"}', /node 'cv' \(Cast\) is not supported in secure inference: no secure protocol/],
      ['%y: float32[1,4] = Div "inv"(%c, %x)', /node 'inv' \(Div\) .*division by a secret value/],
      ['%s: float32[1,4] = Softmax "sm"(%x) {axis = 1}\n  %y: float32[1,4] = Relu "r"(%s)', /node 'sm' \(Softmax\) .*only supported as the last op/],
    ];
    for (const [body, message] of cases) {
      const g = parseMir(`mir 1\ngraph @g(%x: float32[1,4]) -> (%y: float32[1,4]) {\n  const %c: float32[1] = [2]\n  ${body}\n}\n`);
      const e = errorOf(() => runPipeline(g, 'quantize'));
      expect(e.code, body).to.equal('MPCC6001');
      expect(e.message).to.match(message);
    }
    const cat = parseMir('mir 1\ngraph @g(%x: float32[1,4]) -> (%y: float32[1,5]) {\n  const %c: float32[1,1] = [2]\n  %y: float32[1,5] = Concat "cat"(%x, %c) {axis = 1}\n}\n');
    expect(errorOf(() => runPipeline(cat, 'quantize')).message).to.match(/node 'cat' \(Concat\) .*every operand must be an activation/);
    const rows = parseMir('mir 1\ngraph @g(%x: float32[1,2,2,2]) -> (%y: float32[1,2,2,2]) {\n  const %c: float32[1,1,2,1] = [1, 2]\n  %y: float32[1,2,2,2] = Mul "rows"(%x, %c)\n}\n');
    expect(errorOf(() => runPipeline(rows, 'quantize')).message).to.match(/node 'rows' \(Mul\) .*one value per channel/);
    const transA = parseMir('mir 1\ngraph @g(%x: float32[4,1]) -> (%y: float32[1,2]) {\n  const %w: float32[4,2] = [1, 2, 3, 4, 5, 6, 7, 8]\n  %y: float32[1,2] = Gemm "fc"(%x, %w) {transA = 1}\n}\n');
    expect(errorOf(() => runPipeline(transA, 'quantize')).code).to.equal('MPCC6002');
  });

  it('mpcc ir --passes canonicalize,quantize on a model with an unsupported op: one coded line, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpcc-quant-'));
    try {
      const model = join(dir, 'all-ops.onnx');
      writeFileSync(model, buildZooModel('all-ops'));
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/mpcc.js'), 'ir', model, '--passes', 'canonicalize,quantize'], { encoding: 'utf8' });
      expect(r.status).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/^mpcc: error MPCC6001: node '[^']+' \(\w+\) is not supported in secure inference: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
