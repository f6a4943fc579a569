// lower-reorder against a brute-force reference: the one-pass, linear reordering equals the
// fixpoint of swapping one MaxPool with the one activation above it (n²/2 swaps for n stacked
// pairs), on seeded random DAGs of Relu, Clip and MaxPool with branches, shared values and
// graph outputs in the middle of runs: the same wiring, node by node, the same types and the
// same function.
import { expect } from 'chai';
import { GraphBuilder } from '../../../ir/builder.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { makeNode } from '../../../ir/graph.js';
import { verify } from '../../../ir/verify.js';
import { rewriteToFixpoint } from '../../../passes/rewrite.js';
import { makeContext } from '../../../passes/index.js';
import { poolBeforeActivation } from '../../../passes/secure/lower-reorder.js';
import { Rng } from '../../ir/random-graph.js';
import { expectSameOutputs } from '../util.js';

/** The reference: one neighbour swap per rewrite, to the fixpoint. */
function swapNeighbours(g: Graph): { graph: Graph; swaps: number } {
  let swaps = 0;
  const graph = rewriteToFixpoint(g, [{
    ops: ['MaxPool'],
    stat: 'swap',
    apply(pool: Node, view) {
      const act = view.producer(pool.inputs[0]);
      if (!act || (act.op !== 'Relu' && act.op !== 'Clip') || !view.onlyUsedBy(act.outputs[0], pool)) return undefined;
      swaps++;
      const pooled = view.freshName(`${pool.outputs[0]}_ref`);
      return {
        nodes: [makeNode('MaxPool', pool.name, [act.inputs[0]], [pooled], pool.attrs), makeNode(act.op, act.name, [pooled], pool.outputs, act.attrs)],
        remove: [act],
        types: new Map([[pooled, view.type(pool.outputs[0])]]),
      };
    },
  }], undefined, 10_000_000);
  return { graph, swaps };
}

/** Each node's op and where its inputs come from (the producing node's name, else the value's),
 * and the type of its first output: the wiring, whatever the intermediate values are called. */
function wiring(g: Graph): Map<string, string> {
  const producer = new Map<string, string>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n.name);
  const out = new Map<string, string>();
  for (const n of g.nodes) {
    const from = n.inputs.map((v) => producer.get(v) ?? `value ${v}`);
    out.set(n.name, `${n.op}(${from.join(', ')}) : ${JSON.stringify(g.types.get(n.outputs[0]))}${g.outputs.includes(n.outputs[0]) ? ' out' : ''}`);
  }
  return out;
}

/** A seeded random DAG of activations and pools on a 1×2×8×8 map (some pools halve it), with
 * Adds (of values of the same size) that give some values a second reader, and graph outputs in
 * the middle. */
function randomDag(seed: number, size: number): Graph {
  const rand = new Rng(seed);
  const b = new GraphBuilder();
  const values = [b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 2, 8, 8] })], { frac: 12 })];
  const sides = [8];
  const outputs: string[] = [];
  for (let i = 0; i < size; i++) {
    // mostly extend the newest value: long runs, with now and then a branch from an older one
    const at = rand.chance(0.8) ? values.length - 1 : rand.int(0, values.length - 1);
    const [x, side] = [values[at], sides[at]];
    const r = rand.next();
    let y: string;
    let ySide = side;
    if (r < 0.35) y = b.op('Relu', [x], {}, `relu${i}`);
    else if (r < 0.45) y = b.op('Clip', [x], { min: -1, max: 2 }, `clip${i}`);
    else if (r < 0.8) {
      const halve = side > 1 && rand.chance(0.3);
      const attrs: Record<string, number[]> = halve ? { kernel_shape: [2, 2], strides: [2, 2] } : rand.chance(0.5) ? { kernel_shape: [1, 1] } : { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
      y = b.op('MaxPool', [x], attrs, `pool${i}`);
      if (halve) ySide = side / 2;
    } else {
      const same = values.filter((_, j) => sides[j] === side);
      y = b.op('Add', [x, rand.pick(same)], {}, `add${i}`);
    }
    values.push(y);
    sides.push(ySide);
    if (rand.chance(0.05)) outputs.push(y);
  }
  b.output(...new Set([...outputs, values[values.length - 1]]));
  return b.build();
}

describe('lower-reorder (a MaxPool before its activations)', () => {
  it('equals the neighbour-swap fixpoint on 60 random DAGs: wiring, types and function', () => {
    let moved = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const before = randomDag(seed, 12 + (seed % 30));
      const stats = new Map<string, number>();
      const after = poolBeforeActivation(before, makeContext({}, stats));
      const ref = swapNeighbours(before);
      verify(after);
      expect(wiring(after), `seed ${seed}`).to.deep.equal(wiring(ref.graph));
      expect(after.nodes.map((n) => n.name), `seed ${seed}: a topological order`).to.have.members(ref.graph.nodes.map((n) => n.name));
      expect(after.outputs).to.deep.equal(before.outputs);
      expect(after === before, `seed ${seed}: the same graph when nothing moves`).to.equal(ref.swaps === 0);
      if (seed <= 12) expectSameOutputs(before, after, 0, [seed]);
      moved += stats.get('max-pools moved before their activation') ?? 0;
    }
    expect(moved).to.be.greaterThan(60);
  });

  it('chains of (ReLU, MaxPool) pairs: every pool first, then every ReLU, as the reference (300 pairs) and at 5,000 pairs', () => {
    const chain = (pairs: number): Graph => {
      const b = new GraphBuilder();
      let x = b.op('FixedInput', [b.input('input', { dtype: 'float32', shape: [1, 1, 2, 2] })], { frac: 12 });
      for (let i = 0; i < pairs; i++) x = b.op('MaxPool', [b.op('Relu', [x], {}, `r${i}`)], { kernel_shape: [1, 1] }, `p${i}`);
      b.output(x);
      return b.build();
    };
    const small = chain(300);
    const ref = swapNeighbours(small);
    expect(ref.swaps).to.equal((300 * 301) / 2);
    expect(wiring(poolBeforeActivation(small))).to.deep.equal(wiring(ref.graph));
    // the reference would take 12.5 million swaps here
    const before = chain(5000);
    const after = poolBeforeActivation(before);
    expect(after.nodes.map((n) => n.op).join(' ')).to.equal(['FixedInput', ...Array(5000).fill('MaxPool'), ...Array(5000).fill('Relu')].join(' '));
    verify(after);
    expectSameOutputs(before, after, 0, [1]);
  });
});
