// What runs `mpcc eval`'s forward passes (compiler/commands/eval.ts): onnxruntime-node for the
// float network by default (compiler/planning/ort-runner.ts, the planner's runner: about 20 times
// faster), the interpreter for --fixed (bit-faithful fixed point, ir/interp/fixed) and, asked to,
// for float (the reference).
import type { Graph } from '../ir/graph.js';
import { runGraph } from '../ir/interp/index.js';
import { runGraphFixed } from '../ir/interp/fixed/index.js';
import { Tensor } from '../ir/tensor.js';
import type { PreparedNetwork } from '../passes/planning/distortion/runner.js';
import { diag } from '../runtime/diagnostics.js';
import type { ProgressSink } from './cli-support.js';
import { ortRunner } from './planning/ort-runner.js';

/** What runs eval's forward passes. */
export type EvalRunner = 'onnxruntime' | 'interpreter';

/** Eval's forward passes: `run(g, size, x)` gives the output of graph `g` (the network at `size`
 * images) on images `x`. The interpreter runs --fixed (bit-faithful fixed point) or, asked to,
 * float; onnxruntime the float network exported as standard ONNX (one session per batch size;
 * compiler/planning/ort-runner.ts). `first`, the first batch's network, is loaded at once: unless
 * onnxruntime was asked for explicitly (MPCC3009 then), a network it cannot take falls back to
 * the interpreter with a note, before any image. */
export async function evalForward(
  first: Graph,
  asked: EvalRunner | undefined,
  frac: number | undefined,
  log: ProgressSink,
): Promise<{ name: EvalRunner; run(g: Graph, size: number, x: Float32Array): Promise<Float32Array | Float64Array>; dispose(): Promise<void> }> {
  const interpreter = {
    name: 'interpreter' as const,
    async run(g: Graph, size: number, x: Float32Array) {
      const inputs = { [g.inputs[0]]: new Tensor('float32', [size, ...g.types.get(g.inputs[0])!.shape.slice(1)], x) };
      const out = frac !== undefined ? runGraphFixed(g, inputs, { frac, keep: 'outputs', compare: { carries: 'shares' } }).outputs.get(g.outputs[0])! : runGraph(g, inputs).get(g.outputs[0])!;
      return out.data as Float32Array | Float64Array;
    },
    async dispose() {},
  };
  if (frac !== undefined || asked === 'interpreter') return interpreter;
  const sessions = new Map<Graph, PreparedNetwork>();
  const why = (err: unknown) => (err as Error).message.split('\n')[0];
  const refused = (g: Graph, err: unknown) => diag('MPCC3009', [`onnxruntime cannot run the network at ${g.types.get(g.inputs[0])!.shape[0]} images (${why(err)}); --runner interpreter runs it`]);
  const prepare = async (g: Graph) => {
    let p = sessions.get(g);
    if (!p) sessions.set(g, (p = await ortRunner.prepare(g)));
    return p;
  };
  try {
    await prepare(first);
  } catch (err) {
    if (asked === 'onnxruntime') throw refused(first, err);
    log(`eval: onnxruntime cannot run the network (${why(err)}): the interpreter runs it`);
    return interpreter;
  }
  return {
    name: 'onnxruntime',
    async run(g, _size, x) {
      // another batch size (the last batch's, say) is the same network: hardly ever refused
      const session = await prepare(g).catch((err: unknown) => Promise.reject(refused(g, err)));
      return (await session.run([x]))[0];
    },
    async dispose() {
      for (const p of sessions.values()) await p.dispose();
    },
  };
}
