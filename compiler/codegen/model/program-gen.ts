// Codegen, first half: a lowered and scheduled graph → the three parties' programs (the
// runtime's Program data, runtime/program/program.ts) and P1's encoded constants. Each IR
// node becomes one step of the step library, of the kind its op's facts name (ir/ops/facts.ts),
// with the parameters STEP_BUILDERS gives that kind; the client's trailing Softmax/ArgMax become
// post ops of the outputs. Weights and every other model constant go to P1 only.
import { diag } from '../../../runtime/diagnostics.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { isSecureOp, secureFacts } from '../../../ir/ops/facts.js';
import { withDefaults } from '../../../ir/ops/index.js';
import { PROTOCOL_ATTRS } from '../../../ir/ops/secure.js';
import { blockSizesFrom } from '../../../ir/ops/block-relu.js';
import { WINDOW_ATTRS, windowOf } from '../../../ir/ops/window.js';
import { weightBitsByNode } from '../../../ir/ops/fixed.js';
import { concatParamsOf, convParamsOf, padParamsOf, poolParamsOf, resizeParamsOf, sliceParamsOf, transposeParamsOf } from '../../../ir/interp/fixed/params.js';
import { clientTail } from '../../../ir/stage.js';
import type { Tensor } from '../../../ir/tensor.js';
import { numel } from '../../../ir/types.js';
import { verify } from '../../../ir/verify.js';
import { encode } from '../../../runtime/ring/ring.js';
import { AVG_SHIFT } from '../../../runtime/protocols/linear.js';
import { PROGRAM_FORMAT, RING_BITS, RING_PARAM_KINDS, type RingBits, type MapSpec, type PostOp, type Program, type ProgramOutput, type ProgramStep, type SetupStep } from '../../../runtime/program/program.js';
import type { StepKind } from '../../../runtime/program/steps.js';
import type { PartyId } from '../../../runtime/session/session.js';
import { costReport, ringOf } from '../../../passes/secure/cost-model.js';

/** What codegen makes of a graph: one program per party and P1's constants. */
export interface GeneratedPrograms {
  programs: [Program, Program, Program];
  /** P1's encoded constants (weights at their layer's bits, biases at frac + those, added constants at frac). */
  weights: Map<string, BigUint64Array>;
  frac: number;
}

/** What a step builder sees of the graph and of the programs being built. */
interface StepEnv {
  readonly g: Graph;
  readonly frac: number;
  /** Each weight node's weights' fractional bits (ir/ops/fixed.ts weightBitsByNode; frac when absent). */
  readonly weightBits: ReadonlyMap<string, number>;
  shape(v: string): number[];
  /** Encodes P1's constant `t` at `bits` fractional bits under `key` (once); returns the key. */
  put(key: string, t: Tensor, bits: number): string;
  /** The one-time setup steps (weight layers). */
  readonly setup: SetupStep[];
  /** Weight nodes whose bias moves onto the Truncate reading their product (biasTruncations). */
  readonly biasAt: Map<Node, Node>;
  /** The bias parameters moved onto each such Truncate. */
  readonly movedBias: Map<Node, Record<string, unknown>>;
  /** Products whose activation mask later products share (mask_from): the program value of
   * P1's masked activation they keep, by node name (maskedActivations). */
  readonly masked: ReadonlyMap<string, string>;
}

/** A step's operands and parameters (and its kind, when the builder picks another than the facts'). */
interface StepSpec {
  readonly kind?: StepKind;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly params?: Record<string, unknown>;
}

type StepBuilder = (n: Node, env: StepEnv) => StepSpec;

/** The programs of a scheduled graph (MPCC6040/6041 for what codegen cannot express). */
export function generatePrograms(g: Graph): GeneratedPrograms {
  verify(g, 'scheduled');
  const inputs = g.nodes.filter((n) => n.op === 'SecureInput');
  if (inputs.length !== 1) throw diag('MPCC6041', [`${inputs.length} SecureInput nodes (the runtime takes exactly one input)`]);
  const frac = inputs[0].attrs.frac as number;
  // the ring, when smaller than Z_2^64 (lower's client-offline mode sets it on the SecureInput):
  // written at the top, on every setup step and on the steps whose messages carry ring elements
  const ring = ringOf(g) as RingBits;
  if (!(RING_BITS as readonly number[]).includes(ring)) throw diag('MPCC6040', [inputs[0].name, inputs[0].op, `ring ${ring} is none of ${RING_BITS.join(', ')}`]);
  const inRing: { ring?: RingBits } = ring < 64 ? { ring } : {};
  const cost = costReport(g);
  const weights = new Map<string, BigUint64Array>();
  const shape = (v: string): number[] => [...g.types.get(v)!.shape];
  const put = (key: string, t: Tensor, bits: number): string => {
    if (!weights.has(key)) weights.set(key, encode(t.data as ArrayLike<number>, bits));
    return key;
  };
  // A weight layer's bias goes onto the Truncate that is its product's only reader: P1 adds it
  // inside that truncation (one kernel pass, model-kernels.ts) instead of in a separate loop.
  const env: StepEnv = { g, frac, weightBits: weightBitsByNode(g), shape, put, setup: [], biasAt: biasTruncations(g), movedBias: new Map(), masked: maskedActivations(g) };
  const steps: ProgramStep[] = [];
  const tail = clientTail(g);
  for (const n of g.nodes) {
    if (tail.has(n)) continue;
    const kind = secureFacts(n.op).step;
    if (!kind) throw diag('MPCC6040', [n.name, n.op, 'its op names no step kind']);
    const s = (STEP_BUILDERS[kind] ?? oneToOne)(n, env);
    const a = n.attrs;
    const stepKind = s.kind ?? kind;
    const params = RING_PARAM_KINDS.has(stepKind) ? { ...inRing, ...s.params } : (s.params ?? {});
    steps.push({ name: n.name, kind: stepKind, op: n.op, round: (a.round as number | undefined) ?? 0, rounds: (a.rounds as number | undefined) ?? 0, inputs: s.inputs, outputs: s.outputs, params });
  }
  const setup = env.setup.map((st) => ({ ...st, ...inRing }));
  const input = { name: inputs[0].inputs[0], value: inputs[0].outputs[0], shape: shape(inputs[0].inputs[0]) };
  const outputs = g.outputs.map((o) => programOutput(g, o, shape));
  const programs = ([0, 1, 2] as PartyId[]).map((party) => ({
    format: PROGRAM_FORMAT,
    party,
    frac,
    ...inRing,
    input,
    outputs,
    setup,
    steps,
    rounds: cost.rounds,
    oneTimeRounds: cost.oneTimeRounds,
  })) as [Program, Program, Program];
  return { programs, weights, frac };
}

/** One input, one output; a secure op's parameters are its public attributes, its bit window as
 * `window` (SecureRelu, SecureClip); a local op's are none (identity). */
function oneToOne(n: Node, _env: StepEnv): StepSpec {
  const params: Record<string, unknown> = {};
  if (isSecureOp(n.op)) {
    for (const [key, value] of Object.entries(withDefaults(n))) if (!(key in PROTOCOL_ATTRS) && !(key in WINDOW_ATTRS)) params[key] = value;
    if ('window_lo' in (withDefaults(n))) params.window = windowOf(n);
  }
  return { inputs: [n.inputs[0]], outputs: [n.outputs[0]], params };
}

/** An average pool whose division lower truncates exactly after it (UNTRUNCATED_ATTR). */
const untruncatedOf = (n: Node): { untruncated?: true } => (withDefaults(n).untruncated ? { untruncated: true } : {});
/** A pool's reciprocal bits when not the default (runtime/protocols/linear.ts avgPool's divideBits). */
const divideBitsOf = (n: Node): { divideBits?: number } => (withDefaults(n).divide_bits !== AVG_SHIFT ? { divideBits: withDefaults(n).divide_bits as number } : {});

/** A local op on its first input with the parameters `params` computes from its input shape. */
const local = (params: (n: Node, x: number[], env: StepEnv) => object): StepBuilder => (n, env) => ({
  inputs: [n.inputs[0]],
  outputs: [n.outputs[0]],
  params: { ...params(n, env.shape(n.inputs[0]), env) },
});

/** The step parameters of each kind whose step is not oneToOne's. */
const STEP_BUILDERS: Partial<Record<StepKind, StepBuilder>> = {
  input: (n, env) => ({ inputs: [], outputs: [n.outputs[0]], params: { size: numel(env.shape(n.outputs[0])) } }),
  // Its size lets the offline phase deal the comparison before the input (runtime/program/offline.ts).
  relu: (n, env) => {
    const spec = oneToOne(n, env);
    return { ...spec, params: { ...spec.params, size: numel(env.shape(n.inputs[0])) } };
  },
  reveal: (n) => ({ inputs: [n.inputs[0]], outputs: [], params: { value: n.outputs[0], frac: withDefaults(n).frac } }),
  weights: (n, env) => weightsStep(n, env, false),
  reluWeights: (n, env) => weightsStep(n, env, true),
  blockRelu: local((n, x) => ({ shape: x, blocks: blockSizesFrom(withDefaults(n).blocks as number[]), window: windowOf(n) })),
  maxPool: local((n, x) => ({ pool: poolParamsOf(n, x), window: windowOf(n) })),
  truncate: local((n, _x, env) => ({ bits: withDefaults(n).bits, ...env.movedBias.get(n) })),
  // P0's share input-dependent (online=1): the bit-triple form, dealt by the step itself
  truncateExact: (n, env) => ({ ...local((m) => ({ bits: withDefaults(m).bits, ...env.movedBias.get(m) }))(n, env), ...(withDefaults(n).online ? { kind: 'truncateExactOnline' as const } : {}) }),
  add: addOrSub,
  sub: addOrSub,
  avgPool: local((n, x) => ({ pool: poolParamsOf(n, x), countIncludePad: Boolean(withDefaults(n).count_include_pad), ...untruncatedOf(n), ...divideBitsOf(n) })),
  globalAvgPool: local((n, x) => ({ inShape: x, ...untruncatedOf(n), ...divideBitsOf(n) })),
  transpose: local(transposeParamsOf),
  concat: (n, env) => ({ inputs: [...n.inputs], outputs: [n.outputs[0]], params: { ...concatParamsOf(n, n.inputs.map(env.shape)) } }),
  pad: local(padParamsOf),
  slice: local(sliceParamsOf),
  resize: local((n, x, env) => resizeParamsOf(n, x, env.shape(n.outputs[0]))),
  // The client-offline mode (contract: runtime/protocols/helper-select.ts): the pre-truncation
  // value and the residual, the selection's shape as NCHW (a plain ReLU's padded to 4-D: its
  // patches are its elements, the shape only sizes them)
  helperSelect: (n, env) => {
    const blocks = withDefaults(n).blocks as number[];
    const x = env.shape(n.inputs[0]);
    return {
      inputs: [...n.inputs],
      outputs: [n.outputs[0]],
      params: { bits: withDefaults(n).bits, window: windowOf(n), shape: asNchw(x), ...(blocks.length > 0 ? { blocks: blockSizesFrom(blocks) } : {}), size: numel(x), ...narrowRingParam(n) },
    };
  },
  // a SecureLift: the shares shifted up by `bits` first (lift), the ring's value sign-extended
  truncateClientOffline: local((n) => ({ bits: withDefaults(n).bits, ...(n.op === 'SecureLift' ? { lift: true } : {}) })),
  // with mask_from, the earlier client-offline product whose masked share of X it reuses (maskFrom)
  weightsClientOffline: (n, env) => {
    const from = withDefaults(n).mask_from as string;
    const step = weightsStep(n, env, false);
    return from ? { ...step, params: { ...step.params, maskFrom: from } } : step;
  },
  mul: (n, env) => ({ inputs: [n.inputs[0], n.inputs[1]], outputs: [n.outputs[0]], params: { xShape: env.shape(n.inputs[0]), yShape: env.shape(n.inputs[1]), outShape: env.shape(n.outputs[0]) } }),
};

/** A product with P1's weights (SecureWeights; with `relu`, SecureReluWeights): its one-time
 * setup, and its bias either in the step or moved onto the Truncate after it. */
function weightsStep(n: Node, env: StepEnv, relu: boolean): StepSpec {
  const [x, w, b] = n.inputs;
  const wt = env.g.constants.get(w)!;
  const product = n.outputs[n.outputs.length - 1];
  // the weights at their layer's bits (a constant shared at other bits gets a key of its own)
  const bits = env.weightBits.get(n.name) ?? env.frac;
  const key = (name: string) => (bits === env.frac ? name : `${name}@${bits}`);
  env.setup.push({ name: n.name, map: mapSpec(n, env.shape(x), wt, env.shape(product)), weights: env.put(key(w), wt, bits) });
  const params: Record<string, unknown> = { layer: n.name };
  if (b) {
    const bias = biasParams(n, env.g.constants.get(b)!, env.shape(product), env.frac + bits, (k, t, at) => env.put(key(k), t, at));
    const trunc = env.biasAt.get(n);
    if (trunc) env.movedBias.set(trunc, bias);
    else Object.assign(params, bias);
  }
  const from = relu || n.op !== 'SecureWeights' ? '' : (withDefaults(n).mask_from as string);
  if (from) return { kind: 'weightsSharedMask', inputs: [env.masked.get(from)!], outputs: [product], params: { ...params, maskFrom: from } };
  // A product whose mask later products share keeps P1's masked activation as its last result.
  const kept = env.masked.get(n.name);
  const keep = kept ? { outputs: [kept], params: { keepMasked: true } } : { outputs: [], params: {} };
  if (!relu) return { inputs: [x], outputs: [product, ...keep.outputs], params: { ...params, ...keep.params } };
  const blocks = withDefaults(n).blocks as number[];
  const block = blocks.length > 0 ? { blocks: blockSizesFrom(blocks), shape: env.shape(x) } : {};
  return { inputs: [x], outputs: [n.outputs[0], product, ...keep.outputs], params: { ...params, window: windowOf(n), ...block, ...keep.params } };
}

/** `shape` as [N, C, H, W] with the same elements: 1s in front of a shorter one, a longer one's
 * leading dimensions merged into N. */
function asNchw(shape: readonly number[]): [number, number, number, number] {
  const s = [1, 1, 1, ...shape];
  const tail = s.slice(-3);
  return [numel(s.slice(0, -3)), tail[0], tail[1], tail[2]];
}

/** For every product whose activation mask a later SecureWeights shares (mask_from), the name
 * of the program value holding P1's masked activation (`<node>/masked`, made unique); MPCC6040
 * when mask_from names no earlier product of the same activation (for a
 * SecureWeightsClientOffline: no earlier, unshared SecureWeightsClientOffline of the same X). */
function maskedActivations(g: Graph): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Map<string, Node>();
  for (const n of g.nodes) {
    if (n.op === 'SecureWeightsClientOffline' && withDefaults(n).mask_from) {
      // the client-offline mode's: P1 reuses the earlier product's masked share, nothing is kept
      const from = withDefaults(n).mask_from as string;
      const source = seen.get(from);
      if (source?.op !== 'SecureWeightsClientOffline' || source.inputs[0] !== n.inputs[0] || Boolean(withDefaults(source).mask_from))
        throw diag('MPCC6040', [n.name, n.op, `mask_from '${from}' names no earlier client-offline product sending its activation '${n.inputs[0]}' masked`]);
    }
    const from = n.op === 'SecureWeights' ? (withDefaults(n).mask_from as string) : '';
    if (from) {
      const source = seen.get(from);
      const sent = source?.op === 'SecureWeights' ? source.inputs[0] : source?.op === 'SecureReluWeights' ? source.outputs[0] : undefined;
      const chained = source?.op === 'SecureWeights' && Boolean(withDefaults(source).mask_from);
      if (sent === undefined || sent !== n.inputs[0] || chained) throw diag('MPCC6040', [n.name, n.op, `mask_from '${from}' names no earlier product sending its activation '${n.inputs[0]}' masked`]);
      if (!out.has(from)) {
        let v = `${from}/masked`;
        for (let i = 1; g.types.has(v); i++) v = `${from}/masked_${i}`;
        out.set(from, v);
      }
    }
    seen.set(n.name, n);
  }
  return out;
}

/** For each weight node whose product only a Truncate reads (and is no graph output), that
 * Truncate. */
function biasTruncations(g: Graph): Map<Node, Node> {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) readers.get(v)?.push(n) ?? readers.set(v, [n]);
  const at = new Map<Node, Node>();
  for (const n of g.nodes) {
    const kind = secureFacts(n.op).step;
    if (kind !== 'weights' && kind !== 'reluWeights') continue;
    const product = n.outputs[n.outputs.length - 1];
    const r = readers.get(product) ?? [];
    if (r.length === 1 && (r[0].op === 'Truncate' || r[0].op === 'SecureTruncate') && !g.outputs.includes(product)) at.set(n, r[0]);
  }
  return at;
}

/** A graph output: the revealed value it comes from and the client ops after the reveal. */
function programOutput(g: Graph, o: string, shape: (v: string) => number[]): ProgramOutput {
  const post: PostOp[] = [];
  let v = o;
  for (;;) {
    const p = g.nodes.find((n) => n.outputs.includes(v));
    if (!p) throw diag('MPCC6041', [`output '${o}' has no producer`]);
    if (p.op === 'SecureReveal') break;
    if (secureFacts(p.op).lower !== 'client') throw diag('MPCC6041', [`output '${o}' is not revealed (its producer '${p.name}' is ${p.op})`]);
    const a = withDefaults(p);
    post.unshift(p.op === 'Round' ? { op: 'Round' } : { op: p.op as 'Softmax' | 'ArgMax', axis: (a.axis as number | undefined) ?? (p.op === 'Softmax' ? -1 : 0), keepdims: p.op === 'ArgMax' ? Boolean(a.keepdims ?? 1) : undefined });
    v = p.inputs[0];
  }
  return { name: o, value: v, shape: shape(v), post };
}

/** The bilinear map of a weight node. */
function mapSpec(n: Node, x: number[], w: Tensor, y: number[]): MapSpec {
  const a = withDefaults(n);
  if (a.kind === 'conv') {
    if (x.length !== 4 || w.shape.length !== 4) throw diag('MPCC6040', [n.name, n.op, 'only 2-D convolutions (NCHW) are supported']);
    return { kind: 'conv', conv: convParamsOf(n, x, w.shape) };
  }
  const k = x[x.length - 1];
  const nOut = y[y.length - 1];
  if (w.shape.length !== 2 || w.shape[0] !== k || w.shape[1] !== nOut) throw diag('MPCC6040', [n.name, n.op, `weights [${w.shape.join(',')}] for an activation [${x.join(',')}]`]);
  return { kind: 'matmul', m: numel(x) / k, k, n: nOut };
}

/** Where a bias goes: per output channel of a conv (repeating over H·W), per column of a
 * matmul, or expanded to the whole product. Encoded at `productFrac` (the product's scale). */
function biasParams(n: Node, b: Tensor, y: number[], productFrac: number, put: (k: string, t: Tensor, bits: number) => string): Record<string, unknown> {
  const name = n.inputs[2];
  const conv = withDefaults(n).kind === 'conv';
  if (conv && b.size === y[1]) return { bias: put(name, b, productFrac), inner: y[2] * y[3] };
  if (!conv && b.size === y[y.length - 1]) return { bias: put(name, b, productFrac), inner: 1 };
  throw diag('MPCC6040', [n.name, n.op, `bias of shape [${b.shape.join(',')}] for a product of shape [${y.join(',')}]`]);
}

/** Add/Sub of two activations, or of an activation and a model constant, which P1 adds (step
 * addConst, negating the activation first for a constant minus an activation); an activation of
 * another shape than the result is broadcast by the step itself (`shapes`, `outShape`). */
function addOrSub(n: Node, env: StepEnv): StepSpec {
  const [x, y] = n.inputs;
  const cx = env.g.constants.get(x);
  const c = cx ?? env.g.constants.get(y);
  const outShape = env.shape(n.outputs[0]);
  const acts = c ? [cx ? y : x] : [x, y];
  const shapes = acts.map(env.shape);
  const broadcast = shapes.some((s) => s.join() !== outShape.join()) ? { shapes, outShape } : {};
  if (!c) return { inputs: [x, y], outputs: [n.outputs[0]], params: broadcast };
  const negate = Boolean(cx) && n.op === 'Sub';
  const full = broadcastTo(c, outShape, n.op === 'Sub' && !negate ? -1 : 1);
  return { kind: 'addConst', inputs: acts, outputs: [n.outputs[0]], params: { constant: env.put(`${n.name}/constant`, full, env.frac), ...broadcast, ...(negate ? { negate } : {}) } };
}

/** A constant broadcast (numpy rules) to `shape`, times `sign`, as a tensor-like. */
function broadcastTo(c: Tensor, shape: number[], sign: number): Tensor {
  const size = numel(shape);
  const lead = shape.length - c.shape.length;
  const data = new Float64Array(size);
  const src = c.data as ArrayLike<number>;
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < size; i++) {
    let at = 0;
    for (let d = lead; d < shape.length; d++) at = at * c.shape[d - lead] + (c.shape[d - lead] === 1 ? 0 : idx[d]);
    data[i] = sign * src[at];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { data, shape, size } as unknown as Tensor;
}

/** A selection's smaller rings (window_ring, copy_ring, lower-client-offline.ts) as its step's
 * `ring` and `copyRing`. */
function narrowRingParam(n: Node): { ring?: number; copyRing?: number } {
  const a = withDefaults(n);
  const r = a.window_ring as number | undefined;
  const c = a.copy_ring as number | undefined;
  return { ...(r ? { ring: r } : {}), ...(c ? { copyRing: c } : {}) };
}
