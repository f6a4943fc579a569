// The fixed-point scale chosen for a model when --frac-bits is not given: as many fractional
// bits as keep the probability that a share truncation fails, per inference, within a stated
// bound, at most MAX_AUTO_FRAC.
//
// Why a bound: after each product with the server's weights, each party truncates its own share
// (passes/quantize/quantize.ts inserts the Truncate; runtime/kernels/model-kernels.ts runs it).
// A value x of the ring (the product, at 2·f fractional bits) is shared as x = x0 + x1 with x1
// uniform; the local truncation is off by one unit unless the shares wrap around 2^64 across the
// sign boundary, which happens with probability at most 2·|x|/2^64 (SecureML's analysis), and
// then the result is wrong by about 2^(64−f): a failed inference. Summed over every truncated
// element (union bound), per inference
//     P(failure) ≤ Σ_layers n_l · A_l · 2^(2f − 63)
// where n_l is the layer's number of outputs and A_l the mean magnitude of its outputs (reals).
// More fractional bits mean smaller rounding errors but larger ring values: each bit more
// multiplies the bound by 4. The choice is the largest f ≤ MAX_AUTO_FRAC with P ≤ FAILURE_BOUND,
// never below MIN_AUTO_FRAC (then the bound is exceeded, and said so), and every constant inside
// the value range (passes/quantize/value-range.ts), which wins over the floor.
//
// With exact truncation (the default, `--truncation exact`: runtime/protocols/truncate-exact.ts),
// every Truncate cannot fail: after a product with the server's weights — a Conv, Gemm, MatMul,
// or a Mul, Div or batch-norm by a constant, which quantize makes a weight layer — P0's wrap bit
// is known offline; after a product of two activations (MobileNetV3's squeeze-excitation and
// HardSwish) a helper-dealt bit triple shares the wrap correction (one round either way). The bound is then
// 0 for every model (it never counted the local truncations inside the Sigmoid, average-pooling
// and Resize steps, which are not exact yet; HardSigmoid's affine map is exact) and the choice takes the cap, MAX_AUTO_FRAC bits for both the
// activations and the weights (ResNet50's export: 0.037% of the logit range at 16/16 bits in
// `mpcc infer --fixed` and 0.041% in the secure run, against 0.227% and 0.169% at the 11/12..16
// bits the bound forced; MobileNetV3-Large, whose 29 activation products kept a bound of 2^-13.5
// before, 0.075% secure and 0.052% fixed at 16/16; DeepLabV3-MobileNetV3 at 256×256 99.997% of the
// pixels; BENCHMARKS.md, "Exact share truncation"). The bound and the per-layer weights' bits below
// now apply only with `--truncation local`; at the cap the weights stay at MAX_AUTO_FRAC bits (more
// would be possible with exact truncation as long as products stay below 2^62: not done).
//
// A_l comes from the activations when calibration samples are given (the float interpreter's
// mean |y_l|, the largest over the samples), else from the weights: the RMS of every value is
// propagated from a unit-RMS input through the layers (a product with weights W scales it by
// √(fan-in · mean W²), ReLU by 1/√2, a residual Add sums the squares), and A_l is taken as
// the RMS (an upper estimate of the mean magnitude).
//
// The weights' own fractional bits, per layer. Rounding the weights at 2^-f costs far more than
// rounding the activations: a BN-folded weight of RMS 0.03 at 12 bits is off by 0.8% of itself,
// and ResNet50's 53 layers add these up (torchvision export, `mpcc infer --fixed`: 0.40% of the
// logit range at 12/12 bits, of which 0.08% is the activations' rounding, measured with exact
// weights). So each product layer l encodes its weights at its own w_l fractional bits, the
// product carries f + w_l, and its Truncate drops w_l bits: activations stay at f, and the
// failure bound becomes Σ_l n_l·A_l·2^(f + w_l − 63). For a given f, the w_l minimizing the
// predicted relative rounding error Σ_l (2^-w_l / rms W_l)² under that bound are, by Lagrange,
//     w_l = ⌊K − log2(rms(W_l)² · n_l · A_l) / 3⌋
// (small weights and cheap layers get more bits), the level K the largest whose bound stays
// within the budget: 2^-12, or the bound the uniform choice above has when it already exceeds
// it (the floor), so that the weights' bits never cost failure probability beyond that of the
// uniform scale. f itself is then the one of MIN_ACTIVATION_FRAC..(the uniform choice) whose
// allocation has the least predicted error Σ_l (2^-w_l / rms W_l)² + (2^-f / A_l)², the uniform
// scale (w_l = f) among the candidates. Measured on the torchvision exports (weights' magnitudes,
// `mpcc infer --fixed` vs PyTorch, max error in % of the logit range): ResNet50 0.40% → 0.23%
// (f = 11, w_l 12..16, bound 2^-11.4 against the uniform floor's 2^-11.2; the secure run 0.17%),
// MobileNetV2 0.10% → 0.03%, MobileNetV3-Large 0.12% → 0.08%; DeepLabV3-ResNet50 at 256×256
// pixel agreement 99.22% → 99.74% (bound unchanged; BENCHMARKS.md, issue 19's section). w_l stays within [MIN_WEIGHT_FRAC, 2·MAX_AUTO_FRAC − f]
// (products never at a larger scale than 16/16 bits make) and keeps the layer's constants inside
// the value range. quantize recomputes w_l from K alone (its option weight-level), so a layer it
// adds (reveal-argmax's class sum) gets its own w_l by the same rule.
import type { Graph, Node } from '../../ir/graph.js';
import { secureFacts } from '../../ir/ops/facts.js';
import { withDefaults } from '../../ir/ops/index.js';
import type { Tensor } from '../../ir/tensor.js';
import { numel } from '../../ir/types.js';

/** The failure probability per inference the choice stays within: 2^-12 ≈ 2.4e-4. */
export const FAILURE_BOUND_LOG2 = -12;
/** The most fractional bits the choice takes: beyond 16 bits the fixed point's rounding is below
 * float32's own on the activations of a CNN, and every bit costs a factor 4 of failure bound. */
export const MAX_AUTO_FRAC = 16;
/** The fewest: the fixed default mpcc had. Below it accuracy suffers more than the bound gains
 * (DeepLabV3-ResNet50 at 256×256, torchvision export: 9 bits agree with PyTorch on 89.0% of the
 * pixels, 12 bits on 99.2%); a model whose bound at 12 bits exceeds the target is compiled at 12
 * and the bound printed, so that the user can weigh it (--frac-bits). */
export const MIN_AUTO_FRAC = 12;

/** The fewest fractional bits the activations take when the weights take their own: ResNet50's
 * export at 10 bits (weights 13..17) is off by 0.260% of its logit range, at 11 bits 0.227%. */
export const MIN_ACTIVATION_FRAC = 11;
/** The fewest fractional bits a layer's weights take. */
export const MIN_WEIGHT_FRAC = 8;

/** Per truncated layer: its outputs and their mean magnitude (reals). */
export interface TruncatedLayer {
  readonly node: string;
  readonly elements: number;
  readonly meanAbs: number;
}

/** A product layer's weights: their RMS and the largest magnitude of its constants (weights, bias). */
export interface LayerWeights {
  readonly node: string;
  readonly rms: number;
  readonly maxConstant: number;
}

/** The scale chosen for a model and why. */
export interface FracChoice {
  readonly frac: number;
  /** log2 of the failure bound per inference at `frac`. */
  readonly failureLog2: number;
  /** What limited the choice: the failure bound, the cap, the floor, or a constant's magnitude. */
  readonly limit: 'failure bound' | 'cap' | 'floor' | 'value range';
  /** 'calibration' when the magnitudes were measured, 'weights' when propagated from them. */
  readonly magnitudes: 'calibration' | 'weights';
  readonly truncatedElements: number;
  readonly layers: readonly TruncatedLayer[];
  /** The weights' level K (quantize's option weight-level), absent when every weight is at `frac`. */
  readonly weightLevel?: number;
  /** Fractional bits of each product layer's weights (by node name) at that level. */
  readonly weightFracs?: ReadonlyMap<string, number>;
  /** The scale with every weight at the activations' bits, which the choice started from. */
  readonly uniformFrac: number;
  /** How the weight products' truncations run: 'exact' (out of the bound) or 'local'. */
  readonly truncation: Truncation;
  /** Truncated values the exact protocol runs (out of the bound). */
  readonly exactElements: number;
}

/** How weight products' Truncates run (lower's option truncation, mpcc compile --truncation). */
export type Truncation = 'exact' | 'local';

/** log2 of the failure bound per inference at `frac` for these layers, their weights at
 * `weightFracs` (by node; `frac` when absent). */
export function failureLog2(layers: readonly TruncatedLayer[], frac: number, weightFracs?: ReadonlyMap<string, number>): number {
  const sum = layers.reduce((s, l) => s + l.elements * l.meanAbs * 2 ** ((weightFracs?.get(l.node) ?? frac) - frac), 0);
  return sum > 0 ? Math.log2(sum) + 2 * frac - 63 : -Infinity;
}

/** The weights' fractional bits of a layer at level `level` (see the file comment): `cost` is its
 * n·A from the weights' propagation, clamped to MIN_WEIGHT_FRAC..2·MAX_AUTO_FRAC − frac and to the
 * value range of its constants. */
export function weightFracAt(level: number, frac: number, w: LayerWeights, cost: number): number {
  const rangeCap = w.maxConstant > 0 ? Math.floor(63 - 8 - Math.log2(w.maxConstant)) - frac : Infinity;
  const cap = Math.max(MIN_WEIGHT_FRAC, Math.min(2 * MAX_AUTO_FRAC - frac, rangeCap));
  const weight = w.rms > 0 ? w.rms : 1;
  const want = cost > 0 ? Math.floor(level - Math.log2(weight * weight * cost) / 3) : cap;
  return Math.max(MIN_WEIGHT_FRAC, Math.min(cap, want));
}

/** The weights' fractional bits of every product layer of `graph` at level `level` (quantize's
 * weight-level): from the weights alone, so that compile and quantize agree on them. */
export function weightFracs(graph: Graph, frac: number, level: number): Map<string, number> {
  const rms = propagateRms(graph);
  const out = new Map<string, number>();
  for (const w of layerWeights(graph)) {
    const n = graph.nodes.find((x) => x.name === w.node)!;
    out.set(w.node, weightFracAt(level, frac, w, numel(graph.types.get(n.outputs[0])!.shape) * rms(n.outputs[0])));
  }
  return out;
}

/** The choice for `graph` (float, canonicalized), with measured mean magnitudes by value name
 * when calibration samples were run (`measured`), else propagated from the weights. */
export function chooseFracBits(graph: Graph, measured?: ReadonlyMap<string, number>, truncation: Truncation = 'local'): FracChoice {
  const magnitude = measured ? (v: string) => measured.get(v) ?? 0 : propagateRms(graph);
  // every Truncate runs exact (lower: after a weight product, or by a bit triple after a product
  // of two activations) and cannot fail: with exact truncation the bound is empty
  const local = (n: Node) => isTruncated(n) && truncation !== 'exact';
  const exactElements = graph.nodes.filter((n) => isTruncated(n) && !local(n)).reduce((t, n) => t + numel(graph.types.get(n.outputs[0])!.shape), 0);
  const layers: TruncatedLayer[] = graph.nodes.filter(local).map((n) => ({
    node: n.name,
    elements: numel(graph.types.get(n.outputs[0])!.shape),
    meanAbs: magnitude(n.outputs[0]),
  }));
  let maxConstant = 0;
  for (const n of graph.nodes) {
    if (!isTruncated(n)) continue;
    for (const v of n.inputs) {
      const t = v ? graph.constants.get(v) : undefined;
      if (t && (t.dtype === 'float32' || t.dtype === 'float64')) for (let i = 0; i < t.size; i++) maxConstant = Math.max(maxConstant, Math.abs(t.data[i]));
    }
  }
  // A constant (a bias at 2f bits) must stay below 2^(63 − 2f) (passes/quantize/value-range.ts),
  // with 8 bits to spare for the sums it enters.
  const rangeFrac = maxConstant > 0 ? Math.floor((63 - 8 - Math.log2(maxConstant)) / 2) : MAX_AUTO_FRAC;
  let frac = MAX_AUTO_FRAC, limit: FracChoice['limit'] = 'cap';
  while (frac > MIN_AUTO_FRAC && failureLog2(layers, frac) > FAILURE_BOUND_LOG2) {
    frac--;
    limit = 'failure bound';
  }
  if (frac === MIN_AUTO_FRAC && failureLog2(layers, frac) > FAILURE_BOUND_LOG2) limit = 'floor';
  if (frac > rangeFrac) [frac, limit] = [Math.max(4, rangeFrac), 'value range'];
  const uniform = { frac, failureLog2: failureLog2(layers, frac), limit, magnitudes: measured ? 'calibration' as const : 'weights' as const, truncatedElements: layers.reduce((s, l) => s + l.elements, 0), layers, uniformFrac: frac, truncation, exactElements };
  // at the cap, 16 bits for both already round below float32's own precision on a CNN's values
  if (limit === 'value range' || limit === 'cap') return uniform;
  const weighted = chooseWeightFracs(graph, layers, frac, Math.max(FAILURE_BOUND_LOG2, uniform.failureLog2));
  return weighted ? { ...uniform, ...weighted } : uniform;
}

/** The activations' scale and weights' level with the least predicted error whose bound stays
 * within `budget` (see the file comment), or undefined when the uniform scale `uniformFrac` wins. */
function chooseWeightFracs(graph: Graph, layers: readonly TruncatedLayer[], uniformFrac: number, budget: number): { frac: number; failureLog2: number; weightLevel: number; weightFracs: Map<string, number> } | undefined {
  const weights = layerWeights(graph);
  if (weights.length === 0) return undefined;
  const rms = propagateRms(graph);
  const cost = new Map(weights.map((w) => {
    const n = graph.nodes.find((x) => x.name === w.node)!;
    return [w.node, numel(graph.types.get(n.outputs[0])!.shape) * rms(n.outputs[0])];
  }));
  const error = (frac: number, fracs: ReadonlyMap<string, number>) =>
    weights.reduce((s, w) => s + (2 ** -(fracs.get(w.node) ?? frac) / (w.rms > 0 ? w.rms : 1)) ** 2, 0) +
    layers.reduce((s, l) => s + (l.meanAbs > 0 ? (2 ** -frac / l.meanAbs) ** 2 : 0), 0);
  let best: { frac: number; failureLog2: number; weightLevel: number; weightFracs: Map<string, number> } | undefined;
  let bestError = error(uniformFrac, new Map());
  for (let frac = Math.min(MIN_ACTIVATION_FRAC, uniformFrac); frac <= uniformFrac; frac++) {
    const at = (level: number) => new Map(weights.map((w) => [w.node, weightFracAt(level, frac, w, cost.get(w.node)!)]));
    // the largest level (steps of 1/8) whose bound stays within the budget: the bound grows with it
    let lo = -64, hi = 128;
    if (failureLog2(layers, frac, at(lo)) > budget) continue;
    while (hi - lo > 1 / 8) {
      const mid = (lo + hi) / 2;
      if (failureLog2(layers, frac, at(mid)) <= budget) lo = mid;
      else hi = mid;
    }
    const fracs = at(lo);
    const e = error(frac, fracs);
    if (e < bestError) [best, bestError] = [{ frac, failureLog2: failureLog2(layers, frac, fracs), weightLevel: lo, weightFracs: fracs }, e];
  }
  return best;
}

/** Every product layer's weights (operand 1 of a truncated node, when a float constant). */
function layerWeights(graph: Graph): LayerWeights[] {
  const out: LayerWeights[] = [];
  for (const n of graph.nodes) {
    // (a Div's or batch-norm's constant is not its weights: those stay at the activations' scale)
    if (!isTruncated(n) || !['Conv', 'Gemm', 'MatMul', 'Mul'].includes(n.op)) continue;
    const w = n.inputs[1] ? graph.constants.get(n.inputs[1]) : undefined;
    if (!w || (w.dtype !== 'float32' && w.dtype !== 'float64')) continue;
    let maxConstant = 0;
    for (const v of n.inputs) {
      const t = v ? graph.constants.get(v) : undefined;
      if (t && (t.dtype === 'float32' || t.dtype === 'float64')) for (let i = 0; i < t.size; i++) maxConstant = Math.max(maxConstant, Math.abs(t.data[i]));
    }
    out.push({ node: n.name, rms: rmsOf(w), maxConstant });
  }
  return out;
}

/** One line for the user: the choice, the bound and what it rests on. */
export function describeFracChoice(c: FracChoice): string {
  const text = describeBound(c);
  if (c.truncation !== 'exact') return text;
  // exact truncation: the bound covers only the truncations that stay local
  return text
    .replace(/share-truncation failure ≤ 2\^-Infinity per inference over 0 truncated values/, 'share-truncation failure 0 (no local truncation)')
    .replace(' per inference over ', ' per inference over the local truncations\' ')
    .replace('; --frac-bits', `; ${c.exactElements} truncated values, all exact (no failure); --frac-bits`);
}

function describeBound(c: FracChoice): string {
  const why = c.limit === 'cap' ? `the most the default takes` : c.limit === 'failure bound' ? `the most within the bound 2^${FAILURE_BOUND_LOG2}` : c.limit === 'floor' ? `the fewest the default takes; the bound 2^${FAILURE_BOUND_LOG2} is exceeded, fewer bits (--frac-bits) trade accuracy for it` : `a constant's magnitude limits it`;
  if (c.weightFracs) {
    const bits = [...c.weightFracs.values()];
    return `fixed point: ${c.frac} fractional bits for the activations, ${Math.min(...bits)}..${Math.max(...bits)} for the weights of each layer (less predicted rounding error than ${c.uniformFrac} bits for both, within the same bound); share-truncation failure ≤ 2^${c.failureLog2.toFixed(1)} per inference over ${c.truncatedElements} truncated values, magnitudes from ${c.magnitudes === 'calibration' ? 'the calibration samples' : 'the weights'}; --frac-bits F overrides (F bits for both)`;
  }
  return `fixed point: ${c.frac} fractional bits (${why}); share-truncation failure ≤ 2^${c.failureLog2.toFixed(1)} per inference over ${c.truncatedElements} truncated values, magnitudes from ${c.magnitudes === 'calibration' ? 'the calibration samples' : 'the weights'}; --frac-bits overrides`;
}

/** A node whose result quantize truncates: a product with constant weights or a scale. */
function isTruncated(n: Node): boolean {
  const rule = secureFacts(n.op).quantize;
  return rule === 'product' || rule === 'scale';
}

/** RMS of every value, propagated from unit-RMS inputs through the weights (see the file comment). */
function propagateRms(graph: Graph): (v: string) => number {
  const rms = new Map<string, number>();
  for (const x of graph.inputs) rms.set(x, 1);
  const of = (v: string): number => {
    const c = v ? graph.constants.get(v) : undefined;
    return c ? rmsOf(c) : rms.get(v) ?? 1;
  };
  for (const n of graph.nodes) {
    const [a, b, bias] = n.inputs;
    let y: number;
    switch (n.op) {
      case 'Conv': {
        const w = graph.constants.get(b);
        const fanIn = w ? numel(w.shape) / w.shape[0] : 1;
        y = Math.sqrt(of(a) ** 2 * fanIn * of(b) ** 2 + (bias ? of(bias) ** 2 : 0));
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const w = graph.constants.get(b);
        const transB = n.op === 'Gemm' && withDefaults(n).transB === 1;
        const fanIn = w ? (transB ? w.shape[1] : w.shape[0]) : 1;
        y = Math.sqrt(of(a) ** 2 * fanIn * of(b) ** 2 + (bias ? of(bias) ** 2 : 0));
        break;
      }
      case 'Mul':
        y = of(a) * of(b);
        break;
      case 'Div':
        y = graph.constants.get(b) ? of(a) / Math.max(of(b), 1e-12) : of(a);
        break;
      case 'Add':
      case 'Sub':
        y = Math.sqrt(of(a) ** 2 + of(b) ** 2);
        break;
      case 'Relu':
        y = of(a) / Math.SQRT2;
        break;
      case 'BatchNormalization':
        y = of(a) * of(b) + of(bias);
        break;
      case 'Concat':
        y = Math.sqrt(n.inputs.reduce((s, v) => s + of(v) ** 2, 0) / n.inputs.length);
        break;
      default:
        y = of(a);
    }
    for (const o of n.outputs) rms.set(o, y);
  }
  return (v) => rms.get(v) ?? 1;
}

function rmsOf(t: Tensor): number {
  let s = 0;
  for (let i = 0; i < t.size; i++) s += t.data[i] * t.data[i];
  return t.size ? Math.sqrt(s / t.size) : 0;
}
