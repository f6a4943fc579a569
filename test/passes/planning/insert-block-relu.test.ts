// insert-block-relu beyond its golden file (test/passes/golden/insert-block-relu.mir): its
// statistics, the planned network's float output against a brute-force block-ReLU applying the
// plan's blocks channel by channel, and a missing plan option.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { runGraph } from '../../../ir/interp/index.js';
import { parseMir } from '../../../ir/parse.js';
import { runPipeline } from '../../../passes/index.js';
import { type ChannelBlock, parsePlan } from '../../../passes/planning/plan-file.js';
import { errorOf, randomTensor, rng } from '../util.js';

const GOLDEN = 'test/passes/golden/insert-block-relu';

/** Block-ReLU of one channel's h×w map, by its definition: a tile passes when its sum is ≥ 0. */
function bruteBlockRelu(map: number[], h: number, w: number, block: ChannelBlock): number[] {
  if (block === 'identity') return map;
  const out = [...map];
  for (let ti = 0; ti < h; ti += block[0]) {
    for (let tj = 0; tj < w; tj += block[1]) {
      const cells: number[] = [];
      for (let i = ti; i < Math.min(ti + block[0], h); i++) for (let j = tj; j < Math.min(tj + block[1], w); j++) cells.push(i * w + j);
      if (cells.reduce((t, k) => t + map[k], 0) < 0) for (const k of cells) out[k] = 0;
    }
  }
  return out;
}

describe('insert-block-relu', () => {
  const text = readFileSync(`${GOLDEN}.mir`, 'utf8');
  const before = parseMir(text.slice(0, text.indexOf('// ----- after')));
  const pipeline = `insert-block-relu{plan=${GOLDEN}.plan.json}`;

  it('reports relus replaced and the planned layers\' DReLUs before and after', () => {
    const { reports } = runPipeline(before, pipeline);
    expect(Object.fromEntries(reports[0].stats)).to.deep.equal({ 'relus replaced': 1, 'drelus before': 60, 'drelus after': 24 });
  });

  it('computes the plan\'s block-ReLU channel by channel (float interpreter against brute force)', () => {
    const plan = parsePlan(readFileSync(`${GOLDEN}.plan.json`, 'utf8'), 'plan');
    const after = runPipeline(before, pipeline).graph;
    const x = randomTensor(rng(5), [1, 3, 4, 5]);
    const got = Array.from(runGraph(after, { x }, { precision: 'float64' }).get('out')!.data as Float64Array);
    const xs = Array.from(x.data as Float32Array);
    // relu_a as planned, then relu_b and the flat ReLU as ReLUs.
    const want = plan.layers[0].blocks.flatMap((b, c) => bruteBlockRelu(xs.slice(c * 20, c * 20 + 20), 4, 5, b)).map((v) => Math.max(v, 0));
    got.forEach((v, i) => expect(v, `element ${i}`).to.be.closeTo(want[i], 1e-6));
    // The plan changes the function: the identity channel passes negative values to relu_b,
    // which clears them, so compare with the all-ReLU network on the [2, 3] channel instead.
    const plain = Array.from(runGraph(before, { x }, { precision: 'float64' }).get('out')!.data as Float64Array);
    expect(got.slice(40).some((v, i) => v !== plain[40 + i])).to.equal(true);
  });

  it('MPCC4003 without a plan file', () => {
    expect(errorOf(() => runPipeline(before, 'insert-block-relu')).format()).to.equal("error MPCC4003: pass 'insert-block-relu': invalid option plan='': a plan file is required (insert-block-relu{plan=FILE})");
  });
});
