// Exact truncation end to end: the zoo's tiny-cnn compiled with the default (`--truncation exact`) and
// with `--truncation local`. The default makes every Truncate of a weight product a SecureTruncate
// (runtime/protocols/truncate-exact.ts), the secure run matches the fixed-point interpreter as the
// local one does (within the carries, one unit per truncation, carried through the layers), and the
// parties' counters equal cost.json and the flows of model.mir exactly — the dealing in the offline
// phase's exchange, one f-bit message P1 → P0 per truncated value online.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { readCostJson } from '../../compiler/commands/cost.js';
import { loadGraphFile } from '../../compiler/load-model.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { runPipeline } from '../../passes/index.js';
import { PROTOCOL_COSTS, totalBytes } from '../../runtime/protocols/costs.js';
import { loadPartyArtifacts } from '../../runtime/program/index.js';
import { rng } from '../passes/util.js';
import { expectCountersMatch, flowTotals, maxAbsDiff, runSecureInProcess } from './support.js';

describe('exact truncation end to end (tiny-cnn)', function () {
  this.timeout(240000);
  let dir = '';
  const FRAC = 12;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-exact-trunc-'));
    writeFileSync(join(dir, 'm.onnx'), buildZooModel('tiny-cnn'));
    runCompile(join(dir, 'm.onnx'), { fracBits: FRAC, output: join(dir, 'exact') });
    runCompile(join(dir, 'm.onnx'), { fracBits: FRAC, output: join(dir, 'local'), truncation: 'local' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('makes every weight product\'s Truncate exact by default, and none with --truncation local', () => {
    const exact = readCostJson(join(dir, 'exact/cost.json'));
    const local = readCostJson(join(dir, 'local/cost.json'));
    const truncs = exact.layers.filter((l) => l.op === 'SecureTruncate');
    const products = exact.layers.filter((l) => l.op === 'SecureWeights' || l.op === 'SecureReluWeights');
    expect(truncs.length).to.be.greaterThan(0);
    // one per weight product, and one per average pool (its division, lower's '/divide')
    const divides = truncs.filter((l) => l.name.endsWith('/divide'));
    expect(truncs.length - divides.length).to.equal(products.length);
    const pools = readFileSync(join(dir, 'local/party1/model.mir'), 'utf8').match(/ = (Global)?AveragePool /g) ?? [];
    expect(pools.length).to.be.greaterThan(0);
    expect(divides).to.have.length(pools.length);
    expect(local.layers.filter((l) => l.op === 'SecureTruncate')).to.have.length(0);
    // the difference in bytes is exactly the truncations' cost rows
    const mir = readFileSync(join(dir, 'exact/party1/model.mir'), 'utf8');
    const rows = [...mir.matchAll(/SecureTruncate[^\n]*/g)].length;
    expect(rows).to.equal(truncs.length);
    const extra = exact.bytes.online - local.bytes.online;
    expect(extra).to.be.greaterThan(0);
    const sizes = truncs.map((l) => l.bytes.online);
    expect(sizes.reduce((a, b) => a + b, 0)).to.equal(extra);
    expect(exact.rounds).to.be.greaterThan(local.rounds);
    expect(totalBytes(PROTOCOL_COSTS.truncateExact({ n: 8, bits: FRAC }), 'online')).to.equal(FRAC);
  });

  it('the secure run matches the fixed-point interpreter, and its counters cost.json, with either truncation', async () => {
    const g = runPipeline(loadGraphFile(join(dir, 'm.onnx')), `canonicalize,quantize{frac-bits=${FRAC}}`).graph;
    const rand = rng(7);
    for (const form of ['exact', 'local']) {
      const out = join(dir, form);
      const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
      const cost = readCostJson(join(out, 'cost.json'));
      const predicted = flowTotals(readFileSync(join(out, 'party1/model.mir'), 'utf8'));
      for (let trial = 0; trial < 2; trial++) {
        const x = Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1);
        const r = await runSecureInProcess(arts, x);
        expectCountersMatch(r, cost, predicted);
        const secure = r[0].outputs.get('output')!;
        const fixed = runGraphFixed(g, { input: tensorOf('float32', [1, 3, 16, 16], x) }, { frac: FRAC }).outputs.get('output')!.data;
        expect(maxAbsDiff(secure, fixed), `${form}, trial ${trial}`).to.be.at.most(8 * 2 ** -FRAC);
      }
    }
  });
});
