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
// A_l comes from the activations when calibration samples are given (the float interpreter's
// mean |y_l|, the largest over the samples), else from the weights: the RMS of every value is
// propagated from a unit-RMS input through the layers (a product with weights W scales it by
// √(fan-in · mean W²), ReLU by 1/√2, a residual Add sums the squares), and A_l is taken as
// the RMS (an upper estimate of the mean magnitude).
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

/** Per truncated layer: its outputs and their mean magnitude (reals). */
export interface TruncatedLayer {
  readonly node: string;
  readonly elements: number;
  readonly meanAbs: number;
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
}

/** log2 of the failure bound per inference at `frac` for these layers. */
export function failureLog2(layers: readonly TruncatedLayer[], frac: number): number {
  const sum = layers.reduce((s, l) => s + l.elements * l.meanAbs, 0);
  return sum > 0 ? Math.log2(sum) + 2 * frac - 63 : -Infinity;
}

/** The choice for `graph` (float, canonicalized), with measured mean magnitudes by value name
 * when calibration samples were run (`measured`), else propagated from the weights. */
export function chooseFracBits(graph: Graph, measured?: ReadonlyMap<string, number>): FracChoice {
  const magnitude = measured ? (v: string) => measured.get(v) ?? 0 : propagateRms(graph);
  const layers: TruncatedLayer[] = graph.nodes.filter(isTruncated).map((n) => ({
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
  return {
    frac,
    failureLog2: failureLog2(layers, frac),
    limit,
    magnitudes: measured ? 'calibration' : 'weights',
    truncatedElements: layers.reduce((s, l) => s + l.elements, 0),
    layers,
  };
}

/** One line for the user: the choice, the bound and what it rests on. */
export function describeFracChoice(c: FracChoice): string {
  const why = c.limit === 'cap' ? `the most the default takes` : c.limit === 'failure bound' ? `the most within the bound 2^${FAILURE_BOUND_LOG2}` : c.limit === 'floor' ? `the fewest the default takes; the bound 2^${FAILURE_BOUND_LOG2} is exceeded, fewer bits (--frac-bits) trade accuracy for it` : `a constant's magnitude limits it`;
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
