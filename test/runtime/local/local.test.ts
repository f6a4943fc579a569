// runtime/local kernels against the plaintext interpreter's kernels (themselves checked against
// onnxruntime): data movement is exact on integer ring values (negative ones included, so two's
// complement survives); resize and global pooling agree within their documented truncation
// error; and on additive shares the kernels reconstruct to the plaintext result.
import { expect } from 'chai';
import type { AttrValue } from '../../../ir/graph.js';
import { tensorOf } from '../../../ir/tensor.js';
import { broadcast, concat, globalAveragePool, pad, resize, resizeMap, slice, sliceShape, transpose } from '../../../runtime/local/index.js';
import { add, decode, encode, sub } from '../../../runtime/ring/ring.js';
import type { Session } from '../../../runtime/session/session.js';
import { TestRandom, runKernel } from '../../ir/interp/support.js';

const P0 = { id: 0 } as Session, P1 = { id: 1 } as Session;

function ints(rand: TestRandom, n: number): number[] {
  return Array.from({ length: n }, () => rand.int(-1000, 1000));
}

/** The interpreter kernel's result on integer data (float64, exact). */
function reference(op: string, data: number[][], shapes: number[][], attrs: Record<string, AttrValue>, outShape: number[]): number[] {
  const t = runKernel(op, data.map((d, i) => tensorOf('float64', shapes[i], d)), attrs, outShape, 'float64', 'float64');
  return Array.from(t.data);
}

const asNumbers = (y: BigUint64Array) => Array.from(decode(y, 0));

describe('runtime/local kernels', () => {
  const rand = new TestRandom(11);

  it('transpose equals the interpreter on every permutation of a rank-4 tensor', () => {
    const shape = [2, 3, 4, 5], x = ints(rand, 120);
    for (const perm of [[0, 1, 2, 3], [3, 2, 1, 0], [0, 2, 3, 1], [1, 0, 3, 2], [2, 0, 1, 3]]) {
      const out = perm.map((a) => shape[a]);
      expect(asNumbers(transpose(encode(x, 0), { shape, perm })), perm.join()).to.deep.equal(reference('Transpose', [x], [shape], { perm }, out));
    }
  });

  it('slice equals the interpreter, with positive and negative steps', () => {
    const shape = [1, 4, 6, 5], x = ints(rand, 120);
    const cases = [
      { starts: [1, 0], ends: [3, 5], axes: [1, 3], steps: [1, 2] },
      { starts: [5, 4], ends: [-1, 0], axes: [2, 3], steps: [-2, -1] },
      { starts: [0], ends: [0], axes: [2], steps: [1] },
    ];
    for (const c of cases) {
      const p = { shape, ...c };
      expect(asNumbers(slice(encode(x, 0), p)), JSON.stringify(c)).to.deep.equal(reference('Slice', [x], [shape], c, sliceShape(p)));
    }
  });

  it('concat and zero pad equal the interpreter', () => {
    const a = ints(rand, 2 * 3 * 4), b = ints(rand, 2 * 1 * 4), c = ints(rand, 2 * 2 * 4);
    const shapes = [[2, 3, 4], [2, 1, 4], [2, 2, 4]];
    expect(asNumbers(concat([a, b, c].map((v) => encode(v, 0)), { shapes, axis: 1 }))).to.deep.equal(reference('Concat', [a, b, c], shapes, { axis: 1 }, [2, 6, 4]));
    const x = ints(rand, 1 * 2 * 3 * 4), shape = [1, 2, 3, 4], pads = [0, 1, 2, 0, 0, 0, 1, 3];
    expect(asNumbers(pad(encode(x, 0), { shape, pads }))).to.deep.equal(reference('Pad', [x], [shape], { pads, value: 0 }, [1, 3, 6, 7]));
  });

  it('broadcast repeats along size-1 and missing axes as numpy does', () => {
    const x = [1, -2, 3];
    expect(asNumbers(broadcast(encode(x, 0), { shape: [3, 1], outShape: [2, 3, 2] }))).to.deep.equal([1, 1, -2, -2, 3, 3, 1, 1, -2, -2, 3, 3]);
  });

  it('nearest resize is a gather (shift 0) equal to the interpreter for every nearest and coordinate mode', () => {
    const shape = [1, 2, 3, 5], x = ints(rand, 30);
    for (const [coord, nearest] of [['half_pixel', 'round_prefer_floor'], ['asymmetric', 'floor'], ['align_corners', 'round_prefer_ceil'], ['tf_half_pixel_for_nearest', 'ceil']]) {
      const outShape = [1, 2, 7, 4], scales = [1, 1, 7 / 3, 4 / 5];
      const p = { inShape: shape, outShape, scales, mode: 'nearest' as const, coordinateMode: coord, nearestMode: nearest };
      expect(resizeMap(p).shift).to.equal(0);
      const want = reference('Resize', [x], [shape], { mode: 'nearest', coordinate_transformation_mode: coord, nearest_mode: nearest, sizes: outShape, scales }, outShape);
      expect(asNumbers(resize(P0, encode(x, 0), p)), `${coord}/${nearest}`).to.deep.equal(want);
    }
  });

  it('linear resize is within 2 ulp of the interpreter at frac 12 (coefficient rounding and one truncation)', () => {
    const shape = [1, 3, 4, 4], frac = 12;
    const xs = Array.from(rand.floats(48));
    for (const [coord, outShape, scales] of [['half_pixel', [1, 3, 8, 8], [1, 1, 2, 2]], ['align_corners', [1, 3, 7, 5], [1, 1, 7 / 4, 5 / 4]], ['pytorch_half_pixel', [1, 3, 3, 6], [1, 1, 0.75, 1.5]]] as const) {
      const xq = encode(xs, frac), grid = Array.from(decode(xq, frac));
      const p = { inShape: shape, outShape, scales, mode: 'linear' as const, coordinateMode: coord };
      const got = decode(resize(P0, xq, p), frac);
      const want = reference('Resize', [grid], [shape], { mode: 'linear', coordinate_transformation_mode: coord, nearest_mode: 'round_prefer_floor', sizes: [...outShape], scales: [...scales] }, [...outShape]);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${coord} @${i}`).to.be.at.most(2 * 2 ** -frac);
    }
  });

  it('global average pool is the plane mean within 2 ulp (truncation, and rounding of the reciprocal for 3×5)', () => {
    const frac = 12;
    for (const [h, w] of [[4, 4], [3, 5]]) {
      const shape: [number, number, number, number] = [1, 3, h, w];
      const xq = encode(rand.floats(3 * h * w), frac), grid = Array.from(decode(xq, frac));
      const got = decode(globalAveragePool(P0, xq, { inShape: shape }), frac);
      const want = reference('GlobalAveragePool', [grid], [shape], {}, [1, 3, 1, 1]);
      for (let i = 0; i < 3; i++) expect(Math.abs(got[i] - want[i]), `${h}x${w}`).to.be.at.most(2 * 2 ** -frac);
    }
  });

  it('on additive shares, the two parties\' results reconstruct the plaintext result', () => {
    const frac = 12, shape = [1, 2, 4, 4];
    const x = encode(rand.floats(32), frac);
    const r = new BigUint64Array(32).map(() => BigInt(rand.int(0, 2 ** 31)) * 0x1_0000_0001n);
    const x1 = r, x0 = sub(x, r);
    const moved = (v: BigUint64Array) => pad(transpose(v, { shape, perm: [0, 1, 3, 2] }), { shape, pads: [0, 0, 1, 1, 0, 0, 1, 1] });
    expect(add(moved(x0), moved(x1))).to.deep.equal(moved(x));
    const p = { inShape: shape, outShape: [1, 2, 8, 8], scales: [1, 1, 2, 2], mode: 'linear' as const };
    const shared = decode(add(resize(P0, x0, p), resize(P1, x1, p)), frac), plain = decode(resize(P0, x, p), frac);
    for (let i = 0; i < plain.length; i++) expect(Math.abs(shared[i] - plain[i])).to.be.at.most(2 * 2 ** -frac);
  });
});
