// Small quantized graphs (the form `quantize` produces: FixedInput after the input, Truncate
// after every product) for the tests of lower, schedule-rounds and the cost model, and the
// hand-computed byte counts of the protocols they use (written out from the protocol
// descriptions in runtime/protocols/*.ts, not read from PROTOCOL_COSTS).
import { GraphBuilder } from '../../../ir/builder.js';
import type { Graph } from '../../../ir/graph.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { fieldBytes } from '../../../runtime/protocols/field-format.js';
import { randomTensor, rng } from '../util.js';

export const FRAC = 12;

/** Conv (+ bias) then its Truncate; returns the truncated value. */
export function conv(b: GraphBuilder, x: string, name: string, cin: number, cout: number, k: number, pad: number, seed: number): string {
  const rand = rng(seed);
  const w = b.constant(`${name}.weight`, randomTensor(rand, [cout, cin, k, k], -0.5, 0.5));
  const bias = b.constant(`${name}.bias`, randomTensor(rand, [cout], -0.1, 0.1));
  const y = b.op('Conv', [x, w, bias], { pads: [pad, pad, pad, pad] }, name);
  return b.op('Truncate', [y], { bits: FRAC }, `${name}.trunc`);
}

function start(name: string, shape: number[]): [GraphBuilder, string] {
  const b = new GraphBuilder(name);
  const x = b.input('input', { dtype: 'float32', shape });
  return [b, b.op('FixedInput', [x], { frac: FRAC }, 'input.fixed')];
}

/** input [1,2,6,6] → conv1 (2→4, 3×3) → relu1 → conv2 (4→3, 3×3) → output [1,3,6,6]. */
export function chainGraph(): Graph {
  const [b, x] = start('chain', [1, 2, 6, 6]);
  const h = b.op('Relu', [conv(b, x, 'conv1', 2, 4, 3, 1, 1)], {}, 'relu1');
  b.output(conv(b, h, 'conv2', 4, 3, 3, 1, 2));
  return b.build();
}

/** A ResNet basic block with a 1×1 conv shortcut on [1,4,4,4]: stem → relu0 → (convA → reluA →
 * convB) + convS(relu0) → add → relu2 → output. `shortcutFirst` lists the shortcut conv before
 * the main path (the fusion must still pick the main path). */
export function residualGraph(shortcutFirst = false): Graph {
  const [b, x] = start('residual', [1, 4, 4, 4]);
  const r0 = b.op('Relu', [conv(b, x, 'stem', 4, 4, 3, 1, 1)], {}, 'relu0');
  let s = '';
  if (shortcutFirst) s = conv(b, r0, 'convS', 4, 4, 1, 0, 4);
  const a = b.op('Relu', [conv(b, r0, 'convA', 4, 4, 3, 1, 2)], {}, 'reluA');
  const y = conv(b, a, 'convB', 4, 4, 3, 1, 3);
  if (!shortcutFirst) s = conv(b, r0, 'convS', 4, 4, 1, 0, 4);
  b.output(b.op('Relu', [b.op('Add', [y, s], {}, 'add')], {}, 'relu2'));
  return b.build();
}

/** Two plain convs of the input (1×1, 2→2, on [1,2,4,4]): convP → relu → convR, added to convQ.
 * With `qFirst`, convQ reads the input beside a longer path (its output feeds the ReLU and
 * convR instead, convP's the add): sharing convP's mask would make convQ, and so the
 * whole graph, one round later. */
export function twoReadersGraph(qFirst = false): Graph {
  const [b, x] = start('two-readers', [1, 2, 4, 4]);
  const p = conv(b, x, 'convP', 2, 2, 1, 0, 5);
  const q = conv(b, x, 'convQ', 2, 2, 1, 0, 6);
  const r = conv(b, b.op('Relu', [qFirst ? q : p], {}, 'relu'), 'convR', 2, 2, 1, 0, 7);
  b.output(b.op('Add', [r, qFirst ? p : q], {}, 'add'));
  return b.build();
}

/** relu0's output read by convA (fused with it) and, through a local Transpose (not the same
 * tensor), by convS: stem → relu0 → convA, relu0 → transpose → convS, added. */
export function separatedReadersGraph(): Graph {
  const [b, x] = start('separated', [1, 4, 4, 4]);
  const r0 = b.op('Relu', [conv(b, x, 'stem', 4, 4, 3, 1, 1)], {}, 'relu0');
  const a = conv(b, r0, 'convA', 4, 4, 3, 1, 2);
  const t = b.op('Transpose', [r0], { perm: [0, 1, 3, 2] }, 'transpose');
  b.output(b.op('Add', [a, conv(b, t, 'convS', 4, 4, 1, 0, 4)], {}, 'add'));
  return b.build();
}

/** input [1,2,5,5] → conv (2→2, 3×3) → relu → MaxPool (3×3, stride 2, pad 1, or 2×2 stride 2
 * ceil_mode) → output [1,2,3,3]. */
export function maxPoolGraph(ceil = false): Graph {
  const [b, x] = start('maxpool', [1, 2, 5, 5]);
  const r = b.op('Relu', [conv(b, x, 'conv', 2, 2, 3, 1, 1)], {}, 'relu');
  const attrs: Record<string, number[] | number> = ceil ? { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } : { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
  b.output(b.op('MaxPool', [r], attrs, 'pool'));
  return b.build();
}

/** input [1,3,4,4] → conv (3→2, 3×3) → Clip(0, 6) → Flatten → Gemm (transB, alpha 0.5, beta 2;
 * 32 → 5) → Softmax → output, and ArgMax → argmax (both on the client). */
export function clipGraph(): Graph {
  const [b, x] = start('clip', [1, 3, 4, 4]);
  const c = b.op('Clip', [conv(b, x, 'conv', 3, 2, 3, 1, 1)], { min: 0, max: 6, window_k: 32 }, 'relu6');
  const f = b.op('Flatten', [c], { axis: 1 }, 'flatten');
  const rand = rng(7);
  const w = b.constant('fc.weight', randomTensor(rand, [5, 32]));
  const bias = b.constant('fc.bias', randomTensor(rand, [5]));
  const y = b.op('Truncate', [b.op('Gemm', [f, w, bias], { transB: 1, alpha: 0.5, beta: 2 }, 'fc')], { bits: FRAC }, 'fc.trunc');
  b.output(b.op('Softmax', [y], { axis: 1 }, 'softmax'), b.op('ArgMax', [y], { axis: 1 }, 'argmax'));
  return b.build();
}

/** Bytes of one protocol call, by phase, and sent per party (online + preprocessing). */
export interface HandBytes {
  online: number;
  preprocessing: number;
  oneTime: number;
  perParty: [number, number, number];
}

const zero = (): HandBytes => ({ online: 0, preprocessing: 0, oneTime: 0, perParty: [0, 0, 0] });

/** Sum of hand-computed costs. */
export function sum(...parts: HandBytes[]): HandBytes {
  const t = zero();
  for (const p of parts) {
    t.online += p.online;
    t.preprocessing += p.preprocessing;
    t.oneTime += p.oneTime;
    for (let i = 0; i < 3; i++) t.perParty[i] += p.perParty[i];
  }
  return t;
}

/** ReLU of n elements on a k-bit window from bit lo (compare.ts, select.ts): P0 and P1 swap
 * their k-bit halves of x + r; P2 deals r's bits as k − 1 Z_p digits (preprocessing); P0 and
 * P1 send k masked digits each to P2; P2 re-shares the bit (8 B); the selection opens 8 B
 * each way — except on the full window (lo = 0, k = 64), where it reuses x + r — and P2
 * sends an 8 B correction per element. */
export function reluBytes(n: number, k: number, lo = 0): HandBytes {
  const { p } = digitField(k);
  const half = Math.ceil((n * k) / 8), digits = fieldBytes(n * k, p);
  const open = k === 64 && lo === 0 ? 0 : 8 * n;
  const p0 = half + digits + open, p1 = half + digits + open;
  const p2pre = fieldBytes(n * (k - 1), p), p2on = 8 * n + 8 * n;
  return { online: p0 + p1 + p2on, preprocessing: p2pre, oneTime: 0, perParty: [p0, p1, p2pre + p2on] };
}

/** Product with P1's weights (weights.ts): P0 sends x − A (8|X|), P2 deals C1 (8|Y|,
 * preprocessing); once per session P1 sends W − B (8|W|). */
export function weightsBytes(x: number, y: number, w: number): HandBytes {
  return { online: 8 * x, preprocessing: 8 * y, oneTime: 8 * w, perParty: [8 * x, 0, 8 * y] };
}

/** A product sharing an earlier product's activation mask (weights.ts applyWeightsSharedMask):
 * P0 sends nothing; P2 deals C1' (8|Y|, preprocessing); once per session P1 sends W − B (8|W|). */
export function sharedWeightsBytes(y: number, w: number): HandBytes {
  return { online: 0, preprocessing: 8 * y, oneTime: 8 * w, perParty: [0, 0, 8 * y] };
}

/** The reveal of n outputs: P1 sends its share. */
export function revealBytes(n: number): HandBytes {
  return { online: 8 * n, preprocessing: 0, oneTime: 0, perParty: [0, 8 * n, 0] };
}
