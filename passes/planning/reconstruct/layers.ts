// The layers a refit can solve for, each as a set of independent least-squares problems:
// Conv (one per group; a depthwise convolution is one per channel) over im2col patches, Gemm
// and MatMul with a constant 2-D weight over rows. For each the file knows how to turn a batch
// of the layer's input and target output into samples (features × samples, outputs ×
// samples), how to read the current weights as a solver start (unknowns × outputs, the bias
// last) and how to write a solution back as constants of the same names, shapes and types, so
// a refit never changes the graph's structure.
import type { Graph, Node } from '../../../ir/graph.js';
import { withDefaults } from '../../../ir/ops/index.js';
import { Tensor } from '../../../ir/tensor.js';
import { numel } from '../../../ir/types.js';

/** One refit layer: its node, weight (and bias) constants and problem sizes. */
export interface RefitLayer {
  readonly node: Node;
  readonly kind: 'Conv' | 'Gemm' | 'MatMul';
  /** Independent problems (conv groups; 1 for Gemm and MatMul). */
  readonly groups: number;
  /** Inputs per sample of one problem. */
  readonly features: number;
  /** Outputs of one problem. */
  readonly outputs: number;
  /** Whether the layer has a bias the refit solves for too. */
  readonly bias: boolean;
  /** Samples one image gives (output pixels, or rows). */
  samplesPerImage(input: Tensor): number;
  /** Writes the samples keptSamples(images, samplesPerImage, every, first) of the first `images`
   * images of `input` / `target` (image chunk `chunk`) for problem `group` into x (features ×
   * stride) and y (outputs × stride) from column `at`; returns how many it wrote. */
  samples(input: Tensor, target: Tensor, images: number, group: number, x: Float64Array, y: Float64Array, stride: number, at: number, chunk: number, every: number, first: number): number;
  /** The current weights of problem `group`, unknowns × outputs. */
  start(graph: Graph, group: number): Float64Array;
  /** The constants holding `solutions` (one per group), by name. */
  write(graph: Graph, solutions: readonly Float64Array[]): Map<string, Tensor>;
}

/** The refit layer of `node`, or why it cannot be refit (its weights are not a constant only it
 * reads, a layout the solver does not handle). */
export function refitLayer(graph: Graph, node: Node, readers: ReadonlyMap<string, number>): RefitLayer | string {
  const weight = node.inputs[1];
  const w = weight ? graph.constants.get(weight) : undefined;
  if (!w || (w.dtype !== 'float32' && w.dtype !== 'float64')) return 'its weights are not a float constant';
  if ((readers.get(weight) ?? 0) > 1 || graph.outputs.includes(weight)) return `its weights '${weight}' are read elsewhere too`;
  const biasName = node.inputs[2] || undefined;
  if (biasName !== undefined && (!graph.constants.has(biasName) || (readers.get(biasName) ?? 0) > 1)) return 'its bias is not a constant only it reads';
  if (node.op === 'Conv') return convLayer(graph, node, w, biasName);
  if (node.op === 'Gemm') return gemmLayer(graph, node, w, biasName);
  if (node.op === 'MatMul') return w.shape.length === 2 ? matmulLayer(node, w) : 'its weights are not 2-D';
  return `${node.op} is not a weight layer`;
}

function convLayer(graph: Graph, node: Node, w: Tensor, biasName: string | undefined): RefitLayer {
  const a = withDefaults(node) as unknown as { strides: number[]; pads: number[]; dilations: number[]; group: number };
  const [o, cg, kh, kw] = w.shape;
  const group = a.group, og = o / group, features = cg * kh * kw;
  const [sh, sw] = a.strides, [pt, pl] = a.pads, [dh, dw] = a.dilations;
  const outShape = graph.types.get(node.outputs[0])!.shape;
  const [, , oh, ow] = outShape;
  return {
    node, kind: 'Conv', groups: group, features, outputs: og, bias: biasName !== undefined,
    samplesPerImage: () => oh * ow,
    samples(input, target, images, g, x, y, stride, at, _chunk, every, first) {
      const [, c, h, wd] = input.shape;
      const src = input.data, dst = target.data, pixels = oh * ow;
      // the kept samples' image planes and output pixels, then every feature row over them
      const chosen = keptSamples(images, pixels, every, first), kept = chosen.length;
      const image = new Int32Array(kept), oyOf = new Int32Array(kept), oxOf = new Int32Array(kept), pixel = new Int32Array(kept);
      for (let k = 0; k < kept; k++) {
        const j = chosen[k];
        image[k] = Math.floor(j / pixels);
        pixel[k] = j - image[k] * pixels;
        oyOf[k] = Math.floor(pixel[k] / ow);
        oxOf[k] = pixel[k] - oyOf[k] * ow;
      }
      for (let ci = 0; ci < cg; ci++)
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const row = ((ci * kh + ky) * kw + kx) * stride + at;
            for (let k = 0; k < kept; k++) {
              const iy = oyOf[k] * sh - pt + ky * dh, ix = oxOf[k] * sw - pl + kx * dw;
              x[row + k] = iy >= 0 && iy < h && ix >= 0 && ix < wd ? src[((image[k] * c + g * cg + ci) * h + iy) * wd + ix] : 0;
            }
          }
      for (let oc = 0; oc < og; oc++) {
        const row = oc * stride + at;
        for (let k = 0; k < kept; k++) y[row + k] = dst[(image[k] * o + g * og + oc) * pixels + pixel[k]];
      }
      return kept;
    },
    start(gr, g) {
      const wt = gr.constants.get(node.inputs[1])!.data, bt = biasName ? gr.constants.get(biasName)!.data : undefined;
      const s = new Float64Array((features + (bt ? 1 : 0)) * og);
      for (let oc = 0; oc < og; oc++) {
        for (let f = 0; f < features; f++) s[f * og + oc] = wt[(g * og + oc) * features + f];
        if (bt) s[features * og + oc] = bt[g * og + oc];
      }
      return s;
    },
    write(gr, solutions) {
      const wOld = gr.constants.get(node.inputs[1])!;
      const wNew = new Float64Array(numel(wOld.shape));
      const bOld = biasName ? gr.constants.get(biasName)! : undefined;
      const bNew = new Float64Array(o);
      solutions.forEach((s, g) => {
        for (let oc = 0; oc < og; oc++) {
          for (let f = 0; f < features; f++) wNew[(g * og + oc) * features + f] = s[f * og + oc];
          if (bOld) bNew[g * og + oc] = s[features * og + oc];
        }
      });
      const out = new Map([[node.inputs[1], like(wOld, wNew)]]);
      if (bOld && biasName) out.set(biasName, like(bOld, bNew));
      return out;
    },
  };
}

function gemmLayer(graph: Graph, node: Node, w: Tensor, biasName: string | undefined): RefitLayer | string {
  const a = withDefaults(node) as unknown as { alpha: number; beta: number; transA: number; transB: number };
  if (a.transA !== 0) return 'its input is transposed (transA)';
  if (a.alpha === 0) return 'alpha is 0';
  const [k, o] = a.transB ? [w.shape[1], w.shape[0]] : [w.shape[0], w.shape[1]];
  const c = biasName ? graph.constants.get(biasName)! : undefined;
  // a bias the solver can own: one value per output, scaled by a non-zero beta
  const bias = c !== undefined && a.beta !== 0 && numel(c.shape) === o && c.shape[c.shape.length - 1] === o;
  if (c !== undefined && !bias) return `its C operand [${c.shape.join(',')}] is not one bias per output`;
  const at = (f: number, oc: number) => (a.transB ? oc * k + f : f * o + oc);
  return {
    node, kind: 'Gemm', groups: 1, features: k, outputs: o, bias,
    samplesPerImage: (input) => numel(input.shape) / k / (input.shape[0] || 1),
    samples: (input, target, images, _g, x, y, stride, col, _chunk, every, first) => rows(input, target, images, k, o, x, y, stride, col, every, first),
    start(gr) {
      const wt = gr.constants.get(node.inputs[1])!.data, bt = bias ? gr.constants.get(biasName!)!.data : undefined;
      const s = new Float64Array((k + (bt ? 1 : 0)) * o);
      for (let oc = 0; oc < o; oc++) {
        for (let f = 0; f < k; f++) s[f * o + oc] = a.alpha * wt[at(f, oc)];
        if (bt) s[k * o + oc] = a.beta * bt[oc];
      }
      return s;
    },
    write(gr, [s]) {
      const wOld = gr.constants.get(node.inputs[1])!;
      const wNew = new Float64Array(numel(wOld.shape));
      for (let oc = 0; oc < o; oc++) for (let f = 0; f < k; f++) wNew[at(f, oc)] = s[f * o + oc] / a.alpha;
      const out = new Map([[node.inputs[1], like(wOld, wNew)]]);
      if (bias) {
        const bOld = gr.constants.get(biasName!)!;
        out.set(biasName!, like(bOld, Float64Array.from({ length: o }, (_, oc) => s[k * o + oc] / a.beta)));
      }
      return out;
    },
  };
}

function matmulLayer(node: Node, w: Tensor): RefitLayer {
  const [k, o] = w.shape;
  return {
    node, kind: 'MatMul', groups: 1, features: k, outputs: o, bias: false,
    samplesPerImage: (input) => numel(input.shape) / k / (input.shape[0] || 1),
    samples: (input, target, images, _g, x, y, stride, col, _chunk, every, first) => rows(input, target, images, k, o, x, y, stride, col, every, first),
    start: (gr) => Float64Array.from(gr.constants.get(node.inputs[1])!.data),
    write: (gr, [s]) => new Map([[node.inputs[1], like(gr.constants.get(node.inputs[1])!, s)]]),
  };
}

/**
 * Two layers solved as one against the sum of their outputs (the two convolutions a residual Add
 * reads): the features of `first` then those of `second`, `first`'s bias only (the target must
 * leave out `second`'s, which stays as it is). `secondInputs` is `second`'s input per image chunk.
 * Both must be single problems (groups 1) with outputs of one shape (residualPairs checks).
 */
export function jointLayer(first: RefitLayer, second: RefitLayer, secondInputs: readonly Tensor[]): RefitLayer {
  const fa = first.features, fb = second.features, o = first.outputs;
  let scratch = new Float64Array(0);
  return {
    node: first.node, kind: first.kind, groups: 1, features: fa + fb, outputs: o, bias: first.bias,
    samplesPerImage: (input) => first.samplesPerImage(input),
    samples(input, target, images, _g, x, y, stride, at, chunk, every, from) {
      const kept = first.samples(input, target, images, 0, x, y, stride, at, chunk, every, from);
      if (scratch.length < o * stride) scratch = new Float64Array(o * stride);
      second.samples(secondInputs[chunk], target, images, 0, x.subarray(fa * stride), scratch, stride, at, chunk, every, from);
      return kept;
    },
    start(gr) {
      const a = first.start(gr, 0), b = second.start(gr, 0);
      const s = new Float64Array((fa + fb + (first.bias ? 1 : 0)) * o);
      s.set(a.subarray(0, fa * o));
      s.set(b.subarray(0, fb * o), fa * o);
      if (first.bias) s.set(a.subarray(fa * o), (fa + fb) * o);
      return s;
    },
    write(gr, [s]) {
      const a = new Float64Array((fa + (first.bias ? 1 : 0)) * o), b = second.start(gr, 0);
      a.set(s.subarray(0, fa * o));
      if (first.bias) a.set(s.subarray((fa + fb) * o), fa * o);
      b.set(s.subarray(fa * o, (fa + fb) * o)); // its bias row (if any) stays the original
      return new Map([...first.write(gr, [a]), ...second.write(gr, [b])]);
    },
  };
}

/** Samples of a row-wise product: every row of the input (all leading axes) is one sample;
 * rows `first`, `first + every`, … are written; returns how many. */
function rows(input: Tensor, target: Tensor, images: number, k: number, o: number, x: Float64Array, y: Float64Array, stride: number, at: number, every: number, first: number): number {
  const chosen = keptSamples(images, numel(input.shape) / k / (input.shape[0] || 1), every, first);
  const src = input.data, dst = target.data;
  chosen.forEach((r, kept) => {
    for (let f = 0; f < k; f++) x[f * stride + at + kept] = src[r * k + f];
    for (let oc = 0; oc < o; oc++) y[oc * stride + at + kept] = dst[r * o + oc];
  });
  return chosen.length;
}

/**
 * The samples a layer keeps of `images` images of `perImage` samples each (numbered image by
 * image): of image i, every `every`-th from (first + i) mod every, so that from image to image
 * (and chunk to chunk, `first`) other positions of the map are used.
 */
export function keptSamples(images: number, perImage: number, every: number, first: number): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < images; i++) for (let p = (first + i) % every; p < perImage; p += every) out.push(i * perImage + p);
  return Int32Array.from(out);
}

/** A tensor of `old`'s dtype and shape holding `values`. */
function like(old: Tensor, values: ArrayLike<number>): Tensor {
  const data = old.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  return new Tensor(old.dtype, old.shape, data);
}
