import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Graph, GraphBuilder, MpccError, Tensor, opNames, tensorOf } from '../../ir/index.js';
import { lookupKernel, runGraph } from '../../ir/interp/index.js';
import { printGraph } from '../../ir/print.js';
import { decodeWeights, encodeWeights, loadMir, saveMir } from '../../ir/weights.js';
import { Rng, randomGraph } from './random-graph.js';
import { expectSameGraph, sameTensor } from './graph-equal.js';

/** A small CNN with weights big enough for the weights file, and a Reshape by an int64 constant. */
function smallCnn(seed: number): Graph {
  const rng = new Rng(seed);
  const rand = (shape: number[]) => tensorOf('float32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1));
  const b = new GraphBuilder('small cnn');
  const x = b.input('input', { dtype: 'float32', shape: [1, 3, 8, 8] });
  const c1 = b.op('Conv', [x, b.constant('conv1.weight', rand([8, 3, 3, 3])), b.constant('conv1.bias', rand([8]))], { pads: [1, 1, 1, 1] }, '/conv1/Conv');
  const r1 = b.op('Relu', [c1], {}, '/relu1/Relu');
  const c2 = b.op('Conv', [r1, b.constant('conv2.weight', rand([4, 2, 3, 3]))], { group: 4, strides: [2, 2] }, '/conv2/Conv');
  const s = b.op('Add', [c2, b.constant('shift', rand([1, 4, 1, 1]))], {}, 'add');
  b.output(b.op('Reshape', [s, b.constant('onnx::Reshape_9', tensorOf('int64', [2], [1, -1]))], {}, 'flatten'));
  return b.build();
}

function expectMpcc(fn: () => unknown, code: string, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(MpccError);
    expect((err as MpccError).code).to.equal(code);
    expect((err as MpccError).format()).to.match(pattern);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('weights file and .mir save/load', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'mpcc-mir-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('encodes and decodes every dtype bit for bit, blobs 64-byte aligned', () => {
    const rng = new Rng(11);
    const entries = [
      { name: 'f32', tensor: tensorOf('float32', [3, 7], Array.from({ length: 21 }, () => rng.next() - 0.5)) },
      { name: 'specials', tensor: tensorOf('float32', [5], [NaN, -0, Infinity, -Infinity, 1e-45]) },
      { name: 'f64', tensor: tensorOf('float64', [2, 2, 5], Array.from({ length: 20 }, () => rng.next() * 1e300)) },
      { name: 'i64', tensor: tensorOf('int64', [4], [9223372036854775807, -9223372036854775808, 2 ** 53, -1]) },
      { name: 'i32', tensor: tensorOf('int32', [3], [2 ** 31 - 1, -(2 ** 31), 0]) },
      { name: 'bool', tensor: tensorOf('bool', [17], Array.from({ length: 17 }, (_, i) => i % 2)) },
      { name: 'empty', tensor: tensorOf('float32', [0, 3], []) },
      { name: 'ünï/"code"', tensor: tensorOf('float32', [], [42]) },
    ];
    const bytes = encodeWeights(entries);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).to.equal('MPCW');
    const back = decodeWeights(bytes, 'x.weights');
    expect(back.map((e) => e.name)).to.deep.equal(entries.map((e) => e.name));
    back.forEach((e, i) => expect(sameTensor(e.tensor, entries[i].tensor), e.name).to.equal(true));
    const index = JSON.parse(Buffer.from(bytes.subarray(12, 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true))).toString());
    for (const e of index.entries) expect(e.offset % 64).to.equal(0);
    expect(decodeWeights(encodeWeights([]), 'e.weights')).to.deep.equal([]);
  });

  it('saves FILE.mir + FILE.weights and reloads a bitwise-equal graph that runs identically', () => {
    const g = smallCnn(1);
    const paths = saveMir(g, join(dir, 'model.mir'));
    expect(readdirSync(dir).sort()).to.deep.equal(['model.mir', 'model.weights']); // no temporary files left
    const text = readFileSync(paths.mir, 'utf8');
    expect(text).to.contain('weights "model.weights"');
    expect(text).to.contain('const %conv1.weight: float32[8,3,3,3] = weights[0]  // min');
    expect(text).to.contain('const %"onnx::Reshape_9": int64[2] = [1, -1]');
    const back = loadMir(paths.mir);
    expectSameGraph(back, g);
    expect(printGraph(back)).to.equal(printGraph(g));
    const rng = new Rng(5);
    const input = tensorOf('float32', [1, 3, 8, 8], Array.from({ length: 192 }, () => rng.next() * 4 - 2));
    const want = runGraph(g, { input }), got = runGraph(back, { input });
    expect(got.size).to.equal(1);
    for (const [k, t] of want) expect(sameTensor(got.get(k)!, t)).to.equal(true);
  });

  it('saves and reloads random graphs (without extension too); the runnable ones give identical outputs', () => {
    let ran = 0;
    const runnable = opNames().filter((op) => lookupKernel(op));
    for (let seed = 1; seed <= 40; seed++) {
      // Every other graph uses only ops the interpreter runs, so it can be run after reloading.
      const g = randomGraph(seed, seed % 2 ? undefined : { ops: runnable });
      saveMir(g, join(dir, `g${seed}`));
      const back = loadMir(join(dir, `g${seed}.mir`));
      expectSameGraph(back, g);
      if (!g.nodes.every((n) => lookupKernel(n.op))) continue;
      const rng = new Rng(seed);
      const inputs = new Map(g.inputs.map((name) => {
        const t = g.types.get(name)!;
        const n = t.shape.reduce((a, b) => a * b, 1);
        return [name, tensorOf(t.dtype, t.shape, Array.from({ length: n }, () => rng.next() * 2 - 1))] as [string, Tensor];
      }));
      const want = runGraph(g, inputs), got = runGraph(back, inputs);
      for (const [k, t] of want) expect(sameTensor(got.get(k)!, t), `seed ${seed} output ${k}`).to.equal(true);
      ran++;
    }
    expect(ran).to.be.at.least(20);
  });

  it('rejects a missing, truncated, corrupt or mismatched weights file with MPCC2004', () => {
    const g = smallCnn(2);
    const { mir, weights } = saveMir(g, join(dir, 'm.mir'));
    const good = readFileSync(weights);
    rmSync(weights);
    expectMpcc(() => loadMir(mir), 'MPCC2004', /m\.weights': missing \(named by .*m\.mir\)/);
    writeFileSync(weights, good.subarray(0, good.length - 100));
    expectMpcc(() => loadMir(mir), 'MPCC2004', /checksum mismatch/);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 200] ^= 1;
    writeFileSync(weights, flipped);
    expectMpcc(() => loadMir(mir), 'MPCC2004', /checksum mismatch/);
    writeFileSync(weights, Buffer.from('PK\u0003\u0004 not a weights file'));
    expectMpcc(() => loadMir(mir), 'MPCC2004', /bad magic/);
    // A weights file of another graph: same number of entries, other names.
    writeFileSync(weights, encodeWeights([{ name: 'conv2.weight', tensor: g.constants.get('conv2.weight')! }, { name: 'conv1.bias', tensor: g.constants.get('conv1.bias')! }]));
    expectMpcc(() => loadMir(mir), 'MPCC2004', /m\.mir:\d+:\d+: weights file '.*m\.weights': weights\[0\] is 'conv2\.weight' but the text expects 'conv1\.weight'\n.*\n\s+\^/);
    writeFileSync(weights, encodeWeights([{ name: 'conv1.weight', tensor: tensorOf('float32', [8, 3, 9], new Array(216).fill(0)) }]));
    expectMpcc(() => loadMir(mir), 'MPCC2004', /holds float32\[8,3,9\] but the text declares float32\[8,3,3,3\]/);
    writeFileSync(weights, good);
    expect(() => loadMir(mir)).to.not.throw();
  });

  it('fails to save into an unwritable place with MPCC0003 and leaves nothing behind', () => {
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'x');
    expectMpcc(() => saveMir(smallCnn(3), join(blocker, 'sub', 'm.mir')), 'MPCC0003', /cannot write file/);
    expect(existsSync(join(blocker, 'sub'))).to.equal(false);
  });
});
