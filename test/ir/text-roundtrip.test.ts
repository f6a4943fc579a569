import { expect } from 'chai';
import type { AttrValue, Graph } from '../../ir/index.js';
import { Tensor, tensorOf } from '../../ir/index.js';
import { parseMir } from '../../ir/parse.js';
import { printGraph, printGraphWithWeights } from '../../ir/print.js';
import { formatFloat32, formatNumber, parseNumber } from '../../ir/text-syntax.js';
import { Rng, randomAttrSoup, randomGraph } from './random-graph.js';

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

describe('textual IR round trip', () => {
  it('spells numbers so they read back to the same float64 / float32', () => {
    const rng = new Rng(7);
    const specials = [0, -0, Infinity, -Infinity, NaN, 1e-5, 0.1, 5e-324, -1.7976931348623157e308, 1e21, 2 ** 53 + 2];
    for (const x of specials) expect(Object.is(parseNumber(formatNumber(x)), x), String(x)).to.equal(true);
    const bits = new Uint32Array(1), f = new Float32Array(bits.buffer);
    for (let i = 0; i < 5000; i++) {
      bits[0] = Math.floor(rng.next() * 2 ** 32);
      const s = formatFloat32(f[0]);
      expect(Object.is(Math.fround(parseNumber(s)), f[0]), `${f[0]} spelled ${s}`).to.equal(true);
      const digits = s.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '');
      expect(digits.length, s).to.be.at.most(9);
    }
    expect(formatFloat32(Math.fround(0.1))).to.equal('0.1');
  });

  it('print(parse(print(g))) === print(g) on 300 random graphs, and the graphs are equal', () => {
    let weightRefs = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const g = randomGraph(seed);
      const { text, weights } = printGraphWithWeights(g);
      weightRefs += weights.length;
      let back: Graph;
      try {
        back = parseMir(text, { weights });
      } catch (err) {
        throw new Error(`seed ${seed}: ${(err as Error).message}\n${text}`);
      }
      expect(printGraph(back), `seed ${seed}`).to.equal(text);
      expectSameGraph(back, g);
    }
    expect(weightRefs).to.be.greaterThan(100); // the weights-file path is exercised, not only literals
  });

  it('round-trips attributes of every kind, awkward keys and op names (unverified graphs)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const g = randomAttrSoup(seed);
      const { text, weights } = printGraphWithWeights(g);
      const back = parseMir(text, { weights, verify: false });
      expect(printGraph(back), `seed ${seed}`).to.equal(text);
      expectSameGraph(back, g);
    }
  });

  it('prints a small graph as documented', () => {
    const g = randomGraph(3);
    const text = printGraph(g, { weightsRef: 'm.weights', summaries: false });
    expect(text.startsWith('mir 1\nweights "m.weights"\ngraph @')).to.equal(true);
    expect(text.endsWith('}\n')).to.equal(true);
    const t = tensorOf('float32', [2], [0.1, -0]);
    expect(printGraph({ ...g, constants: new Map([['c', t]]), types: new Map([...g.types, ['c', { dtype: 'float32', shape: [2] }]]) }, { summaries: false })).to.contain('const %c: float32[2] = [0.1, -0]');
  });
});
