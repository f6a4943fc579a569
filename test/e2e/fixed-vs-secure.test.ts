// The fixed-point interpreter against a secure run: tiny-cnn compiled (`mpcc compile`), the three
// parties run in process on the artifacts, and the revealed logits compared with runGraphFixed
// on the same quantized graph. They differ only by local share truncation (±1 ulp per Truncate,
// carried through the later layers): measured ≤ 3 ulps on these inputs; the bound allows 8 (2^-12 each).
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { loadGraphFile } from '../../compiler/load-model.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { runPipeline } from '../../passes/index.js';
import { createInProcessSessions, runParties } from '../../runtime/session/connect.js';
import { loadPartyArtifacts, runProgram, sessionTag } from '../../runtime/program/index.js';
import { rng } from '../passes/util.js';

describe('fixed-point interpreter vs a secure run (tiny-cnn)', function () {
  this.timeout(60000);
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-fixed-secure-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooModel('tiny-cnn'));
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: join(dir, 'out') });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the revealed logits are within 8 ulps of the fixed-point interpreter\'s on three inputs', async () => {
    const g = runPipeline(loadGraphFile(join(dir, 'tiny.onnx')), 'canonicalize,quantize{frac-bits=12}').graph;
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(join(dir, 'out'), id)));
    const rand = rng(21);
    for (let trial = 0; trial < 3; trial++) {
      const x = Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1);
      const ss = await createInProcessSessions({ tag: sessionTag(arts[0].manifest) });
      const r = await runParties(ss, (s) => runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: arts[s.id].kernels }));
      const secure = r[0].outputs.get('output')!;
      const fixed = runGraphFixed(g, { input: tensorOf('float32', [1, 3, 16, 16], x) }, { frac: 12 }).outputs.get('output')!.data;
      expect(secure.length).to.equal(fixed.length);
      for (let i = 0; i < fixed.length; i++) expect(Math.abs(secure[i] - fixed[i]), `trial ${trial} logit ${i}`).to.be.at.most(8 * 2 ** -12);
    }
  });
});
