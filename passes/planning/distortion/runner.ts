// The forward runner: what runs float sub-networks for the distortion measures, many images at
// once. Two implementations: the plaintext interpreter (`interpreterRunner`, here: the reference
// the tests compare against, slow) and onnxruntime-node (compiler/planning/ort-runner.ts: the
// sub-network exported as standard ONNX, BlockRelu included, about 20 times faster on the
// trained fixture; the default of `mpcc plan`). A runner sees only graphs with fixed shapes,
// float32 inputs and outputs, given and returned in the graph's order.
import type { Graph } from '../../../ir/graph.js';
import { runGraph } from '../../../ir/interp/index.js';
import { Tensor } from '../../../ir/tensor.js';

/** A graph made ready for repeated runs (a compiled session, or the interpreter). */
export interface PreparedNetwork {
  /** Runs the network on one float32 array per graph input; one float32 array per graph output. */
  run(inputs: readonly Float32Array[]): Promise<Float32Array[]>;
  /** Frees what `prepare` allocated. */
  dispose(): Promise<void>;
}

/** Runs float graphs (fixed shapes) for the planner. */
export interface ForwardRunner {
  /** 'interpreter' or 'onnxruntime', as plans record it. */
  readonly name: string;
  prepare(graph: Graph): Promise<PreparedNetwork>;
}

/** The plaintext interpreter as a runner, in float32 (the reference). */
export const interpreterRunner: ForwardRunner = {
  name: 'interpreter',
  async prepare(graph: Graph): Promise<PreparedNetwork> {
    return {
      async run(inputs) {
        const given = new Map(graph.inputs.map((name, i) => [name, new Tensor('float32', graph.types.get(name)!.shape, inputs[i])]));
        const out = runGraph(graph, given);
        return graph.outputs.map((o) => {
          const data = out.get(o)!.data;
          return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
        });
      },
      async dispose() {},
    };
  },
};
