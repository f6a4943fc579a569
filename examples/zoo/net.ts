// The layer vocabulary the zoo's architectures are written in: each method adds the ONNX nodes
// a PyTorch export produces for that layer (Conv without bias followed by an unfolded
// BatchNormalization, ReLU6 as Clip with min/max inputs, ...) and returns the output value
// with its static shape, so builders can size the next layer. Weights are deterministic:
// He-scaled convolutions and non-trivial batch-norm statistics keep activations O(1).
import { OnnxBuilder, f32Tensor, float, i64Tensor, tensorAttr, type AttrValue, type ElemType } from '../../compiler/onnx/writer.js';
import { WeightRng } from './random.js';

/** BatchNormalization epsilon (PyTorch's default). */
const BN_EPSILON = 1e-5;

/** A value of the graph under construction with its static shape. */
export interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Options of a 2-D convolution. */
export interface ConvOptions {
  readonly out: number;
  readonly kernel: number;
  readonly stride?: number;
  readonly pad?: number;
  readonly dilation?: number;
  readonly group?: number;
  readonly bias?: boolean;
  /** Scale of the He standard deviation (e.g. < 1 for the last conv of a classifier). */
  readonly gain?: number;
}

/** Options of BatchNormalization's deterministic statistics. */
export interface BatchNormOptions {
  /** Range of gamma; the last BN of a residual branch uses a smaller one so sums stay O(1). */
  readonly gamma?: readonly [number, number];
}

/**
 * torch.onnx's scope prefix of a module path: each attribute starts a level, and an index into a
 * Sequential/ModuleList names its level by the parent's name plus the index, so
 * `layer1.0.conv1` → `/layer1/layer1.0/conv1` and `features.1.conv.0.0` → `/features/features.1/conv/conv.0/conv.0.0`.
 */
export function scopePath(scope: string): string {
  if (scope === '') return '';
  const levels: string[] = [];
  for (const part of scope.split('.')) {
    levels.push(/^\d+$/.test(part) && levels.length > 0 ? `${levels[levels.length - 1]}.${part}` : part);
  }
  return `/${levels.join('/')}`;
}

/** Module paths of a conv → batch-norm → activation layer (they name weights and values). */
export interface LayerScopes {
  readonly conv: string;
  readonly bn: string;
  readonly act?: string;
}

/** How a zoo model is written: operator set, and batch-norm kept or folded into the convs. */
export interface NetOptions {
  /** Default-domain opset, 11 to 18 (the versioned operators are emitted in that opset's form). */
  readonly opset?: number;
  /**
   * Fold each BatchNormalization into the preceding Conv's weight and bias, as exports with
   * constant folding do; the same random draws are used, so outputs match the unfolded model.
   */
  readonly foldBatchNorm?: boolean;
  /** Declare the batch dimension of inputs and outputs as the symbolic 'batch'. */
  readonly dynamicBatch?: boolean;
}

/** A network under construction: an ONNX builder, a weight stream and PyTorch-style naming. */
export class Net {
  readonly onnx: OnnxBuilder;
  readonly rng: WeightRng;
  readonly opset: number;
  readonly foldBatchNorm: boolean;
  readonly dynamicBatch: boolean;

  constructor(readonly modelName: string, options: NetOptions = {}) {
    this.opset = options.opset ?? 13;
    this.foldBatchNorm = options.foldBatchNorm ?? false;
    this.dynamicBatch = options.dynamicBatch ?? false;
    const folded = this.foldBatchNorm ? ', batch-norm folded' : '';
    this.onnx = new OnnxBuilder({ opset: this.opset, graphName: modelName.replace(/-/g, '_'), doc: `mpcc zoo model '${modelName}' (random weights${folded})` });
    this.rng = WeightRng.fromName(modelName);
  }

  /** Declares the float32 graph input. */
  input(name: string, shape: readonly number[]): Tensor {
    this.onnx.input(name, this.declared(shape));
    return { name, shape };
  }

  /** Declares `t` (renamed to `name`, as torch.onnx names outputs) as a graph output. */
  output(t: Tensor, name = t.name, dtype: ElemType = 'float32'): Tensor {
    if (name !== t.name) this.onnx.renameValue(t.name, name);
    this.onnx.output(name, this.declared(t.shape), dtype);
    return { name, shape: t.shape };
  }

  /** A graph input/output shape as declared: the batch dimension symbolic when asked. */
  private declared(shape: readonly number[]): (number | string)[] {
    return shape.map((d, i) => (i === 0 && this.dynamicBatch ? 'batch' : d));
  }

  /** Adds one node with a single output named after its scope, as torch.onnx names values. */
  op(opType: string, scope: string, inputs: readonly string[], shape: readonly number[], attrs: Record<string, AttrValue> = {}): Tensor {
    const base = scopePath(scope);
    const name = this.onnx.fresh(`${base}/${opType}_output_0`);
    this.onnx.node(opType, inputs, [name], attrs, this.onnx.fresh(`${base}/${opType}`));
    return { name, shape };
  }

  /** A float32 parameter tensor (initializer) named like a PyTorch state-dict entry. */
  param(name: string, data: Float32Array, shape: readonly number[]): string {
    return this.onnx.initializer(name, data, shape);
  }

  /** An int64 constant initializer (shapes, axes, slice bounds). */
  int64(name: string, values: readonly number[] | BigInt64Array, shape: readonly number[] = [values.length]): string {
    return this.onnx.int64Initializer(this.onnx.fresh(name), values, shape);
  }

  /** A float32 constant initializer. */
  floats(name: string, values: readonly number[], shape: readonly number[] = [values.length]): string {
    return this.onnx.initializer(this.onnx.fresh(name), Float32Array.from(values), shape);
  }

  /** Conv with He-initialized weights `<scope>.weight` (and `<scope>.bias` when asked). */
  conv(x: Tensor, scope: string, o: ConvOptions): Tensor {
    const { weight, bias } = this.drawConv(x, o);
    return this.emitConv(x, scope, o, weight, bias);
  }

  /** BatchNormalization in inference form with random gamma, beta, mean and var in [0.5, 2]. */
  batchNorm(x: Tensor, scope: string, o: BatchNormOptions = {}): Tensor {
    const stats = this.drawBatchNorm(x.shape[1], o);
    const c = [x.shape[1]];
    const inputs = [
      x.name,
      this.param(`${scope}.weight`, stats.gamma, c),
      this.param(`${scope}.bias`, stats.beta, c),
      this.param(`${scope}.running_mean`, stats.mean, c),
      this.param(`${scope}.running_var`, stats.variance, c),
    ];
    return this.op('BatchNormalization', scope, inputs, x.shape, { epsilon: float(BN_EPSILON), momentum: float(0.9) });
  }

  /** Conv (no bias) → BatchNormalization → optional activation, the unfolded torchvision form. */
  convBn(x: Tensor, scopes: LayerScopes, o: ConvOptions, act: 'relu' | 'relu6' | 'none', bn: BatchNormOptions = {}): Tensor {
    let y: Tensor;
    if (this.foldBatchNorm) {
      const { weight } = this.drawConv(x, { ...o, bias: false });
      const stats = this.drawBatchNorm(o.out, bn);
      const perFilter = weight.length / o.out;
      const folded = new Float32Array(weight.length);
      const bias = new Float32Array(o.out);
      for (let k = 0; k < o.out; k++) {
        const scale = stats.gamma[k] / Math.sqrt(stats.variance[k] + BN_EPSILON);
        for (let i = 0; i < perFilter; i++) folded[k * perFilter + i] = weight[k * perFilter + i] * scale;
        bias[k] = stats.beta[k] - stats.mean[k] * scale;
      }
      y = this.emitConv(x, scopes.conv, o, folded, bias);
    } else {
      y = this.batchNorm(this.conv(x, scopes.conv, { ...o, bias: false }), scopes.bn, bn);
    }
    if (act === 'relu') return this.relu(y, scopes.act ?? scopes.bn);
    if (act === 'relu6') return this.relu6(y, scopes.act ?? scopes.bn);
    return y;
  }

  /** Draws a conv's weights (He normal) and optional bias, in a fixed order. */
  private drawConv(x: Tensor, o: ConvOptions): { weight: Float32Array; bias?: Float32Array } {
    const fanIn = (x.shape[1] / (o.group ?? 1)) * o.kernel * o.kernel;
    const weight = this.rng.normals(o.out * fanIn, (o.gain ?? 1) * Math.sqrt(2 / fanIn));
    return { weight, bias: o.bias ? this.rng.normals(o.out, 0.1) : undefined };
  }

  /** Draws batch-norm parameters and running statistics, in a fixed order. */
  private drawBatchNorm(channels: number, o: BatchNormOptions): { gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array } {
    const [glo, ghi] = o.gamma ?? [0.5, 1.5];
    const gamma = this.rng.uniforms(channels, glo, ghi);
    const beta = this.rng.normals(channels, 0.1);
    const mean = this.rng.normals(channels, 0.2);
    const variance = this.rng.uniforms(channels, 0.5, 2);
    return { gamma, beta, mean, variance };
  }

  private emitConv(x: Tensor, scope: string, o: ConvOptions, weight: Float32Array, bias: Float32Array | undefined): Tensor {
    const [n, cin, h, w] = x.shape;
    const stride = o.stride ?? 1;
    const pad = o.pad ?? 0;
    const dilation = o.dilation ?? 1;
    const group = o.group ?? 1;
    const inputs = [x.name, this.param(`${scope}.weight`, weight, [o.out, cin / group, o.kernel, o.kernel])];
    if (bias) inputs.push(this.param(`${scope}.bias`, bias, [o.out]));
    const size = (d: number) => Math.floor((d + 2 * pad - dilation * (o.kernel - 1) - 1) / stride) + 1;
    return this.op('Conv', scope, inputs, [n, o.out, size(h), size(w)], {
      dilations: [dilation, dilation],
      group,
      kernel_shape: [o.kernel, o.kernel],
      pads: [pad, pad, pad, pad],
      strides: [stride, stride],
    });
  }

  /** Relu. */
  relu(x: Tensor, scope: string): Tensor {
    return this.op('Relu', scope, [x.name], x.shape);
  }

  /** ReLU6 as PyTorch exports it at opset ≥ 11: Clip with min 0 and max 6 as inputs. */
  relu6(x: Tensor, scope: string): Tensor {
    const lo = this.scalarConstant(scope, 0);
    const hi = this.scalarConstant(scope, 6);
    return this.op('Clip', scope, [x.name, lo, hi], x.shape);
  }

  /** A float scalar Constant node (how torch.onnx emits Clip bounds and other literals). */
  scalarConstant(scope: string, value: number): string {
    return this.op('Constant', scope, [], [], { value: { kind: 'tensor', value: { dtype: 'float32', shape: [], data: Float32Array.of(value) } } }).name;
  }

  /** An int64 Constant node holding `values` (1-D) — the form shape subgraphs use. */
  int64Constant(scope: string, values: readonly number[]): Tensor {
    return this.op('Constant', scope, [], [values.length], { value: { kind: 'tensor', value: i64Tensor(values, [values.length]) } });
  }

  /** MaxPool with a square kernel. */
  maxPool(x: Tensor, scope: string, kernel: number, stride: number, pad: number): Tensor {
    const [n, c, h, w] = x.shape;
    const size = (d: number) => Math.floor((d + 2 * pad - kernel) / stride) + 1;
    return this.op('MaxPool', scope, [x.name], [n, c, size(h), size(w)], {
      kernel_shape: [kernel, kernel],
      pads: [pad, pad, pad, pad],
      strides: [stride, stride],
    });
  }

  /** GlobalAveragePool → [N, C, 1, 1]. */
  globalAvgPool(x: Tensor, scope: string): Tensor {
    return this.op('GlobalAveragePool', scope, [x.name], [x.shape[0], x.shape[1], 1, 1]);
  }

  /** Flatten from axis 1. */
  flatten(x: Tensor, scope: string): Tensor {
    return this.op('Flatten', scope, [x.name], [x.shape[0], x.shape.slice(1).reduce((a, b) => a * b, 1)], { axis: 1 });
  }

  /** Gemm as nn.Linear exports it: weight [out, in] with transB = 1, plus a bias. */
  linear(x: Tensor, scope: string, out: number): Tensor {
    const fanIn = x.shape[1];
    const weight = this.param(`${scope}.weight`, this.rng.normals(out * fanIn, Math.sqrt(1 / fanIn)), [out, fanIn]);
    const bias = this.param(`${scope}.bias`, this.rng.normals(out, 0.1), [out]);
    return this.op('Gemm', scope, [x.name, weight, bias], [x.shape[0], out], { alpha: float(1), beta: float(1), transB: 1 });
  }

  /** Unsqueeze: `axes` is an attribute before opset 13 and an input from 13 on. */
  unsqueeze(x: Tensor, scope: string, axes: readonly number[], shape: readonly number[]): Tensor {
    if (this.opset < 13) return this.op('Unsqueeze', scope, [x.name], shape, { axes });
    return this.op('Unsqueeze', scope, [x.name, this.int64(`${scope}.axes`, axes)], shape);
  }

  /** Squeeze: `axes` is an attribute before opset 13 and an input from 13 on. */
  squeeze(x: Tensor, scope: string, axes: readonly number[], shape: readonly number[]): Tensor {
    if (this.opset < 13) return this.op('Squeeze', scope, [x.name], shape, { axes });
    return this.op('Squeeze', scope, [x.name, this.int64(`${scope}.axes`, axes)], shape);
  }

  /** ReduceMean: `axes` is an attribute before opset 18 and an input from 18 on. */
  reduceMean(x: Tensor, scope: string, axes: readonly number[], keepdims: 0 | 1, shape: readonly number[]): Tensor {
    if (this.opset < 18) return this.op('ReduceMean', scope, [x.name], shape, { axes, keepdims });
    return this.op('ReduceMean', scope, [x.name, this.int64(`${scope}.axes`, axes)], shape, { keepdims });
  }

  /**
   * Resize by `scales` (a float initializer name) or `sizes` (an int64 value name). Opset 11
   * requires roi and scales as inputs, so absent ones become empty Constants there (as torch.onnx
   * writes them); from opset 13 on they are left out with '' unless `emptyConstants` asks.
   */
  resize(x: Tensor, scope: string, by: { scales: string } | { sizes: string }, shape: readonly number[], attrs: Record<string, AttrValue>, emptyConstants = false): Tensor {
    const empty = this.opset < 13 || emptyConstants;
    const emptyFloats = () => this.op('Constant', scope, [], [0], { value: tensorAttr(f32Tensor(new Float32Array(0), [0])) }).name;
    const roi = empty ? emptyFloats() : '';
    const inputs = 'scales' in by ? [x.name, roi, by.scales] : [x.name, roi, empty ? emptyFloats() : '', by.sizes];
    return this.op('Resize', scope, inputs, shape, attrs);
  }

  /** Elementwise Add of two same-shaped values (residual connections). */
  add(a: Tensor, b: Tensor, scope: string): Tensor {
    return this.op('Add', scope, [a.name, b.name], a.shape);
  }

  /** The serialized model (initializers inline as raw_data). */
  toBytes(): Uint8Array {
    return this.onnx.toBytes();
  }
}
