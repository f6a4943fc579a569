// Data-movement kernels against hand-computed results.
import { expect } from 'chai';
import { GraphBuilder, tensorOf, type Tensor } from '../../ir/index.js';
import { runGraph } from '../../ir/interp/index.js';
import type { AttrValue } from '../../ir/graph.js';

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Runs one op on x (float32, values 0..n-1 unless given) plus constant operands. */
function run1(op: string, shape: number[], attrs: Record<string, AttrValue>, consts: Tensor[] = [], values?: number[]): Tensor {
  const b = new GraphBuilder();
  const x = b.input('x', { dtype: 'float32', shape });
  const cs = consts.map((c, i) => b.constant(`c${i}`, c));
  const y = b.op(op, [x, ...cs], attrs, 'n');
  b.output(y);
  const n = shape.reduce((p, d) => p * d, 1);
  return runGraph(b.build(), { x: tensorOf('float32', shape, values ?? iota(n)) }).get(y)!;
}
const vals = (t: Tensor) => Array.from(t.data as ArrayLike<number>);

describe('shape kernels', () => {
  it('Transpose of a 2×3×2 tensor', () => {
    const t = run1('Transpose', [2, 3, 2], { perm: [2, 0, 1] });
    expect(t.shape).to.deep.equal([2, 2, 3]);
    // out[k][i][j] = x[i][j][k] = 6i + 2j + k
    expect(vals(t)).to.deep.equal([0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]);
  });

  it('Slice with positive and negative steps', () => {
    const t = run1('Slice', [3, 5], { starts: [2, 4], ends: [-1, 0], axes: [0, 1], steps: [-2, -3] });
    // rows 2, 0; columns 4, 1
    expect(vals(t)).to.deep.equal([14, 11, 4, 1]);
    const u = run1('Slice', [3, 5], { starts: [1], ends: [5], axes: [1], steps: [2] });
    expect(vals(u)).to.deep.equal([1, 3, 6, 8, 11, 13]);
  });

  it('Gather along an axis with negative and repeated indices', () => {
    const t = run1('Gather', [2, 3], { axis: 1 }, [tensorOf('int64', [2, 2], [-1, 0, 1, 1])]);
    expect(t.shape).to.deep.equal([2, 2, 2]);
    expect(vals(t)).to.deep.equal([2, 0, 1, 1, 5, 3, 4, 4]);
  });

  it('Concat along the middle axis, Shape, Cast, Reshape', () => {
    const b = new GraphBuilder();
    const x = b.input('x', { dtype: 'float32', shape: [2, 1, 2] });
    const c = b.constant('c', tensorOf('float32', [2, 2, 2], [10, 11, 12, 13, 14, 15, 16, 17]));
    const y = b.op('Concat', [x, c], { axis: 1 });
    const s = b.op('Shape', [y], { start: 1 });
    const r = b.op('Reshape', [y, b.constant('sh', tensorOf('int64', [2], [0, -1]))]);
    const k = b.op('Cast', [r], { to: 'int64' });
    b.output(y, s, k);
    const out = runGraph(b.build(), { x: tensorOf('float32', [2, 1, 2], [0.5, 1.5, -2.7, 3]) });
    expect(vals(out.get(y)!)).to.deep.equal([0.5, 1.5, 10, 11, 12, 13, -2.700000047683716, 3, 14, 15, 16, 17]);
    expect(vals(out.get(s)!)).to.deep.equal([3, 2]);
    expect(out.get(k)!.dtype).to.equal('int64');
    expect(vals(out.get(k)!)).to.deep.equal([0, 1, 10, 11, 12, 13, -2, 3, 14, 15, 16, 17]);
  });
});
