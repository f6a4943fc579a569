// Helpers of the pass tests: deterministic random tensors and a relative-error comparison.
import { expect } from 'chai';
import { MpccError } from '../../runtime/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import { runGraph } from '../../ir/interp/index.js';
import { Tensor, allocData } from '../../ir/tensor.js';
import { type DType, type Shape, numel } from '../../ir/types.js';

/** A small deterministic PRNG (mulberry32) so failures reproduce; tests only, never protocol code. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor of uniform values in [lo, hi). */
export function randomTensor(rand: () => number, shape: Shape, lo = -1, hi = 1, dtype: DType = 'float32'): Tensor {
  const data = allocData(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rand();
  return new Tensor(dtype, shape, data);
}

/** max |a − b| / max |b| (0 when both are zero). */
export function relativeError(a: Tensor, b: Tensor): number {
  expect(a.shape).to.deep.equal(b.shape);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.size; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(b.data[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Random inputs for every graph input. */
export function randomInputs(g: Graph, seed: number): Map<string, Tensor> {
  const rand = rng(seed);
  return new Map(g.inputs.map((name) => [name, randomTensor(rand, g.types.get(name)!.shape)] as const));
}

/** Asserts that `after` computes what `before` computes (float64 runs), on a few random inputs. */
export function expectSameOutputs(before: Graph, after: Graph, tolerance = 1e-5, seeds = [1, 2, 3]): void {
  expect(after.outputs).to.deep.equal(before.outputs);
  for (const seed of seeds) {
    const inputs = randomInputs(before, seed);
    const want = runGraph(before, inputs, { precision: 'float64' });
    const got = runGraph(after, inputs, { precision: 'float64' });
    for (const name of before.outputs) expect(relativeError(got.get(name)!, want.get(name)!), name).to.be.at.most(tolerance);
  }
}

/** The MpccError an async call rejects with (fails when it resolves or rejects with another error). */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<MpccError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof MpccError) return err;
    throw err;
  }
  throw new Error('expected an MpccError');
}

/** Expects `p` to reject with an MpccError of `code` whose message contains `text` (a string)
 * or matches it (a RegExp). */
export async function expectRejection(p: Promise<unknown>, code: string, text: RegExp | string): Promise<void> {
  const err = await rejectionOf(() => p);
  expect(err.code, String(err)).to.equal(code);
  if (typeof text === 'string') expect(err.message).to.include(text);
  else expect(err.message).to.match(text);
}

/** Runs `fn` and returns the MpccError it throws (fails when it throws nothing or another error). */
export function errorOf(fn: () => unknown): MpccError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MpccError) return err;
    throw err;
  }
  throw new Error('expected an MpccError');
}
