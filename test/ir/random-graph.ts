// Seeded random graphs for round-trip tests of the textual IR: valid graphs built through the
// GraphBuilder from the ops on the op table (Conv with random attributes, elementwise ops, …),
// with awkward value and node names (quotes, Unicode, dots, slashes, keywords) and awkward
// numbers (-0, ±Infinity, NaN, 1e-5, subnormals) — plus "attribute soup" graphs whose nodes
// carry attributes of every kind, for parsing without verification.
import { type AttrValue, type DType, type Graph, GraphBuilder, type Shape, Tensor, allocData, lookupOp, makeGraph, makeNode, numel } from '../../ir/index.js';
import { windowOutSize } from '../../runtime/ring/windows.js';

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

const SPECIAL_FLOATS = [1e-5, Math.fround(1e-5), 0.1, Math.fround(0.1), Math.fround(1 / 3), 3.4028234663852886e38, -0, 0, Infinity, -Infinity, 0.2, 1 / 3, 6, -1.5, 1e-300, 5e-324, 1.7976931348623157e308, 1e21, 123456789.125];

/** An awkward float: special values often, else a random one at a random scale. */
function randomFloat(rng: Rng): number {
  if (rng.chance(0.3)) return rng.pick(SPECIAL_FLOATS);
  const x = (rng.next() * 2 - 1) * 10 ** rng.int(-8, 8);
  return rng.chance(0.3) ? Math.fround(x) : x; // float32 values, as ONNX float attributes are
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

/** A random valid graph (verified by the builder), over `ops` (default: all the generator knows). */
export function randomGraph(seed: number, opts: { ops?: readonly string[] } = {}): Graph {
  const ops = Object.keys(MAKERS).filter((op) => lookupOp(op) && (!opts.ops || opts.ops.includes(op)));
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
  const steps = rng.int(2, 16);
  let emptyNameUsed = false; // node names must stay unique, so '' at most once
  for (let s = 0; s < steps; s++) {
    const x = rng.pick(values);
    const op = rng.pick(ops);
    const made = MAKERS[op]({ rng, b, names, x, values, dtype: b.typeOf(x).dtype, shape: b.typeOf(x).shape, op });
    if (!made) continue;
    const nodeName = !emptyNameUsed && rng.chance(0.1) ? '' : names.next();
    try {
      values.push(...b.node(op, made.inputs, made.attrs, { name: nodeName, outputs: [names.next()] }));
      if (nodeName === '') emptyNameUsed = true;
    } catch {
      // Operands that do not fit (ranks, shapes, dtypes vary freely): the node is not added.
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

/** What a maker sees: the operand it was given and the graph so far. */
interface MakerContext {
  rng: Rng;
  b: GraphBuilder;
  names: Names;
  x: string;
  values: readonly string[];
  dtype: DType;
  shape: Shape;
  op: string;
}

/** Maybe sets an attribute (attributes left out take the op's default). */
function maybe(rng: Rng, attrs: Record<string, AttrValue>, key: string, value: AttrValue): void {
  if (rng.chance(0.7)) attrs[key] = value;
}

/** Operands and attributes per op; a maker may return undefined to skip, and the builder may
 * reject what it makes (the node is then skipped). */
const MAKERS: Record<string, (c: MakerContext) => Made | undefined> = {
  Conv: conv,
  Relu: unary, Sigmoid: unary, Identity: unary,
  HardSigmoid: ({ rng, x }) => {
    const attrs: Record<string, AttrValue> = {};
    maybe(rng, attrs, 'alpha', randomFloat(rng));
    maybe(rng, attrs, 'beta', randomFloat(rng));
    return { inputs: [x], attrs };
  },
  Clip: ({ rng, x }) => {
    const attrs: Record<string, AttrValue> = {};
    maybe(rng, attrs, 'min', rng.pick([-Infinity, -0, 0, -1e-5, -6]));
    maybe(rng, attrs, 'max', rng.pick([Infinity, 6, 1, 0.1, 1e-5]));
    return { inputs: [x], attrs };
  },
  Dropout: ({ rng, x }) => {
    const attrs: Record<string, AttrValue> = {};
    maybe(rng, attrs, 'ratio', rng.pick([0, 0.1, 0.5, 1, -0, 1 / 3]));
    return { inputs: [x], attrs };
  },
  Add: binary, Sub: binary, Mul: binary, Div: binary,
  MaxPool: pool, AveragePool: pool,
  GlobalAveragePool: unary,
  Resize: ({ rng, x, shape }) => {
    const sizes = shape.map((d, i) => (i < 2 ? d : rng.int(1, 2 * d + 1)));
    const attrs: Record<string, AttrValue> = { sizes, scales: sizes.map((d, i) => d / (shape[i] || 1)) };
    maybe(rng, attrs, 'mode', rng.pick(['nearest', 'linear']));
    maybe(rng, attrs, 'coordinate_transformation_mode', rng.pick(['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel']));
    maybe(rng, attrs, 'nearest_mode', rng.pick(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']));
    return { inputs: [x], attrs };
  },
  Pad: ({ rng, x, shape }) => {
    const attrs: Record<string, AttrValue> = { pads: [...shape, ...shape].map(() => rng.int(0, 2)) };
    maybe(rng, attrs, 'value', randomFloat(rng));
    return { inputs: [x], attrs };
  },
  BatchNormalization: ({ rng, b, names, x, dtype, shape }) => {
    const c = shape[1] ?? 1;
    const stats = [0, 1, 2, 3].map(() => b.constant(names.next(), randomTensor(rng, dtype, [c], false)));
    const attrs: Record<string, AttrValue> = {};
    maybe(rng, attrs, 'epsilon', rng.pick([1e-5, 0.001, 0, 1e-3]));
    return { inputs: [x, ...stats], attrs };
  },
  Flatten: ({ rng, x, shape }) => {
    const attrs: Record<string, AttrValue> = {};
    maybe(rng, attrs, 'axis', rng.int(0, shape.length));
    return { inputs: [x], attrs };
  },
  Gemm: ({ rng, b, names, values, dtype }) => {
    const matrices = values.filter((v) => b.typeOf(v).shape.length === 2);
    if (!matrices.length) return undefined;
    const x = rng.pick(matrices), shape = b.typeOf(x).shape;
    const m = rng.int(1, 12), transB = rng.int(0, 1);
    const w = b.constant(names.next(), randomTensor(rng, dtype, transB ? [m, shape[1]] : [shape[1], m], false));
    const attrs: Record<string, AttrValue> = {};
    if (transB || rng.chance(0.5)) attrs.transB = transB;
    maybe(rng, attrs, 'alpha', randomFloat(rng));
    maybe(rng, attrs, 'beta', randomFloat(rng));
    return { inputs: rng.chance(0.5) ? [x, w, b.constant(names.next(), randomTensor(rng, dtype, [m], false))] : [x, w], attrs };
  },
  Transpose: ({ rng, x, shape }) => {
    const perm = shape.map((_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    return { inputs: [x], attrs: { perm } };
  },
  Reshape: ({ rng, b, names, x, shape }) => {
    const target = rng.pick([[-1], [shape[0] ?? 1, -1], [1, -1, 1]]);
    return { inputs: [x, b.constant(names.next(), new Tensor('int64', [target.length], Float64Array.from(target)))], attrs: {} };
  },
  Concat: ({ rng, b, x, values, shape }) => {
    const axis = rng.int(0, Math.max(0, shape.length - 1));
    const fits = values.filter((v) => {
      const t = b.typeOf(v).shape;
      return t.length === shape.length && t.every((d, i) => i === axis || d === shape[i]);
    });
    return { inputs: [x, ...Array.from({ length: rng.int(0, 3) }, () => rng.pick(fits))], attrs: { axis } };
  },
  Softmax: ({ rng, x, shape }) => ({ inputs: [x], attrs: { axis: rng.int(0, Math.max(0, shape.length - 1)) } }),
  ReduceMean: ({ rng, x, shape }) => {
    const attrs: Record<string, AttrValue> = { axes: shape.map((_, i) => i).filter(() => rng.chance(0.5)) };
    maybe(rng, attrs, 'keepdims', rng.int(0, 1));
    return { inputs: [x], attrs };
  },
  Cast: ({ rng, x }) => ({ inputs: [x], attrs: { to: rng.pick(['float32', 'float64', 'float32', 'int64']) } }),
};

function unary({ x }: MakerContext): Made {
  return { inputs: [x], attrs: {} };
}

function conv({ rng, b, names, values, dtype }: MakerContext): Made | undefined {
  const maps = values.filter((v) => b.typeOf(v).shape.length === 4);
  if (!maps.length) return undefined;
  const x = rng.pick(maps), shape = b.typeOf(x).shape;
  const [, c, h, w] = shape;
  const groups = [1, 2, 3, c].filter((g) => c % g === 0);
  const group = rng.pick(groups);
  const out = group * rng.int(1, 3);
  const kh = rng.int(1, 3), kw = rng.int(1, 3);
  // Attributes left out take the op's defaults, so only the given ones shape the output.
  const attrs: Record<string, AttrValue> = {};
  maybe(rng, attrs, 'strides', [rng.int(1, 2), rng.int(1, 3)]);
  maybe(rng, attrs, 'dilations', [rng.int(1, 2), rng.int(1, 2)]);
  maybe(rng, attrs, 'pads', [rng.int(0, 2), rng.int(0, 2), rng.int(0, 2), rng.int(0, 2)]);
  if (rng.chance(0.7) || group !== 1) attrs.group = group;
  const strides = (attrs.strides ?? [1, 1]) as number[], dilations = (attrs.dilations ?? [1, 1]) as number[], pads = (attrs.pads ?? [0, 0, 0, 0]) as number[];
  if (windowOutSize(h, kh, strides[0], pads[0], pads[2], dilations[0]) <= 0 || windowOutSize(w, kw, strides[1], pads[1], pads[3], dilations[1]) <= 0) return undefined;
  const weight = b.constant(names.next(), randomTensor(rng, dtype, [out, c / group, kh, kw], false));
  const inputs = [x, weight];
  const bias = rng.int(0, 2);
  if (bias === 1) inputs.push(b.constant(names.next(), randomTensor(rng, dtype, [out], false)));
  if (bias === 2 && rng.chance(0.5)) inputs.push(''); // an omitted optional operand prints as `none`
  return { inputs, attrs };
}

function pool({ rng, x, op }: MakerContext): Made {
  const k = [rng.int(1, 3), rng.int(1, 3)];
  const attrs: Record<string, AttrValue> = { kernel_shape: k };
  maybe(rng, attrs, 'strides', [rng.int(1, 2), rng.int(1, 2)]);
  maybe(rng, attrs, 'pads', [0, 1, 0, 1].map((_, i) => rng.int(0, k[i % 2] - 1)));
  maybe(rng, attrs, 'ceil_mode', rng.int(0, 1));
  if (op === 'AveragePool') maybe(rng, attrs, 'count_include_pad', rng.int(0, 1));
  return { inputs: [x], attrs };
}

function binary({ rng, b, names, x, values, dtype, shape, op }: MakerContext): Made {
  const same = values.filter((v) => b.typeOf(v).shape.join() === shape.join());
  const other = rng.chance(0.5) ? rng.pick(same) : b.constant(names.next(), randomTensor(rng, dtype, rng.pick<Shape>([[], [1], [1, shape[1] ?? 1, 1, 1], shape.slice(1)]), op !== 'Div'));
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
    nodes.push(makeNode(rng.pick(['Foo', 'my.Op', 'weird op', 'Ω', 'none', 'const', 'inf']), names.next(), [prev], [out], attrs));
    prev = out;
  }
  return makeGraph({ name: names.next(), inputs: [x], outputs: [prev], nodes, types, constants: new Map() });
}
