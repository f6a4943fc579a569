// maxpool-to-relu-tree: the trees compute the MaxPool (float: against a max written by hand over
// every window; fixed point: bit for bit against the MaxPool's own fixed-point kernel), with the
// runtime's pairs per level (maxPoolLevels) as ReLU layers, and leave what they cannot write.
import { expect } from 'chai';
import { GraphBuilder, type Graph } from '../../../ir/index.js';
import { runGraph } from '../../../ir/interp/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/index.js';
import type { Tensor } from '../../../ir/tensor.js';
import { runPipeline } from '../../../passes/index.js';
import { maxPoolLevels } from '../../../runtime/protocols/maxpool.js';
import { randomTensor, rng } from '../util.js';

const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });

interface Pool {
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  ceil?: number;
}

function poolGraph(shape: number[], p: Pool, relu = false): Graph {
  const b = new GraphBuilder('g');
  let x = b.input('x', f32(shape));
  if (relu) x = b.op('Relu', [x], {}, 'act');
  b.node('MaxPool', [x], { kernel_shape: p.kernel, strides: p.strides, pads: p.pads, ceil_mode: p.ceil ?? 0 }, { name: 'pool', outputs: ['y'] });
  b.output('y');
  return b.build();
}

/** The max over every window by hand (pads never win), with an optional ReLU before. */
function maxByHand(x: Tensor, p: Pool, out: [number, number], relu: boolean): number[] {
  const [n, c, h, w] = x.shape;
  const res: number[] = [];
  for (let i = 0; i < n * c; i++)
    for (let oy = 0; oy < out[0]; oy++)
      for (let ox = 0; ox < out[1]; ox++) {
        let best = -Infinity;
        for (let ky = 0; ky < p.kernel[0]; ky++)
          for (let kx = 0; kx < p.kernel[1]; kx++) {
            const iy = oy * p.strides[0] - p.pads[0] + ky, ix = ox * p.strides[1] - p.pads[1] + kx;
            if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
            best = Math.max(best, x.data[(i * h + iy) * w + ix]);
          }
        res.push(relu ? Math.max(best, 0) : best);
      }
  return res;
}

const POOLS: [string, number[], Pool][] = [
  ["ResNet's stem 3×3/2 pad 1", [1, 2, 12, 11], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
  ['2×2/2', [1, 3, 8, 6], { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] }],
  ['3×3/1 pad 1', [2, 2, 5, 7], { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }],
  ['5×3, strides 2×1, uneven pads', [1, 2, 9, 8], { kernel: [5, 3], strides: [2, 1], pads: [2, 0, 1, 2] }],
  ['1×4/3 (one axis only)', [1, 2, 4, 13], { kernel: [1, 4], strides: [1, 3], pads: [0, 0, 0, 0] }],
  ['3×3/2 ceil_mode', [1, 2, 8, 8], { kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0], ceil: 1 }],
];

describe('maxpool-to-relu-tree', () => {
  for (const [what, shape, p] of POOLS) {
    it(`${what}: the max of every window (float by hand, fixed point bit for bit), with the runtime's pairs as ReLUs`, () => {
      const g = poolGraph(shape, p);
      const { graph, reports } = runPipeline(g, 'maxpool-to-relu-tree');
      expect(graph.nodes.some((n) => n.op === 'MaxPool')).to.equal(false);
      expect(reports[0].stats.get('max-pools written as ReLU trees')).to.equal(1);
      expect(graph.types.get('y')).to.deep.equal(g.types.get('y'));
      const out = g.types.get('y')!.shape;
      const x = randomTensor(rng(shape.length * 31 + shape[3]), shape, -2, 2);
      const got = Array.from(runGraph(graph, { x }, { precision: 'float64' }).get('y')!.data);
      const want = maxByHand(x, p, [out[2], out[3]], false);
      expect(got.length).to.equal(want.length);
      want.forEach((v, i) => expect(got[i]).to.be.closeTo(v, 1e-6));
      // Fixed point: b + relu(a − b) is the max exactly in the ring, as the runtime's tree.
      const fixedPool = runGraphFixed(runPipeline(g, 'quantize{frac-bits=12}').graph, { x }, { frac: 12 }).outputs.get('y')!.data;
      const fixedTree = runGraphFixed(runPipeline(graph, 'quantize{frac-bits=12}').graph, { x }, { frac: 12 }).outputs.get('y')!.data;
      expect(Array.from(fixedTree)).to.deep.equal(Array.from(fixedPool));
      // The ReLU layers are the runtime's levels, pair for pair (secure cost unchanged).
      const relus = graph.nodes.filter((n) => n.op === 'Relu').map((n) => graph.types.get(n.outputs[0])!.shape.reduce((a, b) => a * b, 1));
      const padded: [number, number, number, number] = [p.pads[0], p.pads[1], p.pads[2] + (p.ceil ? 1 : 0), p.pads[3] + (p.ceil ? 1 : 0)];
      const levels = maxPoolLevels({ inShape: shape as [number, number, number, number], kernel: p.kernel, strides: p.strides, pads: padded });
      const total = relus.reduce((a, b) => a + b, 0);
      if (what.startsWith('5×3')) {
        // The runtime takes one tree over the 15 taps here (4 levels, 692 pairs) rather than the
        // separable passes (5 levels); the tree pass always goes separable: by hand, rows 2 channels
        // × 9 rows × (7 + 6) pairs, columns 2 × 8 × (3 + 4 + 3 + 4).
        expect([levels.reduce((a, b) => a + b, 0), total]).to.deep.equal([692, 2 * 9 * 13 + 2 * 8 * 14]);
      } else expect(total).to.equal(levels.reduce((a, b) => a + b, 0));
    });
  }

  it('moves a ReLU read only by the pool after the tree (one comparison per output, not per input)', () => {
    const p: Pool = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
    const g = poolGraph([1, 2, 10, 10], p, true);
    const { graph } = runPipeline(g, 'maxpool-to-relu-tree');
    const last = graph.nodes[graph.nodes.length - 1];
    expect([last.op, last.name, last.outputs[0]]).to.deep.equal(['Relu', 'act', 'y']);
    expect(graph.types.get(last.inputs[0])!.shape).to.deep.equal([1, 2, 5, 5]);
    const x = randomTensor(rng(4), [1, 2, 10, 10], -2, 2);
    const got = Array.from(runGraph(graph, { x }, { precision: 'float64' }).get('y')!.data);
    maxByHand(x, p, [5, 5], true).forEach((v, i) => expect(got[i]).to.be.closeTo(v, 1e-6));
  });

  it('names the ReLU layers after the pool, axis and level', () => {
    const { graph } = runPipeline(poolGraph([1, 1, 6, 6], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), 'maxpool-to-relu-tree');
    expect(graph.nodes.filter((n) => n.op === 'Relu').map((n) => [n.name, graph.types.get(n.outputs[0])!.shape])).to.deep.equal([
      ['pool.w1.0.relu', [1, 1, 6, 2]],
      ['pool.w2.0.relu', [1, 1, 6, 3]],
      ['pool.h1.0.relu', [1, 1, 2, 3]],
      ['pool.h2.0.relu', [1, 1, 3, 3]],
    ]);
  });

  it('leaves a dilated MaxPool, and writes a 1×1 stride-1 one as an Identity', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', f32([1, 1, 6, 6]));
    const d = b.op('MaxPool', [x], { kernel_shape: [2, 2], dilations: [2, 2] }, 'dilated');
    b.node('MaxPool', [d], { kernel_shape: [1, 1] }, { name: 'one', outputs: ['y'] });
    b.output('y');
    const g = b.build();
    const { graph, reports } = runPipeline(g, 'maxpool-to-relu-tree');
    expect(graph.nodes.map((n) => [n.op, n.name])).to.deep.equal([['MaxPool', 'dilated'], ['Identity', 'one']]);
    expect(reports[0].stats.get('max-pools kept')).to.equal(1);
  });
});
