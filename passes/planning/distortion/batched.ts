// Running a float network over many images through a forward runner, in batches of a fixed
// size (one prepared session per batch size; the last batch padded), and the graph at another
// batch size. Used for the clean network's outputs and the prefix activations of each cut.
import type { Graph } from '../../../ir/graph.js';
import { numel } from '../../../ir/types.js';
import { withBatchSize } from './rebatch.js';
import type { ForwardRunner } from './runner.js';

/** Runs `g` (any batch size) on `count` images: `inputs` holds each graph input's values for all
 * images, image-major. Returns each graph output's values for all images. At most `maxValues`
 * input and output floats per run. */
export async function runImages(runner: ForwardRunner, g: Graph, inputs: readonly Float32Array[], count: number, maxValues: number): Promise<Float32Array[]> {
  const perImage = (name: string) => numel(g.types.get(name)!.shape.slice(1));
  const inPer = g.inputs.map(perImage), outPer = g.outputs.map(perImage);
  const per = [...inPer, ...outPer].reduce((a, b) => a + b, 0);
  const batch = Math.max(1, Math.min(count, Math.floor(maxValues / Math.max(1, per))));
  const net = await runner.prepare(withBatchSize(g, batch));
  try {
    const outputs = outPer.map((k) => new Float32Array(count * k));
    for (let first = 0; first < count; first += batch) {
      const n = Math.min(batch, count - first);
      const chunk = inputs.map((data, i) => {
        const buf = new Float32Array(batch * inPer[i]);
        buf.set(data.subarray(first * inPer[i], (first + n) * inPer[i]));
        return buf;
      });
      const out = await net.run(chunk);
      out.forEach((o, i) => outputs[i].set(o.subarray(0, n * outPer[i]), first * outPer[i]));
    }
    return outputs;
  } finally {
    await net.dispose();
  }
}
