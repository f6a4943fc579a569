// Secure forms: rewrites quantize applies first, turning ops (or attributes) the secure runtime
// has no step for into ones it has, computing the same function. Each is linear or data
// movement on shares, or a comparison tree the MaxPool protocol already runs:
//   Pad with a non-zero value      zero Pad, then Add of a constant border (P1 adds it)
//   MaxPool with ceil_mode         the overhang as end padding (padding never wins a max)
//   AveragePool with ceil_mode     the same, the explicit pads as a zero Pad first when they count
//   MaxPool with dilations         its taps as strided Slices, side by side (Concat), a 1×K MaxPool
//   Gather at constant indices     Slices of the activation, Concat, Reshape
//   ReduceMean                     Transpose, Reshape to one plane, GlobalAveragePool, Reshape
// A form that does not apply (a dilated MaxPool with padding, a Gather at secret indices) leaves
// the node as it is, and quantize refuses it naming the node, with its op's reason.
import { type Node, makeNode } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import { Tensor, int64Vector } from '../../ir/tensor.js';
import { type TensorType, numel } from '../../ir/types.js';
import { windowOutSize } from '../../runtime/ring/windows.js';
import type { Replacement, RewriteRule, RewriteView } from '../rewrite.js';

/** New nodes, the types of their results and their constants, built for one replacement. */
class FormBuilder {
  readonly nodes: Node[] = [];
  readonly types = new Map<string, TensorType>();
  readonly constants = new Map<string, Tensor>();

  constructor(private readonly view: RewriteView, private readonly node: Node) {}

  /** A fresh value name after the node's (`<node>/<what>`). */
  private fresh(what: string): string {
    let name = this.view.freshName(`${this.node.name}/${what}`);
    for (let i = 1; this.types.has(name) || this.constants.has(name); i++) name = this.view.freshName(`${this.node.name}/${what}_${i}`);
    return name;
  }

  /** A constant operand. */
  constant(what: string, t: Tensor): string {
    const name = this.fresh(what);
    this.constants.set(name, t);
    return name;
  }

  /** A node `op` computing a value of `type` (named `out`, or fresh); returns the value. */
  op(op: string, what: string, inputs: string[], type: TensorType, attrs: Record<string, unknown> = {}, out?: string): string {
    const value = out ?? this.fresh(what);
    if (!out) this.types.set(value, type);
    // the node that computes the original result keeps the original node's name
    this.nodes.push(makeNode(op, out ? this.node.name : value, inputs, [value], attrs as Node['attrs']));
    return value;
  }

  /** x reshaped to `shape` (no node when it already has it). */
  reshape(x: string, what: string, shape: readonly number[], dtype: TensorType['dtype'], out?: string): string {
    if (!out && (this.types.get(x) ?? this.view.type(x)).shape.join() === shape.join()) return x;
    return this.op('Reshape', what, [x, this.constant(`${what}.shape`, int64Vector(shape))], { dtype, shape }, {}, out);
  }

  done(): Replacement {
    return { nodes: this.nodes, types: this.types, constants: this.constants };
  }
}

const isActivation = (view: RewriteView, v: string): boolean => Boolean(v) && !view.constant(v);

/** Pad with value v ≠ 0: a zero Pad, then the border's v added as a constant of the padded shape. */
const nonZeroPad: RewriteRule = {
  ops: ['Pad'],
  stat: 'non-zero pads as zero pad plus a constant border',
  apply(node, view) {
    const a = withDefaults(node);
    const value = a.value as number;
    if (value === 0 || !isActivation(view, node.inputs[0])) return undefined;
    const x = view.type(node.inputs[0]), y = view.type(node.outputs[0]);
    const pads = a.pads as number[], rank = x.shape.length;
    const border = new Float32Array(numel(y.shape));
    const idx = new Array<number>(rank).fill(0);
    for (let i = 0; i < border.length; i++) {
      if (idx.some((d, k) => d < pads[k] || d >= pads[k] + x.shape[k])) border[i] = value;
      for (let k = rank - 1; k >= 0; k--) {
        if (++idx[k] < y.shape[k]) break;
        idx[k] = 0;
      }
    }
    const f = new FormBuilder(view, node);
    const zero = f.op('Pad', 'zero_pad', [node.inputs[0]], y, { pads, value: 0 });
    f.op('Add', 'border', [zero, f.constant('border', new Tensor('float32', y.shape, border))], y, {}, node.outputs[0]);
    return f.done();
  },
};

/** The extra end padding per spatial axis that makes floor mode give ceil mode's output size. */
function ceilOverhang(node: Node, x: number[]): [number, number] | undefined {
  const a = withDefaults(node);
  const k = a.kernel_shape as number[], s = a.strides as number[], p = a.pads as number[];
  const d = (a.dilations as number[] | undefined) ?? [1, 1];
  const extra: number[] = [];
  for (let i = 0; i < 2; i++) {
    const span = d[i] * (k[i] - 1) + 1;
    const out = windowOutSize(x[i + 2], k[i], s[i], p[i], p[i + 2], d[i], true);
    const e = Math.max(0, (out - 1) * s[i] + span - (x[i + 2] + p[i] + p[i + 2]));
    if (p[i + 2] + e >= span) return undefined; // the IR's pads must stay smaller than the window
    extra.push(e);
  }
  return extra as [number, number];
}

/** MaxPool/AveragePool with ceil_mode=1 as floor mode over more end padding. With
 * count_include_pad, the explicit pads count in the divisor but the overhang does not: they
 * become a zero Pad node, the overhang the pool's own (uncounted) padding. */
const ceilModePool: RewriteRule = {
  ops: ['MaxPool', 'AveragePool'],
  stat: 'ceil_mode pools as end padding',
  apply(node, view) {
    const a = withDefaults(node);
    if (a.ceil_mode !== 1) return undefined;
    const x = view.type(node.inputs[0]);
    if (x.shape.length !== 4) return undefined;
    const extra = ceilOverhang(node, [...x.shape]);
    if (!extra) return undefined;
    const p = a.pads as number[];
    const f = new FormBuilder(view, node);
    const y = view.type(node.outputs[0]);
    if (node.op === 'AveragePool' && a.count_include_pad === 1 && p.some((v) => v > 0)) {
      const padded = f.op('Pad', 'pad', [node.inputs[0]], { dtype: x.dtype, shape: [x.shape[0], x.shape[1], x.shape[2] + p[0] + p[2], x.shape[3] + p[1] + p[3]] }, { pads: [0, 0, p[0], p[1], 0, 0, p[2], p[3]], value: 0 });
      f.op('AveragePool', 'pool', [padded], y, { ...a, ceil_mode: 0, count_include_pad: 0, pads: [0, 0, extra[0], extra[1]] }, node.outputs[0]);
      return f.done();
    }
    f.op(node.op, 'pool', [node.inputs[0]], y, { ...a, ceil_mode: 0, pads: [p[0], p[1], p[2] + extra[0], p[3] + extra[1]] }, node.outputs[0]);
    return f.done();
  },
};

/** A dilated MaxPool without padding: each of its kh·kw taps is a strided Slice of the input
 * (the tap's value at every output position); the taps side by side along a new last axis, a
 * 1×K MaxPool takes their maximum (the MaxPool protocol's comparison tree). */
const dilatedMaxPool: RewriteRule = {
  ops: ['MaxPool'],
  stat: 'dilated max pools as taps and a 1×K max pool',
  apply(node, view) {
    const a = withDefaults(node);
    const d = a.dilations as number[];
    if (a.ceil_mode === 1 || d.every((v) => v === 1) || (a.pads as number[]).some((v) => v !== 0)) return undefined;
    const x = view.type(node.inputs[0]), y = view.type(node.outputs[0]);
    if (x.shape.length !== 4) return undefined;
    const k = a.kernel_shape as number[], s = a.strides as number[];
    const [n, c, oh, ow] = [...y.shape], taps = k[0] * k[1];
    const f = new FormBuilder(view, node);
    const column = { dtype: x.dtype, shape: [n, c, oh * ow, 1] };
    const cols: string[] = [];
    for (let i = 0; i < k[0]; i++) {
      for (let j = 0; j < k[1]; j++) {
        const starts = [i * d[0], j * d[1]];
        const tap = f.op('Slice', `tap${i}_${j}`, [node.inputs[0]], y, { starts, ends: [starts[0] + (oh - 1) * s[0] + 1, starts[1] + (ow - 1) * s[1] + 1], axes: [2, 3], steps: s });
        cols.push(f.reshape(tap, `tap${i}_${j}.column`, column.shape, x.dtype));
      }
    }
    const side = f.op('Concat', 'taps', cols, { dtype: x.dtype, shape: [n, c, oh * ow, taps] }, { axis: 3 });
    const max = f.op('MaxPool', 'max', [side], column, { kernel_shape: [1, taps], strides: [1, 1], pads: [0, 0, 0, 0], ceil_mode: 0, dilations: [1, 1] });
    f.reshape(max, 'max.map', y.shape, y.dtype, node.outputs[0]);
    return f.done();
  },
};

/** Gather of an activation at constant indices: one Slice per run of consecutive indices,
 * joined by Concat along the axis, reshaped to the Gather's result. */
const constantGather: RewriteRule = {
  ops: ['Gather'],
  stat: 'gathers at constant indices as slices',
  apply(node, view) {
    const indices = view.constant(node.inputs[1]);
    if (!indices || !isActivation(view, node.inputs[0])) return undefined;
    const x = view.type(node.inputs[0]), y = view.type(node.outputs[0]);
    const axis = withDefaults(node).axis as number, size = x.shape[axis];
    const list = indices.toArray().map((i) => (i < 0 ? i + size : i));
    if (list.length === 0) return undefined;
    const runs: [number, number][] = [];
    for (const i of list) {
      const last = runs[runs.length - 1];
      if (last && last[1] === i) last[1]++;
      else runs.push([i, i + 1]);
    }
    const f = new FormBuilder(view, node);
    const parts = runs.map(([from, to], r) => {
      const shape = x.shape.map((dim, k) => (k === axis ? to - from : dim));
      return f.op('Slice', `run${r}`, [node.inputs[0]], { dtype: x.dtype, shape }, { starts: [from], ends: [to], axes: [axis], steps: [1] });
    });
    const joined = parts.length === 1 ? parts[0] : f.op('Concat', 'joined', parts, { dtype: x.dtype, shape: x.shape.map((dim, k) => (k === axis ? list.length : dim)) }, { axis });
    f.reshape(joined, 'result', [...y.shape], y.dtype, node.outputs[0]);
    return f.done();
  },
};

/** ReduceMean as GlobalAveragePool: the reduced axes moved last (Transpose), the tensor seen as
 * one [1, kept, reduced, 1] map, its plane averaged, reshaped to the result. */
const reduceMean: RewriteRule = {
  ops: ['ReduceMean'],
  stat: 'reduce-means as global average pools',
  apply(node, view) {
    if (!isActivation(view, node.inputs[0])) return undefined;
    const x = view.type(node.inputs[0]), y = view.type(node.outputs[0]);
    const rank = x.shape.length;
    let axes = withDefaults(node).axes as number[];
    if (axes.length === 0) axes = x.shape.map((_, i) => i);
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const perm = [...kept, ...axes];
    const f = new FormBuilder(view, node);
    let v = node.inputs[0];
    if (perm.some((p, i) => p !== i)) v = f.op('Transpose', 'reduced_last', [v], { dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }, { perm });
    const m = kept.reduce((p, i) => p * x.shape[i], 1), k = axes.reduce((p, i) => p * x.shape[i], 1);
    const plane = rank === 4 && axes.join() === '2,3' ? v : f.reshape(v, 'plane', [1, m, k, 1], x.dtype);
    const pooled = f.op('GlobalAveragePool', 'mean', [plane], { dtype: x.dtype, shape: rank === 4 && axes.join() === '2,3' ? [x.shape[0], x.shape[1], 1, 1] : [1, m, 1, 1] });
    f.reshape(pooled, 'result', [...y.shape], y.dtype, node.outputs[0]);
    return f.done();
  },
};

/** The secure forms, in the order quantize tries them. */
export const SECURE_FORMS: readonly RewriteRule[] = [nonZeroPad, ceilModePool, dilatedMaxPool, constantGather, reduceMean];
