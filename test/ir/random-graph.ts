// Seeded random graphs for round-trip tests of the textual IR: valid graphs built through the
// GraphBuilder from the ops on the op table (Conv with random attributes, elementwise ops, …),
// with awkward value and node names (quotes, Unicode, dots, slashes, keywords) and awkward
// numbers (-0, ±Infinity, NaN, 1e-5, subnormals) — plus "attribute soup" graphs whose nodes
// carry attributes of every kind, for parsing without verification.
import { type AttrValue, type DType, type Graph, GraphBuilder, type Shape, Tensor, allocData, lookupOp, makeGraph, makeNode, numel } from '../../ir/index.js';
import { convOutSize } from '../../ir/ops/conv.js';

/** A small seeded PRNG (mulberry32): tests must be reproducible. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const NAME_STEMS = [
  'x', 'conv1.weight', 'layer1.0.bn1.running_mean', '/layer1/layer1.0/conv1/Conv_output_0', 'onnx::Conv_123',
  '0', '123abc', 'a"quoted"b', 'back\\slash', 'tab\there', 'new\nline', 'Ωmega_ü', '🙂 smile', 'with space',
  'a//b', 'a/', '-', '$', 'none', 'inf', 'nan', 'weights', 'const', '%pct', '@at', '\u0001ctl', 'lone\ud800', '\u2028sep',
];

const SPECIAL_FLOATS = [1e-5, 0.1, -0, 0, Infinity, -Infinity, 0.2, 1 / 3, 6, -1.5, 1e-300, 5e-324, 1.7976931348623157e308, 1e21, 123456789.125];

/** An awkward float: special values often, else a random one at a random scale. */
function randomFloat(rng: Rng): number {
  if (rng.chance(0.3)) return rng.pick(SPECIAL_FLOATS);
  return (rng.next() * 2 - 1) * 10 ** rng.int(-8, 8);
}

function randomTensor(rng: Rng, dtype: DType, shape: Shape, specials = true): Tensor {
  const n = numel(shape);
  const data = allocData(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'bool') data[i] = rng.int(0, 1);
    else if (dtype === 'int32') data[i] = rng.int(-(2 ** 31), 2 ** 31 - 1);
    else if (dtype === 'int64') data[i] = rng.chance(0.1) ? rng.pick([9223372036854775807, -9223372036854775808, 2 ** 53]) : rng.int(-1000, 1000);
    else data[i] = specials && rng.chance(0.05) ? rng.pick([NaN, -0, Infinity, -Infinity]) : randomFloat(rng);
  }
  return new Tensor(dtype, shape, data);
}

/** Makes unique awkward names. */
class Names {
  private count = 0;
  constructor(private readonly rng: Rng) {}
  next(): string {
    const stem = this.rng.chance(0.4) ? `v${this.count}` : this.rng.pick(NAME_STEMS);
    return `${stem}${this.rng.chance(0.5) ? '.' : '#'}${this.count++}`;
  }
}

/** A random valid graph (verified by the builder). */
export function randomGraph(seed: number): Graph {
  const rng = new Rng(seed);
  const names = new Names(rng);
  const b = new GraphBuilder(rng.chance(0.5) ? 'g' + seed : rng.pick(NAME_STEMS));
  const dtype: DType = rng.chance(0.8) ? 'float32' : 'float64';
  const values: string[] = [];
  const inputs = rng.int(1, 2);
  for (let i = 0; i < inputs; i++) values.push(b.input(names.next(), { dtype, shape: [1, rng.int(1, 6), rng.int(1, 9), rng.int(1, 9)] }));
  // Unused constants of every dtype: they exercise the literal and weights forms.
  for (let i = rng.int(0, 3); i > 0; i--) {
    const dt = rng.pick<DType>(['float32', 'float64', 'int64', 'int32', 'bool']);
    const shape = rng.pick<Shape>([[], [0], [rng.int(1, 5)], [2, rng.int(1, 12)], [rng.int(3, 6), rng.int(3, 6)]]);
    b.constant(names.next(), randomTensor(rng, dt, shape));
  }
  const steps = rng.int(1, 12);
  let emptyNameUsed = false; // node names must stay unique, so '' at most once
  for (let s = 0; s < steps; s++) {
    const x = rng.pick(values);
    const op = rng.pick(['Conv', 'Conv', 'Relu', 'Sigmoid', 'HardSigmoid', 'Clip', 'Identity', 'Dropout', 'Add', 'Sub', 'Mul', 'Div']);
    if (!lookupOp(op)) continue;
    const nodeName = !emptyNameUsed && rng.chance(0.1) ? '' : names.next();
    if (b.typeOf(x).shape.length !== 4 && op === 'Conv') continue;
    const made = op === 'Conv' ? conv(rng, b, names, x, dtype) : ['Add', 'Sub', 'Mul', 'Div'].includes(op) ? binary(rng, b, names, op, x, values, dtype) : unary(rng, op, x);
    if (!made) continue;
    try {
      values.push(...b.node(op, made.inputs, made.attrs, { name: nodeName, outputs: [names.next()] }));
      if (nodeName === '') emptyNameUsed = true;
    } catch {
      // Operands that do not fit (a binary op's shapes): such a node is simply not added.
    }
  }
  const outputs = rng.int(1, 3);
  for (let i = 0; i < outputs; i++) b.output(rng.chance(0.8) ? values[values.length - 1 - i] ?? values[0] : rng.pick(values));
  return b.build();
}

interface Made {
  inputs: string[];
  attrs: Record<string, AttrValue>;
}

function conv(rng: Rng, b: GraphBuilder, names: Names, x: string, dtype: DType): Made | undefined {
  const [, c, h, w] = b.typeOf(x).shape;
  const groups = [1, 2, 3, c].filter((g) => c % g === 0);
  const group = rng.pick(groups);
  const out = group * rng.int(1, 3);
  const kh = rng.int(1, 3), kw = rng.int(1, 3);
  const strides = [rng.int(1, 2), rng.int(1, 3)];
  const dilations = [rng.int(1, 2), rng.int(1, 2)];
  const pads = [rng.int(0, 2), rng.int(0, 2), rng.int(0, 2), rng.int(0, 2)];
  if (convOutSize(h, kh, strides[0], pads[0], pads[2], dilations[0]) <= 0 || convOutSize(w, kw, strides[1], pads[1], pads[3], dilations[1]) <= 0) return undefined;
  const weight = b.constant(names.next(), randomTensor(rng, dtype, [out, c / group, kh, kw], false));
  const inputs = [x, weight];
  const bias = rng.int(0, 2);
  if (bias === 1) inputs.push(b.constant(names.next(), randomTensor(rng, dtype, [out], false)));
  if (bias === 2 && rng.chance(0.5)) inputs.push(''); // an omitted optional operand prints as `none`
  const attrs: Record<string, AttrValue> = {};
  if (rng.chance(0.7)) attrs.strides = strides;
  else if (strides[0] !== 1 || strides[1] !== 1) return undefined;
  if (rng.chance(0.7)) attrs.pads = pads;
  else if (pads.some((p) => p)) return undefined;
  if (rng.chance(0.7)) attrs.dilations = dilations;
  else if (dilations[0] !== 1 || dilations[1] !== 1) return undefined;
  if (rng.chance(0.7) || group !== 1) attrs.group = group;
  return { inputs, attrs };
}

function unary(rng: Rng, op: string, x: string): Made {
  const attrs: Record<string, AttrValue> = {};
  if (op === 'HardSigmoid') {
    if (rng.chance(0.7)) attrs.alpha = randomFloat(rng);
    if (rng.chance(0.7)) attrs.beta = randomFloat(rng);
  }
  if (op === 'Clip') {
    if (rng.chance(0.7)) attrs.min = rng.pick([-Infinity, -0, 0, -1e-5, -6]);
    if (rng.chance(0.7)) attrs.max = rng.pick([Infinity, 6, 1, 0.1, 1e-5]);
  }
  if (op === 'Dropout' && rng.chance(0.7)) attrs.ratio = rng.pick([0, 0.1, 0.5, 1, -0, 1 / 3]);
  return { inputs: [x], attrs };
}

function binary(rng: Rng, b: GraphBuilder, names: Names, op: string, x: string, values: readonly string[], dtype: DType): Made {
  const shape = b.typeOf(x).shape;
  const same = values.filter((v) => b.typeOf(v).shape.join() === shape.join());
  const other = rng.chance(0.5) ? rng.pick(same) : b.constant(names.next(), randomTensor(rng, dtype, rng.pick<Shape>([[], [1], [1, shape[1], 1, 1], shape.slice(1)]), op !== 'Div'));
  return { inputs: rng.chance(0.5) ? [x, other] : [other, x], attrs: {} };
}

/** A random attribute value of any kind, including tensors big enough for the weights file. */
export function randomAttr(rng: Rng): AttrValue {
  switch (rng.int(0, 7)) {
    case 0: return rng.int(-(2 ** 40), 2 ** 40);
    case 1: return randomFloat(rng);
    case 2: return Array.from({ length: rng.int(0, 5) }, () => rng.int(-9, 9));
    case 3: return Array.from({ length: rng.int(1, 5) }, () => randomFloat(rng));
    case 4: return rng.pick(NAME_STEMS) + (rng.chance(0.2) ? '' : 'x');
    case 5: return Array.from({ length: rng.int(1, 4) }, () => rng.pick(NAME_STEMS));
    case 6: return randomTensor(rng, rng.pick<DType>(['float32', 'int64', 'bool']), rng.pick<Shape>([[], [3], [2, 2]]));
    default: return randomTensor(rng, rng.pick<DType>(['float32', 'float64', 'int32']), [rng.int(3, 8), rng.int(3, 8)]);
  }
}

/** A chain of nodes of made-up ops with random attributes (not verifiable: parse it with
 * `verify: false`). Exercises every attribute kind and awkward keys and op names. */
export function randomAttrSoup(seed: number): Graph {
  const rng = new Rng(seed);
  const names = new Names(rng);
  const x = names.next();
  const types = new Map([[x, { dtype: 'float32' as DType, shape: [2, 3] }]]);
  const nodes = [];
  let prev = x;
  for (let i = rng.int(1, 5); i > 0; i--) {
    const attrs: Record<string, AttrValue> = {};
    for (let k = rng.int(0, 6); k > 0; k--) attrs[rng.chance(0.5) ? `k${rng.int(0, 30)}` : rng.pick(NAME_STEMS)] = randomAttr(rng);
    const out = names.next();
    types.set(out, { dtype: 'float32', shape: [2, 3] });
    nodes.push(makeNode(rng.pick(['Foo', 'my.Op', 'weird op', 'Ω']), names.next(), [prev], [out], attrs));
    prev = out;
  }
  return makeGraph({ name: names.next(), inputs: [x], outputs: [prev], nodes, types, constants: new Map() });
}
