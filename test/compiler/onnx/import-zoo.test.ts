// The small zoo models imported and interpreted against onnxruntime-node: all-ops in every
// opset 11–18 (each opset's operator forms), legacy-ops in opset 9, and the real architectures
// (batch norm folded and not) at their default opset.
import { expect } from 'chai';
import { ZOO_OPSETS, buildZooModel } from '../../../examples/zoo/index.js';
import { importAndCompare } from './harness.js';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { MpccError } from '../../../runtime/diagnostics.js';

describe('ONNX import: zoo models against onnxruntime', function () {
  this.timeout(120000);
  for (const opset of ZOO_OPSETS) {
    it(`all-ops, opset ${opset}`, async () => {
      const { error } = await importAndCompare(buildZooModel('all-ops', { opset }));
      expect(error).to.be.at.most(1e-4);
    });
  }
  it('legacy-ops (opset 9: Clip attributes, Upsample, attribute-form Pad/Slice)', async () => {
    expect((await importAndCompare(buildZooModel('legacy-ops'))).error).to.be.at.most(1e-4);
  });
  it('all-ops with a symbolic batch, fixed by inputShape (shape subgraphs fold once the batch is known)', async () => {
    const bytes = buildZooModel('all-ops', { dynamicBatch: true });
    expect(() => importOnnx(bytes)).to.throw(MpccError, /MPCC1004|symbolic dimension/);
    const { error, graph } = await importAndCompare(bytes, { inputShape: [1, 3, 16, 16] });
    expect(error).to.be.at.most(1e-4);
    expect(graph.types.get('output')!.shape).to.deep.equal([1, 10]);
  });
  for (const [name, fold] of [['tiny-cnn', false], ['resnet18-cifar', false], ['resnet18-cifar', true], ['deeplabv3', false]] as const) {
    it(`${name}${fold ? ' (batch norm folded)' : ''}`, async () => {
      const { error, graph } = await importAndCompare(buildZooModel(name, { foldBatchNorm: fold }));
      expect(error).to.be.at.most(1e-4);
      expect(graph.nodes.some((n) => n.op === 'BatchNormalization')).to.equal(!fold);
    });
  }
});
