// ONNX export (compiler/onnx/export.ts, compiler/onnx/export-block-relu.ts, `mpcc export`):
// onnxruntime-node running the exported file equals the float interpreter on the IR, the file
// re-imports through mpcc's own importer to the same IR (without a plan: the same text; with
// BlockRelu layers: the same function), for zoo models without a plan and under random plans
// (mixed blocks, identity and whole-map channels, odd map sizes, batch 2).
import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runExport } from '../../../compiler/commands/export.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { EXPORT_OPSET, exportOnnx, exportableOps } from '../../../compiler/onnx/export.js';
import { channelGroups } from '../../../compiler/onnx/export-block-relu.js';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { importedOperators } from '../../../compiler/onnx/importers/index.js';
import { OnnxBuilder } from '../../../compiler/onnx/writer.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { type Graph, makeNode, replaceGraph } from '../../../ir/graph.js';
import { runGraph } from '../../../ir/interp/index.js';
import { Tensor } from '../../../ir/tensor.js';
import { printGraph } from '../../../ir/print.js';
import { saveMir } from '../../../ir/weights.js';
import { runPipeline } from '../../../passes/index.js';
import { type ChannelBlock, makePlan, planJson, reluLayerNames } from '../../../passes/planning/plan-file.js';
import { plannableLayers } from '../../../passes/planning/uniform.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { suiteTempDir } from '../../temp-dir.js';
import { inputsFor, relativeError, testValues } from './harness.js';

/** onnxruntime's outputs of `bytes` on `inputs`, by name. */
async function runOrt(bytes: Uint8Array, inputs: Map<string, { data: ArrayLike<number>; shape: readonly number[] }>): Promise<Record<string, ort.Tensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of inputs) feeds[name] = new ort.Tensor('float32', Float32Array.from(t.data), [...t.shape]);
  const session = await ort.InferenceSession.create(bytes);
  return session.run(feeds);
}

/** Worst relative error of onnxruntime on the export of `g`, and of the re-imported graph in
 * the interpreter, both against the interpreter on `g`. */
async function exportErrors(g: Graph): Promise<{ ort: number; reimported: number; bytes: Uint8Array; back: Graph }> {
  const bytes = exportOnnx(g);
  const inputs = inputsFor(g);
  const want = runGraph(g, inputs);
  const got = await runOrt(bytes, inputs);
  const back = importOnnx(bytes);
  const again = runGraph(back, inputs);
  let ortError = 0, reimported = 0;
  for (const name of g.outputs) {
    const w = Array.from(want.get(name)!.data as ArrayLike<number>);
    ortError = Math.max(ortError, relativeError(Array.from(got[name].data as ArrayLike<number | bigint>, Number), w));
    reimported = Math.max(reimported, relativeError(Array.from(again.get(name)!.data as ArrayLike<number>), w));
  }
  return { ort: ortError, reimported, bytes, back };
}

/** Reproducible choices (test data, not secrets). */
function chooser(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * n);
  };
}

/** A random block per channel of an H×W map: identity, ReLU, 2×2, 3×5, the whole map or any size. */
function randomBlocks(c: number, h: number, w: number, pick: (n: number) => number): ChannelBlock[] {
  const clip = (bh: number, bw: number): [number, number] => [Math.min(bh, h), Math.min(bw, w)];
  const menu = (): ChannelBlock => {
    switch (pick(6)) {
      case 0: return 'identity';
      case 1: return [1, 1];
      case 2: return clip(2, 2);
      case 3: return clip(3, 5);
      case 4: return [h, w];
      default: return [1 + pick(h), 1 + pick(w)];
    }
  };
  return Array.from({ length: c }, menu);
}

/** `g` with every 4-D Relu a BlockRelu of random blocks (what insert-block-relu makes). */
function withRandomBlocks(g: Graph, seed: number): Graph {
  const pick = chooser(seed);
  const nodes = g.nodes.map((n) => {
    const shape = g.types.get(n.outputs[0])!.shape;
    if (n.op !== 'Relu' || shape.length !== 4) return n;
    const blocks = randomBlocks(shape[1], shape[2], shape[3], pick).flatMap((b) => (b === 'identity' ? [0, 0] : [...b]));
    return makeNode('BlockRelu', n.name, n.inputs, n.outputs, { blocks });
  });
  return replaceGraph(g, { nodes });
}

/** A small float model with odd map sizes (7×9, then 4×5) and batch 2. */
function oddModel(): Uint8Array {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('input', [2, 4, 7, 9]);
  b.initializer('w1', testValues([6, 4, 3, 3], 3), [6, 4, 3, 3]);
  b.initializer('b1', testValues([6], 4), [6]);
  b.initializer('w2', testValues([5, 6, 3, 3], 5), [5, 6, 3, 3]);
  b.initializer('w3', testValues([3, 5], 6), [3, 5]);
  b.node('Conv', ['input', 'w1', 'b1'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1');
  b.node('Relu', ['c1'], ['r1'], {}, 'relu1');
  b.node('Conv', ['r1', 'w2'], ['c2'], { pads: [1, 1, 1, 1], strides: [2, 2] }, 'conv2');
  b.node('Relu', ['c2'], ['r2'], {}, 'relu2');
  b.node('GlobalAveragePool', ['r2'], ['g'], {}, 'pool');
  b.node('Flatten', ['g'], ['f'], {}, 'flatten');
  b.node('Gemm', ['f', 'w3'], ['output'], { transB: 1 }, 'fc');
  b.output('output', [2, 3]);
  return b.toBytes();
}

const canonical = (bytes: Uint8Array) => runPipeline(importOnnx(bytes), 'canonicalize').graph;

describe('ONNX export', function () {
  this.timeout(120000);
  const dir = suiteTempDir('mpcc-export-');

  it('writes every float op the importer produces, at one pinned opset the importer takes', () => {
    expect(EXPORT_OPSET).to.equal(14);
    const irOps = ['Add', 'ArgMax', 'AveragePool', 'BatchNormalization', 'Cast', 'Clip', 'Concat', 'Conv', 'Div', 'Dropout', 'Flatten', 'Gather',
      'Gemm', 'GlobalAveragePool', 'HardSigmoid', 'Identity', 'MatMul', 'MaxPool', 'Mul', 'Pad', 'ReduceMean', 'Relu', 'Reshape', 'Resize',
      'Round', 'Shape', 'Sigmoid', 'Slice', 'Softmax', 'Squeeze', 'Sub', 'Transpose', 'Unsqueeze', 'BlockRelu'];
    expect(exportableOps()).to.have.members(irOps);
    expect(importedOperators()).to.include.members(irOps.filter((op) => op !== 'BlockRelu'));
  });

  it('reveal-argmax\'s graph (comparison tree, class indices, Round): onnxruntime on its export gives the argmax of the scores', async () => {
    const scores = canonical(buildZooModel('tiny-cnn'));
    const classes = runPipeline(scores, 'reveal-argmax').graph;
    expect(classes.nodes.map((n) => n.op)).to.include('Round');
    // (the pass's nodes leave default attributes out: the re-import is the same function, not the same text)
    const { ort: error, reimported } = await exportErrors(classes);
    expect([error, reimported]).to.deep.equal([0, 0]);
    for (const seed of [1, 2, 3]) {
      const x = { data: testValues([1, 3, 16, 16], seed), shape: [1, 3, 16, 16] };
      const inputs = new Map([[scores.inputs[0], x]]);
      const s = Array.from((await runOrt(exportOnnx(scores), inputs))[scores.outputs[0]].data as Float32Array);
      const got = (await runOrt(exportOnnx(classes), inputs))[classes.outputs[0]].data as Float32Array;
      expect(Array.from(got), `seed ${seed}`).to.deep.equal([s.indexOf(Math.max(...s))]);
    }
  });

  for (const name of ['tiny-cnn', 'all-ops', 'legacy-ops', 'secure-ops', 'resnet18-cifar', 'deeplabv3']) {
    it(`${name}: onnxruntime on the export equals the interpreter; it re-imports to the same IR`, async () => {
      for (const g of [importOnnx(buildZooModel(name)), canonical(buildZooModel(name))]) {
        const { ort: error, back } = await exportErrors(g);
        expect(error).to.be.at.most(1e-5);
        expect(printGraph(back)).to.equal(printGraph(g));
      }
    });
  }

  for (const [name, seeds] of [['tiny-cnn', [1, 2, 3]], ['resnet18-cifar', [4]], ['odd', [5, 6, 7]]] as const) {
    it(`${name} under random plans: onnxruntime and the re-imported export equal the interpreter`, async () => {
      for (const seed of seeds) {
        const g = withRandomBlocks(canonical(name === 'odd' ? oddModel() : buildZooModel(name)), seed);
        const blockRelus = g.nodes.filter((n) => n.op === 'BlockRelu');
        expect(blockRelus.length).to.be.greaterThan(0);
        const { ort: error, reimported, back } = await exportErrors(g);
        expect(error, `seed ${seed}`).to.be.at.most(1e-5);
        expect(reimported, `seed ${seed}`).to.be.at.most(1e-5);
        expect(back.nodes.some((n) => n.op === 'BlockRelu')).to.equal(false);
      }
    });
  }

  it('a plan that changes something: the export differs from the unplanned network where the plan zeroes tiles', async () => {
    const g = canonical(oddModel());
    const planned = withRandomBlocks(g, 5);
    const inputs = inputsFor(g);
    const plain = runGraph(g, inputs, { keep: ['r1'] }).get('r1')!.data as Float32Array;
    const got = await runOrt(exportOnnx(planned), inputs);
    const blocked = runGraph(planned, inputs, { keep: ['r1'] }).get('r1')!.data as Float32Array;
    expect(relativeError(blocked, plain)).to.be.greaterThan(1e-3);
    expect(relativeError(Array.from(got.output.data as Float32Array), Array.from(runGraph(planned, inputs).get('output')!.data as Float32Array))).to.be.at.most(1e-5);
  });

  it('BlockRelu by hand: partial edge tiles, identity and whole-map channels, ties at zero pass', async () => {
    // one image, 3 channels of 3×5: channel 0 in 2×2 tiles, channel 1 identity, channel 2 one whole-map tile
    const input = Float32Array.from([
      1, -2, 3, -1, -1, /**/ -5, -5, 2, 2, 0, /**/ 1, 1, 1, -1, 0, // channel 0
      1, 1, -3, 0, 5, /**/ 0, 0, 0, 0, 0, /**/ 2, 2, 2, 2, 2, // channel 1
      -1, -1, 1, 1, -7, /**/ 3, 3, 3, 3, 3, /**/ 0, 0, 0, 0, -1, // channel 2: sum 7
    ]);
    // channel 0's tiles (sums): [1,-2;-5,-5] −11 → 0; [3,-1;2,2] 6 kept; [-1;0] −1 → 0;
    // [1,1] 2 kept; [1,-1] 0 kept (a tie passes); [0] 0 kept
    const want = [
      0, 0, 3, -1, 0, /**/ 0, 0, 2, 2, 0, /**/ 1, 1, 1, -1, 0,
      ...input.subarray(15, 30),
      ...input.subarray(30, 45),
    ];
    const b = new OnnxBuilder({ opset: 13 });
    b.input('input', [1, 3, 3, 5]);
    b.node('Relu', ['input'], ['output'], {}, 'relu');
    b.output('output', [1, 3, 3, 5]);
    const g = withBlocks(importOnnx(b.toBytes()), [2, 2, 0, 0, 3, 5]);
    const inputs = new Map([['input', new Tensor('float32', [1, 3, 3, 5], input)]]);
    // + 0 turns −0 (a negative value times a zero mask) into 0
    const values = (t: ArrayLike<number>) => Array.from(t, (v) => v + 0);
    const got = await runOrt(exportOnnx(g), inputs);
    expect(values(got.output.data as Float32Array)).to.deep.equal(want);
    expect(values(runGraph(g, inputs).get('output')!.data as Float32Array)).to.deep.equal(want);
    // the whole-map channel is zeroed when its sum is negative
    input[44] = -9; // sum 7 − (−1) − 9 = −1
    const zeroed = await runOrt(exportOnnx(g), inputs);
    expect(values((zeroed.output.data as Float32Array).subarray(30, 45))).to.deep.equal(new Array(15).fill(0));
  });

  it('groups channels by block, identity channels last', () => {
    expect(channelGroups([2, 2, 0, 0, 1, 1, 2, 2, 0, 0])).to.deep.equal([
      { bh: 2, bw: 2, channels: [0, 3] },
      { bh: 1, bw: 1, channels: [2] },
      { bh: 0, bw: 0, channels: [1, 4] },
    ]);
  });

  it('mpcc export: the canonicalized model, and with --plan the planned network (plan checked against the file)', async () => {
    const model = join(dir(), 'tiny.onnx');
    const bytes = buildZooModel('tiny-cnn');
    writeFileSync(model, bytes);
    const plain = runExport(model, { output: join(dir(), 'tiny-export.onnx') });
    expect(printGraph(importOnnx(new Uint8Array(await readBytes(join(dir(), 'tiny-export.onnx')))))).to.equal(printGraph(plain));

    const g = canonical(bytes);
    const pick = chooser(9);
    const layers = plannableLayers(g).map((l) => ({ name: l.name, shape: l.shape, blocks: randomBlocks(l.shape[1], l.shape[2], l.shape[3], pick) }));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(dir(), 'plan.json'), planJson(makePlan({ sha256, reluLayers: reluLayerNames(g) }, layers, { method: 'random test' }, true)));
    const planned = runExport(model, { output: join(dir(), 'planned.onnx'), plan: join(dir(), 'plan.json') });
    expect(planned.nodes.filter((n) => n.op === 'BlockRelu').length).to.equal(layers.length);
    const inputs = inputsFor(planned);
    const got = await runOrt(await readBytes(join(dir(), 'planned.onnx')), inputs);
    expect(relativeError(Array.from(got.output.data as Float32Array), Array.from(runGraph(planned, inputs).get('output')!.data as Float32Array))).to.be.at.most(1e-5);
  });

  it('--dynamic-batch: onnxruntime runs the planned export on a batch of 3, each image as the interpreter at batch 1; refused for a network mixing its batch', async () => {
    const model = join(dir(), 'tiny.onnx');
    writeFileSync(model, buildZooModel('tiny-cnn'));
    runPlanCommand(model, { uniform: '2x2', output: join(dir(), 'dyn-plan.json') });
    const planned = runExport(model, { output: join(dir(), 'dyn.onnx'), plan: join(dir(), 'dyn-plan.json'), dynamicBatch: true });
    expect(planned.nodes.some((n) => n.op === 'BlockRelu')).to.equal(true);
    const bytes = await readBytes(join(dir(), 'dyn.onnx'));
    const session = await ort.InferenceSession.create(bytes);
    const images = [0, 1, 2].map((k) => testValues([1, 3, 16, 16], 40 + k));
    const batch = new Float32Array(3 * 768);
    images.forEach((x, k) => batch.set(x, k * 768));
    const out = await session.run({ input: new ort.Tensor('float32', batch, [3, 3, 16, 16]) });
    expect(out.output.dims).to.deep.equal([3, 10]);
    for (const [k, x] of images.entries()) {
      const want = runGraph(planned, new Map([['input', new Tensor('float32', [1, 3, 16, 16], x)]])).get('output')!.data as Float32Array;
      expect(relativeError(Array.from((out.output.data as Float32Array).slice(10 * k, 10 * k + 10)), Array.from(want)), `image ${k}`).to.be.at.most(1e-5);
    }
    // the declared shapes: 'batch' on axis 0 of the input and the output
    const back = importOnnx(bytes, { inputShape: [5, 3, 16, 16] });
    expect(back.types.get('output')!.shape).to.deep.equal([5, 10]);
    // a Softmax over axis 0 works across the batch: refused, nothing written
    const b = new OnnxBuilder({ opset: 13 });
    b.input('x', [2, 4]);
    b.node('Softmax', ['x'], ['y'], { axis: 0 }, 'across');
    b.output('y');
    writeFileSync(join(dir(), 'across.onnx'), b.toBytes());
    const e = (() => { try { runExport(join(dir(), 'across.onnx'), { output: join(dir(), 'across-dyn.onnx'), dynamicBatch: true }); } catch (err) { return err as MpccError; } })();
    expect(e?.message).to.match(/--dynamic-batch: the network works across its batch/);
    expect(existsSync(join(dir(), 'across-dyn.onnx'))).to.equal(false);
  });

  it('MPCC1010: a quantized model has no ONNX form; nothing is written', () => {
    const mir = join(dir(), 'q.mir');
    saveMir(runPipeline(canonical(buildZooModel('tiny-cnn')), 'quantize').graph, mir);
    const out = join(dir(), 'q.onnx');
    expect(() => runExport(mir, { output: out })).to.throw(MpccError, /'input.fixed' \(FixedInput\).*no ONNX form/).with.property('code', 'MPCC1010');
    expect(existsSync(out)).to.equal(false);
  });

  it('MPCC0004: -o must name an .onnx file', () => {
    expect(() => runExport('model.onnx', { output: join(dir(), 'x.mir') })).to.throw(MpccError, /for flag -o: the output file must end in \.onnx/).with.property('code', 'MPCC0004');
    expect(() => runExport('model.onnx', {})).to.throw(MpccError, /flag -o: /).with.property('code', 'MPCC0004');
  });
});

/** `g` with its one Relu a BlockRelu of `blocks`. */
function withBlocks(g: Graph, blocks: number[]): Graph {
  return replaceGraph(g, { nodes: g.nodes.map((n) => (n.op === 'Relu' ? makeNode('BlockRelu', n.name, n.inputs, n.outputs, { blocks }) : n)) });
}

async function readBytes(path: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  return new Uint8Array(await readFile(path));
}
