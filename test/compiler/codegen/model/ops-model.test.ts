// A small model with every operator the secure pipeline supports (conv + ReLU fused with the
// next conv, a residual shortcut, Clip, MaxPool, AveragePool, Concat, zero Pad, Slice,
// Transpose, nearest Resize, Add/Sub of constants, GlobalAveragePool, Flatten, Gemm with
// transB, client-side Softmax), compiled and run by the three parties: against the
// fixed-point interpreter (the same ring arithmetic in plaintext, up to the ±1 truncation
// error per truncation) and against onnxruntime-node's float output.

import { expect } from 'chai';
import { suiteTempDir } from '../../../temp-dir.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxBuilder } from '../../../../compiler/onnx/writer.js';
import { buildZooFiles } from '../../../../examples/zoo/index.js';
import { runCompile } from '../../../../compiler/commands/compile.js';
import { loadGraphFile } from '../../../../compiler/load-model.js';
import { runPipeline } from '../../../../passes/manager.js';
import { runGraphFixed } from '../../../../ir/interp/fixed/index.js';
import { Tensor } from '../../../../ir/tensor.js';
import { createInProcessSessions, runParties } from '../../../../runtime/session/connect.js';
import { loadPartyArtifacts, runProgram, sessionTag } from '../../../../runtime/program/index.js';

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** The model as ONNX bytes (opset 13), deterministic weights. */
function opsModel(): Uint8Array {
  const rand = lcg(5);
  const r = (n: number, scale: number) => Array.from({ length: n }, () => (2 * rand() - 1) * scale);
  const b = new OnnxBuilder({ opset: 13 });
  b.input('x', [1, 3, 8, 8]);
  b.initializer('W1', r(4 * 3 * 9, 0.4), [4, 3, 3, 3]);
  b.initializer('B1', r(4, 0.2), [4]);
  b.initializer('W2', r(4 * 4 * 9, 0.3), [4, 4, 3, 3]);
  b.initializer('B2', r(4, 0.2), [4]);
  b.initializer('Ws', r(4 * 3, 0.5), [4, 3, 1, 1]);
  b.initializer('lo', [0], []);
  b.initializer('hi', [0.75], []);
  b.int64Initializer('pads', [0, 0, 1, 1, 0, 0, 1, 1]);
  b.int64Initializer('starts', [1]);
  b.int64Initializer('ends', [5]);
  b.int64Initializer('axes', [3]);
  b.initializer('scales', [1, 1, 2, 2], [4]);
  b.initializer('C', r(8, 0.5), [1, 8, 1, 1]);
  b.initializer('D', [0.25], [1]);
  b.initializer('Wf', r(10 * 8, 1.5), [10, 8]);
  b.initializer('Bf', r(10, 0.3), [10]);
  b.node('Conv', ['x', 'W1', 'B1'], ['c1'], { pads: [1, 1, 1, 1] });
  b.node('Relu', ['c1'], ['r1']);
  b.node('Conv', ['r1', 'W2', 'B2'], ['c2'], { pads: [1, 1, 1, 1] });
  b.node('Conv', ['x', 'Ws'], ['s']);
  b.node('Add', ['c2', 's'], ['a']);
  b.node('Relu', ['a'], ['r2']);
  b.node('Clip', ['r2', 'lo', 'hi'], ['cl']);
  b.node('MaxPool', ['cl'], ['mp'], { kernel_shape: [2, 2], strides: [2, 2] });
  b.node('AveragePool', ['r2'], ['ap'], { kernel_shape: [2, 2], strides: [2, 2] });
  b.node('Concat', ['mp', 'ap'], ['cat'], { axis: 1 });
  b.node('Pad', ['cat', 'pads'], ['pd']);
  b.node('Slice', ['pd', 'starts', 'ends', 'axes'], ['sl']);
  b.node('Transpose', ['sl'], ['tr'], { perm: [0, 1, 3, 2] });
  b.node('Resize', ['tr', '', 'scales'], ['up'], { mode: 'nearest' });
  b.node('Add', ['up', 'C'], ['ac']);
  b.node('Sub', ['ac', 'D'], ['sb']);
  b.node('GlobalAveragePool', ['sb'], ['gp']);
  b.node('Flatten', ['gp'], ['fl']);
  b.node('Gemm', ['fl', 'Wf', 'Bf'], ['fc'], { transB: 1 });
  b.node('Softmax', ['fc'], ['y'], { axis: 1 });
  b.output('y');
  return b.toBytes();
}

describe('codegen: every supported operator, secure vs fixed-point interpreter and onnxruntime', function () {
  this.timeout(60000);
  const tmp = suiteTempDir('mpcc-ops-');

  it('agrees with both references', async () => {
    const onnx = opsModel();
    const file = join(tmp(), 'ops.onnx');
    writeFileSync(file, onnx);
    const out = join(tmp(), 'out');
    runCompile(file, { output: out });
    const rand = lcg(9);
    const x = Float32Array.from({ length: 3 * 64 }, () => 2 * rand() - 1);

    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const ss = await createInProcessSessions({ tag: sessionTag(arts[0].manifest) });
    const r = await runParties(ss, (s) => runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: arts[s.id].kernels }));
    const y = r[0].outputs.get('y')!;

    // Fixed-point interpreter on the quantized graph: the same ring arithmetic in plaintext.
    const q = runPipeline(loadGraphFile(file), 'canonicalize,quantize{frac-bits=12}').graph;
    const fixed = runGraphFixed(q, { x: new Tensor('float32', [1, 3, 8, 8], x) }, { frac: 12 }).outputs.get('y')!.data as Float64Array;
    // The secure run differs only by the share truncations' ±1 ulp (2^-12), carried through
    // the layers after them; the softmax of the logits keeps the difference below 1e-3.
    for (let i = 0; i < 10; i++) expect(Math.abs(y[i] - fixed[i])).to.be.below(1e-3);

    const session = await ort.InferenceSession.create(onnx);
    const ref = (await session.run({ x: new ort.Tensor('float32', x, [1, 3, 8, 8]) })).y.data as Float32Array;
    const argmax = (v: ArrayLike<number>) => Array.from(v).reduce((b, _, i, a) => (a[i] > a[b] ? i : b), 0);
    expect(argmax(y)).to.equal(argmax(ref));
    const range = Math.max(...ref) - Math.min(...ref);
    for (let i = 0; i < 10; i++) expect(Math.abs(y[i] - ref[i])).to.be.at.most(0.01 * range);
  });

  it('runs the zoo\'s secure-ops model like onnxruntime, with the bytes and rounds of cost.json', async () => {
    const onnx = buildZooFiles('secure-ops').model;
    const file = join(tmp(), 'secure-ops.onnx');
    writeFileSync(file, onnx);
    const out = join(tmp(), 'secure-ops');
    const { cost } = runCompile(file, { output: out });
    const rand = lcg(3);
    const x = Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1);
    const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
    const ss = await createInProcessSessions({ tag: sessionTag(arts[0].manifest) });
    const r = await runParties(ss, (s) => runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: arts[s.id].kernels }));
    const session = await ort.InferenceSession.create(onnx);
    const ref = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, 16, 16]) }))[session.outputNames[0]].data as Float32Array;
    const y = r[0].outputs.get(session.outputNames[0])!;
    const argmax = (v: ArrayLike<number>) => Array.from(v).reduce((b, _, i, a) => (a[i] > a[b] ? i : b), 0);
    expect(argmax(y)).to.equal(argmax(ref));
    const range = Math.max(...ref) - Math.min(...ref);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(y[i] - ref[i])).to.be.at.most(0.01 * range);
    expect(r.reduce((t, p) => t + p.counters.sent.online + p.counters.sent.preprocessing, 0)).to.equal(cost.bytes.total);
    for (const p of r) expect(p.rounds).to.equal(cost.rounds);
  });
});
