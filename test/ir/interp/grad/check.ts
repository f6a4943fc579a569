// The honest reference of every backward kernel: central finite differences of the forward
// interpreter in float64. A graph's gradients with respect to all its inputs, for a few random
// probe vectors of its output, against Σ_out v·(f(x + h·e_i) − f(x − h·e_i))/2h per element.
import { expect } from 'chai';
import { GraphBuilder } from '../../../../ir/builder.js';
import { runBackward } from '../../../../ir/interp/grad/index.js';
import { runGraph } from '../../../../ir/interp/index.js';
import { Tensor } from '../../../../ir/tensor.js';
import { numel } from '../../../../ir/types.js';
import { rng } from '../../../passes/util.js';

/** Builds a one-output graph on `b`; runtime inputs get random values in [lo, hi). */
export type Build = (b: GraphBuilder, rand: () => number) => void;

/** Probe vectors per check: more than one checks that probes stay apart. */
const PROBES = 3;
const STEP = 1e-5;

/** The largest difference between backward gradients and finite differences (relative to max(1, |g|)). */
export function gradError(build: Build, seed = 1, range: [number, number] = [-1, 1]): number {
  const rand = rng(seed);
  const b = new GraphBuilder();
  build(b, rand);
  const g = b.build();
  const inputs = new Map(g.inputs.map((name) => {
    const n = numel(g.types.get(name)!.shape);
    return [name, new Tensor('float64', g.types.get(name)!.shape, Float64Array.from({ length: n }, () => range[0] + (range[1] - range[0]) * rand()))];
  }));
  const out = g.outputs[0], m = numel(g.types.get(out)!.shape);
  const v = Float64Array.from({ length: PROBES * m }, () => rand() * 2 - 1);
  const env = runGraph(g, inputs, { precision: 'float64', keep: [...g.inputs, ...g.nodes.flatMap((n) => n.outputs)] });
  const grads = new Map<string, Float64Array>();
  runBackward(g, env, new Map([[out, v.slice()]]), {
    probes: PROBES, dtype: 'float64', wanted: new Set(g.inputs), onGradient: (name, d) => grads.set(name, Float64Array.from(d)),
  });
  let worst = 0;
  for (const name of g.inputs) {
    const x = inputs.get(name)!, n = x.size, got = grads.get(name);
    expect(got, `gradient of ${name}`).to.not.equal(undefined);
    for (let i = 0; i < n; i++) {
      const y = (delta: number): ArrayLike<number> => {
        const data = Float64Array.from(x.data as Float64Array);
        data[i] += delta;
        return runGraph(g, new Map([...inputs, [name, new Tensor('float64', x.shape, data)]]), { precision: 'float64' }).get(out)!.data;
      };
      const up = y(STEP), down = y(-STEP);
      for (let p = 0; p < PROBES; p++) {
        let fd = 0;
        for (let j = 0; j < m; j++) fd += v[p * m + j] * (up[j] - down[j]) / (2 * STEP);
        const gv = got![p * n + i];
        worst = Math.max(worst, Math.abs(gv - fd) / Math.max(1, Math.abs(fd)));
      }
    }
  }
  return worst;
}

/** A random float32 constant of `shape` in [-1, 1). */
export function randomConstant(b: GraphBuilder, rand: () => number, name: string, shape: number[]): string {
  return b.constant(name, new Tensor('float32', shape, Float32Array.from({ length: numel(shape) }, () => rand() * 2 - 1)));
}

/** Expects the backward kernels of `build`'s graph to match finite differences to 1e-6. */
export function expectGradients(build: Build, range?: [number, number]): void {
  expect(gradError(build, 1, range)).to.be.below(1e-6);
}
