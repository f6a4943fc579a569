// Structural, bit-exact graph equality for textual-IR tests.
import { expect } from 'chai';
import { type AttrValue, type Graph, Tensor } from '../../ir/index.js';

/** Bitwise equality of two tensors (dtype, shape and every byte of the data). */
export function sameTensor(a: Tensor, b: Tensor): boolean {
  const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return a.dtype === b.dtype && a.shape.join() === b.shape.join() && a.data.constructor === b.data.constructor && bytes(a).equals(bytes(b));
}

function sameAttr(a: AttrValue, b: AttrValue): boolean {
  if (a instanceof Tensor || b instanceof Tensor) return a instanceof Tensor && b instanceof Tensor && sameTensor(a, b);
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = a as readonly unknown[], y = b as readonly unknown[];
    return Array.isArray(a) && Array.isArray(b) && x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  }
  return Object.is(a, b);
}

/** Asserts that two graphs are the same: structure, types, attributes and constants bit for bit. */
export function expectSameGraph(got: Graph, want: Graph): void {
  expect(got.name).to.equal(want.name);
  expect(got.inputs).to.deep.equal(want.inputs);
  expect(got.outputs).to.deep.equal(want.outputs);
  expect(got.nodes.length).to.equal(want.nodes.length);
  got.nodes.forEach((n, i) => {
    const m = want.nodes[i];
    expect([n.op, n.name, n.inputs, n.outputs]).to.deep.equal([m.op, m.name, m.inputs, m.outputs]);
    expect(Object.keys(n.attrs).sort()).to.deep.equal(Object.keys(m.attrs).sort());
    for (const k of Object.keys(n.attrs)) expect(sameAttr(n.attrs[k], m.attrs[k]), `attribute ${k} of ${n.name}`).to.equal(true);
  });
  expect(new Map([...got.types].sort())).to.deep.equal(new Map([...want.types].sort()));
  expect([...got.constants.keys()]).to.deep.equal([...want.constants.keys()]);
  for (const [k, t] of want.constants) expect(sameTensor(got.constants.get(k)!, t), `constant ${k}`).to.equal(true);
}
