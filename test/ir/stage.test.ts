// verify(graph, stage): the ops each stage allows (from the ops' facts), with the code a graph at
// another stage raises, on tiny-cnn through the pipeline and on small hand-written graphs.
import { expect } from 'chai';
import { importOnnx } from '../../compiler/onnx/import.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import type { Graph } from '../../ir/graph.js';
import { parseMir } from '../../ir/parse.js';
import { STAGES, type Stage, stageOf } from '../../ir/stage.js';
import { verify } from '../../ir/verify.js';
import { runPipeline } from '../../passes/index.js';
import { errorOf } from '../passes/util.js';

const mir = (body: string, out = 'float32[1,4]') => parseMir(`mir 1\ngraph @g(%x: float32[1,4]) -> (%y: ${out}) {\n  const %c: float32[4] = [1, 2, 3, 4]\n${body}\n}\n`);

describe('verify(graph, stage)', () => {
  const at = new Map<Stage, Graph>();
  before(() => {
    let g = runPipeline(importOnnx(buildZooModel('tiny-cnn')), 'canonicalize').graph;
    at.set('float', g);
    for (const [stage, pass] of [['quantized', 'quantize'], ['lowered', 'lower'], ['scheduled', 'schedule-rounds']] as const) {
      g = runPipeline(g, pass).graph;
      at.set(stage, g);
    }
  });

  it('accepts tiny-cnn at the stage stageOf gives it, through the pipeline', () => {
    for (const stage of STAGES) {
      expect(stageOf(at.get(stage)!)).to.equal(stage);
      expect(verify(at.get(stage)!, stage)).to.equal(at.get(stage));
    }
  });

  it('refuses each stage the graph is not at, with that stage\'s code', () => {
    const code = (g: Stage, want: Stage) => errorOf(() => verify(at.get(g)!, want)).code;
    expect(code('quantized', 'float')).to.equal('MPCC6005');
    expect(code('lowered', 'float')).to.equal('MPCC6005');
    expect(code('float', 'quantized')).to.equal('MPCC6021');
    expect(code('lowered', 'quantized')).to.equal('MPCC6021');
    expect(code('quantized', 'lowered')).to.equal('MPCC6041');
    expect(code('lowered', 'scheduled')).to.equal('MPCC6025');
    // A scheduled graph is also lowered.
    expect(verify(at.get('scheduled')!, 'lowered')).to.equal(at.get('scheduled'));
  });

  it('names the op secure inference cannot run with MPCC6001 at the stages after quantize', () => {
    // A Div by a constant (a Mul of two activations is SecureMul now; by a constant, lower
    // refuses it: test/passes/secure/lower-activations.test.ts).
    const mul = mir('  %f: float32[1,4] = FixedInput "in"(%x) {frac = 12}\n  %y: float32[1,4] = Div "m"(%f, %c)');
    expect(errorOf(() => verify(mul, 'quantized')).format()).to.equal(
      "error MPCC6001: node 'm' (Div) is not supported in secure inference: quantize turns a product with a constant into a weight layer (run quantize first)",
    );
    expect(errorOf(() => verify(mul, 'float')).code).to.equal('MPCC6005');
    const pad = mir('  %f: float32[1,4] = SecureInput "in"(%x) {frac = 12, protocol = "shareInput", rounds = 0, flows = [], round = 0}\n  %y: float32[1,4] = Pad "p"(%f) {pads = [0, 0, 0, 0], value = 0.5}');
    expect(errorOf(() => verify(pad, 'scheduled')).format()).to.equal("error MPCC6001: node 'p' (Pad) is not supported in secure inference: only zero padding is supported (value 0.5)");
  });

  it('checks the bit window once, before and after lowering, in 0..62 with lo + k ≤ 64', () => {
    const relu = (attrs: string) => () => mir(`  %y: float32[1,4] = Relu "r"(%x) {${attrs}}`);
    expect(relu('window_lo = 62, window_k = 2')()).to.be.an('object');
    expect(errorOf(relu('window_lo = 63, window_k = 2')).message).to.contain('63 is outside [0, 62]');
    expect(errorOf(relu('window_lo = 40, window_k = 32')).message).to.contain('bit window [40, 72) does not fit in 64 bits');
    const secure = () => mir('  %y: float32[1,4] = SecureRelu "r"(%x) {window_lo = 40, window_k = 32, protocol = "relu", rounds = 3, flows = []}');
    expect(errorOf(secure).message).to.contain('bit window [40, 72) does not fit in 64 bits');
  });
});
