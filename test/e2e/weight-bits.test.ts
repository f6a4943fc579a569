// The weights' own fractional bits per layer (passes/quantize/frac-choice.ts, quantize's
// weight-level): the secure run against the fixed-point interpreter on the same quantized graph
// (each weight encoded at its layer's bits by codegen and by the interpreter alike, each Truncate
// dropping them), both against the float interpreter in float64, and the per-layer bits against
// the activations' bits for both at the same failure bound: less error than the uniform scale.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { loadGraphFile } from '../../compiler/load-model.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import type { Graph } from '../../ir/graph.js';
import { runGraph } from '../../ir/interp/index.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { runPipeline } from '../../passes/index.js';
import { chooseFracBits, failureLog2, weightFracs } from '../../passes/quantize/frac-choice.js';
import { createInProcessSessions, runParties } from '../../runtime/session/connect.js';
import { loadPartyArtifacts, runProgram, sessionTag } from '../../runtime/program/index.js';
import { rng } from '../passes/util.js';
import { suiteTempDir } from '../temp-dir.js';

describe("the weights' own fractional bits per layer (tiny-cnn)", function () {
  this.timeout(120000);
  const tmp = suiteTempDir('mpcc-weight-bits-');
  const FRAC = 11;
  const LEVEL = 22;

  const inputs = (n: number) => {
    const rand = rng(33);
    return Array.from({ length: n }, () => Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1));
  };
  const maxError = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const fixedOut = (q: Graph, x: Float32Array) => runGraphFixed(q, { input: tensorOf('float32', [1, 3, 16, 16], x) }, { frac: FRAC }).outputs.get('output')!.data;

  it('the secure run equals the fixed-point interpreter within 8 ulps, weights at their layers\' bits', async () => {
    const file = join(tmp(), 'tiny.onnx');
    writeFileSync(file, buildZooModel('tiny-cnn'));
    const pipeline = `canonicalize,quantize{frac-bits=${FRAC},weight-level=${LEVEL}}`;
    runCompile(file, { passes: pipeline, output: join(tmp(), 'out') });
    const g = runPipeline(loadGraphFile(file), 'canonicalize').graph;
    const q = runPipeline(loadGraphFile(file), pipeline).graph;
    // the layers do take bits other than the activations' (else this tests nothing new)
    const bits = [...weightFracs(g, FRAC, LEVEL).values()];
    expect(bits.some((b) => b !== FRAC)).to.equal(true);
    expect(q.nodes.filter((n) => n.op === 'Truncate').map((n) => n.attrs.bits)).to.deep.equal(bits);
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(join(tmp(), 'out'), id)));
    for (const [trial, x] of inputs(3).entries()) {
      const ss = await createInProcessSessions({ tag: sessionTag(arts[0].manifest) });
      const r = await runParties(ss, (s) => runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: arts[s.id].kernels }));
      const secure = r[0].outputs.get('output')!;
      const fixed = fixedOut(q, x);
      expect(secure.length).to.equal(fixed.length);
      expect(maxError(secure, fixed), `trial ${trial}`).to.be.at.most(8 * 2 ** -FRAC);
      // and both near the float network (float64 interpreter): within 32 ulps
      const float = runGraph(g, { input: tensorOf('float32', [1, 3, 16, 16], x) }, { precision: 'float64' }).get('output')!.data;
      expect(maxError(secure, float), `trial ${trial}`).to.be.at.most(32 * 2 ** -FRAC);
    }
  });

  it("at the uniform scale's failure bound, the chosen weights' bits err less than the uniform scale against float64", () => {
    const file = join(tmp(), 'mnv2.onnx');
    writeFileSync(file, buildZooModel('mobilenetv2'));
    const g = runPipeline(loadGraphFile(file), 'canonicalize').graph;
    const c = chooseFracBits(g);
    expect(c.weightLevel, 'mobilenetv2 takes per-layer weight bits').to.not.equal(undefined);
    expect(c.failureLog2).to.be.at.most(Math.max(-12, failureLog2(c.layers, c.uniformFrac)) + 1e-9);
    const weighted = runPipeline(g, `quantize{frac-bits=${c.frac},weight-level=${c.weightLevel}}`).graph;
    const uniform = runPipeline(g, `quantize{frac-bits=${c.uniformFrac}}`).graph;
    const rand = rng(5);
    let errWeighted = 0, errUniform = 0;
    for (let trial = 0; trial < 2; trial++) {
      const shape = g.types.get(g.inputs[0])!.shape;
      const x = tensorOf('float32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * rand() - 1));
      const float = runGraph(g, { [g.inputs[0]]: x }, { precision: 'float64' }).get(g.outputs[0])!.data;
      const out = g.outputs[0];
      errWeighted = Math.max(errWeighted, maxError(runGraphFixed(weighted, { [g.inputs[0]]: x }, { frac: c.frac }).outputs.get(out)!.data, float));
      errUniform = Math.max(errUniform, maxError(runGraphFixed(uniform, { [g.inputs[0]]: x }, { frac: c.uniformFrac }).outputs.get(out)!.data, float));
    }
    expect(errWeighted).to.be.below(errUniform);
  });
});
