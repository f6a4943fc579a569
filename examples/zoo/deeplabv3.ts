// A DeepLabV3-style segmentation net, small enough for tests: a ResNet-like backbone whose last
// two stages trade stride for dilation (output stride 8), ASPP (1×1, three dilated 3×3 and a
// global-pooling branch upsampled back), projection, classifier, and a bilinear Resize to the
// input size. Both Resizes take their sizes from Shape → Slice/Gather → Concat subgraphs, as
// torch.onnx exports `F.interpolate(x, size=input.shape[-2:])`, so importers must fold them
// (torch 1.13 writes half_pixel for align_corners=False, older versions pytorch_half_pixel:
// one Resize uses each).
import { Net, type NetOptions, type Tensor } from './net.js';
import { basicBlock, stage } from './resnet-blocks.js';

/** Input side and number of classes (Pascal VOC's 21). */
export const DEEPLAB_SIZE = 128;
export const DEEPLAB_CLASSES = 21;

/** ASPP dilation rates, scaled down from torchvision's (12, 24, 36) for 16×16 feature maps. */
const ASPP_RATES = [4, 8, 12] as const;
const ASPP_WIDTH = 64;
const INT64_MAX = 9223372036854775807n;

/** Bilinear Resize of `x` to `[N, C] of x` + `spatial`, as PyTorch exports interpolate(size=...). */
function resizeTo(net: Net, x: Tensor, spatial: Tensor, scope: string, shape: readonly number[], emptyConstants: boolean, coordinates: string): Tensor {
  const xShape = net.op('Shape', scope, [x.name], [4]);
  const batchChannels = net.op('Slice', scope, [xShape.name, net.int64(`${scope}.starts`, [0]), net.int64(`${scope}.ends`, [2]), net.int64(`${scope}.axes`, [0])], [2]);
  const sizes = net.op('Concat', scope, [batchChannels.name, spatial.name], [4], { axis: 0 });
  return net.resize(x, scope, { sizes: sizes.name }, shape, {
    coordinate_transformation_mode: coordinates,
    cubic_coeff_a: { kind: 'float', value: -0.75 },
    mode: 'linear',
    nearest_mode: 'floor',
  }, emptyConstants);
}

/** H and W of `x` as a 1-D int64 value, by Shape → Slice(-2:) (torch's `x.shape[-2:]`). */
function spatialBySlice(net: Net, x: Tensor, scope: string): Tensor {
  const shape = net.op('Shape', scope, [x.name], [4]);
  const starts = net.int64(`${scope}.starts`, [-2]);
  const ends = net.int64(`${scope}.ends`, BigInt64Array.of(INT64_MAX));
  return net.op('Slice', scope, [shape.name, starts, ends, net.int64(`${scope}.axes`, [0])], [2]);
}

/** H and W of `x` by Shape → Gather(2), Gather(3) → Unsqueeze → Concat (torch's `x.size(2), x.size(3)`). */
function spatialByGather(net: Net, x: Tensor, scope: string): Tensor {
  const shape = net.op('Shape', scope, [x.name], [4]);
  const dims = [2, 3].map((axis) => {
    const index = net.op('Constant', scope, [], [], { value: { kind: 'tensor', value: { dtype: 'int64', shape: [], data: [axis] } } });
    const dim = net.op('Gather', scope, [shape.name, index.name], [], { axis: 0 });
    return net.unsqueeze(dim, scope, [0], [1]);
  });
  const concat = net.op('Concat', scope, dims.map((d) => d.name), [2], { axis: 0 });
  return net.op('Cast', scope, [concat.name], [2], { to: 7 });
}

/** ASPP (`classifier.0`): four conv branches and the pooled branch, concatenated and projected. */
function aspp(net: Net, x: Tensor): Tensor {
  const branches: Tensor[] = [];
  branches.push(net.convBn(x, { conv: 'classifier.0.convs.0.0', bn: 'classifier.0.convs.0.1', act: 'classifier.0.convs.0.2' }, { out: ASPP_WIDTH, kernel: 1 }, 'relu'));
  ASPP_RATES.forEach((rate, i) => {
    const s = `classifier.0.convs.${i + 1}`;
    branches.push(net.convBn(x, { conv: `${s}.0`, bn: `${s}.1`, act: `${s}.2` }, { out: ASPP_WIDTH, kernel: 3, pad: rate, dilation: rate }, 'relu'));
  });
  const p = `classifier.0.convs.${ASPP_RATES.length + 1}`;
  const pooled = net.globalAvgPool(x, `${p}.0`);
  const pooledFeatures = net.convBn(pooled, { conv: `${p}.1`, bn: `${p}.2`, act: `${p}.3` }, { out: ASPP_WIDTH, kernel: 1 }, 'relu');
  const [n, , h, w] = x.shape;
  branches.push(resizeTo(net, pooledFeatures, spatialBySlice(net, x, p), p, [n, ASPP_WIDTH, h, w], true, 'pytorch_half_pixel'));
  const concat = net.op('Concat', 'classifier.0', branches.map((b) => b.name), [n, ASPP_WIDTH * branches.length, h, w], { axis: 1 });
  return net.convBn(concat, { conv: 'classifier.0.project.0', bn: 'classifier.0.project.1', act: 'classifier.0.project.2' }, { out: ASPP_WIDTH, kernel: 1 }, 'relu');
}

/** Builds deeplabv3: input [1, 3, 128, 128] → per-pixel logits [1, 21, 128, 128]. */
export function buildDeeplabV3(options: NetOptions = {}): Net {
  const net = new Net('deeplabv3', options);
  const input = net.input('input', [1, 3, DEEPLAB_SIZE, DEEPLAB_SIZE]);
  let x = net.convBn(input, { conv: 'backbone.conv1', bn: 'backbone.bn1', act: 'backbone.relu' }, { out: 32, kernel: 3, stride: 2, pad: 1 }, 'relu');
  x = net.maxPool(x, 'backbone.maxpool', 3, 2, 1);
  x = stage(net, x, 'backbone.layer1', basicBlock, 32, 1, { stride: 1 });
  x = stage(net, x, 'backbone.layer2', basicBlock, 64, 1, { stride: 2 });
  x = stage(net, x, 'backbone.layer3', basicBlock, 128, 1, { stride: 1, dilation: 2 });
  x = stage(net, x, 'backbone.layer4', basicBlock, 256, 1, { stride: 1, dilation: 4 });
  x = aspp(net, x);
  x = net.convBn(x, { conv: 'classifier.1', bn: 'classifier.2', act: 'classifier.3' }, { out: ASPP_WIDTH, kernel: 3, pad: 1 }, 'relu');
  x = net.conv(x, 'classifier.4', { out: DEEPLAB_CLASSES, kernel: 1, bias: true, gain: Math.SQRT1_2 });
  const out = resizeTo(net, x, spatialByGather(net, input, 'upsample'), 'upsample', [1, DEEPLAB_CLASSES, DEEPLAB_SIZE, DEEPLAB_SIZE], false, 'half_pixel');
  net.output(out, 'output');
  return net;
}
