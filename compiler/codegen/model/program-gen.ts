// Codegen, first half: a lowered and scheduled graph → the three parties' programs (the
// runtime's Program data, runtime/program/program.ts) and P1's encoded constants. Each IR
// node becomes one step of the step library; the client's trailing Softmax/ArgMax become
// post ops of the outputs. Weights and every other model constant go to P1 only.
import { diag } from '../../../runtime/diagnostics.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { withDefaults } from '../../../ir/ops/index.js';
import { concatParamsOf, convParamsOf, padParamsOf, poolParamsOf, resizeParamsOf, sliceParamsOf, transposeParamsOf } from '../../../ir/interp/fixed/params.js';
import type { Tensor } from '../../../ir/tensor.js';
import { broadcastShapes, numel } from '../../../ir/types.js';
import { encode } from '../../../runtime/ring/ring.js';
import { PROGRAM_FORMAT, type MapSpec, type PostOp, type Program, type ProgramOutput, type ProgramStep, type SetupStep } from '../../../runtime/program/program.js';
import type { PoolParams } from '../../../runtime/ring/windows.js';
import type { PartyId } from '../../../runtime/session/session.js';
import { costReport } from '../../../passes/secure/cost-model.js';

/** What codegen makes of a graph: one program per party and P1's constants. */
export interface GeneratedPrograms {
  programs: [Program, Program, Program];
  /** P1's encoded constants (weights at frac, biases at 2·frac, added constants at frac). */
  weights: Map<string, BigUint64Array>;
  frac: number;
}

const CLIENT_OPS = new Set(['Softmax', 'ArgMax']);
const IDENTITY_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);

/** The programs of a scheduled graph (MPCC6040/6041 for what codegen cannot express). */
export function generatePrograms(g: Graph): GeneratedPrograms {
  const inputs = g.nodes.filter((n) => n.op === 'SecureInput');
  if (inputs.length !== 1) throw diag('MPCC6041', [`${inputs.length} SecureInput nodes (the runtime takes exactly one input)`]);
  const frac = inputs[0].attrs.frac as number;
  const cost = costReport(g);
  const weights = new Map<string, BigUint64Array>();
  const setup: SetupStep[] = [];
  const steps: ProgramStep[] = [];
  const shape = (v: string): number[] => [...g.types.get(v)!.shape];
  const constOf = (v: string | undefined): Tensor | undefined => (v ? g.constants.get(v) : undefined);
  const put = (key: string, t: Tensor, bits: number): string => {
    if (!weights.has(key)) weights.set(key, encode(t.data as ArrayLike<number>, bits));
    return key;
  };
  const step = (n: Node, kind: string, ins: string[], outs: string[], params: Record<string, unknown> = {}): void => {
    const a = n.attrs;
    steps.push({ name: n.name, kind, op: n.op, round: (a.round as number | undefined) ?? 0, rounds: (a.rounds as number | undefined) ?? 0, inputs: ins, outputs: outs, params });
  };
  const clientTail = new Set<Node>();
  for (const n of g.nodes) if (CLIENT_OPS.has(n.op)) clientTail.add(n);
  // A weight layer's bias goes onto the Truncate that is its product's only reader: P1 adds it
  // inside that truncation (one kernel pass, model-kernels.ts) instead of in a separate loop.
  const biasAt = biasTruncations(g);
  const movedBias = new Map<Node, Record<string, unknown>>();

  for (const n of g.nodes) {
    if (clientTail.has(n)) continue;
    const a = withDefaults(n);
    const window = { lo: a.window_lo as number, k: a.window_k as number };
    switch (n.op) {
      case 'SecureInput':
        step(n, 'input', [], [n.outputs[0]], { size: numel(shape(n.outputs[0])) });
        break;
      case 'SecureReveal':
        step(n, 'reveal', [n.inputs[0]], [], { value: n.outputs[0], frac: a.frac });
        break;
      case 'SecureWeights':
      case 'SecureReluWeights': {
        const [x, w, b] = n.inputs;
        const product = n.outputs[n.outputs.length - 1];
        const map = mapSpec(n, shape(x), constOf(w)!, shape(product));
        setup.push({ name: n.name, map, weights: put(w, constOf(w)!, frac) });
        const params: Record<string, unknown> = { layer: n.name };
        if (b) {
          const bias = biasParams(n, constOf(b)!, shape(product), frac, put);
          const trunc = biasAt.get(n);
          if (trunc) movedBias.set(trunc, bias);
          else Object.assign(params, bias);
        }
        if (n.op === 'SecureWeights') step(n, 'weights', [x], [product], params);
        else step(n, 'reluWeights', [x], [n.outputs[0], product], { ...params, window });
        break;
      }
      case 'SecureRelu':
        step(n, 'relu', [n.inputs[0]], [n.outputs[0]], { window });
        break;
      case 'SecureClip':
        step(n, 'clip', [n.inputs[0]], [n.outputs[0]], { min: a.min, max: a.max, window });
        break;
      case 'SecureMaxPool':
        step(n, 'maxPool', [n.inputs[0]], [n.outputs[0]], { pool: poolParams(n, shape(n.inputs[0])), window });
        break;
      case 'Truncate':
        step(n, 'truncate', [n.inputs[0]], [n.outputs[0]], { bits: a.bits, ...movedBias.get(n) });
        break;
      case 'Add':
      case 'Sub':
        addOrSub(n, g, frac, shape, put, step);
        break;
      case 'AveragePool':
        step(n, 'avgPool', [n.inputs[0]], [n.outputs[0]], { pool: poolParams(n, shape(n.inputs[0])), countIncludePad: Boolean(a.count_include_pad) });
        break;
      case 'GlobalAveragePool':
        step(n, 'globalAvgPool', [n.inputs[0]], [n.outputs[0]], { inShape: shape(n.inputs[0]) });
        break;
      case 'Transpose':
        step(n, 'transpose', [n.inputs[0]], [n.outputs[0]], { ...transposeParamsOf(n, shape(n.inputs[0])) });
        break;
      case 'Concat':
        step(n, 'concat', [...n.inputs], [n.outputs[0]], { ...concatParamsOf(n, n.inputs.map(shape)) });
        break;
      case 'Pad':
        if (((a.value as number | undefined) ?? 0) !== 0 || ((a.mode as string | undefined) ?? 'constant') !== 'constant') throw diag('MPCC6040', [n.name, n.op, 'only zero padding runs on shares']);
        step(n, 'pad', [n.inputs[0]], [n.outputs[0]], { ...padParamsOf(n, shape(n.inputs[0])) });
        break;
      case 'Slice':
        step(n, 'slice', [n.inputs[0]], [n.outputs[0]], { ...sliceParamsOf(n, shape(n.inputs[0])) });
        break;
      case 'Resize':
        step(n, 'resize', [n.inputs[0]], [n.outputs[0]], { ...resizeParamsOf(n, shape(n.inputs[0]), shape(n.outputs[0])) });
        break;
      default:
        if (IDENTITY_OPS.has(n.op)) {
          step(n, 'identity', [n.inputs[0]], [n.outputs[0]]);
          break;
        }
        throw diag('MPCC6040', [n.name, n.op, n.op.startsWith('Secure') ? 'unknown secure op' : 'no step kind for this local op yet']);
    }
  }
  const input = { name: inputs[0].inputs[0], value: inputs[0].outputs[0], shape: shape(inputs[0].inputs[0]) };
  const outputs = g.outputs.map((o) => programOutput(g, o, shape));
  const programs = ([0, 1, 2] as PartyId[]).map((party) => ({
    format: PROGRAM_FORMAT,
    party,
    frac,
    input,
    outputs,
    setup,
    steps,
    rounds: cost.rounds,
    oneTimeRounds: cost.oneTimeRounds,
  })) as [Program, Program, Program];
  return { programs, weights, frac };
}

/** For each weight node whose product only a Truncate reads (and is no graph output), that
 * Truncate. */
function biasTruncations(g: Graph): Map<Node, Node> {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) readers.get(v)?.push(n) ?? readers.set(v, [n]);
  const at = new Map<Node, Node>();
  for (const n of g.nodes) {
    if (n.op !== 'SecureWeights' && n.op !== 'SecureReluWeights') continue;
    const product = n.outputs[n.outputs.length - 1];
    const r = readers.get(product) ?? [];
    if (r.length === 1 && r[0].op === 'Truncate' && !g.outputs.includes(product)) at.set(n, r[0]);
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
    if (!CLIENT_OPS.has(p.op)) throw diag('MPCC6041', [`output '${o}' is not revealed (its producer '${p.name}' is ${p.op})`]);
    const a = withDefaults(p);
    post.unshift({ op: p.op as PostOp['op'], axis: (a.axis as number | undefined) ?? (p.op === 'Softmax' ? -1 : 0), keepdims: p.op === 'ArgMax' ? Boolean(a.keepdims ?? 1) : undefined });
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
 * matmul, or expanded to the whole product. Encoded at 2·frac (the product's scale). */
function biasParams(n: Node, b: Tensor, y: number[], frac: number, put: (k: string, t: Tensor, bits: number) => string): Record<string, unknown> {
  const name = n.inputs[2];
  const conv = withDefaults(n).kind === 'conv';
  if (conv && b.size === y[1]) return { bias: put(name, b, 2 * frac), inner: y[2] * y[3] };
  if (!conv && b.size === y[y.length - 1]) return { bias: put(name, b, 2 * frac), inner: 1 };
  throw diag('MPCC6040', [n.name, n.op, `bias of shape [${b.shape.join(',')}] for a product of shape [${y.join(',')}]`]);
}

function poolParams(n: Node, x: number[]): PoolParams {
  const a = withDefaults(n);
  if (a.ceil_mode) throw diag('MPCC6040', [n.name, n.op, 'ceil_mode = 1']);
  const k = a.kernel_shape as number[];
  if (x.length !== 4 || k.length !== 2) throw diag('MPCC6040', [n.name, n.op, 'only 2-D pooling over NCHW is supported']);
  if (a.dilations && (a.dilations as number[]).some((d) => d !== 1)) throw diag('MPCC6040', [n.name, n.op, 'dilated pooling']);
  return poolParamsOf(n, x);
}

/** Add/Sub of two activations, or of an activation and a model constant (P1 adds it). */
function addOrSub(n: Node, g: Graph, frac: number, shape: (v: string) => number[], put: (k: string, t: Tensor, bits: number) => string, step: (n: Node, kind: string, ins: string[], outs: string[], params?: Record<string, unknown>) => void): void {
  const [x, y] = n.inputs;
  const cx = g.constants.get(x);
  const cy = g.constants.get(y);
  const out = shape(n.outputs[0]);
  if (!cx && !cy) {
    if (shape(x).join() !== out.join() || shape(y).join() !== out.join()) throw diag('MPCC6040', [n.name, n.op, 'broadcasting between two activations']);
    step(n, n.op === 'Add' ? 'add' : 'sub', [x, y], [n.outputs[0]]);
    return;
  }
  if (cx && n.op === 'Sub') throw diag('MPCC6040', [n.name, n.op, 'a constant minus an activation']);
  const c = (cx ?? cy)!;
  const act = cx ? y : x;
  if (shape(act).join() !== out.join() || !broadcastShapes(c.shape, out)) throw diag('MPCC6040', [n.name, n.op, 'the constant broadcasts the activation']);
  const full = broadcastTo(c, out, n.op === 'Sub' ? -1 : 1);
  const key = put(`${n.name}/constant`, full, frac);
  step(n, 'addConst', [act], [n.outputs[0]], { constant: key });
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
