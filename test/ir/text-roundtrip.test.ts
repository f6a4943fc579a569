import { expect } from 'chai';
import { type Graph, tensorOf } from '../../ir/index.js';
import { parseMir } from '../../ir/parse.js';
import { printGraph, printGraphWithWeights } from '../../ir/print.js';
import { formatAttrNumber, formatFloat32, formatNumber, parseNumber } from '../../ir/text-syntax.js';
import { expectSameGraph } from './graph-equal.js';
import { Rng, randomAttrSoup, randomGraph } from './random-graph.js';

describe('textual IR round trip', () => {
  it('spells numbers so they read back to the same float64 / float32', () => {
    const rng = new Rng(7);
    const specials = [0, -0, Infinity, -Infinity, NaN, 1e-5, 0.1, 5e-324, -1.7976931348623157e308, 1e21, 2 ** 53 + 2];
    for (const x of specials) expect(Object.is(parseNumber(formatNumber(x)), x), String(x)).to.equal(true);
    for (const x of [...specials, Math.fround(1e-5), Math.fround(0.1), 3.4028234663852886e38, Math.fround(-1 / 3)]) {
      expect(Object.is(parseNumber(formatAttrNumber(x)), x), `${x} spelled ${formatAttrNumber(x)}`).to.equal(true);
    }
    expect(formatAttrNumber(Math.fround(1e-5))).to.equal('0.00001f');
    expect(formatAttrNumber(1e-5)).to.equal('0.00001');
    expect(formatAttrNumber(0.5)).to.equal('0.5');
    const bits = new Uint32Array(1), f = new Float32Array(bits.buffer);
    for (let i = 0; i < 5000; i++) {
      bits[0] = Math.floor(rng.next() * 2 ** 32);
      const s = formatFloat32(f[0]);
      expect(Object.is(Math.fround(parseNumber(s)), f[0]), `${f[0]} spelled ${s}`).to.equal(true);
      expect(Object.is(parseNumber(formatAttrNumber(f[0])), f[0]), `${f[0]} as an attribute`).to.equal(true);
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
