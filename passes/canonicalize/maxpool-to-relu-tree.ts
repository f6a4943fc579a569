// maxpool-to-relu-tree (opt-in): every MaxPool becomes the tree of pairwise maxima the secure
// runtime computes anyway — max(a, b) = b + ReLU(a − b) — written as ordinary ops (strided Slice
// taps, Sub, Relu, Add, Concat), so that the block-ReLU planner sees the pool's comparisons as
// ReLU layers: they count in the DReLU budget, and the knapsack may keep them exact (block 1×1),
// decide a pair per patch of outputs from the patch's summed difference (a "block max"), or drop
// them (identity: the pair's first element wins, no comparison). Unplanned, it computes exactly
// what the MaxPool did, in float and bit for bit in fixed point (the ring identity
// b + ((a − b) if a ≥ b else 0) = max(a, b)), with the same DReLUs, bytes and rounds as the
// SecureMaxPool step: the same separable passes (a row pass over every input row, then a column
// pass), the same pairs per level.
//
// Why it is opt-in (like maxpool-to-avgpool): it renames the network's ReLU layers (plans made
// without it do not apply with it, and the reverse), and it only pays off with a plan.
//
// First, a Relu or Clip read only by the MaxPool moves after it (lower's own reorder,
// passes/secure/lower-reorder.ts: max∘relu = relu∘max exactly), so that the planner plans the
// activation on the pooled map, as the unplanned network computes it.
//
// The tree of one axis: tap j of a window of size K, stride S, leading pad P reads input index
// o·S + j − P for output o, valid for a contiguous range of outputs (padding never wins, ONNX
// pads a MaxPool with −∞). Taps pair up level by level in order (0 with 1, 2 with 3, …; an odd
// one waits), as the runtime's tree does; two partial maxima compare where both are valid, and
// where only one is, it is taken as it is (a Concat of the pieces). A pool whose taps leave an
// output with no valid element, or whose tap ranges do not overlap, is kept as a MaxPool.
import type { Node } from '../../ir/graph.js';
import { makeNode } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import { WINDOW_ATTRS } from '../../ir/ops/window.js';
import type { TensorType } from '../../ir/types.js';
import { definePass } from '../pass.js';
import { type RewriteView, rewriteToFixpoint } from '../rewrite.js';
import { poolBeforeActivation } from '../secure/lower-reorder.js';

/** A partial maximum along one axis: a value valid for outputs [lo, hi] of the axis. */
interface Partial {
  readonly value: string;
  readonly lo: number;
  readonly hi: number;
}

/** One axis of a pool: kernel, stride, leading pad, input and output size. */
interface AxisPool {
  readonly axis: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
  readonly inSize: number;
  readonly outSize: number;
}

/** The outputs [lo, hi] tap j of an axis is valid for (hi < lo: none). */
export function tapRange(a: AxisPool, j: number): [number, number] {
  const lo = Math.max(0, Math.ceil((a.pad - j) / a.stride));
  const hi = Math.min(a.outSize - 1, Math.floor((a.inSize - 1 + a.pad - j) / a.stride));
  return [lo, hi];
}

/** Builds the nodes of one pool's trees; names come from the view, types are recorded. */
class TreeBuilder {
  readonly nodes: Node[] = [];
  readonly types = new Map<string, TensorType>();
  relus = 0;
  private readonly taken = new Set<string>();

  constructor(private readonly view: RewriteView, private readonly base: string, private readonly dtype: TensorType['dtype']) {}

  private name(suffix: string): string {
    let candidate = this.view.freshName(`${this.base}${suffix}`);
    for (let i = 1; this.taken.has(candidate); i++) candidate = this.view.freshName(`${this.base}${suffix}_${i}`);
    this.taken.add(candidate);
    return candidate;
  }

  private typeOf(v: string): TensorType {
    return this.types.get(v) ?? this.view.type(v);
  }

  /** A node of one output; returns the output's name. */
  private emit(op: string, suffix: string, inputs: string[], shape: number[], attrs = {}): string {
    const out = this.name(suffix);
    this.nodes.push(makeNode(op, out, inputs, [out], attrs));
    this.types.set(out, { dtype: this.dtype, shape });
    return out;
  }

  /** x[start:end:step] along `axis` (x itself when that is all of it). */
  slice(x: string, axis: number, start: number, count: number, step: number, suffix: string): string {
    const shape = [...this.typeOf(x).shape];
    if (start === 0 && step === 1 && count === shape[axis]) return x;
    const end = start + (count - 1) * step + 1;
    shape[axis] = count;
    return this.emit('Slice', suffix, [x], shape, { starts: [start], ends: [end], axes: [axis], steps: [step] });
  }

  /** The maximum of two partials of one axis, valid on the union of their ranges. */
  merge(a: Partial, b: Partial, axis: number, suffix: string, window: Record<string, number>): Partial {
    const lo = Math.max(a.lo, b.lo), hi = Math.min(a.hi, b.hi);
    const n = hi - lo + 1;
    const part = (p: Partial, from: number, count: number, tag: string) => this.slice(p.value, axis, from - p.lo, count, 1, `${suffix}.${tag}`);
    const aI = part(a, lo, n, 'a'), bI = part(b, lo, n, 'b');
    const shape = [...this.typeOf(aI).shape];
    const diff = this.emit('Sub', `${suffix}.diff`, [aI, bI], shape);
    const relu = this.emit('Relu', `${suffix}.relu`, [diff], shape, window);
    this.relus++;
    const max = this.emit('Add', `${suffix}.max`, [bI, relu], shape);
    // Where only one of the two is valid, it is the maximum as it stands.
    const left = a.lo < lo ? part(a, a.lo, lo - a.lo, 'left') : b.lo < lo ? part(b, b.lo, lo - b.lo, 'left') : undefined;
    const uHi = Math.max(a.hi, b.hi);
    const right = a.hi > hi ? part(a, hi + 1, uHi - hi, 'right') : b.hi > hi ? part(b, hi + 1, uHi - hi, 'right') : undefined;
    const pieces = [left, max, right].filter((v): v is string => v !== undefined);
    if (pieces.length === 1) return { value: max, lo, hi };
    const out = [...shape];
    out[axis] = uHi - Math.min(a.lo, b.lo) + 1;
    return { value: this.emit('Concat', `${suffix}.cat`, pieces, out, { axis }), lo: Math.min(a.lo, b.lo), hi: uHi };
  }

  /** The max pool of x along one axis; undefined when the taps do not make a tree. */
  axisPool(x: string, a: AxisPool, tag: string, window: Record<string, number>): string | undefined {
    if (a.kernel === 1 && a.pad === 0 && a.stride === 1) return x;
    let level: Partial[] = [];
    for (let j = 0; j < a.kernel; j++) {
      const [lo, hi] = tapRange(a, j);
      if (hi < lo) continue;
      level.push({ value: this.slice(x, a.axis, lo * a.stride + j - a.pad, hi - lo + 1, a.stride, `.${tag}.tap${j}`), lo, hi });
    }
    for (let depth = 1; level.length > 1; depth++) {
      const next: Partial[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) {
        const [p, q] = [level[i], level[i + 1]];
        if (Math.max(p.lo, q.lo) > Math.min(p.hi, q.hi)) return undefined;
        next.push(this.merge(p, q, a.axis, `.${tag}${depth}.${i >> 1}`, window));
      }
      if (level.length % 2) next.push(level[level.length - 1]);
      level = next;
    }
    const [only] = level;
    return only && only.lo === 0 && only.hi === a.outSize - 1 ? only.value : undefined;
  }
}

/** The nodes computing `node` (a MaxPool) as trees of ReLUs, or undefined to keep it. */
function reluTree(node: Node, view: RewriteView) {
  const attrs = withDefaults(node);
  const dil = (attrs.dilations as readonly number[] | undefined) ?? [1, 1];
  const x = view.type(node.inputs[0]);
  const y = view.type(node.outputs[0]);
  if (x.shape.length !== 4 || dil.some((d) => d !== 1)) return undefined;
  const kernel = attrs.kernel_shape as readonly number[];
  const strides = (attrs.strides as readonly number[] | undefined) ?? [1, 1];
  const pads = (attrs.pads as readonly number[] | undefined) ?? [0, 0, 0, 0];
  const window: Record<string, number> = {};
  for (const key of Object.keys(WINDOW_ATTRS) as (keyof typeof WINDOW_ATTRS)[]) {
    if (node.attrs[key] !== undefined && node.attrs[key] !== WINDOW_ATTRS[key].default) window[key] = node.attrs[key] as number;
  }
  const b = new TreeBuilder(view, node.name, x.dtype);
  // Rows first (every input row), then columns, as the runtime's separable passes.
  const rows = b.axisPool(node.inputs[0], { axis: 3, kernel: kernel[1], stride: strides[1], pad: pads[1], inSize: x.shape[3], outSize: y.shape[3] }, 'w', window);
  if (rows === undefined) return undefined;
  const cols = b.axisPool(rows, { axis: 2, kernel: kernel[0], stride: strides[0], pad: pads[0], inSize: x.shape[2], outSize: y.shape[2] }, 'h', window);
  if (cols === undefined) return undefined;
  return { nodes: b.nodes, types: b.types, rename: [[cols, node.outputs[0]]] as [string, string][], relus: b.relus, source: cols === node.inputs[0] };
}

/** The MaxPool a tree level's ReLU was written for (its name `POOL.{w,h}<depth>.<pair>.relu`, as
 * TreeBuilder names it), or undefined for any other name. */
export function treeLevelPool(name: string): string | undefined {
  return /^(.+)\.[wh]\d+\.\d+\.relu(?:_\d+)?$/.exec(name)?.[1];
}

/** The maxpool-to-relu-tree pass. */
export const maxPoolToReluTree = definePass<Record<string, never>>({
  name: 'maxpool-to-relu-tree',
  summary:
    'Moves a Relu/Clip read only by a MaxPool after it, then writes every 4-D undilated MaxPool as its separable trees of ' +
    'max(a, b) = b + Relu(a − b) (strided Slice, Sub, Relu, Add, Concat): the same function and secure cost, with the ' +
    "pool's comparisons as ReLU layers a block-ReLU plan can budget and replace.",
  options: {},
  run(graph, ctx) {
    const reordered = poolBeforeActivation(graph, ctx);
    let relus = 0;
    const g = rewriteToFixpoint(reordered, [{
      ops: ['MaxPool'],
      stat: 'max-pools written as ReLU trees',
      apply(node, view) {
        const tree = reluTree(node, view);
        if (!tree) return undefined;
        relus += tree.relus;
        // A 1×1 pool of stride 1: the identity, the output renamed to the input's value.
        if (tree.source) return { nodes: [makeNode('Identity', node.name, node.inputs, node.outputs)] };
        // The tree's last value takes the pool's output name, so readers need not change.
        const rename = new Map(tree.rename);
        const nodes = tree.nodes.map((n) => makeNode(n.op, n.name, n.inputs, n.outputs.map((o) => rename.get(o) ?? o), n.attrs));
        const types = new Map([...tree.types].filter(([v]) => !rename.has(v)));
        return { nodes, types };
      },
    }], ctx);
    if (relus) ctx.stat('relu layers made', relus);
    const kept = g.nodes.filter((n) => n.op === 'MaxPool').length;
    if (kept) ctx.stat('max-pools kept', kept);
    return g;
  },
});
