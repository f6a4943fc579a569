// The narrow-compare pass (one window for all, or a plan's windows), the plan file's `compare`
// windows, and the statistics behind auto windows: the predicted sign-error rate against the
// per-value brute force of test/ir/interp/fixed/compare-window.test.ts's model, and auto windows
// that stay within 2..64 bits on extreme statistics.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../../ir/builder.js';
import { type Graph, makeNode } from '../../../ir/graph.js';
import { windowErrorProbability, windowNegative } from '../../../ir/interp/fixed/index.js';
import { withDefaults } from '../../../ir/ops/index.js';
import { runPipeline } from '../../../passes/index.js';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { type CompareStat, CompareStatistics, MAX_FREE_ERROR_BITS, SignErrorCounter, TAIL_VALUES, autoWindow, bitsForRange, chooseWindow, largest, maxLevels, predictedOverflow, predictedSignError } from '../../../passes/planning/compare-stats.js';
import { type Plan, makePlan, parsePlan, planJson } from '../../../passes/planning/plan-file.js';
import { randomTensor, rng } from '../util.js';

function graph(): Graph {
  const rand = rng(3);
  const b = new GraphBuilder('g');
  const x = b.input('x', { dtype: 'float32', shape: [1, 2, 4, 4] });
  const c = b.op('Conv', [x, b.constant('w', randomTensor(rand, [2, 2, 1, 1]))], {}, 'conv');
  const r = b.op('Relu', [c], {}, 'relu');
  const m = b.op('MaxPool', [r], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  const cl = b.op('Clip', [m], { min: 0, max: 6 }, 'clip');
  b.node('BlockRelu', [cl], { blocks: [2, 2, 1, 1] }, { name: 'blocks', outputs: ['y'] });
  b.output('y');
  return b.build();
}

const windowsOf = (g: Graph) => Object.fromEntries(g.nodes.filter((n) => 'window_k' in withDefaults(n)).map((n) => [n.name, [withDefaults(n).window_lo, withDefaults(n).window_k]]));
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'no error';
};

describe('narrow-compare', () => {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'mpcc-narrow-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every comparison (Relu, MaxPool, Clip, BlockRelu) one window', () => {
    const g = runPipeline(graph(), 'narrow-compare{bits=16,drop-lsb=5}').graph;
    expect(windowsOf(g)).to.deep.equal({ relu: [5, 16], pool: [5, 16], clip: [5, 16], blocks: [5, 16] });
    expect(windowsOf(runPipeline(graph(), 'narrow-compare').graph)).to.deep.equal({ relu: [0, 64], pool: [0, 64], clip: [0, 64], blocks: [0, 64] });
  });

  it('refuses windows outside the ring: K outside 2..64, L ≥ K, L + K > 64', () => {
    expect(code(() => runPipeline(graph(), 'narrow-compare{bits=1}'))).to.equal('MPCC4003');
    expect(code(() => runPipeline(graph(), 'narrow-compare{bits=65}'))).to.equal('MPCC4003');
    expect(code(() => runPipeline(graph(), 'narrow-compare{bits=8,drop-lsb=8}'))).to.equal('MPCC4003');
    expect(code(() => runPipeline(graph(), 'narrow-compare{bits=60,drop-lsb=5}'))).to.equal('MPCC4003');
  });

  const plan = (windows: { name: string; op: string; lo: number; k: number }[], layerWindow?: { lo: number; k: number }): Plan => {
    const base = makePlan({ sha256: '0'.repeat(64), reluLayers: ['relu'] }, [], { tool: 'test' }, false);
    const layers = layerWindow ? [{ name: 'relu', shape: [1, 2, 4, 4] as [number, number, number, number], blocks: [[1, 1], [1, 1]] as [number, number][], drelus: { baseline: 32, planned: 32 }, window: layerWindow }] : [];
    return { ...base, layers, drelus: layerWindow ? { baseline: 32, planned: 32 } : base.drelus, compare: { mode: 'auto', fracBits: 12, maxSignError: 1e-4, windows: windows.map((w) => ({ ...w, predictedSignError: 1e-5, predictedOverflow: 1e-7, maxAbs: 3.5, samples: 100 })) } };
  };
  const write = (p: Plan, name: string) => {
    const file = join(dir, name);
    writeFileSync(file, planJson(p));
    return file;
  };

  it("applies a plan's windows, and the plan file keeps them through JSON", () => {
    const p = plan([{ name: 'relu', op: 'Relu', lo: 2, k: 14 }, { name: 'pool', op: 'MaxPool', lo: 0, k: 20 }, { name: 'blocks', op: 'BlockRelu', lo: 1, k: 30 }]);
    const file = write(p, 'p.json');
    expect(parsePlan(planJson(p), file)).to.deep.equal(p);
    expect(windowsOf(runPipeline(graph(), `narrow-compare{plan=${file}}`).graph)).to.deep.equal({ relu: [2, 14], pool: [0, 20], clip: [0, 64], blocks: [1, 30] });
  });

  it('refuses a plan whose windows do not fit the model (MPCC4073) or are malformed (MPCC4010)', () => {
    const bad = [
      plan([{ name: 'nowhere', op: 'Relu', lo: 0, k: 16 }]),
      plan([{ name: 'relu', op: 'Clip', lo: 0, k: 16 }]),
      plan([{ name: 'conv', op: 'Relu', lo: 0, k: 16 }]),
      plan([{ name: 'relu', op: 'Relu', lo: 0, k: 16 }], { lo: 1, k: 16 }),
    ];
    bad.forEach((p, i) => expect(code(() => runPipeline(graph(), `narrow-compare{plan=${write(p, `bad${i}.json`)}}`)), `plan ${i}`).to.equal('MPCC4073'));
    const text = planJson(plan([{ name: 'relu', op: 'Relu', lo: 0, k: 16 }]));
    for (const broken of [text.replace('"k":16', '"k":16,"extra":1'), text.replace('"k":16', '"k":65'), text.replace('"lo":0', '"lo":-1'), text.replace('"op":"Relu"', '"op":"Conv"'), text.replace('"mode": "auto"', '"mode": "best"'), text.replace('"predictedOverflow":1e-7', '"predictedOverflow":2')]) {
      expect(broken).to.not.equal(text);
      expect(code(() => parsePlan(broken, 'broken.json'))).to.equal('MPCC4010');
    }
  });
});

describe('narrow-compare statistics: predicted sign errors and auto windows', () => {
  /** Values: many near zero (the carry band), some large. */
  function sample(rand: () => number, n: number): BigUint64Array {
    return BigUint64Array.from({ length: n }, (_, i) => BigInt.asUintN(64, BigInt(Math.round(i % 3 === 0 ? (rand() - 0.3) * 200 : (rand() - 0.5) * 40000))));
  }
  const statsOf = (values: BigUint64Array) => {
    const s = new CompareStatistics();
    s.add(makeNode('Relu', 'r', ['x'], ['y']), values);
    return s.byNode.get('r')!;
  };

  const wide = (rand: () => number) => BigUint64Array.from({ length: 2000 }, () => BigInt.asUintN(64, BigInt(Math.round((rand() - 0.4) * 2 ** 26))));
  const bruteForceCases: [string, BigUint64Array, number[], number][] = [
    ['values near zero and large ones', sample(rng(8), 3000), [0, 1, 3, 5, 8], 1e-12],
    // exact for any lo, far beyond 16 bits (a scale of 24 fractional bits)
    ['values up to 2^26 ulps', wide(rng(12)), [10, 17, 20, 24], 1e-9],
  ];
  for (const [what, values, los, tolerance] of bruteForceCases) {
    it(`the predicted rate is the mean of the per-value error probability (brute-force model): ${what}`, () => {
      const s = statsOf(values);
      for (const lo of los) {
        const k = bitsForRange(s.maxAbs, lo);
        let sum = 0;
        for (const v of values) sum += windowErrorProbability(BigInt.asIntN(64, v), lo, k);
        expect(predictedSignError(s, lo), `lo=${lo}`).to.be.closeTo(sum / values.length, tolerance);
      }
    });
  }

  it('keeps the largest values for the tail fit, whatever their order', () => {
    const rand = rng(13);
    const values = Array.from({ length: 20000 }, () => Math.round((rand() - 0.5) * 1e6));
    const s = new CompareStatistics();
    for (let i = 0; i < values.length; i += 777) s.add(makeNode('Relu', 'r', ['x'], ['y']), BigUint64Array.from(values.slice(i, i + 777), (v) => BigInt.asUintN(64, BigInt(v))));
    const want = values.map(Math.abs).sort((a, b) => b - a).slice(0, TAIL_VALUES + 1);
    expect(largest(s.byNode.get('r')!)).to.deep.equal(want);
  });

  // A max (maxpool-to-relu-tree's levels): a lost carry misreads a − b only for 0 ≤ a − b < 2^lo,
  // where max(a, b) reads b: an error below 2^lo ulps, so below 2^(f − 6) it is not counted.
  it('a max\'s window: its carries below 2^(f − 6) do not count, so auto drops those bits; brute force over every window, and only the tree levels are maxes', () => {
    const frac = 14;
    const free = frac - MAX_FREE_ERROR_BITS;
    const s = statsOf(sample(rng(19), 3000));
    for (const bound of [1e-4, 1e-2]) {
      const plain = autoWindow(s, 'BlockRelu', 'r', frac, bound);
      const max = autoWindow(s, 'BlockRelu', 'r', frac, bound, true);
      expect(max.k).to.be.at.most(plain.k);
      const m = max.lo + max.k - 1;
      expect(2 ** m).to.be.above(s.maxAbs);
      // brute force: a window counts its carries only above the free bits
      const counted = (lo: number) => (lo <= free ? 0 : predictedSignError(s, lo));
      expect(max.predictedSignError!).to.be.closeTo(counted(max.lo) + max.predictedOverflow!, 1e-15);
      expect(max.predictedSignError!).to.be.at.most(bound);
      for (let top = 1; top < 63; top++) {
        if (2 ** top <= s.maxAbs) continue;
        for (let lo = 0; lo < top; lo++) {
          const over = predictedOverflow(s, top) ?? (2 ** top > 2 * s.maxAbs ? 0 : Infinity);
          if (counted(lo) + over <= bound) expect(top - lo + 1, `lo ${lo} top ${top}`).to.be.at.least(max.k);
        }
      }
    }
    const tree = runPipeline(importOnnx(buildZooModel('tiny-cnn')), 'canonicalize,maxpool-to-relu-tree').graph;
    const relus = tree.nodes.filter((n) => n.op === 'Relu').map((n) => n.name);
    expect([...maxLevels(tree)].sort()).to.deep.equal(relus.filter((r) => r.includes('MaxPool.')).sort());
    expect(relus.filter((r) => !r.includes('MaxPool.')).length).to.be.above(0);
  });

  it('predicts the overflow past the largest value from the tail, and it holds on fresh values', () => {
    // Laplace values (an exponential tail, as the fit assumes): calibration and fresh draws
    const rand = rng(14);
    const laplace = (n: number) => BigUint64Array.from({ length: n }, () => BigInt.asUintN(64, BigInt(Math.round((rand() < 0.5 ? -1 : 1) * -Math.log(1 - rand()) * 1000))));
    const s = statsOf(laplace(20000));
    const fresh = statsOf(laplace(400000));
    const m = Math.ceil(Math.log2(s.maxAbs + 1)); // the smallest range above the calibration values
    const predicted = predictedOverflow(s, m)!;
    const exact = Math.exp(-(2 ** m) / 1000); // P(|x| ≥ 2^m) of the Laplace law
    expect(predicted).to.be.within(exact / 3, exact * 3);
    const measured = (fresh.bitLengths.slice(m + 1).reduce((a, b) => a + b, 0)) / fresh.n;
    expect(measured).to.be.at.most(Math.max(3 * predicted, 5 / fresh.n));
    expect(predictedOverflow(s, m - 2)).to.equal(s.bitLengths.slice(m - 1).reduce((a, b) => a + b, 0) / s.n); // inside: counted
    expect(predictedOverflow(statsOf(BigUint64Array.from([5n, 9n])), 10)).to.equal(null); // too few values for a tail
  });

  it('auto picks the fewest bits whose predicted rate (carries + overflow) stays under the bound', () => {
    const s = statsOf(sample(rng(9), 3000));
    for (const bound of [1e-4, 1e-2, 0.05]) {
      const w = autoWindow(s, 'Relu', 'r', 12, bound);
      const m = w.lo + w.k - 1;
      expect(w.predictedSignError!).to.be.at.most(bound);
      expect(w.predictedSignError!).to.be.closeTo(predictedSignError(s, w.lo) + w.predictedOverflow!, 1e-15);
      expect(2 ** m).to.be.above(s.maxAbs); // no calibration value wraps
      // brute force over every window: none with fewer bits meets the bound
      for (let top = 1; top < 63; top++) {
        if (2 ** top <= s.maxAbs) continue;
        for (let lo = 0; lo < top; lo++) {
          const over = predictedOverflow(s, top) ?? (2 ** top > 2 * s.maxAbs ? 0 : Infinity);
          if (predictedSignError(s, lo) + over <= bound) expect(top - lo + 1, `lo ${lo} top ${top}`).to.be.at.least(w.k);
        }
      }
    }
  });

  it('the measured sign errors count the values past the range apart (brute force)', () => {
    const values = [0n, 5n, 127n, 128n, 200n, 255n, 256n, 300n, -1n, -128n, -129n, -200n, -256n, -300n, 1000n];
    const counter = new SignErrorCounter();
    windowNegative(BigUint64Array.from(values, (v) => BigInt.asUintN(64, v)), 0, 8, makeNode('Relu', 'r', ['x'], ['y']), counter.simulation());
    // bits [0, 8): the sign is bit 7; wrong for 128..255 (read negative), −129..−256 (read positive), 1000 (bit 7 set);
    // right again for 300 (= 256 + 44) and −300 (≡ 212): a value past the range is not always misread
    const wrong = values.filter((v) => (BigInt.asUintN(8, v) >> 7n === 1n) !== v < 0n);
    expect(wrong).to.deep.equal([128n, 200n, 255n, -129n, -200n, -256n, 1000n]);
    const e = counter.byNode.get('r')!;
    expect([e.n, e.errors, e.overflows]).to.deep.equal([values.length, wrong.length, wrong.length]);
  });

  it('a layer too small for a tail keeps the range twice its largest value', () => {
    const s = statsOf(BigUint64Array.from([300n, 5n, BigInt.asUintN(64, -200n), 70n]));
    const w = chooseWindow(s, 1e-4);
    expect(2 ** (w.lo + w.k - 1)).to.be.above(2 * s.maxAbs);
    expect(2 ** (w.lo + w.k - 2)).to.be.at.most(2 * s.maxAbs);
  });

  it('auto windows stay within 2..64 bits on extreme statistics, and a layer without statistics keeps 64', () => {
    const zeros = statsOf(new BigUint64Array(100));
    const huge = statsOf(BigUint64Array.from([1n << 62n, (1n << 64n) - (1n << 62n), 5n]));
    const one = statsOf(BigUint64Array.from([1n, 0n]));
    for (const s of [zeros, huge, one]) {
      for (const bound of [1e-9, 1e-4, 0.5, 0.999]) {
        const w = autoWindow(s, 'Relu', 'r', 12, bound);
        expect(w.k, JSON.stringify(w)).to.be.within(2, 64);
        expect(w.lo + w.k).to.be.at.most(64);
      }
    }
    expect(autoWindow(huge, 'Relu', 'r', 12, 1e-4).k).to.be.at.least(63 - autoWindow(huge, 'Relu', 'r', 12, 1e-4).lo);
    const none = autoWindow(undefined, 'MaxPool', 'p', 12, 1e-4);
    expect([none.lo, none.k, none.predictedSignError, none.samples]).to.deep.equal([0, 64, null, 0]);
    const empty: CompareStat = { ...zeros, n: 0 };
    expect(autoWindow(empty, 'Relu', 'r', 12, 1e-4).k).to.equal(64);
  });
});
