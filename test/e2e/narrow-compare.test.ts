// End to end with narrowed comparison windows: a small model with every comparison kind (Relu
// read only by a MaxPool, so lower moves it after the pool; MaxPool; Clip; BlockRelu) written as
// IR, compiled with one window for all (`--compare-bits 14`, `--compare-bits 16 --drop-lsb 3`) and
// with auto windows from calibration samples, run by the three parties in process, and checked
// against the fixed-point interpreter's simulation of the same windows (narrow-compare applied,
// quantize, the pool before its activation as lower does) and against cost.json (bytes per party
// and phase, rounds). The secure run differs from the interpreter only by the share
// truncations (±1 ulp each, carried along) and, where lo > 0, a lost carry for a compared value
// in [0, 2^lo); inputs are chosen so every compared value is at least MARGIN ulps plus 2^lo
// away from zero, where neither can change a sign.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../compiler/commands/compile.js';
import { encodeNpy } from '../../compiler/npy.js';
import { GraphBuilder } from '../../ir/builder.js';
import type { Graph } from '../../ir/graph.js';
import { runGraphFixed } from '../../ir/interp/fixed/index.js';
import { tensorOf } from '../../ir/tensor.js';
import { saveMir } from '../../ir/weights.js';
import { runPipeline } from '../../passes/index.js';
import { planWindows, applyWindows } from '../../passes/planning/narrow-compare.js';
import { readPlan } from '../../passes/planning/plan-file.js';
import { poolBeforeActivation } from '../../passes/secure/lower-reorder.js';
import { loadPartyArtifacts } from '../../runtime/program/index.js';
import { writeFileSync } from 'node:fs';
import { randomTensor, rng } from '../passes/util.js';
import { expectCountersMatch, flowTotals, maxAbsDiff, runSecureInProcess } from './support.js';

const FRAC = 12;
const ULP = 2 ** -FRAC;
const SHAPE = [1, 2, 6, 6];
/** Distance from zero (ulps, beyond 2^lo) every compared value keeps in the chosen inputs. */
const MARGIN = 24;

/** conv1 → relu → maxpool 2×2 → clip [0, 0.75] → conv2 (1×1) → block-ReLU ([2,2] and [1,3]). */
function model(): Graph {
  const rand = rng(31);
  const b = new GraphBuilder('narrow');
  const x = b.input('x', { dtype: 'float32', shape: SHAPE });
  const c1 = b.op('Conv', [x, b.constant('w1', randomTensor(rand, [3, 2, 3, 3], -0.4, 0.4)), b.constant('b1', randomTensor(rand, [3], -0.1, 0.1))], { pads: [1, 1, 1, 1] }, 'conv1');
  const r = b.op('Relu', [c1], {}, 'relu');
  const mp = b.op('MaxPool', [r], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  const cl = b.op('Clip', [mp], { min: 0, max: 0.75 }, 'clip');
  const c2 = b.op('Conv', [cl, b.constant('w2', randomTensor(rand, [2, 3, 1, 1], -0.8, 0.8)), b.constant('b2', randomTensor(rand, [2], -0.1, 0.1))], {}, 'conv2');
  b.node('BlockRelu', [c2], { blocks: [2, 2, 1, 3] }, { name: 'blocks', outputs: ['y'] });
  b.output('y');
  return b.build();
}

/** The interpreter's graph for the windows recorded in `planFile`: as lower will run it. */
function simulationGraph(float: Graph, planFile: string): Graph {
  const windowed = applyWindows(float, planWindows(readPlan(planFile), planFile, float));
  return poolBeforeActivation(runPipeline(windowed, `quantize{frac-bits=${FRAC}}`).graph);
}

/** The smallest distance (ulps) from a compared value to the band a lost carry or a truncation
 * can flip: x ≥ 0 must be ≥ 2^lo + MARGIN, x < 0 must be ≤ −MARGIN. Ties (0) of the MaxPool's
 * differences pick equal values either way and are left out. */
function clearance(g: Graph, x: Float32Array): number {
  let closest = Infinity;
  runGraphFixed(g, { x: tensorOf('float32', SHAPE, x) }, {
    frac: FRAC,
    keep: 'outputs',
    compare: {
      observe(node, values, _negative, { lo }) {
        for (const v of values) {
          const s = Number(BigInt.asIntN(64, v));
          if (node.op === 'MaxPool' && s === 0) continue;
          closest = Math.min(closest, s >= 0 ? s - 2 ** lo : -s);
        }
      },
    },
  });
  return closest;
}

describe('e2e: narrowed comparison windows, secure run vs the interpreter\'s simulation', function () {
  this.timeout(180000);
  let dir = '';
  let mir = '';
  const float = model();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-e2e-narrow-'));
    mir = saveMir(float, join(dir, 'narrow.mir')).mir;
    const rand = rng(5);
    const calib = Float32Array.from({ length: 64 * 2 * 36 }, () => 2 * rand() - 1);
    writeFileSync(join(dir, 'calib.npy'), encodeNpy([64, 2, 6, 6], Array.from(calib)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const configs: [string, { compareBits: string; dropLsb?: string; calib?: string }][] = [
    ['one window of 14 bits', { compareBits: '14' }],
    ['the paper\'s window shape (16 bits, 3 low bits dropped)', { compareBits: '16', dropLsb: '3' }],
    ['auto windows from calibration', { compareBits: 'auto', calib: 'calib.npy' }],
  ];
  for (const [what, flags] of configs) {
    it(`${what}: equals the simulation within the truncation error, at cost.json's bytes and rounds`, async () => {
      const out = join(dir, `out-${flags.compareBits}-${flags.dropLsb ?? 0}`);
      const { cost } = runCompile(mir, { output: out, fracBits: FRAC, ...flags, ...(flags.calib ? { calib: join(dir, flags.calib) } : {}) });
      const windows = readPlan(join(out, 'plan.json')).compare!.windows;
      expect(windows.map((w) => w.op).sort()).to.deep.equal(['BlockRelu', 'Clip', 'MaxPool', 'Relu']);
      for (const w of windows) expect(w.k, w.name).to.be.within(2, 64 - w.lo);
      if (flags.compareBits !== 'auto') for (const w of windows) expect([w.lo, w.k]).to.deep.equal([Number(flags.dropLsb ?? 0), Number(flags.compareBits)]);
      else expect(windows.some((w) => w.k < 64), 'auto narrows some window').to.equal(true);
      // the cost report carries the windows: fewer comparison bytes per DReLU than 64-bit ones
      expect(cost.bytesPerDrelu!).to.be.below(cost.compareBytes64 / cost.drelus);
      for (const l of cost.layers.filter((l) => l.drelus > 0)) expect(windows.map((w) => w.k)).to.include(l.compareBits);

      const sim = simulationGraph(float, join(out, 'plan.json'));
      const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
      const predicted = flowTotals(readFileSync(join(out, 'party1', 'model.mir'), 'utf8'));
      const rand = rng(77);
      let checked = 0;
      for (let tries = 0; checked < 2 && tries < 400; tries++) {
        const x = Float32Array.from({ length: 2 * 36 }, () => 2 * rand() - 1);
        if (clearance(sim, x) < MARGIN) continue;
        const r = await runSecureInProcess(arts, x);
        const fixed = runGraphFixed(sim, { x: tensorOf('float32', SHAPE, x) }, { frac: FRAC }).outputs.get('y')!.data;
        expect(maxAbsDiff(r[0].outputs.get('y')!, fixed) / ULP, 'secure vs simulation, ulps').to.be.at.most(8);
        expectCountersMatch(r, cost, predicted);
        checked++;
      }
      expect(checked, 'inputs with every compared value clear of the carry band').to.equal(2);
    });
  }

  it('a window too narrow for the values changes the result, and the simulation says so too', async () => {
    // 4 bits from bit 2: values past ±2^5 ulps wrap, so signs go wrong in both alike
    const out = join(dir, 'out-4');
    runCompile(mir, { output: out, fracBits: FRAC, compareBits: '4', dropLsb: '2' });
    const sim = simulationGraph(float, join(out, 'plan.json'));
    const full = runPipeline(float, `quantize{frac-bits=${FRAC}}`).graph;
    const x = Float32Array.from({ length: 2 * 36 }, (_, i) => Math.sin(i));
    const narrow = runGraphFixed(sim, { x: tensorOf('float32', SHAPE, x) }, { frac: FRAC }).outputs.get('y')!.data;
    const wide = runGraphFixed(full, { x: tensorOf('float32', SHAPE, x) }, { frac: FRAC }).outputs.get('y')!.data;
    expect(maxAbsDiff(narrow, wide)).to.be.above(0.05);
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const r = await runSecureInProcess(arts, x);
    expect(maxAbsDiff(r[0].outputs.get('y')!, wide)).to.be.above(0.05);
  });
});
