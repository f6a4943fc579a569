// Whole zoo models through ONNX import and the interpreter against onnxruntime-node on the
// same inputs (max relative error ≤ 1e-4), in what test/compiler/onnx/import-zoo.test.ts does not cover:
// MobileNetV2 (depthwise convs, ReLU6), one thread, and float64. That file runs tiny-cnn,
// all-ops, legacy-ops, resnet18-cifar and deeplabv3 in float32 on the default two threads.
import { expect } from 'chai';
import { importOnnx } from '../../../compiler/onnx/import.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { interpreterThreads, setInterpreterThreads } from '../../../ir/interp/index.js';
import { compareWithOrt } from '../../compiler/onnx/harness.js';

describe('interpreter: zoo models against onnxruntime', function () {
  this.timeout(120000);

  // mobilenetv2 is the one 224×224 model in the tests: the zoo's only user of depthwise convs.
  for (const name of ['mobilenetv2']) {
    it(`${name} (float32)`, async () => {
      const bytes = buildZooModel(name);
      const { error } = await compareWithOrt(bytes, importOnnx(bytes));
      expect(error).to.be.at.most(1e-4);
    });
  }

  it('resnet18-cifar on one thread and in float64', async () => {
    const bytes = buildZooModel('resnet18-cifar');
    const graph = importOnnx(bytes);
    const before = interpreterThreads();
    try {
      setInterpreterThreads(1);
      expect((await compareWithOrt(bytes, graph)).error, 'one thread').to.be.at.most(1e-4);
    } finally {
      setInterpreterThreads(before);
    }
    expect((await compareWithOrt(bytes, graph, 'float64')).error, 'float64').to.be.at.most(1e-4);
  });
});
