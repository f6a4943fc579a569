// quantize: makes the fixed-point structure of secure inference explicit. Values keep their
// float types; FixedInput marks where the client encodes each input with `frac` fractional
// bits and Truncate follows every product of two fixed-point numbers (activation × constant
// weight), whose result carries frac + w bits in the ring when the weights carry w (w = frac, or
// each layer's own bits with weight-level: passes/quantize/frac-choice.ts). Weights stay float in
// the IR: their ring encoding (W at w, biases at frac + w, w the bits of the Truncate reading the
// product: ir/ops/fixed.ts weightBitsByNode) is fixed by convention (ir/interp/fixed/kernels.ts and
// the code generator follow it). What quantize does with each op is its facts' `quantize`
// rule (ir/ops/facts.ts); ops secure inference cannot run, or whose attributes it cannot, are
// rejected here with MPCC6001, so a model fails at compile time, naming the node, rather than in
// the middle of a run.
import { diag } from '../../runtime/diagnostics.js';
import { type Graph, type Node, makeNode } from '../../ir/graph.js';
import { notSupported, secureFacts, unsupportedReason } from '../../ir/ops/facts.js';
import { withDefaults } from '../../ir/ops/index.js';
import { clientTail } from '../../ir/stage.js';
import { Tensor } from '../../ir/tensor.js';
import { verify } from '../../ir/verify.js';
import { definePass } from '../pass.js';
import { rewriteToFixpoint } from '../rewrite.js';
import { QuantizedGraph } from './quantize-emit.js';
import { SECURE_FORMS } from './secure-forms.js';
import { normalizeGemm, quantizeGemmConstants } from './quantize-gemm.js';
import { scaleAsWeights } from './quantize-scale.js';
import { firstOutOfRange, indexIn, valueRangeExponent } from './value-range.js';
import { weightFracs } from './frac-choice.js';

/** Options of quantize. */
export interface QuantizeOptions {
  'frac-bits': number;
  'weight-level': number;
  [key: string]: number;
}

/** The quantize pass. */
export const quantize = definePass<QuantizeOptions>({
  name: 'quantize',
  summary:
    'Assumes a canonicalized float graph; inserts FixedInput after each input and Truncate after each product with constant weights, ' +
    'normalizes Gemm (alpha, beta, transB folded), turns Mul/Div by a constant and standalone batch-norms into weight layers ' +
    '(depthwise 1×1 Conv or diagonal MatMul), keeps a Mul of two activations as a product with its Truncate, keeps trailing Softmax/ArgMax/Round for the client, and rejects unsupported ops with MPCC6001.',
  options: {
    'frac-bits': {
      kind: 'int', default: 12, doc: 'fractional bits of the fixed-point encoding',
      check: (v) => (v >= 4 && v <= 28 ? undefined : 'must be in 4..28'),
    },
    'weight-level': {
      kind: 'float', default: 0,
      doc: "0: every weight at frac-bits; else the level K of the weights' own fractional bits per layer (passes/quantize/frac-choice.ts), each product's Truncate dropping its layer's bits",
      check: (v) => (Number.isFinite(v) && Math.abs(v) <= 256 ? undefined : 'must be a finite level within ±256'),
    },
  },
  run(graph, ctx) {
    const frac = ctx.options['frac-bits'];
    verify(graph, 'float');
    // Each product layer's weights at their own bits (the Truncate after it drops them), or at frac.
    const level = ctx.options['weight-level'];
    const ownBits = level !== 0 ? weightFracs(graph, frac, level) : new Map<string, number>();
    const bitsOf = (node: string) => ownBits.get(node) ?? frac;
    // Ops the runtime has no step for, in forms it has (same function): passes/quantize/secure-forms.ts.
    graph = rewriteToFixpoint(graph, SECURE_FORMS, ctx);
    const q = new QuantizedGraph(graph);
    for (const x of graph.inputs) {
      const t = graph.types.get(x)!;
      if (t.dtype !== 'float32' && t.dtype !== 'float64') throw diag('MPCC6004', [x, t.dtype]);
      const fixed = q.value(`${x}.fixed`, t);
      q.add(makeNode('FixedInput', q.fresh(`${x}.fixed`), [x], [fixed], { frac }));
      q.rename(x, fixed);
    }
    const client = clientTail(graph);
    for (const source of graph.nodes) {
      const node = makeNode(source.op, source.name, source.inputs.map((v) => q.resolve(v)), source.outputs, source.attrs);
      const unsupported = (why: string) => notSupported(node, why);
      if (client.has(source)) {
        q.add(node);
        ctx.stat(`${node.op} left to the client`);
        continue;
      }
      if (node.inputs.every((v) => !v || q.constant(v))) throw unsupported('every operand is a constant (run canonicalize first)');
      switch (secureFacts(node.op).quantize) {
        case 'product':
          q.addProduct(weightProduct(q, source, node, unsupported), bitsOf(node.name));
          ctx.stat('products truncated');
          break;
        case 'scale':
          if (node.op === 'BatchNormalization') emitBatchNorm(q, node, frac, unsupported);
          else emitScale(q, node, frac, bitsOf(node.name), unsupported);
          ctx.stat('products truncated');
          break;
        case 'keep': {
          const why = unsupportedReason(node, q);
          if (why) throw unsupported(why);
          q.add(node);
          break;
        }
        default:
          // reject, or a client op that is not last (made and lowered ops: verify above).
          throw unsupported(secureFacts(node.op).why ?? 'no secure protocol for this op');
      }
    }
    const quantized = q.finish();
    checkConstantRange(quantized, new Set([...client].map((n) => n.name)), frac);
    return quantized;
  },
});

/** Refuses (MPCC6006, naming the tensor and its reader) a float constant the parties compute on
 * that holds NaN, ±Inf or a value beyond the fixed-point range (passes/quantize/value-range.ts);
 * the client's trailing ops run in float on the revealed output and are not checked. */
function checkConstantRange(g: Graph, clientNodes: ReadonlySet<string>, frac: number): void {
  const seen = new Set<string>();
  for (const node of g.nodes) {
    if (clientNodes.has(node.name)) continue;
    for (const v of node.inputs) {
      const t = v && !seen.has(v) ? g.constants.get(v) : undefined;
      if (!t || (t.dtype !== 'float32' && t.dtype !== 'float64')) continue;
      seen.add(v);
      const bad = firstOutOfRange(t.data, frac);
      if (bad) throw diag('MPCC6006', [v, node.name, bad.value, indexIn(t.shape, bad.index), valueRangeExponent(frac), frac]);
    }
  }
}

type Complaint = (why: string) => Error;

/** A product with the server's weights (Conv, Gemm, MatMul) in the form lower takes. */
function weightProduct(q: QuantizedGraph, source: Node, node: Node, unsupported: Complaint): Node {
  if (node.op === 'Gemm') return normalizeGemm(node, quantizeGemmConstants(q, source), unsupported);
  requireConstants(q, node, node.op === 'Conv' ? [1, 2] : [1], unsupported);
  if (node.op === 'MatMul' && (q.type(node.inputs[1]).shape.length !== 2 || q.type(node.inputs[0]).shape.length < 2)) throw unsupported('only an activation of rank ≥ 2 times a 2-D constant is supported');
  return node;
}

/** Operands at `positions` (when present) must be constants: the server's weights. */
function requireConstants(q: QuantizedGraph, node: Node, positions: number[], unsupported: Complaint): void {
  for (const p of positions) {
    const v = node.inputs[p];
    if (v && !q.constant(v)) throw unsupported(`operand ${p} ('${v}') must be a constant weight; products of two secret values are not supported`);
  }
}

/** Mul by a constant (either side) or Div by a constant, as a weight layer (its constant at
 * `weightBits`) and its Truncate. */
function emitScale(q: QuantizedGraph, node: Node, frac: number, weightBits: number, unsupported: Complaint): void {
  const [a, b] = node.inputs;
  let x = a, c = q.constant(b);
  if (node.op === 'Div') {
    if (!c) throw unsupported('division by a secret value is not supported');
    const recip = new Float32Array(c.size);
    for (let i = 0; i < c.size; i++) recip[i] = 1 / c.data[i];
    c = new Tensor('float32', c.shape, recip);
  } else if (!c) {
    if (!q.constant(a)) {
      // Two activations: a Beaver product (lower: SecureMul) at 2·frac bits, then Truncate.
      q.addProduct(node, frac);
      return;
    }
    [x, c] = [b, q.constant(a)!];
  }
  const layer = scaleAsWeights(q, node, x, c, undefined, node.outputs[0]);
  if (!layer) throw unsupported(`the constant [${c.shape.join(',')}] must be one value per channel (axis 1 of an NCHW map) or per element of the last axis`);
  q.addProduct(layer.node, weightBits);
}

/** A standalone inference BatchNormalization: x·s + t per channel as a weight layer, Truncate (and Add t unless the layer's bias took it). */
function emitBatchNorm(q: QuantizedGraph, node: Node, frac: number, unsupported: Complaint): void {
  const params = node.inputs.slice(1).map((v) => q.constant(v));
  if (params.some((p) => !p)) throw unsupported('its statistics must be constants');
  const [scale, bias, mean, variance] = params as Tensor[];
  const eps = withDefaults(node).epsilon as number;
  const type = q.type(node.inputs[0]);
  const c = type.shape[1];
  const s = new Float32Array(c), t = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    s[i] = scale.data[i] / Math.sqrt(variance.data[i] + eps);
    t[i] = bias.data[i] - mean.data[i] * s[i];
  }
  // Channels are axis 1: as a per-channel constant of shape [C, 1, …].
  const perChannel = new Tensor('float32', [c, ...type.shape.slice(2).map(() => 1)], s);
  const result = node.outputs[0];
  if (type.shape.length === 4) {
    q.addProduct(scaleAsWeights(q, node, node.inputs[0], perChannel, t, result)!.node, frac);
    return;
  }
  if (type.shape.length !== 2) throw unsupported('batch-norm needs an NCHW map or an [N, C] matrix');
  const scaled = q.value(`${result}.scaled`, q.types.get(result)!);
  q.addProduct(scaleAsWeights(q, node, node.inputs[0], perChannel, undefined, scaled)!.node, frac);
  const tName = q.defineConstant(q.freshValue(`${node.name}.shift`), new Tensor('float32', [c], t));
  q.add(makeNode('Add', q.fresh(`${node.name}.shift`), [scaled, tName], node.outputs));
}
