// fold-batchnorm: BatchNormalization(Conv(x)) → Conv with scaled weights and a new bias, and
// the same after Gemm. In secure inference a folded batch-norm costs nothing, while a
// standalone one is one more secret-by-public product per element.
import { type Node, makeNode } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import { Tensor, type TensorData, allocData } from '../../ir/tensor.js';
import { definePass } from '../pass.js';
import { type Replacement, type RewriteRule, type RewriteView, rewriteToFixpoint } from '../rewrite.js';

/** Per-channel affine map of an inference BatchNormalization: y = s·x + t. */
interface ChannelAffine {
  readonly s: Float64Array;
  readonly t: Float64Array;
}

/** The BN's per-channel scale and shift, when all its parameters are constants of `channels` elements. */
function bnAffine(bn: Node, view: RewriteView, channels: number): ChannelAffine | undefined {
  const [scale, bias, mean, variance] = bn.inputs.slice(1).map((v) => view.constant(v));
  if (!scale || !bias || !mean || !variance) return undefined;
  if (![scale, bias, mean, variance].every((p) => p.size === channels)) return undefined;
  const eps = withDefaults(bn).epsilon as number;
  const s = new Float64Array(channels), t = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    s[c] = scale.data[c] / Math.sqrt(variance.data[c] + eps);
    t[c] = bias.data[c] - mean.data[c] * s[c];
  }
  return { s, t };
}

/** W with row o (all elements of output channel o) multiplied by s[o]. */
function scaleRows(w: Tensor, s: Float64Array): TensorData {
  const per = w.size / s.length;
  const src = w.data;
  const dst = allocData(w.dtype, w.size);
  for (let o = 0, base = 0; o < s.length; o++, base += per) {
    const f = s[o];
    for (let i = base, end = base + per; i < end; i++) dst[i] = src[i] * f;
  }
  return dst;
}

/** A name for a rewritten constant: `preferred` when only `owner` reads it, else a fresh one. */
function constantName(view: RewriteView, preferred: string | undefined, owner: Node, fallback: string): string {
  if (preferred && view.constant(preferred) && view.onlyUsedBy(preferred, owner)) return preferred;
  return view.freshName(fallback);
}

const intoConv: RewriteRule = {
  ops: ['BatchNormalization'],
  stat: 'batch-norms folded into Conv',
  apply(bn, view): Replacement | undefined {
    const conv = view.producer(bn.inputs[0]);
    if (!conv || conv.op !== 'Conv' || !view.onlyUsedBy(bn.inputs[0], bn)) return undefined;
    const w = view.constant(conv.inputs[1]);
    const b = conv.inputs[2] ? view.constant(conv.inputs[2]) : undefined;
    if (!w || (conv.inputs[2] && !b)) return undefined;
    const out = w.shape[0];
    const affine = bnAffine(bn, view, out);
    if (!affine) return undefined;
    // W'[o,…] = s[o]·W[o,…];  b'[o] = s[o]·b[o] + t[o]
    const wd = scaleRows(w, affine.s);
    const bd = allocData(w.dtype, out);
    for (let o = 0; o < out; o++) bd[o] = (b ? b.data[o] : 0) * affine.s[o] + affine.t[o];
    const wName = constantName(view, conv.inputs[1], conv, `${conv.inputs[1]}_folded`);
    // The bias keeps a name users know: the conv's own bias, else the batch-norm's bias.
    const bName = b ? constantName(view, conv.inputs[2], conv, `${conv.name}.bias`) : constantName(view, bn.inputs[2], bn, `${conv.name}.bias`);
    const folded = makeNode(conv.op, conv.name, [conv.inputs[0], wName, bName], [bn.outputs[0]], conv.attrs);
    return {
      nodes: [folded],
      remove: [conv],
      constants: new Map([[wName, new Tensor(w.dtype, w.shape, wd)], [bName, new Tensor(w.dtype, [out], bd)]]),
    };
  },
};

const intoGemm: RewriteRule = {
  ops: ['BatchNormalization'],
  stat: 'batch-norms folded into Gemm',
  apply(bn, view): Replacement | undefined {
    const gemm = view.producer(bn.inputs[0]);
    if (!gemm || gemm.op !== 'Gemm' || !view.onlyUsedBy(bn.inputs[0], bn)) return undefined;
    const attrs = withDefaults(gemm);
    const bm = view.constant(gemm.inputs[1]);
    const c = gemm.inputs[2] ? view.constant(gemm.inputs[2]) : undefined;
    if (!bm || bm.shape.length !== 2 || (gemm.inputs[2] && !c)) return undefined;
    const transB = attrs.transB === 1;
    const [rows, cols] = bm.shape;
    const n = transB ? rows : cols;
    // Only a C that is one value per output column (or a scalar) folds into a per-column bias.
    if (c && !(c.size === 1 || (c.size === n && c.shape[c.shape.length - 1] === n))) return undefined;
    const affine = bnAffine(bn, view, n);
    if (!affine) return undefined;
    const bd = allocData(bm.dtype, bm.size);
    for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) bd[r * cols + k] = bm.data[r * cols + k] * affine.s[transB ? r : k];
    const beta = attrs.beta as number;
    const cd = allocData(bm.dtype, n);
    for (let j = 0; j < n; j++) cd[j] = (c ? beta * c.data[c.size === 1 ? 0 : j] : 0) * affine.s[j] + affine.t[j];
    const bName = constantName(view, gemm.inputs[1], gemm, `${gemm.inputs[1]}_folded`);
    const cName = c ? constantName(view, gemm.inputs[2], gemm, `${gemm.name}.bias`) : constantName(view, bn.inputs[2], bn, `${gemm.name}.bias`);
    const folded = makeNode(gemm.op, gemm.name, [gemm.inputs[0], bName, cName], [bn.outputs[0]], { ...gemm.attrs, beta: 1 });
    return {
      nodes: [folded],
      remove: [gemm],
      constants: new Map([[bName, new Tensor(bm.dtype, bm.shape, bd)], [cName, new Tensor(bm.dtype, [n], cd)]]),
    };
  },
};

/** The fold-batchnorm pass. */
export const foldBatchNorm = definePass({
  name: 'fold-batchnorm',
  summary:
    'Folds each BatchNormalization whose input is a Conv or Gemm with constant weights and no other user into that producer; ' +
    'other batch-norms stay, and outputs are unchanged up to float rounding.',
  options: {},
  run(graph, ctx) {
    const g = rewriteToFixpoint(graph, [intoConv, intoGemm], ctx);
    const kept = g.nodes.filter((n) => n.op === 'BatchNormalization').length;
    if (kept) ctx.stat('batch-norms kept', kept);
    return g;
  },
});
