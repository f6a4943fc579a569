// Helpers of the planning tests: the fixture's calibration images, the direct whole-network
// computation of one channel's distortion (the independent reference of exact mode), and a
// tolerance check.
import { expect } from 'chai';
import { readNpy } from '../../../../compiler/npy.js';
import { type Graph, makeGraph, makeNode } from '../../../../ir/graph.js';
import { runGraph } from '../../../../ir/interp/index.js';
import { Tensor } from '../../../../ir/tensor.js';
import { candidateBlocks, candidateCosts, parseBlockSizes } from '../../../../passes/planning/candidates.js';
import type { CalibrationImages } from '../../../../passes/planning/distortion/channel-measure.js';
import type { LayerRequest } from '../../../../passes/planning/distortion/exact.js';
import type { ChannelBlock } from '../../../../passes/planning/plan-file.js';
import { plannableLayers } from '../../../../passes/planning/uniform.js';

export const FIXTURE = 'examples/fashion-mnist/fmnist-resnet.onnx';
export const CALIB = 'examples/fashion-mnist/calib-images.npy';

/** The first `n` calibration images of the fixture. */
export function fixtureCalib(n: number): CalibrationImages {
  const npy = readNpy(CALIB);
  return { data: npy.data.slice(0, n * 784), shape: [n, 1, 28, 28] };
}

/** The MSE of `g`'s output with channel `c` of Relu `layer` under `block` (every other channel a
 * ReLU) against the unmodified `g`, run image by image by the interpreter. */
export function directDistortion(g: Graph, layer: string, c: number, block: ChannelBlock, calib: CalibrationImages): number {
  const node = g.nodes.find((n) => n.name === layer)!;
  const channels = g.types.get(node.outputs[0])!.shape[1];
  const blocks = Array.from({ length: channels }, (_, k) => (k !== c ? [1, 1] : block === 'identity' ? [0, 0] : [...block])).flat();
  const changed = makeGraph({ ...g, nodes: g.nodes.map((n) => (n === node ? makeNode('BlockRelu', n.name, n.inputs, n.outputs, { blocks }) : n)) });
  return directMse(g, changed, calib);
}

/** The MSE of `changed`'s outputs against `g`'s over the calibration images, run image by image
 * by the interpreter. */
export function directMse(g: Graph, changed: Graph, calib: CalibrationImages): number {
  const per = calib.shape[1] * calib.shape[2] * calib.shape[3];
  let sum = 0, count = 0;
  for (let s = 0; s < calib.shape[0]; s++) {
    const x = new Tensor('float32', [1, ...calib.shape.slice(1)], calib.data.slice(s * per, (s + 1) * per));
    const a = runGraph(g, { [g.inputs[0]]: x }).get(g.outputs[0])!.data;
    const b = runGraph(changed, { [g.inputs[0]]: x }).get(g.outputs[0])!.data;
    for (let i = 0; i < a.length; i++, count++) sum += (a[i] - b[i]) ** 2;
  }
  return sum / count;
}

/** `expected` within a relative 1e-4 (float32 sums in another order), or both below 1e-9. */
export function expectClose(actual: number, expected: number, what: string, rel = 1e-4): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).to.be.at.most(rel * Math.abs(expected) + 1e-9);
}

/** The layer requests of `g` under a --block-sizes spec. */
export function layerRequests(g: Graph, spec: string): LayerRequest[] {
  return plannableLayers(g).map((l) => {
    const candidates = candidateBlocks(l.shape[2], l.shape[3], parseBlockSizes(spec));
    return { name: l.name, shape: l.shape, candidates, costs: candidateCosts(l.shape[2], l.shape[3], candidates) };
  });
}

