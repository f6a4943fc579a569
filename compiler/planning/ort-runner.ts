// The fast forward runner of the planner and of `mpcc eval` in float: onnxruntime-node (the one
// file that imports it outside tests and benchmarks). A sub-network is exported as standard ONNX (compiler/onnx/export.ts,
// BlockRelu as the standard operators of compiler/onnx/export-block-relu.ts) and run in one
// session on both cores (intraOpNumThreads 2, the machine's two). On the trained Fashion-MNIST
// fixture it runs 512 images of the whole network in about 75 ms where the interpreter takes
// about 1.6 s, so it is `mpcc plan`'s default; the interpreter (passes/planning/distortion/
// runner.ts) stays the reference the tests hold it to.
import * as ort from 'onnxruntime-node';
import type { Graph } from '../../ir/graph.js';
import type { ForwardRunner, PreparedNetwork } from '../../passes/planning/distortion/runner.js';
import { exportOnnx } from '../onnx/export.js';

/** Threads of one session: both cores of the machine mpcc plans on. */
export const ORT_THREADS = 2;

/** onnxruntime-node as a forward runner. */
export const ortRunner: ForwardRunner = {
  name: 'onnxruntime',
  async prepare(graph: Graph): Promise<PreparedNetwork> {
    const session = await ort.InferenceSession.create(exportOnnx(graph, { producer: 'mpcc plan' }), {
      intraOpNumThreads: ORT_THREADS,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const shapes = graph.inputs.map((name) => [...graph.types.get(name)!.shape]);
    return {
      async run(inputs) {
        const feeds: Record<string, ort.Tensor> = {};
        graph.inputs.forEach((name, i) => (feeds[name] = new ort.Tensor('float32', inputs[i], shapes[i])));
        const out = await session.run(feeds);
        return graph.outputs.map((o) => out[o].data as Float32Array);
      },
      async dispose() {
        await session.release();
      },
    };
  },
};
