// reveal-argmax (mpcc compile --reveal argmax): the graph's output scores [N, C, H, W] (or
// [N, C]) become the index of the largest score per pixel, [N, 1, H, W] (or [N, 1]), computed
// in the secure program, so the client learns the classes and not the scores. A trailing
// Softmax or ArgMax the client would have run is dropped first (neither changes the argmax).
//
// The comparison tree: the maximum over the classes is a MaxPool over a 1×C window (the MaxPool
// protocol's tree of DReLU and selection); then for every class one ReLU of x_c − max + ε with
// ε = 2^-frac, one unit of the fixed point: x_c − max is 0 for the maximum and at most −ε for
// every other class, so the ReLU is ε for the maximum and 0 elsewhere; a 1×1 Conv with weights
// c/ε sums c over the classes that reach the maximum: the class index, exactly (up to the share
// truncation's one unit, 2^-frac), and a Round the client runs on the revealed value (a client op,
// as Softmax) makes it the integer. Ties give the sum of their indices (they need scores equal to
// the last bit). Cost: C − 1 comparisons and selections per
// pixel for the maximum, C ReLUs, and one weight product, all in cost.json like every step.
import { makeGraph, makeNode, pruneValues } from '../../ir/graph.js';
import { secureFacts } from '../../ir/ops/facts.js';
import { Tensor, int64Vector } from '../../ir/tensor.js';
import { diag } from '../../runtime/diagnostics.js';
import { definePass } from '../pass.js';
import { renameValue } from '../rewrite.js';

/** The reveal-argmax pass. */
export const revealArgmax = definePass<{ 'frac-bits': number }>({
  name: 'reveal-argmax',
  summary:
    'Assumes a float graph with one output of scores [N, C, …]; replaces it by the per-pixel index of the largest score, ' +
    'computed by a max-pool comparison tree and one ReLU per class, so that the client learns only the classes.',
  options: {
    'frac-bits': { kind: 'int', default: 12, doc: 'fractional bits quantize will use (one unit of the fixed point is the ReLUs\' margin)', check: (v) => (v >= 4 && v <= 28 ? undefined : 'must be in 4..28') },
  },
  run(graph, ctx) {
    const frac = ctx.options['frac-bits'];
    if (graph.outputs.length !== 1) throw diag('MPCC6060', [`the model has ${graph.outputs.length} outputs (one is needed)`]);
    let nodes = [...graph.nodes];
    let scores = graph.outputs[0];
    // A trailing client op (Softmax, ArgMax) does not change which class is largest.
    for (let last = nodes[nodes.length - 1]; last && last.outputs.includes(scores) && secureFacts(last.op).lower === 'client'; last = nodes[nodes.length - 1]) {
      scores = last.inputs[0];
      nodes = nodes.slice(0, -1);
      ctx.stat('client ops dropped');
    }
    const outName = graph.outputs[0];
    let base = makeGraph({ ...graph, nodes });
    if (scores === outName) {
      // the scores keep their producer under another name; the output becomes the classes
      base = renameValue(base, outName, `${outName}.scores`);
      scores = `${outName}.scores`;
    }
    nodes = [...base.nodes];
    const t = base.types.get(scores)!;
    const shape = [...t.shape];
    if (shape.length !== 2 && shape.length !== 4) throw diag('MPCC6060', [`output '${graph.outputs[0]}' has shape [${shape.join(',')}]: scores [N, C] or [N, C, H, W] are needed`]);
    if (base.inputs.includes(scores)) throw diag('MPCC6060', [`output '${scores}' is the model's input`]);
    const [n, c] = shape;
    const h = shape[2] ?? 1, w = shape[3] ?? 1;
    const types = new Map(base.types);
    const constants = new Map(base.constants);
    const dtype = t.dtype;
    const value = (name: string, s: number[]) => {
      types.set(name, { dtype, shape: s });
      return name;
    };
    const constant = (name: string, tensor: Tensor) => {
      constants.set(name, tensor);
      types.set(name, { dtype: tensor.dtype, shape: tensor.shape });
      return name;
    };
    const p = 'reveal_argmax';
    const add = (op: string, name: string, inputs: string[], out: string, attrs: Record<string, unknown> = {}) => nodes.push(makeNode(op, `${p}/${name}`, inputs, [out], attrs as never));
    // scores as [N, C, H, W], then classes last: [N, 1, H·W, C]
    const map = shape.length === 4 ? scores : value(`${p}/map`, [n, c, 1, 1]);
    if (map !== scores) add('Reshape', 'map', [scores, constant(`${p}/map.shape`, int64Vector([n, c, 1, 1]))], map);
    const last = value(`${p}/classes_last`, [n, h, w, c]);
    add('Transpose', 'classes_last', [map], last, { perm: [0, 2, 3, 1] });
    const rows = value(`${p}/rows`, [n, 1, h * w, c]);
    add('Reshape', 'rows', [last, constant(`${p}/rows.shape`, int64Vector([n, 1, h * w, c]))], rows);
    const maxRows = value(`${p}/max_rows`, [n, 1, h * w, 1]);
    add('MaxPool', 'max', [rows], maxRows, { kernel_shape: [1, c], strides: [1, 1], pads: [0, 0, 0, 0], ceil_mode: 0, dilations: [1, 1] });
    const max = value(`${p}/max`, [n, 1, h, w]);
    add('Reshape', 'max_map', [maxRows, constant(`${p}/max_map.shape`, int64Vector([n, 1, h, w]))], max);
    const gap = value(`${p}/gap`, [n, c, h, w]);
    add('Sub', 'gap', [map, max], gap);
    const lifted = value(`${p}/lifted`, [n, c, h, w]);
    add('Add', 'lifted', [gap, constant(`${p}/unit`, new Tensor('float32', [], Float32Array.of(2 ** -frac)))], lifted);
    const hit = value(`${p}/hit`, [n, c, h, w]);
    add('Relu', 'hit', [lifted], hit);
    const index = new Float32Array(c);
    for (let k = 0; k < c; k++) index[k] = k * 2 ** frac;
    const out = value(`${p}/class_map`, [n, 1, h, w]);
    add('Conv', 'class', [hit, constant(`${p}/index`, new Tensor('float32', [1, c, 1, 1], index))], out, { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 });
    const indices = shape.length === 4 ? out : value(`${p}/class_rows`, [n, 1]);
    if (shape.length === 2) add('Reshape', 'class_rows', [out, constant(`${p}/class_rows.shape`, int64Vector([n, 1]))], indices);
    add('Round', 'round', [indices], outName);
    types.set(outName, { dtype, shape: shape.length === 4 ? [n, 1, h, w] : [n, 1] });
    ctx.stat('classes revealed instead of scores', n * h * w);
    return pruneValues(makeGraph({ ...base, nodes, outputs: [outName], types, constants }));
  },
});
