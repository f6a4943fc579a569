// quantize and lower on the ops of MobileNetV3-style networks: a Mul of two activations stays a
// product with its Truncate and becomes SecureMul; HardSigmoid and Sigmoid become their secure
// ops; every cost attribute is the runtime's PROTOCOL_COSTS entry (checked against hand counts);
// bad input: a HardSigmoid with non-finite alpha or beta (MPCC6050), a Mul whose shapes do not
// broadcast (refused at import, MPCC1006), both naming the node, through the CLI too.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../../../ir/builder.js';
import { Tensor } from '../../../ir/tensor.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { OnnxBuilder, float } from '../../../compiler/onnx/writer.js';
import { runPipeline } from '../../../passes/index.js';
import { PROTOCOL_COSTS } from '../../../runtime/protocols/costs.js';
import { SIGMOID_PIECES } from '../../../runtime/protocols/sigmoid.js';
import { formatFlow } from '../../../passes/secure/secure-costs.js';
import { suiteTempDir } from '../../temp-dir.js';
import { errorOf } from '../util.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const byOp = (g: Graph, op: string): Node[] => g.nodes.filter((n) => n.op === op);

/** x [1,4,3,3] → Relu → SE-style gate: GlobalAveragePool, HardSigmoid, gate × map; Sigmoid of
 * the map; HardSwish x · HardSigmoid(x). */
function gateGraph(alpha = 1 / 6, beta = 0.5): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', { dtype: 'float32', shape: [1, 4, 3, 3] });
  const r = b.op('Relu', [x], {}, 'relu');
  const pooled = b.op('GlobalAveragePool', [r], {}, 'pool');
  const gate = b.op('HardSigmoid', [pooled], { alpha, beta }, 'gate');
  const scaled = b.op('Mul', [gate, r], {}, 'se_mul');
  const sig = b.op('Sigmoid', [scaled], {}, 'sig');
  const hs = b.op('HardSigmoid', [sig], { alpha: 1 / 6, beta: 0.5 }, 'hswish_gate');
  b.output(b.op('Mul', [sig, hs], {}, 'hswish'));
  return b.build();
}

describe('quantize and lower: products of activations, HardSigmoid, Sigmoid', () => {
  it('quantize keeps a Mul of two activations as a product at 2·frac with its Truncate', () => {
    const q = runPipeline(gateGraph(), 'quantize{frac-bits=12}').graph;
    const muls = byOp(q, 'Mul');
    expect(muls.map((n) => n.name)).to.deep.equal(['se_mul', 'hswish']);
    for (const m of muls) {
      const readers = q.nodes.filter((n) => n.inputs.includes(m.outputs[0]));
      expect(readers.map((n) => [n.op, n.attrs.bits])).to.deep.equal([['Truncate', 12]]);
    }
  });

  it('lower makes SecureMul, SecureHardSigmoid and SecureSigmoid with the cost of PROTOCOL_COSTS', () => {
    const g = runPipeline(gateGraph(), 'quantize{frac-bits=12},lower').graph;
    const [se, hswish] = byOp(g, 'SecureMul');
    // [1,4,1,1] × [1,4,3,3]: opens 4 + 36 elements each way, the helper's correction 36.
    expect(se.attrs).to.include({ protocol: 'mulBroadcast', rounds: 1, drelus: 0 });
    expect(se.attrs.flows).to.deep.equal(['0 0->1 online mul.open 320', '0 1->0 online mul.open 320', '0 2->1 preprocessing mul.triple 288']);
    expect(hswish.attrs.flows).to.deep.equal(PROTOCOL_COSTS.mulBroadcast({ xSize: 36, ySize: 36, outSize: 36 }).flows.map(formatFlow));
    const gate = g.nodes.find((n) => n.name === 'gate')!;
    expect(gate.op).to.equal('SecureHardSigmoid');
    // the affine map's exact truncation (one round: a bit each way, the helper's 12-bit share), then the clip
    expect(gate.attrs).to.include({ protocol: 'hardSigmoid', rounds: 4, drelus: 8, alpha: 1 / 6, beta: 0.5 });
    expect(gate.attrs.flows).to.deep.equal([
      '0 0->1 online trunc.choice 1', '0 1->0 online trunc.open 1', '0 2->1 preprocessing trunc.triple 6',
      ...PROTOCOL_COSTS.clip({ n: 4, k: 64, lo: 0 }).flows.map((f) => formatFlow({ ...f, step: f.step + 1 })),
    ]);
    const sig = g.nodes.find((n) => n.name === 'sig')!;
    expect(sig.op).to.equal('SecureSigmoid');
    expect(sig.attrs).to.include({ protocol: 'sigmoid', rounds: 3, drelus: SIGMOID_PIECES * 36 });
    expect(sig.attrs.flows).to.deep.equal(PROTOCOL_COSTS.relu({ n: 360, k: 64, lo: 0 }).flows.map(formatFlow));
  });

  it('lower refuses a Mul by a constant left in a hand-written quantized graph (MPCC6001 naming the node)', () => {
    const b = new GraphBuilder();
    const x = b.op('FixedInput', [b.input('x', { dtype: 'float32', shape: [1, 4] })], { frac: 12 });
    b.output(b.op('Mul', [x, b.constant('c', new Tensor('float32', [1, 4], new Float32Array(4).fill(2)))], {}, 'by_const'));
    expect(errorOf(() => runPipeline(b.build(), 'lower')).format()).to.equal(
      "error MPCC6001: node 'by_const' (Mul) is not supported in secure inference: quantize turns a product with a constant into a weight layer (run quantize first)",
    );
  });

  it('refuses a HardSigmoid with non-finite alpha or beta (MPCC6050 naming the node)', () => {
    for (const [alpha, beta] of [[NaN, 0.5], [0.2, Infinity], [-Infinity, 0]]) {
      const e = errorOf(() => runPipeline(gateGraph(alpha, beta), 'quantize'));
      expect(e.code).to.equal('MPCC6050');
      expect(e.message).to.contain("node 'gate' (HardSigmoid)");
    }
  });

  describe('bad ONNX input through the CLI', function () {
    this.timeout(60000);
    const tmp = suiteTempDir('mpcc-act-bad-');
    /** `mpcc compile` of the one-node-after-input model `build` writes, as a subprocess. */
    const compile = (name: string, build: (b: OnnxBuilder) => void) => {
      const b = new OnnxBuilder({ opset: 13 });
      b.input('x', [1, 3, 4, 4]);
      build(b);
      b.output('y');
      const file = join(tmp(), `${name}.onnx`);
      writeFileSync(file, b.toBytes());
      return spawnSync(process.execPath, [join(ROOT, 'bin/mpcc.js'), 'compile', file, '-o', join(tmp(), name)], { encoding: 'utf8' });
    };

    it('a Mul of two activations whose shapes do not broadcast: MPCC1006 naming the node, exit 2, nothing written', () => {
      const r = compile('badmul', (b) => {
        b.initializer('W', Array.from({ length: 6 }, (_, i) => i / 10), [2, 3, 1, 1]);
        b.node('Conv', ['x', 'W'], ['c']);
        b.node('Mul', ['x', 'c'], ['y'], {}, 'gate_mul');
      });
      expect(r.status).to.equal(2);
      expect(r.stderr).to.contain("MPCC1006: node 'gate_mul' (Mul): shapes [1,3,4,4] and [1,2,4,4] do not broadcast");
      expect(existsSync(join(tmp(), 'badmul'))).to.equal(false);
    });

    it('a HardSigmoid with alpha NaN: MPCC6050 naming the node, exit 2, nothing written', () => {
      const r = compile('badhs', (b) => b.node('HardSigmoid', ['x'], ['y'], { alpha: float(NaN), beta: float(0.5) }, 'hs_nan'));
      expect(r.status).to.equal(2);
      expect(r.stderr).to.contain("MPCC6050: node 'hs_nan' (HardSigmoid): alpha NaN and beta 0.5 must be finite numbers");
      expect(existsSync(join(tmp(), 'badhs'))).to.equal(false);
    });
  });
});
