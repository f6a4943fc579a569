// maxpool-to-avgpool (opt-in): MaxPool → AveragePool over the same windows. A secure max over
// k elements costs k−1 comparisons; an average is local on shares. Like relu6-to-relu this
// changes the function (the paper does it and retrains or accepts the change).
//
// Padding: a MaxPool never picks a pad (ONNX pads it with −∞), so the windows it compares hold
// only real elements. The AveragePool therefore uses count_include_pad=0 by default: it
// averages exactly the elements the MaxPool compared (its divisor at the borders is the number
// of real elements, a public constant, so the secure cost is the same). PyTorch's
// nn.AvgPool2d defaults to count_include_pad=True (pads count as zeros in the divisor); use
// {count-include-pad=true} to match a model retrained with that layer.
import { makeNode } from '../../ir/graph.js';
import { withDefaults } from '../../ir/ops/index.js';
import { definePass } from '../pass.js';
import { rewriteToFixpoint } from '../rewrite.js';

/** The maxpool-to-avgpool pass. */
export const maxPoolToAvgPool = definePass<{ 'count-include-pad': boolean }>({
  name: 'maxpool-to-avgpool',
  summary:
    'Replaces every undilated MaxPool by an AveragePool with the same kernel, strides, pads and ceil_mode, averaging the ' +
    'elements the MaxPool compared; changes the function computed, and leaves dilated MaxPools alone.',
  options: {
    'count-include-pad': { kind: 'bool', default: false, doc: 'count padding zeros in the divisor (PyTorch AvgPool2d default)' },
  },
  run(graph, ctx) {
    const g = rewriteToFixpoint(graph, [{
      ops: ['MaxPool'],
      stat: 'max-pools replaced by average-pools',
      apply(node) {
        const a = withDefaults(node);
        // AveragePool has no dilations: a dilated MaxPool has no same-window average
        const dil = (a.dilations as readonly number[] | undefined) ?? [1, 1];
        if (dil.some((d) => d !== 1)) return undefined;
        const attrs = {
          kernel_shape: a.kernel_shape,
          strides: a.strides ?? [1, 1],
          pads: a.pads ?? [0, 0, 0, 0],
          ceil_mode: a.ceil_mode ?? 0,
          count_include_pad: ctx.options['count-include-pad'] ? 1 : 0,
        };
        return { nodes: [makeNode('AveragePool', node.name, node.inputs, node.outputs, attrs)] };
      },
    }], ctx);
    const kept = g.nodes.filter((n) => n.op === 'MaxPool').length;
    if (kept) ctx.stat('dilated max-pools kept', kept);
    return g;
  },
});
