// Round trip of the textual IR on every zoo model, as imported from ONNX and after
// canonicalization; the small models are also saved as .mir + .weights, reloaded and run.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOnnx } from '../../compiler/onnx/import.js';
import { ZOO, buildZooModel } from '../../examples/zoo/index.js';
import { type Graph, tensorOf } from '../../ir/index.js';
import { runGraph } from '../../ir/interp/index.js';
import { parseMir } from '../../ir/parse.js';
import { printGraph, printGraphWithWeights } from '../../ir/print.js';
import { loadMir, saveMir } from '../../ir/weights.js';
import { runPipeline } from '../../passes/manager.js';
import '../../passes/index.js';
import { expectSameGraph, sameTensor } from './graph-equal.js';
import { Rng } from './random-graph.js';

function expectRoundTrip(g: Graph, label: string): void {
  const { text, weights } = printGraphWithWeights(g);
  const back = parseMir(text, { file: `${label}.mir`, weights });
  expect(printGraph(back), label).to.equal(text);
  expectSameGraph(back, g);
}

describe('textual IR round trip on the model zoo', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'mpcc-zoo-mir-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const entry of ZOO) {
    it(`${entry.name}: print(parse(print(g))) === print(g), imported and canonicalized${entry.small ? '; reloads and runs identically' : ''}`, () => {
      const imported = importOnnx(buildZooModel(entry.name), { path: `${entry.name}.onnx` });
      const canonical = runPipeline(imported, 'canonicalize').graph;
      expectRoundTrip(imported, entry.name);
      expectRoundTrip(canonical, `${entry.name}-canonical`);
      if (!entry.small) return;
      const back = loadMir(saveMir(canonical, join(dir, entry.name)).mir);
      const rng = new Rng(1);
      const input = tensorOf('float32', entry.inputShape, Array.from({ length: entry.inputShape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1));
      const want = runGraph(canonical, { [canonical.inputs[0]]: input }), got = runGraph(back, { [back.inputs[0]]: input });
      expect([...got.keys()]).to.deep.equal([...want.keys()]);
      for (const [k, t] of want) expect(sameTensor(got.get(k)!, t), `${entry.name} output ${k}`).to.equal(true);
    });
  }
});
